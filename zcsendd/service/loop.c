/* SPDX-License-Identifier: MIT */
/*
 * The event loop. Without ring clients it is libevent's own loop. With
 * them, every turn of libevent is followed by a pass over the rings that
 * have work (shring_turn). After work the daemon keeps turning without
 * sleeping for up to poll_usec, so that a client submitting again soon
 * finds it awake and need not wake it, but only while the host has a
 * core to spare for it and that client beside every other runnable task
 * (proto/zcs_spare.h): on a busy host polling takes the core the client
 * needs, and the daemon sleeps at once. Before it sleeps, it marks the
 * hot rings NEED_WAKEUP and looks once more. Nothing but
 * events wakes an idle daemon: no timer runs for polling. While polling,
 * libevent is asked only every LOOP_EVENTS_NS: the rings and the io_uring
 * CQ are read in memory, and sockets and timers can wait that long.
 */
#include <errno.h>

#include "zcsd.h"
#include "sched/sched.h"
#include "zcs_ring.h"
#include "service/loop.h"

#define LOOP_EVENTS_NS	20000u

static bool loop_done(struct zcsd *d)
{
	return event_base_got_exit(d->base) || event_base_got_break(d->base);
}

/*
 * One turn: libevent's (sleeping unless @poll, or unless a ring has work
 * after all; skipped when @events is false), then the rings', at *@now
 * (read again after a sleep). Returns the work done (records taken,
 * completions published, CQEs reaped), -ESHUTDOWN when the loop is over
 * (asked to exit, or no event left), or -EIO.
 */
static int64_t loop_turn(struct zcsd *d, bool poll, bool events,
			 uint64_t *now)
{
	bool flagged = !poll && d->nrings;	/* NEED_WAKEUP set, to clear */
	bool sleeps = !d->nrings || (flagged && shring_may_sleep(d));
	uint64_t cqes = d->ring.cqes;
	int ret;

	sched_pass(d);
	if (events || sleeps) {
		/* One pass either way: a callback that re-arms itself at
		 * once (the scheduler's next turn) runs in the next pass,
		 * after the rings were looked at. */
		ret = event_base_loop(d->base, EVLOOP_ONCE |
				      (sleeps ? 0 : EVLOOP_NONBLOCK));
		if (ret < 0)
			return -EIO;
		if (ret > 0 || loop_done(d))
			return -ESHUTDOWN;
		if (sleeps)
			*now = now_ns();
	}
	if (flagged)
		shring_awake(d);
	if (!d->nrings)
		return 0;
	return (int64_t)shring_turn(d, *now) + (int64_t)(d->ring.cqes - cqes);
}

/*
 * Poll (turn without sleeping) at @t, the last work having been at
 * @work_ns? Within poll_usec of it, and only while the host has a core to
 * spare for us and a client whose beat moves (proto/zcs_spare.h).
 */
static bool loop_polls(struct zcsd *d, uint64_t t, uint64_t work_ns)
{
	bool beats = t - d->ring_beat_ns < ZCS_RING_BEAT_STALL_NS;

	if (!d->nrings || t - work_ns >= (uint64_t)d->cfg.poll_usec * 1000)
		return false;
	return zcs_spare_cpu(&d->spare, t, 1 + beats);
}

/*
 * loop_run - run until the base is asked to exit (the drain's end).
 * Polling time that found nothing counts into d->rings.poll_ns: what
 * polling costs on top of the work. Returns 0, or -EIO when libevent
 * failed.
 */
int loop_run(struct zcsd *d)
{
	uint64_t work_ns = 0, events_due = 0, t0, t1;
	int64_t work;
	bool poll, events;

	zcs_spare_init(&d->spare);
	for (t0 = now_ns();; t0 = t1) {	/* one clock read per turn */
		poll = work_ns && loop_polls(d, t0, work_ns);
		events = !poll || t0 >= events_due;
		if (events)
			events_due = t0 + LOOP_EVENTS_NS;
		work = loop_turn(d, poll, events, &t0);
		if (work < 0)
			return work == -ESHUTDOWN ? 0 : (int)work;
		t1 = now_ns();
		if (work)
			work_ns = t1;
		else if (poll)
			d->rings.poll_ns += t1 - t0;
	}
}
