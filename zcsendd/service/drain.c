/* SPDX-License-Identifier: MIT */
/*
 * Signals: SIGTERM and SIGINT drain (stop accepting and reading, let every
 * send in flight finish and its completion go out, bounded in time); a
 * second one ends the drain at once. Either way the loop ends and main()
 * frees everything; the exit status says whether sends were abandoned.
 * SIGHUP reloads the config. SIGPIPE is ignored: writes report EPIPE.
 */
#include <errno.h>
#include <signal.h>

#include "zcsd.h"

#define DRAIN_POLL_MS	20

static uint32_t inflight_total(struct zcsd *d)
{
	struct client *c;
	uint32_t n = 0;

	TAILQ_FOREACH(c, &d->clients, entry)
		n += c->inflight + c->kernel_ops;
	return n;
}

static void drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct zcsd *d = arg;
	struct timeval tv = { 0, DRAIN_POLL_MS * 1000 };
	uint32_t n = inflight_total(d);

	if (n == 0 || now_ms() >= d->drain_deadline_ms) {
		if (n) {
			log_at(LOG_WARNING, &(struct log_about){
					.msgid = LOG_ID_DRAIN_TIMEOUT }, 0,
			       "drain timed out with %u sends in flight", n);
			d->exit_status = ZCSD_EXIT_ABANDONED;
		}
		event_base_loopexit(d->base, NULL);
		return;
	}
	if (evtimer_add(d->drain_timer, &tv)) {
		log_warnx("cannot arm the drain timer: exiting now");
		d->exit_status = ZCSD_EXIT_ABANDONED;
		event_base_loopexit(d->base, NULL);
	}
}

static void drain_start(struct zcsd *d)
{
	struct client *c;

	notify_send(d, "STOPPING=1");
	listener_close(d);
	TAILQ_FOREACH(c, &d->clients, entry)
		if (!c->dead)
			event_del(c->rev);
	d->drain_deadline_ms = now_ms() + d->cfg.drain_timeout_ms;
	drain_cb(-1, 0, d);
}

static void signal_stop_cb(evutil_socket_t sig, short what, void *arg)
{
	struct zcsd *d = arg;

	if (d->draining) {
		/* Sends were cut short: not a clean stop, and a non-zero
		 * status lets Restart=on-failure see it. */
		log_warnx("second signal: exiting now, drain aborted");
		d->exit_status = ZCSD_EXIT_ERROR;
		event_base_loopbreak(d->base);
		return;
	}
	log_info("signal %d: draining", (int)sig);
	d->draining = true;
	drain_start(d);
}

static void signal_hup_cb(evutil_socket_t sig, short what, void *arg)
{
	char err[CONFIG_ERR_MAX];

	log_info("SIGHUP: reloading the config");
	reload_run(arg, err, sizeof(err));	/* logs its own failure */
}

/* signals_init - watch SIGTERM, SIGINT, SIGHUP. Returns 0 or -ENOMEM. */
int signals_init(struct zcsd *d)
{
	signal(SIGPIPE, SIG_IGN);
	d->sig_term = evsignal_new(d->base, SIGTERM, signal_stop_cb, d);
	d->sig_int = evsignal_new(d->base, SIGINT, signal_stop_cb, d);
	d->sig_hup = evsignal_new(d->base, SIGHUP, signal_hup_cb, d);
	d->drain_timer = evtimer_new(d->base, drain_cb, d);
	if (!d->sig_term || !d->sig_int || !d->sig_hup || !d->drain_timer ||
	    evsignal_add(d->sig_term, NULL) || evsignal_add(d->sig_int, NULL) ||
	    evsignal_add(d->sig_hup, NULL))
		return -ENOMEM;
	return 0;
}

void signals_fini(struct zcsd *d)
{
	if (d->sig_term)
		event_free(d->sig_term);
	if (d->sig_int)
		event_free(d->sig_int);
	if (d->sig_hup)
		event_free(d->sig_hup);
	if (d->drain_timer)
		event_free(d->drain_timer);
}
