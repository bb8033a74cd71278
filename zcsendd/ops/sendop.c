/* SPDX-License-Identifier: MIT */
/*
 * One send SQE: a zerocopy send from the pool's fixed buffer, or a
 * copying send where the destination's policy (size, zerocopy=auto)
 * says so. Plain UDP records, TCP chains and single datagrams of a
 * segmented record all leave this way.
 */
#include <sys/socket.h>
#include <errno.h>

#include "ops/ops.h"

/*
 * sendop_use_zc - does a send of @len bytes of @r go out as zerocopy?
 * Size, then policy and the kernel.
 */
bool sendop_use_zc(const struct req *r, uint32_t len)
{
	struct dest *dest = r->f->dest;

	if (len < dest->policy.zerocopy_min_bytes)
		return false;
	return zcauto_use(r->c->d, dest);
}

/*
 * sendop_prep - one SQE for the unsent rest of @r. @link chains it to the
 * next SQE (TCP order). Returns 0 or -EBUSY when the ring has no room.
 */
int sendop_prep(struct req *r, bool link)
{
	return sendop_prep_range(r, r->off + r->done, r->len - r->done, link);
}

/*
 * sendop_prep_range - one SQE sending [@start, @start+@left) of @r's pool
 * as one send(2) would. The size that decides zerocopy is the record's,
 * or for a segmented record the datagram's.
 */
int sendop_prep_range(struct req *r, uint64_t start, uint32_t left,
		      bool link)
{
	struct client *c = r->c;
	struct io_uring_sqe *sqe = ring_sqe(c->d, c);
	uint32_t slot = (uint32_t)(start / POOL_SLOT_BYTES);
	char *buf = (char *)c->pool.base + start;
	int flags = MSG_NOSIGNAL;

	if (!sqe)
		return -EBUSY;
	if (r->f->dest->proto == ZCS_PROTO_TCP)
		flags |= MSG_WAITALL;	/* the kernel finishes short sends */
	if (sendop_use_zc(r, r->kind == REQ_GSO_SEGMENT ? left : r->len)) {
		unsigned zc = c->d->ring.features & ZCS_FEAT_REPORT_USAGE
				      ? IORING_SEND_ZC_REPORT_USAGE : 0;

		if (c->pool.pinned &&
		    (start + left - 1) / POOL_SLOT_BYTES == slot)
			io_uring_prep_send_zc_fixed(sqe, r->f->fd, buf, left,
						    flags, zc,
						    c->pool.first_slot + slot);
		else	/* spans two slots, or not pinned: pin per send */
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
