/* SPDX-License-Identifier: MIT */
/*
 * The old process's side of a hand-over: stop taking records (reads,
 * ring takes and accepts stop; what clients queue waits in their sockets
 * and rings), wait until the kernel has returned every op, then pass the
 * state on (pass.c). Should the kernel hold sends past drain_timeout_ms,
 * the hand-over is abandoned and the daemon carries on as before (or,
 * when systemd is stopping it, drains and exits).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zcsd.h"
#include "handover/internal.h"
#include "service/listener.h"

/* How often waiting for the kernel looks, as short as the blackout. */
#define HANDOVER_POLL_US	500

/* Nothing of any client's left in the kernel, taken or closing? */
static bool handover_quiet(struct zcsd *d)
{
	const struct client *c;
	const struct flow *f;

	if (!TAILQ_EMPTY(&d->sq_waiters) || d->ring.pending)
		return false;
	TAILQ_FOREACH(c, &d->clients, entry) {
		if (c->dead || c->inflight || c->cqes_owed ||
		    c->closing_flows || c->sched.n)
			return false;
		TAILQ_FOREACH(f, &c->flows, entry)
			if (f->connect_pending || f->batch.n)
				return false;
	}
	return true;
}

/* Reads, ring takes and accepts stop or start again. */
static void handover_intake(struct zcsd *d, bool on)
{
	struct client *c;

	d->draining = !on;
	listener_hold(d, !on);
	TAILQ_FOREACH(c, &d->clients, entry) {
		if (c->dead)
			continue;
		if (!on)
			event_del(c->rev);
		else if (c->read_paused)
			conn_resume(c);	/* its completions may have come */
		else if (event_add(c->rev, NULL))
			conn_kill(c, "cannot watch socket");
	}
}

/* The kernel kept sends too long, or passing on failed: carry on. */
static void handover_abandon(struct zcsd *d, const char *why)
{
	struct handover *h = &d->handover;
	enum handover_mode mode = h->mode;

	log_at(LOG_WARNING, &(struct log_about){
			.msgid = LOG_ID_HANDOVER_REFUSED }, 0,
	       "hand-over abandoned: %s; %s", why,
	       mode == HANDOVER_FDSTORE ? "stopping instead"
					: "carrying on as before");
	h->mode = HANDOVER_NONE;
	handover_intake(d, true);
	notify_send(d, "READY=1");
	if (mode == HANDOVER_FDSTORE)
		drain_start(d);
}

static void handover_wait_cb(evutil_socket_t fd, short what, void *arg)
{
	struct zcsd *d = arg;
	struct handover *h = &d->handover;
	struct timeval tv = { 0, HANDOVER_POLL_US };
	char why[96];
	int err;

	reap_now(d);	/* the dead go first: they are not carried */
	if (handover_quiet(d)) {
		err = handover_pass(d);	/* returns only when it failed */
		snprintf(why, sizeof(why), "passing it on failed: %s",
			 strerror(-err));
		handover_abandon(d, why);
	} else if (now_ms() >= h->deadline_ms) {
		handover_abandon(d, "sends still in the kernel after "
				 "drain_timeout_ms");
	} else if (evtimer_add(h->timer, &tv)) {
		handover_abandon(d, "no timer");
	}
}

/*
 * handover_start - hand over to the next process by @mode, asked by @why
 * (for the log): stop intake now and pass the state on once the kernel
 * is done with every send. Returns 0 when begun, or -errno (logged):
 * -EBUSY during another hand-over or a drain, -ENOSYS when @mode is not
 * available (no fd store, no path to our binary).
 */
int handover_start(struct zcsd *d, enum handover_mode mode, const char *why)
{
	struct handover *h = &d->handover;
	int err = 0;

	if (h->mode != HANDOVER_NONE || d->draining)
		err = -EBUSY;
	else if (mode == HANDOVER_FDSTORE ? !handover_fdstore_ready(d)
					  : !h->exe[0])
		err = -ENOSYS;
	if (err) {
		log_warnx("%s: no hand-over: %s", why, err == -EBUSY
			  ? "one is under way, or the daemon is stopping"
			  : "no way to pass it on");
		return err;
	}
	log_info("%s: handing over to %s", why, mode == HANDOVER_EXEC
		 ? h->exe : "the next process through systemd's fd store");
	notify_send(d, mode == HANDOVER_EXEC ? "RELOADING=1" : "STOPPING=1");
	h->mode = mode;
	h->begin_ns = now_ns();
	h->deadline_ms = now_ms() + d->cfg.drain_timeout_ms;
	handover_intake(d, false);
	/* From the loop, not from here: the asker's answer goes out first. */
	event_active(h->timer, EV_TIMEOUT, 0);
	return 0;
}

/* Can SIGTERM hand over through systemd's fd store? */
bool handover_fdstore_ready(const struct zcsd *d)
{
	return d->fdstore.max >= 2 && getenv("NOTIFY_SOCKET");
}

/*
 * handover_init - at start: what an exec needs (our binary's path, read
 * now, before an upgrade replaces the file; our command line) and the
 * timer. Returns 0 or -ENOMEM.
 */
int handover_init(struct zcsd *d, char **argv)
{
	struct handover *h = &d->handover;
	ssize_t n = readlink("/proc/self/exe", h->exe, sizeof(h->exe) - 1);

	h->exe[n > 0 ? n : 0] = '\0';
	h->argv = argv;
	h->ring_fd = -1;
	h->service_start_ms = d->start_ms;	/* unless one is resumed */
	h->timer = evtimer_new(d->base, handover_wait_cb, d);
	return h->timer ? 0 : -ENOMEM;
}

void handover_fini(struct zcsd *d)
{
	if (d->handover.timer)
		event_free(d->handover.timer);
	d->handover.timer = NULL;
}
