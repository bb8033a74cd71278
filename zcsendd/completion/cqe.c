/* SPDX-License-Identifier: MIT */
/*
 * CQEs, as the ring posts them: the eventfd bridge that lets libevent say
 * when some wait, the loop that submits and reaps in one io_uring_enter,
 * and what each CQE means for its request (a result, maybe with a
 * notification to follow, or the notification) or connecting flow.
 */
#include <errno.h>
#include <unistd.h>

#include "ops/ops.h"

/* cqe_run() rounds before it lets other events run. */
#define RUN_ROUNDS	8

/*
 * Will a notification CQE follow this result? F_MORE says so; but a
 * zerocopy send cancelled because an earlier linked one failed was seen
 * (Linux 6.18) to post its notification without F_MORE on the result.
 */
static bool cqe_notif_follows(const struct req *r,
			      const struct io_uring_cqe *cqe)
{
	if (cqe->flags & IORING_CQE_F_MORE)
		return true;
	return r->op_zc && cqe->res == -ECANCELED;
}

/*
 * A CQE @c was owed came. The last one of a dead client lets the reaper
 * free it (reap.c); handlers never free, so @c stays valid meanwhile.
 */
static void cqe_paid(struct client *c)
{
	if (--c->cqes_owed == 0 && c->dead)
		reap_schedule(c->d);
}

/* The result CQE of a TCP op: progress is judged when the chain ends. */
static void cqe_tcp_result(struct req *r, int res)
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
		finish_chain(f);
}

/* A zerocopy notification for @r: the kernel let go of its pages. */
static void cqe_notif(struct zcsd *d, struct req *r,
		      const struct io_uring_cqe *cqe)
{
	if (r->notifs <= 0) {
		/* Not one we counted on: never let the count go negative,
		 * or the request would never complete. */
		log_warnx("flow %u: unexpected zerocopy notification "
			  "(tag %llu), ignored", r->f->id,
			  (unsigned long long)r->tag);
		return;
	}
	r->notifs--;
	cqe_paid(r->c);
	if ((d->ring.features & ZCS_FEAT_REPORT_USAGE) &&
	    ((uint32_t)cqe->res & IORING_NOTIF_USAGE_ZC_COPIED))
		r->copied = 1;
	finish_check(r);
}

/*
 * A CQE for request @r: a result (maybe with F_MORE, a notification to
 * follow) or the notification itself. What a result means depends on the
 * kind of operation @r went out as.
 */
static void cqe_req(struct zcsd *d, struct req *r,
		    const struct io_uring_cqe *cqe)
{
	if (cqe->flags & IORING_CQE_F_NOTIF) {
		cqe_notif(d, r, cqe);
		return;
	}
	r->ops--;
	if (cqe_notif_follows(r, cqe))
		r->notifs++;	/* the result came; a notification is owed */
	else
		cqe_paid(r->c);
	switch (r->kind) {
	case REQ_TCP_CHAIN:
		cqe_tcp_result(r, cqe->res);
		return;
	case REQ_GSO_SEGMENT:
	case REQ_GSO_LEAD:
		finish_list(udpseg_result(r, cqe->res));
		return;
	default:
		break;
	}
	if (cqe->res >= 0) {
		r->done = (uint32_t)cqe->res;
		r->dgrams = 1;
	} else {
		r->err = cqe->res;
	}
	finish_check(r);
}

static void cqe_one(struct zcsd *d, const struct io_uring_cqe *cqe)
{
	uintptr_t ud = (uintptr_t)cqe->user_data;
	void *ptr = (void *)(ud & ~UD_MASK);

	switch (ud & UD_MASK) {
	case UD_REQ:
		cqe_req(d, ptr, cqe);
		break;
	case UD_CONNECT:
		cqe_paid(((struct flow *)ptr)->c);
		flow_connect_done(ptr, cqe->res);
		break;
	case UD_CLIENT:
		cqe_paid(ptr);	/* a link timeout: nothing else to do */
		break;
	default:
		break;	/* cancels at exit: nobody's */
	}
}

