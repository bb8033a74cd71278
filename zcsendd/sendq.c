/* SPDX-License-Identifier: MIT */
/*
 * Send requests in the kernel: one SQE per request, a zerocopy send from
 * the pool's fixed buffer or a copying send where policy says so, and the
 * CQEs that come back. A request is complete only once its result CQE
 * and, for zerocopy, its notification CQE have both arrived.
 */
#include <sys/socket.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "zcsd.h"

/*
 * sendq_use_zc - does a send of @len bytes of @r go out as zerocopy? Size,
 * then policy and the kernel.
 */
bool sendq_use_zc(const struct req *r, uint32_t len)
{
	struct dest *dst = r->f->d;

	if (len < dst->policy.zerocopy_min_bytes)
		return false;
	return zcauto_use(r->c->d, dst);
}

/*
 * sendq_prep - one SQE for the unsent rest of @r. @link chains it to the
 * next SQE (TCP order). Returns 0 or -EBUSY when the ring has no room.
 */
int sendq_prep(struct req *r, bool link)
{
	return sendq_prep_range(r, r->off + r->done, r->len - r->done, link);
}

/*
 * sendq_prep_range - one SQE sending [@start, @start+@left) of @r's pool
 * as one send(2) would. The size that decides zerocopy is the record's,
 * or for a segmented record the datagram's.
 */
int sendq_prep_range(struct req *r, uint64_t start, uint32_t left, bool link)
{
	struct client *c = r->c;
	struct io_uring_sqe *sqe = ring_sqe(c->d);
	uint32_t slot = (uint32_t)(start / POOL_SLOT_BYTES);
	char *buf = (char *)c->pool.base + start;
	int flags = MSG_NOSIGNAL;

	if (!sqe)
		return -EBUSY;
	if (r->f->d->proto == ZCS_PROTO_TCP)
		flags |= MSG_WAITALL;	/* the kernel finishes short sends */
	if (sendq_use_zc(r, r->segment ? left : r->len)) {
		unsigned zc = c->d->ring.features & ZCS_FEAT_REPORT_USAGE
				      ? IORING_SEND_ZC_REPORT_USAGE : 0;

		if ((start + left - 1) / POOL_SLOT_BYTES == slot)
			io_uring_prep_send_zc_fixed(sqe, r->f->fd, buf, left,
						    flags, zc,
						    c->pool.first_slot + slot);
		else	/* spans two slots: pin per send instead */
			io_uring_prep_send_zc(sqe, r->f->fd, buf, left, flags,
					      zc);
		r->zc = 1;
		r->op_zc = 1;
	} else {
		io_uring_prep_send(sqe, r->f->fd, buf, left, flags);
		r->op_zc = 0;
	}
	if (link)
		sqe->flags |= IOSQE_IO_LINK;
	io_uring_sqe_set_data(sqe, r);
	r->ops++;
	return 0;
}

/*
 * sendq_release - give a finished request's slot back to its client. The
 * last one of a dead client or a closing flow lets the reaper free it.
 */
void sendq_release(struct req *r)
{
	struct client *c = r->c;

	r->next = c->free_reqs;
	c->free_reqs = r;
	c->inflight--;
	if (c->dead || r->f->state == FLOW_CLOSING)
		reap_schedule(c->d);
}

/*
 * sendq_check_done - complete @r if the kernel holds nothing of it any
 * more. A TCP request waits for its chain's walk (tcpchain_op_done).
 */
void sendq_check_done(struct req *r)
{
	if (r->ops || r->notifs || r->in_chain)
		return;
	if (r->lead)
		udpseg_done(r);
	else if (r->err || r->done >= r->len)
		complete_req(r);
}

/* The result CQE of a TCP op: progress is judged when the chain ends. */
static void sendq_tcp_result(struct req *r, int res)
{
	struct flow *f = r->f;

	if (res > 0)
		r->done += (uint32_t)res;
	else if (res == 0)
		r->err = -EIO;	/* no progress: do not loop on it */
	else if (res != -ECANCELED)
		r->err = res;
	if (r->err && !f->err)
		f->err = r->err;
	if (--f->chain_ops == 0)
		tcpchain_op_done(f);
}

/*
 * Will a notification CQE follow this result? F_MORE says so; but a
 * zerocopy send cancelled because an earlier linked one failed was seen
 * (Linux 6.18) to post its notification without F_MORE on the result.
 */
static bool sendq_notif_follows(const struct req *r,
				const struct io_uring_cqe *cqe)
{
	if (cqe->flags & IORING_CQE_F_MORE)
		return true;
	return r->op_zc && cqe->res == -ECANCELED;
}

/*
 * sendq_cqe - a CQE for request @r: a result (maybe with F_MORE, a
 * notification to follow) or the notification itself.
 */
void sendq_cqe(struct zcsd *d, struct req *r, const struct io_uring_cqe *cqe)
{
	if (cqe->flags & IORING_CQE_F_NOTIF) {
		if (r->notifs <= 0) {
			/* Not one we counted on: never let the count go
			 * negative, or the request would never complete. */
			log_warnx("flow %u: unexpected zerocopy notification "
				  "(tag %llu), ignored", r->f->id,
				  (unsigned long long)r->tag);
			return;
		}
		r->notifs--;
		if ((d->ring.features & ZCS_FEAT_REPORT_USAGE) &&
		    ((uint32_t)cqe->res & IORING_NOTIF_USAGE_ZC_COPIED))
			r->copied = 1;
		sendq_check_done(r);
		return;
	}
	r->ops--;
	if (sendq_notif_follows(r, cqe))
		r->notifs++;
	if (r->f->d->proto == ZCS_PROTO_TCP) {
		sendq_tcp_result(r, cqe->res);
		return;
	}
	if (r->segment) {
		udpseg_result(r, cqe->res);
		return;
	}
	if (cqe->res >= 0) {
		r->done = (uint32_t)cqe->res;
		r->dgrams = 1;
	} else {
		r->err = cqe->res;
	}
	sendq_check_done(r);
}

/*
 * sendq_fail_flow - fail every request of @f that has not reached the
 * kernel, with @err; those in the kernel end through their CQEs.
 */
void sendq_fail_flow(struct flow *f, int err)
{
	struct req *r;

	while ((r = req_list_pop(&f->queue))) {
		r->err = err;
		sendq_check_done(r);	/* a continued one may await notifs */
	}
}
