/* SPDX-License-Identifier: MIT */
/*
 * Signal handling (signals.c): its events, embedded in struct zcsd as
 * d->signals, and its calls.
 */
#ifndef ZCSD_SIGNALS_H
#define ZCSD_SIGNALS_H

#include <signal.h>

struct zcsd;

struct signals {
	struct event *term, *intr, *hup, *usr2;
};

int signals_init(struct zcsd *d);
void signals_fini(struct zcsd *d);
sigset_t *signals_handled(sigset_t *set);

#endif /* ZCSD_SIGNALS_H */
