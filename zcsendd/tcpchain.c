/* SPDX-License-Identifier: MIT */
/*
 * Byte order on TCP flows. Several zerocopy sends in flight on one socket
 * were seen to reorder; linked SQEs with MSG_WAITALL keep order. So each
 * TCP flow has at most one chain of linked sends in the kernel; what the
 * client sends meanwhile waits in the flow's queue. When the chain ends, a
 * short send is continued and the sends cancelled behind it go again, in
 * order, before anything queued later.
 */
#include <errno.h>

#include "zcsd.h"

/* Longest chain: it must fit the SQ, which the kernel reads in one go. */
#define CHAIN_MAX	64u

/*
 * tcpchain_start - link the next sends of @f into a chain, if none is in
 * the kernel. They leave with the caller's next ring_submit().
 */
void tcpchain_start(struct flow *f)
{
	struct zcsd *d = f->c->d;
	uint32_t n, i;
	struct req *r;

	if (f->chain_ops || !f->queue.n)
		return;
	if (f->err) {
		sendq_fail_flow(f, f->err);
		return;
	}
	n = min_u32(f->queue.n, CHAIN_MAX);
	if (io_uring_sq_space_left(&d->ring.uring) < n)
		ring_submit(d);
	n = min_u32(n, io_uring_sq_space_left(&d->ring.uring));
	if (n == 0) {
		/* The kernel took none of the SQ for now: wait for room
		 * (tcpchain_retry) rather than break the stream. */
		if (!f->sq_wait) {
			f->sq_wait = true;
			TAILQ_INSERT_TAIL(&d->sq_waiters, f, sq_entry);
		}
		return;
	}
	for (i = 0; i < n; i++) {
		r = req_list_pop(&f->queue);
		req_list_push(&f->chain, r);
		r->in_chain = 1;
		sendq_prep(r, i + 1 < n);	/* room was checked above */
		f->chain_ops++;
	}
}

/* Put @l in front of @f's queue, keeping both orders. */
static void tcpchain_requeue(struct flow *f, struct req_list *l)
{
	if (!l->n)
		return;
	*l->tailp = f->queue.head;
	if (!f->queue.n)
		f->queue.tailp = l->tailp;
	f->queue.head = l->head;
	f->queue.n += l->n;
}

/*
 * tcpchain_op_done - every op of @f's chain has its result CQE. Complete
 * what was sent, requeue what was cut short, and start the next chain.
 */
void tcpchain_op_done(struct flow *f)
{
	struct req_list again;
	struct req *r;

	req_list_init(&again);
	while ((r = req_list_pop(&f->chain))) {
		r->in_chain = 0;
		if (!r->err && r->done < r->len) {
			if (!f->err) {
				req_list_push(&again, r);
				continue;
			}
			r->err = f->err;
		}
		sendq_check_done(r);
	}
	tcpchain_requeue(f, &again);
	tcpchain_start(f);
}

/*
 * tcpchain_retry - start the chains that found the SQ full, in the order
 * they came, once the ring has been run and may have room again.
 */
void tcpchain_retry(struct zcsd *d)
{
	struct flow *f;

	while ((f = TAILQ_FIRST(&d->sq_waiters)) &&
	       io_uring_sq_space_left(&d->ring.uring) > 0) {
		TAILQ_REMOVE(&d->sq_waiters, f, sq_entry);
		f->sq_wait = false;
		tcpchain_start(f);
		if (f->sq_wait)
			return;	/* still no room */
	}
}
