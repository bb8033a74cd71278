/* SPDX-License-Identifier: MIT */
/*
 * Signals: SIGTERM and SIGINT start the drain (drain.c); a second one ends
 * it at once. SIGHUP reloads the config (reload.c). SIGPIPE is ignored:
 * writes report EPIPE.
 */
#include <errno.h>
#include <signal.h>

#include "zcsd.h"
#include "service/reload.h"

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

/* signals_handled - the signals we handle, in @set (returned). */
sigset_t *signals_handled(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR2);
	return set;
}

/*
 * signals_init - watch SIGTERM, SIGINT, SIGHUP (and SIGUSR2), then let
 * them in: an exec (a hand-over) blocked them, so none sent meanwhile
 * was lost. Returns 0 or -ENOMEM.
 */
int signals_init(struct zcsd *d)
{
	struct signals *s = &d->signals;
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	s->term = evsignal_new(d->base, SIGTERM, signal_stop_cb, d);
	s->intr = evsignal_new(d->base, SIGINT, signal_stop_cb, d);
	s->hup = evsignal_new(d->base, SIGHUP, signal_hup_cb, d);
	if (!s->term || !s->intr || !s->hup || evsignal_add(s->term, NULL) ||
	    evsignal_add(s->intr, NULL) || evsignal_add(s->hup, NULL))
		return -ENOMEM;
	sigprocmask(SIG_UNBLOCK, signals_handled(&set), NULL);
	return 0;
}

void signals_fini(struct zcsd *d)
{
	struct signals *s = &d->signals;

	if (s->term)
		event_free(s->term);
	if (s->intr)
		event_free(s->intr);
	if (s->hup)
		event_free(s->hup);
}
