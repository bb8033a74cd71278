/* SPDX-License-Identifier: MIT */
/*
 * Signals: SIGTERM and SIGINT start the drain (drain.c); a second one ends
 * it at once. SIGHUP reloads the config (reload.c). SIGPIPE is ignored:
 * writes report EPIPE.
 */
#include <errno.h>
#include <signal.h>

#include "zcsd.h"

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
	if (!d->sig_term || !d->sig_int || !d->sig_hup ||
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
}