/* Handle every CQE the ring shows now. Returns how many. */
static unsigned cqe_drain(struct zcsd *d)
{
	struct io_uring *ring = &d->ring.uring;
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;

	io_uring_for_each_cqe(ring, head, cqe) {
		cqe_one(d, cqe);
		n++;
	}
	io_uring_cq_advance(ring, n);
	d->ring.cqes += n;
	return n;
}

/*
 * Under DEFER_TASKRUN completions wait as task work until asked for, and
 * TASKRUN_FLAG makes the kernel say in shared memory when some waits: ask
 * only then, so a loop polling client rings makes no system call while
 * nothing completed.
 */
static bool cqe_events_due(struct zcsd *d)
{
	struct io_uring *ring = &d->ring.uring;

	if (io_uring_cq_has_overflow(ring))
		return true;
	return (d->ring.features & ZCS_FEAT_DEFER_TASKRUN) &&
	       (IO_URING_READ_ONCE(*ring->sq.kflags) & IORING_SQ_TASKRUN);
}

/*
 * Work left for another round: SQEs not yet submitted, or CQEs the kernel
 * keeps on its overflow list because the CQ was full. Overflowed CQEs
 * reach the CQ only through an io_uring_enter with GETEVENTS, and posting
 * them does not signal the eventfd: without this check, in the coop and
 * plain set-ups, sends whose CQEs overflowed stayed in flight for ever.
 */
static bool cqe_more(struct zcsd *d)
{
	return d->ring.pending || io_uring_cq_has_overflow(&d->ring.uring);
}

/*
 * cqe_run - submit what is prepared and handle what completed, until
 * neither SQEs nor overflowed CQEs are left. With DEFER_TASKRUN the kernel
 * posts CQEs only when asked, so each round is one io_uring_enter that
 * submits and collects together: a send that completes inline (a sink, a
 * socket with room) is answered in the same wake-up, without waiting for
 * the eventfd. In every set-up, a CQ overflow is flushed by asking for
 * events (io_uring_submit asks by itself when it sees the flag). TCP
 * chains that found the SQ full start again once CQEs made room.
 * CQE handlers never free anything (the reaper does, later), so it may
 * be called from any depth.
 */
void cqe_run(struct zcsd *d)
{
	struct io_uring *ring = &d->ring.uring;
	unsigned rounds;

	for (rounds = 0; rounds < RUN_ROUNDS; rounds++) {
		if (d->ring.pending)
			ring_submit(d);
		else if (cqe_events_due(d))
			io_uring_get_events(ring);
		cqe_drain(d);
		if (!TAILQ_EMPTY(&d->sq_waiters))
			finish_sq_room(d);
		if (!cqe_more(d))
			return;
	}
	event_active(d->ring.ev, EV_READ, 0);	/* more: after others run */
}

static void cqe_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("reading the ring's eventfd");
	cqe_run(arg);
}

/*
 * cqe_wait - at exit, with the event loop stopped: wait up to @ms for a
 * CQE and handle what came, as the eventfd callback would.
 */
void cqe_wait(struct zcsd *d, unsigned ms)
{
	struct __kernel_timespec ts = {
		.tv_sec = ms / 1000,
		.tv_nsec = (long long)(ms % 1000) * 1000000,
	};
	struct io_uring_cqe *cqe;

	ring_submit(d);
	io_uring_wait_cqe_timeout(&d->ring.uring, &cqe, &ts);
	cqe_run(d);
}

/*
 * cqe_init - let libevent say when the ring's eventfd says CQEs wait.
 * After ring_init(). Returns 0 or -ENOMEM (logged).
 */
int cqe_init(struct zcsd *d)
{
	d->ring.ev = event_new(d->base, d->ring.efd, EV_READ | EV_PERSIST,
			       cqe_cb, d);
	if (!d->ring.ev || event_add(d->ring.ev, NULL)) {
		log_warnx("cannot watch the ring's eventfd");
		return -ENOMEM;
	}
	return 0;
}
