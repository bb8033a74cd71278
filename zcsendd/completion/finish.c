/* SPDX-License-Identifier: MIT */
/*
 * When a request is finished: once the kernel holds nothing of it (every
 * op has its result, every zerocopy op its notification), by kind of
 * operation. A coalesced run ends as its one send did; a TCP chain ends
 * when its last op is back, and the next chain starts.
 */
#include <errno.h>

#include "ops/ops.h"

/* Every record of the run led by @lead ends as @lead's send did. */
static void finish_group(struct req *lead)
{
	struct req *r, *next;

	lead->kind = REQ_PLAIN;
	for (r = lead; r; r = next) {
		next = r->grp;
		r->grp = NULL;
		if (r != lead) {
			r->zc = lead->zc;
			r->copied = lead->copied;
		}
		complete_req(r);
	}
}

/*
 * finish_check - complete @r if the kernel holds nothing of it any
 * more. A TCP request in a chain waits for the chain's end
 * (finish_chain), a run's records for their lead, and a segmented record
 * still on its client's queue (part sent) for the scheduler to let go.
 */
void finish_check(struct req *r)
{
	if (r->ops || r->notifs || r->queued || r->kind == REQ_TCP_CHAIN)
		return;
	if (r->kind == REQ_GSO_LEAD)
		finish_group(r);
	else if (r->err || r->done >= r->len)
		complete_req(r);
}

/*
 * finish_list - look at what an operation handed back: one request, a
 * run's lead, or the records of a split run linked by req.grp.
 */
void finish_list(struct req *r)
{
	struct req *next;

	if (r->kind == REQ_GSO_LEAD) {
		finish_check(r);
		return;
	}
	for (; r; r = next) {
		next = r->grp;
		r->grp = NULL;
		finish_check(r);
	}
}

/*
 * finish_fail_flow - fail every request of @f that has not reached the
 * kernel, with @err; those in the kernel end through their CQEs.
 */
void finish_fail_flow(struct flow *f, int err)
{
	struct req *r;

	while ((r = req_list_pop(&f->queue))) {
		r->err = err;
		finish_check(r);	/* a continued one may await notifs */
	}
}

/*
 * finish_start_chain - the next TCP chain of @f, or, on a broken
 * stream, the failure of all that waits for one.
 */
void finish_start_chain(struct flow *f)
{
	int err = tcpchain_start(f);

	if (err)
		finish_fail_flow(f, err);
}

/*
 * finish_chain - every op of @f's chain has its result CQE. Complete
 * what was sent, requeue what was cut short, and start the next chain.
 */
void finish_chain(struct flow *f)
{
	struct req_list done, again;
	struct req *r;

	req_list_init(&done);
	req_list_init(&again);
	tcpchain_end(f, &done, &again);
	while ((r = req_list_pop(&done)))
		finish_check(r);
	tcpchain_requeue(f, &again);
	finish_start_chain(f);
}

/*
 * finish_sq_room - start the chains that found the SQ full, in the
 * order they came, once the ring has been run and may have room again.
 */
void finish_sq_room(struct zcsd *d)
{
	struct flow *f;

	while ((f = TAILQ_FIRST(&d->sq_waiters)) &&
	       io_uring_sq_space_left(&d->ring.uring) > 0) {
		TAILQ_REMOVE(&d->sq_waiters, f, sq_entry);
		f->sq_wait = false;
		finish_start_chain(f);
		if (f->sq_wait)
			return;	/* still no room */
	}
}
