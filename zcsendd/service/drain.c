/* SPDX-License-Identifier: MIT */
/*
 * The drain, on SIGTERM or SIGINT (signals.c): stop accepting and reading,
 * let every send in flight finish and its completion go out, bounded in
 * time by drain_timeout_ms. Either way the loop ends and main() frees
 * everything; the exit status says whether sends were abandoned.
 */
#include <errno.h>

#include "zcsd.h"

#define DRAIN_POLL_MS	20

/*
 * What the drain waits for: each request taken (c->inflight, one however
 * many CQEs it owes: counting c->cqes_owed too would count a zerocopy
 * send two or three times) and each TCP connect still in the kernel.
 */
static uint32_t inflight_total(struct zcsd *d)
{
	struct client *c;
	struct flow *f;
	uint32_t n = 0;

	TAILQ_FOREACH(c, &d->clients, entry) {
		n += c->inflight;
		TAILQ_FOREACH(f, &c->flows, entry)
			n += f->connect_pending;
	}
	return n;
}

static void drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct zcsd *d = arg;
	struct timeval tv = timeval_ms(DRAIN_POLL_MS);
	uint32_t n = inflight_total(d);

	if (n == 0 || now_ms() >= d->drain.deadline_ms) {
		if (n) {
			log_at(LOG_WARNING, &(struct log_about){
					.msgid = LOG_ID_DRAIN_TIMEOUT }, 0,
			       "drain timed out with %u sends in flight", n);
			d->exit_status = ZCSD_EXIT_ABANDONED;
		}
		event_base_loopexit(d->base, NULL);
		return;
	}
	if (evtimer_add(d->drain.timer, &tv)) {
		log_warnx("cannot arm the drain timer: exiting now");
		d->exit_status = ZCSD_EXIT_ABANDONED;
		event_base_loopexit(d->base, NULL);
	}
}

/*
 * drain_start - begin the drain: tell systemd, stop accepting and reading,
 * and look every DRAIN_POLL_MS whether the sends in flight are done.
 */
void drain_start(struct zcsd *d)
{
	struct client *c;

	d->draining = true;
	notify_send(d, "STOPPING=1");
	listener_close(d);
	TAILQ_FOREACH(c, &d->clients, entry)
		if (!c->dead)
			event_del(c->rev);
	d->drain.deadline_ms = now_ms() + d->cfg.drain_timeout_ms;
	drain_cb(-1, 0, d);
}

/* drain_init - the drain's timer, made at start. Returns 0 or -ENOMEM. */
int drain_init(struct zcsd *d)
{
	d->drain.timer = evtimer_new(d->base, drain_cb, d);
	return d->drain.timer ? 0 : -ENOMEM;
}

void drain_fini(struct zcsd *d)
{
	if (d->drain.timer)
		event_free(d->drain.timer);
	d->drain.timer = NULL;
}
