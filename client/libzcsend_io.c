/* SPDX-License-Identifier: MIT */
/*
 * libzcsend send path: queue send records in the handle's own message
 * buffer, write them as one SEND message, and collect COMPLETE records in a
 * ring sized by the in-flight limit. Nothing here allocates: the limit
 * bounds queued + sent + unreaped records, so every buffer fits.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>

#include "libzcsend_int.h"

/*
 * zcsi_take_completions - buffer @n wire completion records from @recs
 * (unaligned bytes: a message payload or a copy out of the ring). Each
 * answers exactly one sent record, so more completions than sends means
 * the stream or the ring is broken. Returns 0 or -EPROTO.
 */
int zcsi_take_completions(struct zcs_client *c, const void *recs, size_t n)
{
	const unsigned char *p = recs;
	struct zcs_msg_completion rec;
	struct zcs_completion *out;
	size_t i;

	if (n > c->sent)
		return zcsi_fail(c, -EPROTO);
	for (i = 0; i < n; i++) {
		memcpy(&rec, p + i * sizeof(rec), sizeof(rec));
		out = &c->cq[(c->cq_head + c->cq_count) % c->max_inflight];
		out->tag = rec.tag;
		out->result = rec.result;
		out->flags = rec.flags;
		c->cq_count++;
		c->sent--;
	}
	return 0;
}

/* One COMPLETE message: daemon-initiated, so always cookie 0. */
static int take_complete_msg(struct zcs_client *c, const struct zcs_hdr *hdr)
{
	if (hdr->cookie != 0)
		return zcsi_fail(c, -EPROTO);
	return zcsi_take_completions(c, zcsi_payload(c), zcs_send_count(hdr));
}

/*
 * zcsi_recv - receive one message without blocking; COMPLETE records go
 * to the completion ring at once, whoever is reading.
 * Returns 1 with *@hdr set, 0 when nothing is waiting, or -errno.
 */
int zcsi_recv(struct zcs_client *c, struct zcs_hdr *hdr)
{
	int n, err;

	n = zcsi_msg_read(c, hdr, NULL);
	if (n <= 0)
		return n;
	if (hdr->type == ZCS_MSG_COMPLETE) {
		err = take_complete_msg(c, hdr);
		if (err)
			return err;
	}
	return 1;
}

/*
 * zcsi_unexpected - a message nobody asked for. An ERROR carries the
 * daemon's reason; anything else is a protocol error. Both end the
 * connection, since the conversation is out of step from here on.
 */
int zcsi_unexpected(struct zcs_client *c, const struct zcs_hdr *hdr)
{
	struct zcs_error e;

	if (hdr->type != ZCS_MSG_ERROR)
		return zcsi_fail(c, -EPROTO);
	memcpy(&e, zcsi_payload(c), sizeof(e));
	return zcsi_fail(c, zcsi_remote_errno(e.err));
}

/*
 * zcsi_drain - read everything waiting, which outside a request can only
 * be completions. Returns 0 or -errno.
 */
int zcsi_drain(struct zcs_client *c)
{
	struct zcs_hdr hdr;
	int n;

	while ((n = zcsi_recv(c, &hdr)) > 0)
		if (hdr.type != ZCS_MSG_COMPLETE)
			return zcsi_unexpected(c, &hdr);
	return n;
}

/*
 * zcsi_wait_io - sleep until the daemon may have something for us: the
 * socket is readable or, with rings, the client eventfd fired. Ring
 * completions found are buffered on the way.
 * Returns > 0 (woken), 0 (timeout or signal: re-check), or -errno.
 */
int zcsi_wait_io(struct zcs_client *c, int timeout_ms)
{
	if (c->rings)
		return zcsi_ring_sleep(c, timeout_ms);
	return zcsi_poll(c, POLLIN, timeout_ms);
}

/* Write the queued records as one SEND message (socket transport). */
static int flush_socket(struct zcs_client *c)
{
	struct zcs_hdr hdr;
	size_t size;
	int err;

	if (!c->queued)
		return 0;
	size = (size_t)c->queued * sizeof(struct zcs_msg_send);
	zcs_hdr_init(&hdr, ZCS_MSG_SEND, size, c->next_cookie++);
	memcpy(c->txbuf, &hdr, sizeof(hdr));
	err = zcsi_msg_write(c, c->txbuf, sizeof(hdr) + size);
	if (err)
		return err;
	c->sent += c->queued;
	c->queued = 0;
	return 0;
}

