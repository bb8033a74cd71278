/* SPDX-License-Identifier: MIT */
/*
 * The event loop. Without ring clients it is libevent's own loop. With
 * them, every turn of libevent is followed by a pass over their rings
 * (shring_turn), and after any work the daemon keeps turning without
 * sleeping for poll_usec, so that a client submitting again soon finds it
 * awake and need not wake it. Before it sleeps, it marks every ring
 * NEED_WAKEUP and looks once more. Nothing but events wakes an idle
 * daemon: no timer runs for polling. While polling, libevent is asked
 * only every LOOP_EVENTS_NS: the rings and the io_uring CQ are read in
 * memory, and sockets and timers can wait that long.
 */
#include <errno.h>
#include <time.h>

#include "zcsd.h"
#include "service/loop.h"

#define LOOP_EVENTS_NS	20000u

/* Monotonic nanoseconds. */
static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static bool loop_done(struct zcsd *d)
{
	return event_base_got_exit(d->base) || event_base_got_break(d->base);
}

/*
 * One turn: libevent's (sleeping unless @poll, or unless a ring has work
 * after all; skipped when @events is false), then the rings'. Returns the
 * work done (records taken, completions published, CQEs reaped),
 * -ESHUTDOWN when the loop is over (asked to exit, or no event left), or
 * -EIO.
 */
static int64_t loop_turn(struct zcsd *d, bool poll, bool events)
{
	bool flagged = !poll && d->nrings;	/* NEED_WAKEUP set, to clear */
	uint64_t cqes = d->ring.cqes;
	int flags = EVLOOP_NONBLOCK, ret;

	if (!d->nrings || (flagged && shring_may_sleep(d)))
		flags = EVLOOP_ONCE;
	if (events || flags == EVLOOP_ONCE) {
		ret = event_base_loop(d->base, flags);
		if (ret < 0)
			return -EIO;
		if (ret > 0 || loop_done(d))
			return -ESHUTDOWN;
	}
	if (flagged)
		shring_awake(d);
	if (!d->nrings)
		return 0;
	return (int64_t)shring_turn(d) + (int64_t)(d->ring.cqes - cqes);
}

/*
 * loop_run - run until the base is asked to exit (the drain's end).
 * Polling time that found nothing counts into d->rings.poll_ns: what
 * poll_usec costs on top of the work. Returns 0, or -EIO when libevent
 * failed.
 */
int loop_run(struct zcsd *d)
{
	uint64_t poll_end = 0, events_due = 0, t0, t1;
	int64_t work;
	bool poll, events;

	for (t0 = now_ns();; t0 = t1) {	/* one clock read per turn */
		poll = d->nrings && t0 < poll_end;
		events = !poll || t0 >= events_due;
		if (events)
			events_due = t0 + LOOP_EVENTS_NS;
		work = loop_turn(d, poll, events);
		if (work < 0)
			return work == -ESHUTDOWN ? 0 : (int)work;
		t1 = now_ns();
		if (work)
			poll_end = t1 + (uint64_t)d->cfg.poll_usec * 1000;
		else if (poll)
			d->rings.poll_ns += t1 - t0;
	}
}
