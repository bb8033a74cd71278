/* SPDX-License-Identifier: MIT */
/*
 * The daemon's one io_uring: set-up with the best flags the kernel takes,
 * the sparse fixed-buffer table that client pools are registered into, and
 * the eventfd bridge that lets libevent tell us when CQEs are waiting.
 */
#include <sys/eventfd.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zcsd.h"
#include "service/probe.h"

/* ring_run() rounds before it lets other events run. */
#define RUN_ROUNDS	8

/*
 * Tried in order; the first the kernel accepts wins. DEFER_TASKRUN was
 * measured against the others with zcsend-bench (see the closing notes);
 * $ZCSENDD_RING_SETUP=coop or =plain starts lower down, for measuring.
 */
static const struct {
	const char *name;
	uint32_t flags;
	uint32_t feat;
} setups[] = {
	{ "defer", IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
	  IORING_SETUP_TASKRUN_FLAG,
	  ZCS_FEAT_SINGLE_ISSUER | ZCS_FEAT_DEFER_TASKRUN },
	{ "coop", IORING_SETUP_COOP_TASKRUN, 0 },
	{ "plain", 0, 0 },
};

static size_t ring_first_setup(void)
{
	const char *want = getenv("ZCSENDD_RING_SETUP");
	size_t i;

	for (i = 0; want && i < sizeof(setups) / sizeof(setups[0]); i++)
		if (!strcmp(want, setups[i].name))
			return i;
	return 0;
}

static int ring_setup(struct zcsd *d)
{
	struct io_uring_params p;
	size_t i;
	int err = -EINVAL;

	for (i = ring_first_setup(); i < sizeof(setups) / sizeof(setups[0]);
	     i++) {
		memset(&p, 0, sizeof(p));
		/*
		 * Each zerocopy send posts two CQEs; leave room for both.
		 * The config bounds ring_entries to 8192 so that the CQ stays
		 * within the kernel's 65536 (IORING_MAX_CQ_ENTRIES).
		 */
		p.flags = setups[i].flags | IORING_SETUP_CQSIZE |
			  IORING_SETUP_SUBMIT_ALL;
		p.cq_entries = d->cfg.ring_entries * 8;
		err = io_uring_queue_init_params(d->cfg.ring_entries,
						 &d->ring.uring, &p);
		if (!err) {
			d->ring.features = setups[i].feat;
			d->ring.entries = p.sq_entries;
			log_debug("io_uring set up with %s flags", setups[i].name);
			return 0;
		}
		log_debug("io_uring setup flags %#x: %s", p.flags,
			  strerror(-err));
	}
	return err;
}

/* The pools' sparse buffer table: enough slots for every client. */
static int ring_buffers_init(struct zcsd *d)
{
	uint64_t per = (d->cfg.pool_bytes + POOL_SLOT_BYTES - 1) /
		       POOL_SLOT_BYTES;
	uint64_t n = per * d->cfg.max_clients;
	int err;

	if (n > 16384)	/* the kernel's limit on registered buffers */
		n = 16384;
	d->ring.slot_used = calloc(n, 1);
	if (!d->ring.slot_used)
		return -ENOMEM;
	d->ring.nslots = (uint32_t)n;
	err = io_uring_register_buffers_sparse(&d->ring.uring, d->ring.nslots);
	if (err)
		log_errno(err, "registering %u sparse buffer slots",
			  d->ring.nslots);
	return err;
}

static void ring_cqe(struct zcsd *d, const struct io_uring_cqe *cqe)
{
	uintptr_t ud = (uintptr_t)cqe->user_data;
	void *ptr = (void *)(ud & ~UD_MASK);

	switch (ud & UD_MASK) {
	case UD_REQ:
		sendq_cqe(d, ptr, cqe);
		break;
	case UD_CONNECT:
		flow_connect_done(ptr, cqe->res);
		break;
	default:
		break;	/* link timeouts and cancels: nothing to do */
	}
}

/* Handle every CQE the ring shows now. Returns how many. */
static unsigned ring_drain(struct zcsd *d)
{
	struct io_uring *ring = &d->ring.uring;
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;

	io_uring_for_each_cqe(ring, head, cqe) {
		ring_cqe(d, cqe);
		n++;
	}
	io_uring_cq_advance(ring, n);
	d->ring.cqes += n;
	return n;
}

/*
 * Work left for another round: SQEs not yet submitted, or CQEs the kernel
 * keeps on its overflow list because the CQ was full. Overflowed CQEs
 * reach the CQ only through an io_uring_enter with GETEVENTS, and posting
 * them does not signal the eventfd: without this check, in the coop and
 * plain set-ups, sends whose CQEs overflowed stayed in flight for ever.
 */
/*
 * Under DEFER_TASKRUN completions wait as task work until asked for, and
 * TASKRUN_FLAG makes the kernel say in shared memory when some waits: ask
 * only then, so a loop polling client rings makes no system call while
 * nothing completed.
 */
static bool ring_events_due(struct zcsd *d)
{
	struct io_uring *ring = &d->ring.uring;

	if (io_uring_cq_has_overflow(ring))
		return true;
	return (d->ring.features & ZCS_FEAT_DEFER_TASKRUN) &&
	       (IO_URING_READ_ONCE(*ring->sq.kflags) & IORING_SQ_TASKRUN);
}

static bool ring_more(struct zcsd *d)
{
	return d->ring.pending || io_uring_cq_has_overflow(&d->ring.uring);
}

