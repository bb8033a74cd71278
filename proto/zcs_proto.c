/* SPDX-License-Identifier: MIT */
/*
 * Validation of zcsendd wire messages. Pure functions with no I/O, compiled
 * into both the daemon and libzcsend: every received message passes
 * zcs_msg_check() before anything else reads it, and handlers then copy the
 * payload into a local struct instead of casting the receive buffer.
 */
#include <errno.h>
#include <string.h>

#include "zcs_proto.h"

/* How a message type's payload is shaped. */
struct msg_shape {
	uint16_t type;
	uint16_t flags;		/* ZCS_HDR_F_* allowed on this type */
	uint32_t size;		/* exact payload size, or the record size */
	uint32_t max_records;	/* 0: fixed size; else 1..max records */
	const char *name;
};

static const struct msg_shape shapes[] = {
	{ ZCS_MSG_HELLO, 0, sizeof(struct zcs_hello), 0, "HELLO" },
	{ ZCS_MSG_HELLO_OK, ZCS_HDR_F_FD, sizeof(struct zcs_hello_ok), 0,
	  "HELLO_OK" },
	{ ZCS_MSG_VERSION, 0, sizeof(struct zcs_msg_version), 0, "VERSION" },
	{ ZCS_MSG_ERROR, 0, sizeof(struct zcs_error), 0, "ERROR" },
	{ ZCS_MSG_OK, 0, 0, 0, "OK" },
	{ ZCS_MSG_RINGS, ZCS_HDR_F_FD, sizeof(struct zcs_rings), 0, "RINGS" },
	{ ZCS_MSG_FLOW_OPEN, 0, sizeof(struct zcs_flow_open), 0, "FLOW_OPEN" },
	{ ZCS_MSG_FLOW_OK, 0, sizeof(struct zcs_flow_ok), 0, "FLOW_OK" },
	{ ZCS_MSG_FLOW_CLOSE, 0, sizeof(struct zcs_flow_close), 0,
	  "FLOW_CLOSE" },
	{ ZCS_MSG_FLOW_CLOSED, 0, sizeof(struct zcs_flow_close), 0,
	  "FLOW_CLOSED" },
	{ ZCS_MSG_STATUS, 0, 0, 0, "STATUS" },
	{ ZCS_MSG_STATUS_DAEMON, 0, sizeof(struct zcs_status_daemon), 0,
	  "STATUS_DAEMON" },
	{ ZCS_MSG_STATUS_CLIENT, 0, sizeof(struct zcs_status_client), 0,
	  "STATUS_CLIENT" },
	{ ZCS_MSG_STATUS_DEST, 0, sizeof(struct zcs_status_dest), 0,
	  "STATUS_DEST" },
	{ ZCS_MSG_STATUS_END, 0, 0, 0, "STATUS_END" },
	{ ZCS_MSG_SERVICE, 0, 0, 0, "SERVICE" },
	{ ZCS_MSG_SERVICE_INFO, 0, sizeof(struct zcs_service), 0,
	  "SERVICE_INFO" },
	{ ZCS_MSG_RELOAD, 0, 0, 0, "RELOAD" },
	{ ZCS_MSG_POLICY, 0, sizeof(struct zcs_policy), 0, "POLICY" },
	{ ZCS_MSG_UPGRADE, 0, 0, 0, "UPGRADE" },
	{ ZCS_MSG_SEND, 0, sizeof(struct zcs_msg_send), ZCS_SEND_BATCH_MAX,
	  "SEND" },
	{ ZCS_MSG_COMPLETE, 0, sizeof(struct zcs_msg_completion),
	  ZCS_COMPLETE_BATCH_MAX, "COMPLETE" },
};

static const struct msg_shape *shape_of(uint16_t type)
{
	size_t i;

	for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
		if (shapes[i].type == type)
			return &shapes[i];
	return NULL;
}

/* A fixed char field holds a NUL-terminated string, maybe empty. */
static int string_check(const char *s, size_t size)
{
	return memchr(s, '\0', size) ? 0 : -EBADMSG;
}

/*
 * zcs_hdr_check - bound a header before anything trusts it.
 * @avail: bytes actually received for this message.
 * Returns 0, -EBADMSG for a malformed or truncated header, -EMSGSIZE when
 * the length is over ZCS_MSG_MAX, -EPROTONOSUPPORT for another version
 * (the caller answers ZCS_MSG_VERSION), -EPROTO for an unknown type or flag.
 */
