/* SPDX-License-Identifier: MIT */
/*
 * libzcsend flows: the two blocking control requests, FLOW_OPEN and
 * FLOW_CLOSE. Completions that arrive while waiting for the answer are
 * buffered (zcsi_wait_reply), so sends in flight keep flowing meanwhile.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libzcsend_int.h"

/* An ERROR reply to our own request: the daemon refused, the connection
 * itself is fine. */
static int reply_error(struct zcs_client *c)
{
	struct zcs_error e;

	memcpy(&e, zcsi_payload(c), sizeof(e));
	return zcsi_remote_errno(e.err);
}

/* Send @type with @payload and wait for the answer to it. Queued sends go
 * first, so that they need not wait for the daemon's reply; over rings,
 * they must also have been taken before the request can overtake them. */
static int transact(struct zcs_client *c, uint16_t type, const void *payload,
		    size_t size)
{
	struct zcs_hdr hdr;
	uint64_t cookie;
	int err, reply;

	err = c->rings ? zcsi_ring_sync(c) : zcs_flush(c);
	if (!err)
		err = zcsi_request(c, type, payload, size, &cookie);
	if (err)
		return err;
	reply = zcsi_wait_reply(c, cookie, &hdr, zcsi_deadline(-1));
	/* Completions buffered while waiting must show on the event-loop
	 * fd; parking reads nothing, so the reply stays in the buffer. */
	err = reply < 0 ? 0 : zcsi_wake_park(c, 0);
	if (err)
		return err;
	return reply == ZCS_MSG_ERROR ? reply_error(c) : reply;
}

static struct zcsi_flow *flow_find(const struct zcs_client *c, uint32_t id)
{
	unsigned i;

	for (i = 0; i < c->nflows; i++)
		if (c->flows[i].id == id)
			return &c->flows[i];
	return NULL;
}

/* Keep what FLOW_OK told of a flow; the table grows in steps of 8. The
 * daemon bounds flows per client, so this does not grow without end. */
static int flow_remember(struct zcs_client *c, const struct zcs_flow_ok *ok)
{
	struct zcsi_flow *f = flow_find(c, ok->flow), *grown;

	if (!f) {
		if (c->nflows % 8 == 0) {
			grown = realloc(c->flows,
					(c->nflows + 8) * sizeof(*grown));
			if (!grown)
				return -ENOMEM;
			c->flows = grown;
		}
		f = &c->flows[c->nflows++];
	}
	f->id = ok->flow;
	f->proto = ok->proto;
	f->max_segment = ok->proto == ZCS_PROTO_UDP ? ok->max_segment : 0;
	return 0;
}

static void flow_forget(struct zcs_client *c, uint32_t id)
{
	struct zcsi_flow *f = flow_find(c, id);

	if (f)
		*f = c->flows[--c->nflows];
}

ZCS_EXPORT int zcs_flow_max_segment(const struct zcs_client *c,
				    uint32_t flow)
{
	const struct zcsi_flow *f = flow_find(c, flow);

	return f ? (int)f->max_segment : -EBADF;
}

ZCS_EXPORT int zcs_flow_open(struct zcs_client *c, const char *dest,
			     uint32_t *flow)
{
	struct zcs_flow_open req;
	struct zcs_flow_ok ok;
	size_t len = dest ? strlen(dest) : 0;
	int type, err;

	if (len == 0 || len >= sizeof(req.dest) || !flow)
		return -EINVAL;
	memset(&req, 0, sizeof(req));
	memcpy(req.dest, dest, len);
	type = transact(c, ZCS_MSG_FLOW_OPEN, &req, sizeof(req));
	if (type < 0)
		return type;
	if (type != ZCS_MSG_FLOW_OK)
		return zcsi_fail(c, -EPROTO);
	memcpy(&ok, zcsi_payload(c), sizeof(ok));
	if (ok.proto != ZCS_PROTO_UDP && ok.proto != ZCS_PROTO_TCP)
		return zcsi_fail(c, -EPROTO);
	err = flow_remember(c, &ok);
	if (err)
		return err;
	*flow = ok.flow;
	return ok.proto;
}

ZCS_EXPORT int zcs_flow_close(struct zcs_client *c, uint32_t flow)
{
	struct zcs_flow_close req = { .flow = flow };
	struct zcs_flow_close rep;
	int type;

	type = transact(c, ZCS_MSG_FLOW_CLOSE, &req, sizeof(req));
	if (type < 0)
		return type;
	if (type != ZCS_MSG_FLOW_CLOSED)
		return zcsi_fail(c, -EPROTO);
	memcpy(&rep, zcsi_payload(c), sizeof(rep));
	if (rep.flow != flow)
		return zcsi_fail(c, -EPROTO);
	flow_forget(c, flow);
	return 0;
}
