/* SPDX-License-Identifier: MIT */
/*
 * UDP datagrams by the batch. A record with a segment size, and a run of
 * plain records that the daemon coalesced, leave as GSO sends: SENDMSG
 * (zerocopy where policy says) with a UDP_SEGMENT cmsg, which the stack
 * or the NIC cuts into datagrams of that size. Coalesced records need not
 * be adjacent in the pool: each is an iovec (adjacent ones merge), and
 * the cuts fall on their edges because every record but the last has the
 * segment's length. Where GSO is not in force, or the kernel refused it,
 * a segmented record goes one datagram per send and a run record by
 * record, so the receiver sees the same datagrams either way (those of a
 * refused send may arrive after later records', as they go again).
 * A leaf of the send path: it never completes a request itself, it hands
 * back the requests whose state changed for completion to look at.
 */
#include <errno.h>
#include <string.h>

#include "ops/ops.h"

/* Single-datagram sends of one segmented record in the kernel at once. */
#define DGRAM_WINDOW	32u

/*
 * Memory fragments one zerocopy send may gather (MAX_SKB_FRAGS, 17 by
 * default): the kernel fails one that needs more with EMSGSIZE. A run is
 * cut where it would need more, counting a fragment per page of each
 * stretch of adjacent records.
 */
#define FRAGS_MAX	17u
#define FRAG_PAGE	4096u

/* Fragments that [@off, @off+@len) adds to a run ending at @g->end. */
static uint32_t run_frags(const struct coalesce *g, uint64_t off,
			  uint32_t len)
{
	uint32_t n = (uint32_t)((off + len - 1) / FRAG_PAGE - off / FRAG_PAGE
				+ 1);

	if (g->lead && g->end == off && off % FRAG_PAGE)
		n--;	/* continues the run's last fragment */
	return n;
}

/*
 * udpseg_check - may @s name a segment size on @f? TCP has no datagrams;
 * a segment over the path MTU would be fragmented, or refused by GSO; and
 * the datagrams of one record are bounded, as the sends they take are.
 */
int udpseg_check(const struct flow *f, const struct zcs_msg_send *s)
{
	uint64_t dgrams;

	if (!(s->flags & ZCS_SEND_F_SEGMENT))
		return 0;
	if (f->dest->proto != ZCS_PROTO_UDP)
		return -EOPNOTSUPP;
	dgrams = ((uint64_t)s->len + s->segment - 1) / s->segment;
	if (s->segment > f->dest->gso.max_segment ||
	    dgrams > ZCS_SEGMENT_DATAGRAMS_MAX)
		return -EMSGSIZE;
	return 0;
}

/*
 * Does the kernel's answer @res to a GSO send of @r mean "not GSO here"
 * rather than "not this send"? EIO: the device cannot checksum it. A
 * segment over the route's MTU: EINVAL before Linux 6.14, EMSGSIZE since,
 * which also answers a send of too many memory fragments; so the path
 * MTU is read again, and EMSGSIZE counts only when it no longer fits the
 * segment.
 */
static bool udpseg_refusal(const struct req *r, int res)
{
	struct dest *dest = r->f->dest;

	if (res != -EIO && res != -EINVAL && res != -EOPNOTSUPP &&
	    res != -ENOPROTOOPT && res != -EMSGSIZE)
		return false;
	gso_path_mtu(dest);
	return res != -EMSGSIZE || r->segment > dest->gso.max_segment;
}

/*
 * The registered buffer slot holding all of @m's iovecs, or -1: a zerocopy
 * send from it need not pin the pages again (the kernel's iovec import
 * checks the bounds).
 */
static int udpseg_slot(const struct req *r, const struct msghdr *m)
{
	const struct pool *p = &r->c->pool;
	uintptr_t base = (uintptr_t)p->base, a, b;
	uint64_t slot = UINT64_MAX;
	size_t i;

	if (!(r->c->d->ring.features & ZCS_FEAT_SENDMSG_ZC_FIXED) ||
	    !p->pinned)
		return -1;
	for (i = 0; i < m->msg_iovlen; i++) {
		a = (uintptr_t)m->msg_iov[i].iov_base - base;
		b = a + m->msg_iov[i].iov_len - 1;
		if (a / POOL_SLOT_BYTES != b / POOL_SLOT_BYTES ||
		    (slot != UINT64_MAX && slot != a / POOL_SLOT_BYTES))
			return -1;
		slot = a / POOL_SLOT_BYTES;
	}
	return (int)(p->first_slot + slot);
}