int zcs_hdr_check(const struct zcs_hdr *h, size_t avail)
{
	const struct msg_shape *shape;

	if (h->len < sizeof(*h))
		return -EBADMSG;
	if (h->len > ZCS_MSG_MAX)
		return -EMSGSIZE;
	if (h->len != avail)
		return -EBADMSG;
	if (h->version != ZCS_PROTO_VERSION)
		return -EPROTONOSUPPORT;
	shape = shape_of(h->type);
	if (!shape)
		return -EPROTO;
	if (h->flags & ~(uint32_t)shape->flags)
		return -EPROTO;
	return 0;
}

/* zcs_send_count - records in a SEND or COMPLETE message, 1 for others. */
size_t zcs_send_count(const struct zcs_hdr *h)
{
	const struct msg_shape *shape = shape_of(h->type);
	size_t payload = h->len - sizeof(*h);

	if (!shape || !shape->max_records)
		return 1;
	return payload / shape->size;
}

static int size_check(const struct msg_shape *shape, size_t payload)
{
	size_t n;

	if (!shape->max_records)
		return payload == shape->size ? 0 : -EBADMSG;
	if (payload == 0 || payload % shape->size)
		return -EBADMSG;
	n = payload / shape->size;
	return n <= shape->max_records ? 0 : -EMSGSIZE;
}

int zcs_hello_check(const struct zcs_hello *m)
{
	if (m->flags & ~ZCS_HELLO_F_ALL)
		return -EINVAL;
	if (!(m->flags & ZCS_HELLO_F_RINGS) && m->ring_entries)
		return -EINVAL;
	if (m->ring_entries > ZCS_RING_ENTRIES_MAX)
		return -EINVAL;
	return string_check(m->name, sizeof(m->name));
}

static int pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

/*
 * zcs_rings_check - a RINGS reply describes a layout that fits: power-of-
 * two sizes within bounds, the control words first, arrays in order and
 * inside the memfd.
 */
int zcs_rings_check(const struct zcs_rings *m)
{
	uint64_t sq_end, cq_end;

	if (m->flags || m->reserved)
		return -EINVAL;
	if (!pow2(m->sq_entries) || m->sq_entries < ZCS_RING_ENTRIES_MIN ||
	    m->sq_entries > ZCS_RING_ENTRIES_MAX ||
	    m->cq_entries != 2 * m->sq_entries)
		return -EINVAL;
	sq_end = (uint64_t)m->sq_off +
		 (uint64_t)m->sq_entries * sizeof(struct zcs_msg_send);
	cq_end = (uint64_t)m->cq_off +
		 (uint64_t)m->cq_entries * sizeof(struct zcs_msg_completion);
	if (m->sq_off < sizeof(struct zcs_ring_ctl) || m->sq_off % 64 ||
	    m->cq_off < sq_end || m->cq_off % 64 || cq_end > m->bytes)
		return -EINVAL;
	return 0;
}

int zcs_flow_open_check(const struct zcs_flow_open *m)
{
	if (m->flags || m->reserved)
		return -EINVAL;
	if (string_check(m->dest, sizeof(m->dest)) || m->dest[0] == '\0')
		return -EINVAL;
	return 0;
}

int zcs_flow_close_check(const struct zcs_flow_close *m)
{
	return m->reserved ? -EINVAL : 0;
}

int zcs_policy_check(const struct zcs_policy *m)
{
	if (string_check(m->dest, sizeof(m->dest)) || m->dest[0] == '\0' ||
	    string_check(m->settings, sizeof(m->settings)))
		return -EINVAL;
	return 0;
}

/*
 * zcs_range_check - is [off, off+len) inside a region of @region bytes?
 * Returns 0, or -ERANGE (overflow included).
 */
int zcs_range_check(uint64_t off, uint64_t len, uint64_t region)
{
	uint64_t end;

	if (__builtin_add_overflow(off, len, &end))
		return -ERANGE;
	return end <= region ? 0 : -ERANGE;
}

/*
 * zcs_send_check - the parts of one send record that need no client state.
 * Offsets against the pool and flow ownership are the daemon's to check.
 */
int zcs_send_check(const struct zcs_msg_send *s)
{
	if (s->flags & ~ZCS_SEND_F_ALL)
		return -EINVAL;
	if (s->len == 0 || s->len > ZCS_SEND_LEN_MAX)
		return -EMSGSIZE;
	if (!(s->flags & ZCS_SEND_F_SEGMENT))
		return s->segment ? -EINVAL : 0;
	return s->segment ? 0 : -EINVAL;
}

