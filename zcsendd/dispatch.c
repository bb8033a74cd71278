/* SPDX-License-Identifier: MIT */
/*
 * Message dispatch: validate every message with the protocol's one check,
 * then hand it to the handler for its type. Handlers get local copies of
 * fixed payloads, never a pointer cast from the receive buffer. A handler
 * returns 0 after answering, or -errno to have the client dropped.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "zcsd.h"
#include "delivery/delivery.h"
#include "service/access.h"
#include "service/admission.h"
#include "service/policy_cmd.h"
#include "service/reload.h"
#include "service/service_info.h"
#include "service/status.h"

typedef int (*handler_fn)(struct client *c, const struct zcs_hdr *h,
			  const uint8_t *payload);

/* HELLO_OK carries the pool's memfd when there is a pool. */
static int hello_ok_send(struct client *c, uint64_t cookie,
			 const struct zcs_hello_ok *ok)
{
	uint8_t msg[sizeof(struct zcs_hdr) + sizeof(*ok)];
	struct zcs_hdr h;

	zcs_hdr_init(&h, ZCS_MSG_HELLO_OK, sizeof(*ok), cookie);
	if (c->pool.memfd >= 0)
		h.flags = ZCS_HDR_F_FD;
	memcpy(msg, &h, sizeof(h));
	memcpy(msg + sizeof(h), ok, sizeof(*ok));
	return conn_send_fds(c, msg, sizeof(msg), &c->pool.memfd,
			     c->pool.memfd >= 0);
}