/* One SENDMSG SQE for @m, @bytes long, cut into r->segment datagrams. */
static int udpseg_prep(struct req *r, struct msghdr *m, uint32_t bytes)
{
	struct zcsd *d = r->c->d;
	struct io_uring_sqe *sqe;
	struct cmsghdr *cm;
	uint16_t seg = r->segment;

	m->msg_control = r->cmsg.buf;
	m->msg_controllen = sizeof(r->cmsg.buf);
	cm = CMSG_FIRSTHDR(m);
	cm->cmsg_level = SOL_UDP;
	cm->cmsg_type = UDP_SEGMENT;
	cm->cmsg_len = CMSG_LEN(sizeof(seg));
	memcpy(CMSG_DATA(cm), &seg, sizeof(seg));
	sqe = ring_sqe(d, r->c);
	if (!sqe)
		return -EBUSY;
	if ((d->ring.features & ZCS_FEAT_SENDMSG_ZC) && sendop_use_zc(r, bytes)) {
		int slot = udpseg_slot(r, m);

		io_uring_prep_sendmsg_zc(sqe, r->f->fd, m, MSG_NOSIGNAL);
		if (d->ring.features & ZCS_FEAT_REPORT_USAGE)
			sqe->ioprio |= IORING_SEND_ZC_REPORT_USAGE;
		if (slot >= 0) {
			sqe->ioprio |= IORING_RECVSEND_FIXED_BUF;
			sqe->buf_index = (uint16_t)slot;
		}
		r->zc = 1;
		r->op_zc = 1;
	} else {
		io_uring_prep_sendmsg(sqe, r->f->fd, m, MSG_NOSIGNAL);
		r->op_zc = 0;
	}
	io_uring_sqe_set_data(sqe, r);
	r->ops++;
	r->op_gso = 1;	/* its sends are GSO sends */
	return 0;
}

/* The next GSO send of a segmented record: as much as one may carry. */
static int udpseg_prep_next(struct req *r)
{
	struct client *c = r->c;
	uint32_t per = min_u32(UDP_PAYLOAD_MAX / r->segment,
			       c->d->ring.gso_max_segs);
	uint32_t bytes = min_u32(r->len - r->sent, per * r->segment);
	struct msghdr *m = sqarena_msg(c->d, 1);
	int err;

	if (!m)
		return -EBUSY;
	m->msg_iov[0].iov_base = (char *)c->pool.base + r->off + r->sent;
	m->msg_iov[0].iov_len = bytes;
	m->msg_iovlen = 1;
	err = udpseg_prep(r, m, bytes);
	if (!err)
		r->sent += bytes;
	return err;
}

/* The next single datagram of a segmented record. */
static int dgram_prep_next(struct req *r)
{
	uint32_t bytes = min_u32(r->len - r->sent, r->segment);
	int err = sendop_prep_range(r, r->off + r->sent, bytes, false);

	if (!err)
		r->sent += bytes;
	return err;
}

/*
 * Put more of segmented record @r in the kernel, one datagram per send:
 * a window of them, so that a large record cannot fill the rings. Used
 * where GSO is not in force, and for a record the kernel refused; its
 * completions move the window on, the scheduler no longer does.
 */
static void dgram_next(struct req *r)
{
	int err = 0;

	r->windowed = 1;
	while (!err && !r->err && r->ops < DGRAM_WINDOW && r->sent < r->len)
		err = dgram_prep_next(r);
	if (err)
		r->err = err;	/* what is in the kernel ends first */
}

/*
 * udpseg_next - put the next part of segmented record @r in the kernel:
 * one GSO send, as the scheduler's share for its client allows. The
 * scheduler keeps @r first in its client's queue until r->sent reaches
 * r->len, so its datagrams leave before those of records queued after it.
 * Where GSO is not in force when it starts, the whole record goes one
 * datagram per send instead (r->windowed), paced by its completions. A
 * failure sets r->err; what is in the kernel ends first.
 */
void udpseg_next(struct req *r)
{
	int err;

	if (r->windowed || r->err)
		return;
	if (!r->sent && !gso_use(r->f->dest)) {
		dgram_next(r);
		return;
	}
	err = udpseg_prep_next(r);
	if (err)
		r->err = err;
}

/*
 * All of a GSO record's sends are back, and the kernel refused some. If
 * it refused them all, nothing went out: send it again one datagram per
 * send. If the refusal came part way through, the record fails.
 */
static void seg_refused(struct req *r)
{
	r->op_gso = 0;
	r->refused = 0;
	if (r->done || r->err) {
		if (!r->err)
			r->err = -EIO;
		return;
	}
	r->sent = 0;
	dgram_next(r);	/* the scheduler lets go of it (r->windowed) */
}

/* A result for segmented record @r (not a coalesced run). */
static void seg_result(struct req *r, int res)
{
	if (res < 0 && r->op_gso && udpseg_refusal(r, res)) {
		if (!r->refused++)
			gso_refused(r->f->dest, res);
	} else if (res < 0) {
		r->err = res;
	} else {
		r->done += (uint32_t)res;
		r->dgrams += ((uint32_t)res + r->segment - 1) / r->segment;
		r->gso_ops += r->op_gso && (uint32_t)res > r->segment;
	}
	if (!r->ops && r->refused)
		seg_refused(r);
	else if (!r->op_gso)
		dgram_next(r);
	if (!r->ops && !r->err && r->sent >= r->len && r->done < r->len)
		r->err = -EIO;	/* a short send: never seen */
}