/* The daemon's status replies: strings terminated, reserved fields 0. */
static int status_payload_check(uint16_t type, const void *p)
{
	union {
		struct zcs_status_daemon daemon;
		struct zcs_status_client client;
		struct zcs_status_dest dest;
		struct zcs_service service;
	} u;

	switch (type) {
	case ZCS_MSG_STATUS_DAEMON:
		memcpy(&u.daemon, p, sizeof(u.daemon));
		return string_check(u.daemon.version, sizeof(u.daemon.version));
	case ZCS_MSG_STATUS_CLIENT:
		memcpy(&u.client, p, sizeof(u.client));
		return string_check(u.client.name, sizeof(u.client.name));
	case ZCS_MSG_STATUS_DEST:
		memcpy(&u.dest, p, sizeof(u.dest));
		if (string_check(u.dest.name, sizeof(u.dest.name)) ||
		    string_check(u.dest.zc_reason, sizeof(u.dest.zc_reason)))
			return -EBADMSG;
		return string_check(u.dest.address, sizeof(u.dest.address));
	case ZCS_MSG_SERVICE_INFO:
		memcpy(&u.service, p, sizeof(u.service));
		return u.service.reserved ? -EBADMSG : 0;
	}
	return 0;
}

/* Fixed-size payloads that carry strings or reserved fields. */
static int fixed_payload_check(uint16_t type, const void *p)
{
	union {
		struct zcs_hello hello;
		struct zcs_rings rings;
		struct zcs_flow_open open;
		struct zcs_flow_close close;
		struct zcs_policy policy;
		struct zcs_error error;
	} u;

	switch (type) {
	case ZCS_MSG_HELLO:
		memcpy(&u.hello, p, sizeof(u.hello));
		return zcs_hello_check(&u.hello);
	case ZCS_MSG_RINGS:
		memcpy(&u.rings, p, sizeof(u.rings));
		return zcs_rings_check(&u.rings);
	case ZCS_MSG_FLOW_OPEN:
		memcpy(&u.open, p, sizeof(u.open));
		return zcs_flow_open_check(&u.open);
	case ZCS_MSG_FLOW_CLOSE:
	case ZCS_MSG_FLOW_CLOSED:
		memcpy(&u.close, p, sizeof(u.close));
		return zcs_flow_close_check(&u.close);
	case ZCS_MSG_POLICY:
		memcpy(&u.policy, p, sizeof(u.policy));
		return zcs_policy_check(&u.policy);
	case ZCS_MSG_ERROR:
		memcpy(&u.error, p, sizeof(u.error));
		return string_check(u.error.msg, sizeof(u.error.msg));
	}
	return status_payload_check(type, p);
}

/*
 * zcs_payload_check - the payload of a message whose header passed
 * zcs_hdr_check(): exact size or a whole number of records, reserved fields
 * zero, strings terminated. Send records are checked one by one by the
 * daemon (zcs_send_check), so that one bad record fails alone.
 */
int zcs_payload_check(const struct zcs_hdr *h, const void *payload)
{
	const struct msg_shape *shape = shape_of(h->type);
	int err;

	if (!shape)
		return -EPROTO;
	err = size_check(shape, h->len - sizeof(*h));
	if (err)
		return err;
	if (shape->max_records)
		return 0;
	return fixed_payload_check(h->type, payload) ? -EBADMSG : 0;
}

/*
 * zcs_msg_check - the one entry point: decode and validate a received
 * message of @avail bytes at @buf, and copy its header to @out.
 * Returns 0 or a negative errno as zcs_hdr_check() and zcs_payload_check().
 */
int zcs_msg_check(const void *buf, size_t avail, struct zcs_hdr *out)
{
	int err;

	if (avail < sizeof(*out))
		return -EBADMSG;
	memcpy(out, buf, sizeof(*out));
	err = zcs_hdr_check(out, avail);
	if (err)
		return err;
	return zcs_payload_check(out, (const char *)buf + sizeof(*out));
}

const char *zcs_msg_name(uint16_t type)
{
	const struct msg_shape *shape = shape_of(type);

	return shape ? shape->name : "UNKNOWN";
}

void zcs_hdr_init(struct zcs_hdr *h, uint16_t type, size_t payload,
		  uint64_t cookie)
{
	memset(h, 0, sizeof(*h));
	h->len = (uint32_t)(sizeof(*h) + payload);
	h->type = type;
	h->version = ZCS_PROTO_VERSION;
	h->cookie = cookie;
}
