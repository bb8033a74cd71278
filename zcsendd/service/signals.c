/* SPDX-License-Identifier: MIT */
/*
 * Signals: SIGTERM and SIGINT hand over to systemd's fd store when it can
 * keep our state (handover/), else start the drain (drain.c); a second one
 * ends either at once. SIGUSR2 hands over to a new process of the
 * installed binary. SIGHUP reloads the config (reload.c). SIGPIPE is
 * ignored: writes report EPIPE.
 */
#include <errno.h>
#include <signal.h>

#include "zcsd.h"
#include "service/reload.h"

static void signal_stop_cb(evutil_socket_t sig, short what, void *arg)
{
	struct zcsd *d = arg;

	if (d->draining || d->handover.mode != HANDOVER_NONE) {
		/* Sends were cut short: not a clean stop, and a non-zero
		 * status lets Restart=on-failure see it. */
		log_warnx("second signal: exiting now, %s aborted",
			  d->handover.mode != HANDOVER_NONE ? "hand-over"
							    : "drain");
		d->exit_status = ZCSD_EXIT_ERROR;
		event_base_loopbreak(d->base);
		return;
	}
	/* Under systemd with a store, `systemctl restart` keeps clients;
	 * when the hand-over cannot begin (it said why), drain as ever. */
	if (handover_fdstore_ready(d) &&
	    !handover_start(d, HANDOVER_FDSTORE,
			    sig == SIGINT ? "SIGINT" : "SIGTERM"))
		return;
	log_info("signal %d: draining", (int)sig);
	drain_start(d);
}

static void signal_usr2_cb(evutil_socket_t sig, short what, void *arg)
{
	handover_start(arg, HANDOVER_EXEC, "SIGUSR2");	/* logs either way */
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
 * signals_init - watch SIGTERM, SIGINT, SIGHUP, SIGUSR2, then let
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
	s->usr2 = evsignal_new(d->base, SIGUSR2, signal_usr2_cb, d);
	if (!s->term || !s->intr || !s->hup || !s->usr2 ||
	    evsignal_add(s->term, NULL) || evsignal_add(s->intr, NULL) ||
	    evsignal_add(s->hup, NULL) || evsignal_add(s->usr2, NULL))
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
	if (s->usr2)
		event_free(s->usr2);
}