/* A client's name goes into logs: printable ASCII only. */
static void name_copy(char *dst, const char *src, size_t size)
{
	size_t i;

	for (i = 0; i + 1 < size && src[i]; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
	dst[i] = '\0';
}

/*
 * After HELLO_OK, rings for a client that asked. Without them (no pool,
 * no memory, no descriptors) it is told so and goes on over the socket.
 */
static void hello_rings(struct client *c, const struct zcs_hello *m,
			uint64_t cookie)
{
	int err = -EINVAL;

	if (c->pool.size)
		err = shring_open(c, m->ring_entries, cookie);
	if (!err)
		c->deliver = &ringmsg_ops;
	if (err && !c->dead)
		conn_error(c, ZCS_MSG_HELLO, cookie, err, "no rings: %s",
			   c->pool.size ? strerror(-err) : "they need a pool");
}

/*
 * A pool for HELLO (@h) of @want bytes, within the admission limits
 * (admission.c answers its own refusals), with its request slots. 0, or
 * -errno after answering; the caller drops the client.
 */
static int hello_pool(struct client *c, const struct zcs_hdr *h,
		      uint64_t want)
{
	int err = admission_pool(c, h->cookie, want);

	if (err)
		return err;
	err = pool_open(c, want);
	if (!err && (err = req_init(c)))
		log_warnx("client %u: no memory for %u request slots", c->id,
			  c->d->cfg.max_inflight);
	if (err)
		conn_error(c, h->type, h->cookie, err, "no pool of %llu "
			   "bytes: %s", (unsigned long long)want,
			   strerror(-err));
	return err;
}

static int handle_hello(struct client *c, const struct zcs_hdr *h,
			const uint8_t *payload)
{
	struct zcs_hello m;
	struct zcs_hello_ok ok;
	int err;

	memcpy(&m, payload, sizeof(m));
	if (c->hello_done) {
		conn_error(c, h->type, h->cookie, -EPROTO, "HELLO twice");
		return -EPROTO;
	}
	c->hello_done = true;
	c->deliver = &sockmsg_ops;	/* unless it gets rings */
	name_copy(c->name, m.name, sizeof(c->name));
	/* Who may connect was decided at accept (listener.c). */
	if (m.pool_bytes) {
		err = hello_pool(c, h, m.pool_bytes);
		if (err) {
			conn_kill(c, NULL);	/* logged where it failed */
			return err;
		}
	}
	if (c->pool.size)
		log_at(LOG_INFO, &(struct log_about){ .client = true,
				.pid = c->pid, .uid = c->uid, .name = c->name },
		       0, "client %u (%s pid %d uid %u): pool of %llu bytes",
		       c->id, c->name, (int)c->pid, (unsigned)c->uid,
		       (unsigned long long)c->pool.size);
	memset(&ok, 0, sizeof(ok));
	ok.pool_bytes = c->pool.size;
	ok.client_id = c->id;
	ok.features = c->d->ring.features;
	ok.max_inflight = c->d->cfg.max_inflight;
	ok.max_flows = c->d->cfg.max_flows;
	ok.max_send_bytes = c->d->cfg.max_send_bytes;
	err = hello_ok_send(c, h->cookie, &ok);
	if (!err && (m.flags & ZCS_HELLO_F_RINGS))
		hello_rings(c, &m, h->cookie);
	return err;
}

static int handle_flow_open(struct client *c, const struct zcs_hdr *h,
			    const uint8_t *payload)
{
	struct zcs_flow_open m;
	int err;

	memcpy(&m, payload, sizeof(m));
	err = flow_open(c, m.dest, h->cookie);
	if (err)
		conn_error(c, h->type, h->cookie, err, "%s: %s", m.dest,
			   strerror(-err));
	return 0;
}

static int handle_flow_close(struct client *c, const struct zcs_hdr *h,
			     const uint8_t *payload)
{
	struct zcs_flow_close m;
	int err;

	memcpy(&m, payload, sizeof(m));
	err = flow_close(c, m.flow);
	if (err)
		conn_error(c, h->type, h->cookie, err, "flow %u: %s", m.flow,
			   strerror(-err));
	else
		conn_reply(c, ZCS_MSG_FLOW_CLOSED, h->cookie, &m, sizeof(m));
	return 0;
}

static int handle_status(struct client *c, const struct zcs_hdr *h,
			 const uint8_t *payload)
{
	status_reply(c, h->cookie);
	return 0;
}

static int handle_service(struct client *c, const struct zcs_hdr *h,
			  const uint8_t *payload)
{
	service_info_reply(c, h->cookie);
	return 0;
}

/* Administrative requests: root, our own uid, or the admin group. */
static bool admin_or_refuse(struct client *c, const struct zcs_hdr *h)
{
	if (access_is_admin(c->d, c))
		return true;
	log_warnx("client %u (pid %d uid %u): %s refused: not an admin",
		  c->id, (int)c->pid, (unsigned)c->uid, zcs_msg_name(h->type));
	conn_error(c, h->type, h->cookie, -EPERM, "only root, uid %u or the "
		   "admin group may do this", (unsigned)c->d->uid);
	return false;
}

/* OK, or ERROR with the reason the request failed. */
static void reply_result(struct client *c, const struct zcs_hdr *h, int ret,
			 const char *err)
{
	if (ret)
		conn_error(c, h->type, h->cookie, ret, "%s", err);
	else
		conn_reply(c, ZCS_MSG_OK, h->cookie, NULL, 0);
}

static int handle_reload(struct client *c, const struct zcs_hdr *h,
			 const uint8_t *payload)
{
	char err[ZCS_ERRMSG_MAX];

	if (admin_or_refuse(c, h))
		reply_result(c, h, reload_run(c->d, err, sizeof(err)), err);
	return 0;
}

static int handle_policy(struct client *c, const struct zcs_hdr *h,
			 const uint8_t *payload)
{
	char err[ZCS_ERRMSG_MAX];
	struct zcs_policy m;

	memcpy(&m, payload, sizeof(m));
	if (admin_or_refuse(c, h))
		reply_result(c, h, policy_cmd_run(c, &m, err, sizeof(err)),
			     err);
	return 0;
}

/*
 * UPGRADE: begin a hand-over to a new process of the installed binary.
 * The OK is queued only once it has begun, and this connection is carried
 * like the others, so the client finds the OK, then the new process's
 * answers, on the same socket.
 */
static int handle_upgrade(struct client *c, const struct zcs_hdr *h,
			  const uint8_t *payload)
{
	char err[ZCS_ERRMSG_MAX] = "";
	int ret;

	if (!admin_or_refuse(c, h))
		return 0;
	log_info("client %u (pid %d uid %u): upgrade asked", c->id,
		 (int)c->pid, (unsigned)c->uid);
	ret = handover_start(c->d, HANDOVER_EXEC, "zcsendctl upgrade");
	if (ret == -EBUSY)
		snprintf(err, sizeof(err), "no hand-over now: one is under "
			 "way, or the daemon is stopping");
	else if (ret)
		snprintf(err, sizeof(err), "no hand-over: %s", strerror(-ret));
	reply_result(c, h, ret, err);
	return 0;
}

static int handle_send(struct client *c, const struct zcs_hdr *h,
		       const uint8_t *payload)
{
	int err = intake_begin(c, h->cookie);

	if (err)
		return err;
	return intake_records(c, payload, zcs_send_count(h), INTAKE_SOCKET);
}

/* Only the types a client may send; the rest are the daemon's. */
static handler_fn handler_for(uint16_t type)
{
	switch (type) {
	case ZCS_MSG_HELLO:
		return handle_hello;
	case ZCS_MSG_FLOW_OPEN:
		return handle_flow_open;
	case ZCS_MSG_FLOW_CLOSE:
		return handle_flow_close;
	case ZCS_MSG_STATUS:
		return handle_status;
	case ZCS_MSG_SERVICE:
		return handle_service;
	case ZCS_MSG_SEND:
		return handle_send;
	case ZCS_MSG_RELOAD:
		return handle_reload;
	case ZCS_MSG_POLICY:
		return handle_policy;
	case ZCS_MSG_UPGRADE:
		return handle_upgrade;
	}
	return NULL;
}

static int dispatch_version(struct client *c, const struct zcs_hdr *h)
{
	struct zcs_msg_version v = { .min = ZCS_PROTO_VERSION,
				     .max = ZCS_PROTO_VERSION };

	conn_reply(c, ZCS_MSG_VERSION, h->cookie, &v, sizeof(v));
	return -EPROTONOSUPPORT;
}

/*
 * dispatch_msg - check and handle one received message of @len bytes.
 * Returns 0, or -errno when the client must be dropped (already answered).
 */
int dispatch_msg(struct client *c, const uint8_t *buf, size_t len)
{
	struct zcs_hdr h;
	handler_fn fn;
	int err = zcs_msg_check(buf, len, &h);

	if (err == -EPROTONOSUPPORT)
		return dispatch_version(c, &h);
	if (err) {
		conn_error(c, 0, 0, err, "malformed message: %s",
			   strerror(-err));
		return err;
	}
	fn = handler_for(h.type);
	if (!fn || (!c->hello_done && h.type != ZCS_MSG_HELLO)) {
		conn_error(c, h.type, h.cookie, -EPROTO, "unexpected %s",
			   zcs_msg_name(h.type));
		return -EPROTO;
	}
	return fn(c, &h, buf + sizeof(h));
}