/*
 * ring_run - submit what is prepared and handle what completed, until
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
void ring_run(struct zcsd *d)
{
	struct io_uring *ring = &d->ring.uring;
	unsigned rounds;

	for (rounds = 0; rounds < RUN_ROUNDS; rounds++) {
		if (d->ring.pending)
			ring_submit(d);
		else if (ring_events_due(d))
			io_uring_get_events(ring);
		ring_drain(d);
		if (!TAILQ_EMPTY(&d->sq_waiters))
			tcpchain_retry(d);
		if (!ring_more(d))
			return;
	}
	event_active(d->ring.ev, EV_READ, 0);	/* more: after others run */
}

static void ring_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("reading the ring's eventfd");
	ring_run(arg);
}

/*
 * ring_init - set up the ring, its buffer table and the eventfd bridge.
 * Returns 0 or -errno (logged).
 */
int ring_init(struct zcsd *d)
{
	int err = ring_setup(d);

	if (err) {
		log_errno(err, "io_uring_queue_init");
		return err;
	}
	io_uring_register_ring_fd(&d->ring.uring);	/* optional speed-up */
	err = ring_buffers_init(d);
	if (err)
		goto err_ring;
	d->ring.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (d->ring.efd < 0) {
		err = -errno;
		log_warn("eventfd");
		goto err_ring;
	}
	err = io_uring_register_eventfd(&d->ring.uring, d->ring.efd);
	if (err) {
		log_errno(err, "io_uring_register_eventfd");
		goto err_efd;
	}
	d->ring.features |= probe_features(&d->ring.uring,
					     &d->ring.gso_max_segs);
	d->ring.ev = event_new(d->base, d->ring.efd, EV_READ | EV_PERSIST,
			       ring_cb, d);
	if (!d->ring.ev || event_add(d->ring.ev, NULL)) {
		log_warnx("cannot watch the ring's eventfd");
		err = -ENOMEM;
		goto err_efd;
	}
	return 0;
err_efd:
	close(d->ring.efd);
err_ring:
	io_uring_queue_exit(&d->ring.uring);
	return err;
}

/*
 * ring_cancel_all - at exit: ask the kernel to cancel every op of ours it
 * still holds (a send waiting for room behind a peer that does not read).
 * Each comes back with its CQE, and a zerocopy send with its notification,
 * the usual way. Returns 0 or -EBUSY when the SQ has no room.
 */
int ring_cancel_all(struct zcsd *d)
{
	struct io_uring_sqe *sqe = ring_sqe(d);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
	io_uring_sqe_set_data64(sqe, UD_IGNORE);
	ring_submit(d);
	return 0;
}

/*
 * ring_wait - at exit, with the event loop stopped: wait up to @ms for a
 * CQE and handle what came, as the eventfd callback would.
 */
void ring_wait(struct zcsd *d, unsigned ms)
{
	struct __kernel_timespec ts = {
		.tv_sec = ms / 1000,
		.tv_nsec = (long long)(ms % 1000) * 1000000,
	};
	struct io_uring_cqe *cqe;

	ring_submit(d);
	io_uring_wait_cqe_timeout(&d->ring.uring, &cqe, &ts);
	ring_run(d);
}

/*
 * ring_close - at exit: tear the io_uring down. The kernel cancels what it
 * still holds and keeps its own references to the pages of those sends
 * (registered buffers are pinned, not borrowed from our mapping), so our
 * mappings may go afterwards; but no CQE is read from here on, so what
 * the dead objects were owed never comes, and the reaper frees them
 * without it (reap.c). Idempotent.
 */
void ring_close(struct zcsd *d)
{
	if (d->ring.closed)
		return;
	io_uring_queue_exit(&d->ring.uring);
	d->ring.closed = true;
}

void ring_fini(struct zcsd *d)
{
	if (d->ring.ev)
		event_free(d->ring.ev);
	close(d->ring.efd);
	ring_close(d);
	free(d->ring.slot_used);
}

/*
 * ring_sqe - an SQE to fill. When the SQ is full the prepared ones are
 * submitted first. Returns NULL only if the kernel takes none of them.
 */
struct io_uring_sqe *ring_sqe(struct zcsd *d)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&d->ring.uring);

	if (!sqe) {
		ring_submit(d);
		sqe = io_uring_get_sqe(&d->ring.uring);
	}
	if (sqe)
		d->ring.pending = true;
	return sqe;
}

/*
 * ring_submit - one io_uring_enter for everything prepared since the last
 * call, collecting completions as it goes (DEFER_TASKRUN); they are
 * handled by the next ring_run(). A refusal (-EBUSY while the CQ
 * overflows) leaves the SQEs queued; reaping makes room and the next call
 * submits them.
 */
void ring_submit(struct zcsd *d)
{
	int ret;

	if (!d->ring.pending)
		return;
	if (d->ring.features & ZCS_FEAT_DEFER_TASKRUN)
		ret = io_uring_submit_and_get_events(&d->ring.uring);
	else
		ret = io_uring_submit(&d->ring.uring);
	if (ret < 0) {
		log_debug("io_uring_submit: %s", strerror(-ret));
		event_active(d->ring.ev, EV_READ, 0);
		return;
	}
	d->ring.pending = io_uring_sq_ready(&d->ring.uring) > 0;
}

/* ring_slots_alloc - @n adjacent free buffer slots. 0 or -ENOSPC. */
int ring_slots_alloc(struct zcsd *d, uint32_t n, uint32_t *first)
{
	uint32_t i, run = 0;

	for (i = 0; i < d->ring.nslots; i++) {
		run = d->ring.slot_used[i] ? 0 : run + 1;
		if (run == n) {
			*first = i + 1 - n;
			memset(d->ring.slot_used + *first, 1, n);
			return 0;
		}
	}
	return -ENOSPC;
}

void ring_slots_free(struct zcsd *d, uint32_t first, uint32_t n)
{
	memset(d->ring.slot_used + first, 0, n);
}
