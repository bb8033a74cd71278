/* SPDX-License-Identifier: MIT */
/*
 * libzcsend flows: the two blocking control requests, FLOW_OPEN and
 * FLOW_CLOSE. Completions that arrive while waiting for the answer are
 * buffered (zcsi_wait_reply), so sends in flight keep flowing meanwhile.
 */
#include <errno.h>
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
	reply = zcsi_wait_reply(c, cookie, &hdr);
	return reply == ZCS_MSG_ERROR ? reply_error(c) : reply;
}

ZCS_EXPORT int zcs_flow_open(struct zcs_client *c, const char *dest,
			     uint32_t *flow)
{
	struct zcs_flow_open req;
	struct zcs_flow_ok ok;
	size_t len = dest ? strlen(dest) : 0;
	int type;

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
	return rep.flow == flow ? 0 : zcsi_fail(c, -EPROTO);
}
