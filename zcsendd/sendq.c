/* SPDX-License-Identifier: MIT */
/*
 * Send requests: each record of a SEND message is checked against the
 * client's pool and flows, becomes a preallocated struct req (no
 * allocation per send), and leaves as one SQE: a zerocopy send from the
 * pool's fixed buffer, or a copying send where policy says so. A request
 * is complete only once its result CQE and, for zerocopy, its
 * notification CQE have both arrived.
 */
#include <sys/socket.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "zcsd.h"

/* Error completions gathered while walking one SEND message. */
#define ERR_BATCH	128

struct send_errs {
	struct zcs_msg_completion v[ERR_BATCH];
	uint32_t n;
	enum sendq_src src;
};

/*
 * sendq_init - the client's request slots, as many as it may have in
 * flight: their own pages (pages.c says why). Returns 0 or -ENOMEM.
 */
int sendq_init(struct client *c)
{
	uint32_t i, n = c->d->cfg.max_inflight;

	c->reqs = pages_calloc(n, sizeof(*c->reqs));
	if (!c->reqs)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		c->reqs[i].next = c->free_reqs;
		c->free_reqs = &c->reqs[i];
	}
	return 0;
}

void sendq_fini(struct client *c)
{
	pages_free(c->reqs);
	c->reqs = NULL;
	c->free_reqs = NULL;
}

/* Error completions go back the way their records came. */
static void send_errs_flush(struct client *c, struct send_errs *e)
{
	if (!e->n)
		return;
	if (e->src == SENDQ_RING)
		shring_errors(c, e->v, e->n);
	else
		complete_error(c, e->v, e->n);
	e->n = 0;
}

static void send_err(struct client *c, struct send_errs *e, uint64_t tag,
		     int err)
{
	e->v[e->n].tag = tag;
	e->v[e->n].result = err;
	e->v[e->n].flags = 0;
	c->st.errors++;
	c->d->st.errors++;
	if (++e->n == ERR_BATCH)
		send_errs_flush(c, e);
}

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

/* Check one record; 0 with *fp set, or the error its completion says. */
static int sendq_check(struct client *c, const struct zcs_msg_send *s,
		       struct flow **fp)
{
	int err = zcs_send_check(s);

	if (err)
		return err;
	err = flow_lookup(c, s->flow, fp);
	if (err)
		return err;
	if ((*fp)->err)
		return (*fp)->err;	/* a broken TCP stream stays broken */
	if (zcs_range_check(s->offset, s->len, c->pool.size))
		return -ERANGE;
	if (s->len > c->d->cfg.max_send_bytes)
		return -EMSGSIZE;
	return udpseg_check(*fp, s);
}

static struct req *sendq_take(struct client *c, struct flow *f,
			      const struct zcs_msg_send *s)
{
	struct req *r = c->free_reqs;

	if (!r)
		return NULL;
	c->free_reqs = r->next;
	memset(r, 0, sizeof(*r));
	r->c = c;
	r->f = f;
	r->tag = s->tag;
	r->off = s->offset;
	r->len = s->len;
	c->inflight++;
	f->inflight++;
	return r;
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

/* What one batch of records is gathering: TCP flows, a UDP run. */
struct sendq_batch {
	struct flow *touched[ZCS_SEND_BATCH_MAX];
	uint32_t ntouched;
	struct coalesce run;
};

/*
 * Start one valid record: TCP joins its flow's queue; UDP joins the run
 * being coalesced, or goes at once (after the run, to keep its order).
 */
static int sendq_start(struct client *c, struct flow *f,
		       const struct zcs_msg_send *s, struct sendq_batch *b)
{
	struct req *r = sendq_take(c, f, s);

	if (!r)
		return -ENOBUFS;
	if (f->d->proto == ZCS_PROTO_TCP) {
		req_list_push(&f->queue, r);
		if (!f->touched) {
			f->touched = true;
			b->touched[b->ntouched++] = f;
		}
		return 0;
	}
	if (s->flags & ZCS_SEND_F_SEGMENT) {
		udpseg_flush(&b->run);
		r->segment = (uint16_t)s->segment;
		udpseg_start(r);
		return 0;
	}
	if (udpseg_join(&b->run, r))
		return 0;
	r->err = sendq_prep(r, false);
	if (r->err)
		complete_req(r);
	return 0;
}

/*
 * sendq_begin - may @c send at all? It needs a pool, and its first send
 * seals and pins the pool (pool_pin). Answers a refusal with an ERROR
 * naming SEND and @cookie. Returns 0, or -errno: the client must be
 * dropped.
 */
int sendq_begin(struct client *c, uint64_t cookie)
{
	int err;

	if (!c->pool.size) {
		conn_error(c, ZCS_MSG_SEND, cookie, -EPROTO,
			   "SEND on a connection without a pool");
		return -EPROTO;
	}
	err = pool_pin(c);
	if (err)
		conn_error(c, ZCS_MSG_SEND, cookie, err, "pool not usable: %s",
			   strerror(-err));
	return err;
}

/*
 * sendq_handle - @n records, from a SEND message or copied out of the
 * client's submission ring (@src), after sendq_begin(). Bad records get
 * an error completion and send nothing; the rest are prepared, and
 * submitted together by the caller's ring_run(). Returns 0 (errors go to
 * the client).
 */
int sendq_handle(struct client *c, const uint8_t *payload, size_t n,
		 enum sendq_src src)
{
	struct send_errs errs = { .n = 0, .src = src };
	struct sendq_batch b = { .ntouched = 0 };
	struct zcs_msg_send s;
	struct flow *f;
	uint32_t i;
	int err;

	for (i = 0; i < n && !c->dead; i++) {
		memcpy(&s, payload + i * sizeof(s), sizeof(s));
		err = sendq_check(c, &s, &f);
		if (!err)
			err = sendq_start(c, f, &s, &b);
		if (err)
			send_err(c, &errs, s.tag, err);
	}
	udpseg_flush(&b.run);
	for (i = 0; i < b.ntouched; i++) {
		b.touched[i]->touched = false;
		tcpchain_start(b.touched[i]);
	}
	send_errs_flush(c, &errs);
	if (c->inflight >= c->d->cfg.max_inflight)
		conn_pause(c);	/* completions will resume it */
	return 0;
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
