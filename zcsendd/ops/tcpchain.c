/* SPDX-License-Identifier: MIT */
/*
 * Byte order on TCP flows. Several zerocopy sends in flight on one socket
 * were seen to reorder; linked SQEs with MSG_WAITALL keep order. So each
 * TCP flow has at most one chain of linked sends in the kernel; what the
 * client sends meanwhile waits in the flow's queue. When the chain ends, a
 * short send is continued and the sends cancelled behind it go again, in
 * order, before anything queued later. A leaf of the send path: the
 * completion stage ends a chain (tcpchain_end) and starts the next.
 */
#include <errno.h>

#include "ops/ops.h"

/* Longest chain: it must fit the SQ, which the kernel reads in one go. */
#define CHAIN_MAX	64u

/*
 * tcpchain_start - link the next sends of @f into a chain, if none is in
 * the kernel. They leave with the caller's next ring_submit(). Returns 0,
 * or the error of a broken stream: then the caller fails what is queued.
 */
int tcpchain_start(struct flow *f)
{
	struct zcsd *d = f->c->d;
	uint32_t n, i;
	struct req *r;

	if (f->chain_ops || !f->queue.n)
		return 0;
	if (f->err)
		return f->err;
	n = min_u32(f->queue.n, CHAIN_MAX);
	if (io_uring_sq_space_left(&d->ring.uring) < n)
		ring_submit(d);
	n = min_u32(n, io_uring_sq_space_left(&d->ring.uring));
	if (n == 0) {
		/* The kernel took none of the SQ for now: wait for room
		 * (finish_sq_room) rather than break the stream. */
		if (!f->sq_wait) {
			f->sq_wait = true;
			TAILQ_INSERT_TAIL(&d->sq_waiters, f, sq_entry);
		}
		return 0;
	}
	for (i = 0; i < n; i++) {
		r = req_list_pop(&f->queue);
		req_list_push(&f->chain, r);
		r->kind = REQ_TCP_CHAIN;
		sendop_prep(r, i + 1 < n);	/* room was checked above */
		f->chain_ops++;
	}
	return 0;
}

/* tcpchain_requeue - put @l in front of @f's queue, keeping both orders. */
void tcpchain_requeue(struct flow *f, struct req_list *l)
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
 * tcpchain_end - every op of @f's chain has its result CQE. What was sent,
 * or failed, goes on @done for completion; what was cut short on @again,
 * to go first in the next chain (tcpchain_requeue).
 */
void tcpchain_end(struct flow *f, struct req_list *done,
		  struct req_list *again)
{
	struct req *r;

	while ((r = req_list_pop(&f->chain))) {
		r->kind = REQ_TCP;
		if (!r->err && r->done < r->len) {
			if (!f->err) {
				req_list_push(again, r);
				continue;
			}
			r->err = f->err;
		}
		req_list_push(done, r);
	}
}
