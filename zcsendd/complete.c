/* SPDX-License-Identifier: MIT */
/*
 * Completions back to clients, under each destination's flush policy:
 * `immediate` writes one completion per message; `batch` gathers up to
 * batch_max per message, or whatever waited batch_usec, and always writes
 * at once when the flow has nothing else in flight, so no client stalls
 * waiting for a batch to fill. A request's slot is freed only once its
 * completion is written, so a client that stops reading holds at most its
 * in-flight quota of memory. A client with shared-memory rings gets its
 * completions in its completion ring instead, published by shring_io.c
 * as soon as they finish (the batch only holds them until then); there
 * the policy decides when a sleeping client is woken, and the batch timer
 * is that deadline.
 */
#include <sys/socket.h>
#include <errno.h>
#include <string.h>

#include "zcsd.h"

static void stats_count(struct zcs_counters *st, const struct req *r)
{
	st->sends++;
	if (r->err) {
		st->errors++;
	} else {	/* sends = errors + zc_sends + copying sends */
		st->bytes += r->done;
		st->zc_sends += r->zc;
		st->zc_copied += r->copied;
	}
	st->datagrams += r->dgrams;
	st->gso_sends += r->gso_ops;
}

/* One COMPLETE message of @k records went out. */
static void count_msg(struct zcs_counters *st, uint32_t k)
{
	st->completions += k;
	st->completion_msgs++;
}

static void batch_timer_arm(struct flow *f)
{
	uint32_t us = f->d->policy.batch_usec;
	struct timeval tv = timeval_us(us);

	if (us == 0 || evtimer_add(f->batch_timer, &tv))
		complete_flush(f);
}

/*
 * complete_req - @r is finished: count it and queue its completion on its
 * flow's batch, flushing as the policy says.
 */
void complete_req(struct req *r)
{
	struct flow *f = r->f;
	struct client *c = r->c;
	const struct zcsd_policy *p = &f->d->policy;

	stats_count(&f->d->st, r);
	stats_count(&c->st, r);
	stats_count(&c->d->st, r);
	if (r->zc && !r->err)
		zcauto_report(c->d, f->d, r->copied);
	f->inflight--;
	if (c->dead) {
		sendq_release(r);	/* nobody will read its completion */
		return;
	}
	req_list_push(&f->batch, r);
	if (c->sr) {
		shring_due(f);
		return;
	}
	if (p->flush == ZCS_FLUSH_IMMEDIATE || f->batch.n >= p->batch_max ||
	    f->inflight == 0)
		complete_flush(f);
	else if (f->batch.n == 1)
		batch_timer_arm(f);
}

/* complete_record - the completion record that tells @r's client. */
void complete_record(const struct req *r, struct zcs_msg_completion *v)
{
	v->tag = r->tag;
	v->result = r->err ? r->err : (int32_t)r->done;
	v->flags = 0;
	if (r->zc)
		v->flags = ZCS_COMP_F_ZC | (r->copied ? ZCS_COMP_F_COPIED : 0);
	if (r->zc && (r->c->d->ring.features & ZCS_FEAT_REPORT_USAGE))
		v->flags |= ZCS_COMP_F_USAGE;
}

/* Lay the first @k completions of @f's batch out as one message. */
static size_t batch_encode(struct flow *f, uint32_t k, uint8_t *buf)
{
	struct zcs_msg_completion v;
	struct zcs_hdr h;
	struct req *r = f->batch.head;
	uint32_t i;

	zcs_hdr_init(&h, ZCS_MSG_COMPLETE, k * sizeof(v), 0);
	memcpy(buf, &h, sizeof(h));
	for (i = 0; i < k; i++, r = r->next) {
		complete_record(r, &v);
		memcpy(buf + sizeof(h) + i * sizeof(v), &v, sizeof(v));
	}
	return h.len;
}

/* Write as much of the batch as the socket takes. */
static void batch_write(struct flow *f)
{
	struct client *c = f->c;
	struct zcsd *d = c->d;
	uint32_t per = f->d->policy.flush == ZCS_FLUSH_IMMEDIATE
			       ? 1 : f->d->policy.batch_max;
	uint32_t k, i;
	size_t len;

	while (f->batch.n && !c->dead) {
		k = f->batch.n < per ? f->batch.n : per;
		len = batch_encode(f, k, d->txbuf);
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
			sendq_release(req_list_pop(&f->batch));
		count_msg(&f->d->st, k);
		count_msg(&c->st, k);
		count_msg(&d->st, k);
	}
}

/*
 * complete_flush - write @f's waiting completions now. Control replies
 * queued before them go first, so this waits for the socket if any do.
 * A ring client's completions never take the socket: for it, now is when
 * it is woken for what waits in its completion ring.
 */
void complete_flush(struct flow *f)
{
	struct client *c = f->c;

	if (c->sr) {
		shring_wake_due(f);
		return;
	}
	if (!f->batch.n || c->dead)
		return;
	if (!STAILQ_EMPTY(&c->outq)) {
		f->flush_due = true;
		conn_want_write(c);
		return;
	}
	batch_write(f);
	if (!f->batch.n) {
		f->flush_due = false;
		evtimer_del(f->batch_timer);
	}
	conn_resume(c);
}

/* complete_flush_client - the socket has room again: write what waited. */
void complete_flush_client(struct client *c)
{
	struct flow *f, *next;

	for (f = TAILQ_FIRST(&c->flows); f && !c->dead; f = next) {
		next = TAILQ_NEXT(f, entry);
		if (f->flush_due)
			complete_flush(f);
	}
}

/* complete_drop - the client is gone: nobody will read these. */
void complete_drop(struct flow *f)
{
	struct req *r;

	while ((r = req_list_pop(&f->batch)))
		sendq_release(r);
	evtimer_del(f->batch_timer);
	f->flush_due = false;
}

/*
 * complete_error - completions for records that never reached the kernel,
 * @n at most ZCS_COMPLETE_BATCH_MAX.
 */
void complete_error(struct client *c, struct zcs_msg_completion *v,
		    uint32_t n)
{
	struct zcs_hdr h;
	uint8_t *buf = c->d->txbuf;

	zcs_hdr_init(&h, ZCS_MSG_COMPLETE, n * sizeof(*v), 0);
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), v, n * sizeof(*v));
	count_msg(&c->st, n);
	count_msg(&c->d->st, n);
	conn_send(c, buf, h.len);
}
