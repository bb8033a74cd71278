/* SPDX-License-Identifier: MIT */
/*
 * Delivery as COMPLETE messages on the client's socket: one completion
 * per message under flush=immediate, up to batch_max per message under
 * flush=batch (deliver_now() says when). A request's slot is freed only
 * once its completion is written, so a client that stops reading holds at
 * most its in-flight quota of memory.
 */
#include <sys/socket.h>
#include <errno.h>
#include <string.h>

#include "delivery/delivery.h"

/* Lay the first @k completions of @f's batch out as one message. */
static size_t sockmsg_encode(struct flow *f, uint32_t k, uint8_t *buf)
{
	struct zcs_msg_completion v;
	struct zcs_hdr h;
	struct req *r = f->batch.head;
	uint32_t i;

	zcs_hdr_init(&h, ZCS_MSG_COMPLETE, k * sizeof(v), 0);
	memcpy(buf, &h, sizeof(h));
	for (i = 0; i < k; i++, r = r->next) {
		deliver_record(r, &v);
		memcpy(buf + sizeof(h) + i * sizeof(v), &v, sizeof(v));
	}
	return h.len;
}

/* Write as much of the batch as the socket takes. */
static void sockmsg_write(struct flow *f)
{
	struct client *c = f->c;
	struct zcsd *d = c->d;
	uint32_t per = f->dest->policy.flush == ZCS_FLUSH_IMMEDIATE
			       ? 1 : f->dest->policy.batch_max;
	uint32_t k, i;
	size_t len;

	while (f->batch.n && !c->dead) {
		k = f->batch.n < per ? f->batch.n : per;
		len = sockmsg_encode(f, k, d->txbuf);
		if (send(c->fd, d->txbuf, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
			if (errno != EAGAIN) {
				conn_lost(c, -errno);
				return;
			}
			f->flush_due = true;
			conn_want_write(c);
			return;
		}
		for (i = 0; i < k; i++)
			req_release(req_list_pop(&f->batch));
		deliver_count(c, f->dest, k, 1);
	}
}

/*
 * Write @f's waiting completions now. Control replies queued before them
 * go first, so this waits for the socket if any do.
 */
static void sockmsg_flush(struct flow *f)
{
	struct client *c = f->c;

	if (!f->batch.n || c->dead)
		return;
	if (!STAILQ_EMPTY(&c->outq)) {
		f->flush_due = true;
		conn_want_write(c);
		return;
	}
	sockmsg_write(f);
	if (!f->batch.n) {
		f->flush_due = false;
		evtimer_del(f->batch_timer);
	}
	conn_resume(c);
}

/* A completion joined @f's batch: write now, or when the timer says. */
static void sockmsg_due(struct flow *f)
{
	if (deliver_now(f, f->batch.n))
		sockmsg_flush(f);
	else if (f->batch.n == 1 && deliver_arm(f))
		sockmsg_flush(f);
}

/* Completions for records that never reached the kernel, @n at most
 * ZCS_COMPLETE_BATCH_MAX, in one message. */
static void sockmsg_errors(struct client *c,
			   const struct zcs_msg_completion *v, uint32_t n)
{
	struct zcs_hdr h;
	uint8_t *buf = c->d->txbuf;

	zcs_hdr_init(&h, ZCS_MSG_COMPLETE, n * sizeof(*v), 0);
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), v, n * sizeof(*v));
	deliver_count(c, NULL, n, 1);
	conn_send(c, buf, h.len);
}

const struct delivery_ops sockmsg_ops = {
	.name = "socket",
	.due = sockmsg_due,
	.flush = sockmsg_flush,
	.errors = sockmsg_errors,
};