/*
 * udpseg_join - coalesce plain UDP record @r into @g, the run being
 * gathered from one batch of records, when it may be. A record that does
 * not fit ends the run first, so datagrams leave in record order.
 * Returns false when @r must be sent on its own.
 */
bool udpseg_join(struct coalesce *g, struct req *r)
{
	struct zcsd *d = r->c->d;
	struct dest *dest = r->f->dest;
	uint32_t frags;

	if (dest->proto != ZCS_PROTO_UDP || r->len > dest->gso.max_segment ||
	    !gso_coalesce(dest)) {
		udpseg_flush(g);
		return false;
	}
	frags = run_frags(g, r->off, r->len);
	if (g->lead && (g->closed || r->f != g->lead->f ||
			r->len > g->lead->len ||
			g->n == d->ring.gso_max_segs ||
			g->bytes + r->len > UDP_PAYLOAD_MAX ||
			g->frags + frags > FRAGS_MAX)) {
		udpseg_flush(g);
		frags = run_frags(g, r->off, r->len);	/* a run of its own */
	}
	if (!g->lead) {
		*g = (struct coalesce){ .lead = r, .last = r, .n = 1,
					.bytes = r->len, .end = r->off + r->len,
					.frags = frags, .failed = g->failed };
		return true;
	}
	g->frags += frags;
	g->end = r->off + r->len;
	g->last->grp = r;
	g->last = r;
	g->n++;
	g->bytes += r->len;
	g->closed = r->len < g->lead->len;
	return true;
}

/*
 * The records of a refused run go again, each its own datagram. They stay
 * linked by req.grp for the caller, who looks at each.
 */
static void group_split(struct req *lead)
{
	struct req *r;

	lead->segment = 0;
	for (r = lead; r; r = r->grp) {
		r->kind = REQ_PLAIN;
		r->err = sendop_prep(r, false);
	}
}

/* A coalesced run's one GSO send is done: share the result out. */
static void group_result(struct req *lead, int res)
{
	uint32_t left = res > 0 ? (uint32_t)res : 0;
	struct req *r;

	lead->op_gso = 0;
	if (res < 0 && udpseg_refusal(lead, res)) {
		gso_refused(lead->f->dest, res);
		group_split(lead);
		return;
	}
	if (res == -EMSGSIZE) {	/* more fragments than this kernel takes */
		group_split(lead);
		return;
	}
	for (r = lead; r; r = r->grp) {
		r->done = min_u32(r->len, left);
		left -= r->done;
		r->dgrams = r->done > 0;
		if (res < 0)
			r->err = res;
		else if (r->done < r->len)
			r->err = -EIO;	/* a short GSO send: never seen */
	}
	lead->gso_ops = res >= 0;
}

/*
 * udpseg_result - the result CQE @res of a segmented or coalesced send of
 * @r. Returns what the caller must look at for completion: @r itself, or
 * for a refused run the first of its records, now plain sends linked by
 * req.grp (as a run's records, but no longer REQ_GSO_LEAD/MEMBER).
 */
struct req *udpseg_result(struct req *r, int res)
{
	if (r->kind == REQ_GSO_LEAD)
		group_result(r, res);
	else
		seg_result(r, res);
	return r;
}

/* Lay the run out as iovecs, merging records adjacent in the pool. */
static int group_prep(struct req *lead, const struct coalesce *g)
{
	struct msghdr *m = sqarena_msg(lead->c->d, g->n);
	struct req *r;
	char *base = lead->c->pool.base, *p;
	struct iovec *v;
	size_t k = 0;

	if (!m)
		return -EBUSY;
	for (r = lead; r; r = r->grp) {
		p = base + r->off;
		v = &m->msg_iov[k - (k > 0)];
		if (k && (char *)v->iov_base + v->iov_len == p) {
			v->iov_len += r->len;
		} else {
			m->msg_iov[k].iov_base = p;
			m->msg_iov[k++].iov_len = r->len;
		}
	}
	m->msg_iovlen = k;
	lead->segment = (uint16_t)lead->len;
	lead->sent = g->bytes;
	return udpseg_prep(lead, m, g->bytes);
}

/* A run of @n records led by @lead: the lead sends, the rest ride. */
static void group_kinds(struct req *lead, uint32_t n)
{
	struct req *r;

	if (n == 1)
		return;		/* a plain send */
	lead->kind = REQ_GSO_LEAD;
	for (r = lead->grp; r; r = r->grp)
		r->kind = REQ_GSO_MEMBER;
}

/*
 * udpseg_flush - send the run gathered in @g: one record alone, more as
 * one GSO send. Called when a record does not join, and after the batch.
 * A run that could not go is left on g->failed for the caller to
 * complete, its records failed.
 */
void udpseg_flush(struct coalesce *g)
{
	struct req *lead = g->lead, *r;
	int err;

	if (!lead)
		return;
	g->lead = NULL;
	group_kinds(lead, g->n);
	err = g->n == 1 ? sendop_prep(lead, false) : group_prep(lead, g);
	if (!err)
		return;
	for (r = lead; r; r = r->grp)
		r->err = err;
	lead->next = g->failed;
	g->failed = lead;
}