static int flush_any(struct zcs_client *c)
{
	if (c->err)
		return c->err;
	return c->rings ? zcsi_ring_flush(c) : flush_socket(c);
}

/* A full socket makes the flush read completions meanwhile, and the
 * event-loop fd must then show them (zcsi_wake_park). */
ZCS_EXPORT int zcs_flush(struct zcs_client *c)
{
	int err = flush_any(c);

	return err ? err : zcsi_wake_park(c, 0);
}

/* Check one record and queue it for the next flush. */
static int queue_record(struct zcs_client *c, uint32_t flow, const void *buf,
			size_t len, uint32_t segment, uint64_t tag)
{
	struct zcs_msg_send rec;
	uintptr_t base = (uintptr_t)c->pool, p = (uintptr_t)buf;

	if (c->err)
		return c->err;
	if (!c->pool || p < base || len == 0 ||
	    zcs_range_check(p - base, len, c->pool_bytes))
		return -EINVAL;
	if (len > c->max_send_bytes)
		return -EMSGSIZE;
	if (zcs_inflight(c) >= c->max_inflight)
		return -EAGAIN;
	memset(&rec, 0, sizeof(rec));
	rec.tag = tag;
	rec.offset = p - base;
	rec.len = (uint32_t)len;
	rec.flow = flow;
	if (segment) {
		rec.flags = ZCS_SEND_F_SEGMENT;
		rec.segment = segment;
	}
	memcpy(c->txbuf + sizeof(struct zcs_hdr) + c->queued * sizeof(rec),
	       &rec, sizeof(rec));
	c->queued++;
	/* The record is queued either way; a failed flush means the daemon
	 * is gone, and that is what the caller needs to hear. */
	return c->queued == ZCS_SEND_BATCH_MAX ? zcs_flush(c) : 0;
}

ZCS_EXPORT int zcs_send(struct zcs_client *c, uint32_t flow, const void *buf,
			size_t len, uint64_t tag)
{
	return queue_record(c, flow, buf, len, 0, tag);
}

ZCS_EXPORT int zcs_send_segmented(struct zcs_client *c, uint32_t flow,
				  const void *buf, size_t len, size_t segment,
				  uint64_t tag)
{
	if (segment == 0 || segment > UINT16_MAX)
		return -EINVAL;
	return queue_record(c, flow, buf, len, (uint32_t)segment, tag);
}

/* Wait until a completion is buffered, the deadline passes, or nothing
 * is left that could complete (waiting then would never end). */
static int reap_wait(struct zcs_client *c, int timeout_ms)
{
	int64_t deadline = zcsi_deadline(timeout_ms);
	int left, ev, err;

	while (!c->cq_count && c->sent && !c->err) {
		left = zcsi_remaining(deadline);
		if (left == 0)
			break;
		ev = zcsi_poll(c, POLLIN, left);
		if (ev < 0)
			return ev;
		err = zcsi_drain(c);
		if (err)
			return err;
	}
	return 0;
}

/* Gather what is waiting: the socket always (errors, EOF, and COMPLETE
 * for socket sends), then the CQ; with rings, the socket only when the
 * CQ was empty, since the daemon is evidently alive otherwise. */
static int reap_collect(struct zcs_client *c)
{
	int n;

	if (!c->rings)
		return zcsi_drain(c);
	n = zcsi_ring_collect(c);
	if (n == 0)
		n = zcsi_drain(c);
	return n < 0 ? n : 0;
}

ZCS_EXPORT int zcs_reap(struct zcs_client *c, struct zcs_completion *out,
			unsigned max, int timeout_ms)
{
	unsigned n;
	int err;

	err = flush_any(c);
	if (!err)
		err = reap_collect(c);
	if (!err && timeout_ms != 0)
		err = c->rings ? zcsi_ring_wait(c, timeout_ms) :
		      reap_wait(c, timeout_ms);
	/* Completions already buffered are still true: hand them out first,
	 * and report a broken connection once they are gone. */
	for (n = 0; n < max && c->cq_count; n++) {
		out[n] = c->cq[c->cq_head];
		c->cq_head = (c->cq_head + 1) % c->max_inflight;
		c->cq_count--;
	}
	/* Completions left behind: the event-loop fd says so, with a new
	 * edge, since the socket or the ring no longer does. */
	if (!err)
		err = zcsi_wake_park(c, n > 0);
	if (n == 0 && err)
		return err;
	return (int)n;
}
