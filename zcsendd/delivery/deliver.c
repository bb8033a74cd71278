/* SPDX-License-Identifier: MIT */
/*
 * Completions to clients through the table HELLO chose (delivery.h), under
 * the destination's flush policy, decided here alone: `immediate` at once;
 * `batch` up to batch_max, or what waited batch_usec, and at once when the
 * flow has nothing else in flight, so no client waits for a batch to fill.
 * Completions delivered are counted here alone too.
 */
#include <errno.h>

#include "delivery/delivery.h"

/* deliver_due - a finished request of @f waits in its batch. */
void deliver_due(struct flow *f)
{
	f->c->deliver->due(f);
}

/* deliver_flush - @f's batch timer fired: deliver, or wake, now. */
void deliver_flush(struct flow *f)
{
	f->c->deliver->flush(f);
}

/* deliver_flush_client - @c's socket has room again: what waited goes. */
void deliver_flush_client(struct client *c)
{
	struct flow *f, *next;

	for (f = TAILQ_FIRST(&c->flows); f && !c->dead; f = next) {
		next = TAILQ_NEXT(f, entry);
		if (f->flush_due)
			deliver_flush(f);
	}
}

/*
 * deliver_errors - completions for @n records of @c that never reached
 * the kernel, @n at most ZCS_COMPLETE_BATCH_MAX.
 */
void deliver_errors(struct client *c, const struct zcs_msg_completion *v,
		    uint32_t n)
{
	c->deliver->errors(c, v, n);
}

/* deliver_drop - the client is gone: nobody will read these. */
void deliver_drop(struct flow *f)
{
	struct req *r;

	while ((r = req_list_pop(&f->batch)))
		req_release(r);
	evtimer_del(f->batch_timer);
	f->flush_due = false;
}

/* deliver_record - the completion record that tells @r's client. */
void deliver_record(const struct req *r, struct zcs_msg_completion *v)
{
	v->tag = r->tag;
	v->result = r->err ? r->err : (int32_t)r->done;
	v->flags = 0;
	if (r->zc)
		v->flags = ZCS_COMP_F_ZC | (r->copied ? ZCS_COMP_F_COPIED : 0);
	if (r->zc && (r->c->d->ring.features & ZCS_FEAT_REPORT_USAGE))
		v->flags |= ZCS_COMP_F_USAGE;
}

/*
 * deliver_now - with @n completions of @f waiting (in its batch, or in
 * its completion ring unwoken for), does the policy say deliver now?
 */
bool deliver_now(const struct flow *f, uint32_t n)
{
	const struct zcsd_policy *p = &f->dest->policy;

	return p->flush == ZCS_FLUSH_IMMEDIATE || n >= p->batch_max ||
	       f->inflight == 0;
}

/*
 * deliver_arm - start @f's batch_usec deadline. Returns 0, or -errno when
 * there is none (batch_usec 0) or it cannot be armed: deliver now.
 */
int deliver_arm(struct flow *f)
{
	uint32_t us = f->dest->policy.batch_usec;
	struct timeval tv = timeval_us(us);

	if (us == 0)
		return -EAGAIN;
	return evtimer_add(f->batch_timer, &tv) ? -ENOMEM : 0;
}

static void deliver_count_in(struct zcs_counters *st, uint32_t k,
			     uint32_t msgs)
{
	st->completions += k;
	st->completion_msgs += msgs;
}

/*
 * deliver_count - @k completions of @c went out, in @msgs COMPLETE
 * messages (0 for the completion ring), for destination @dest (NULL for
 * records that never reached one): counted for it, @c and the daemon.
 */
void deliver_count(struct client *c, struct dest *dest, uint32_t k,
		   uint32_t msgs)
{
	if (dest)
		deliver_count_in(&dest->st, k, msgs);
	deliver_count_in(&c->st, k, msgs);
	deliver_count_in(&c->d->st, k, msgs);
}
