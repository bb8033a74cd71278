/* SPDX-License-Identifier: MIT */
/*
 * The drain (drain.c): its timer and deadline, embedded in struct zcsd as
 * d->drain, and its calls. Whether the daemon is draining is d->draining,
 * which the send path reads too.
 */
#ifndef ZCSD_DRAIN_H
#define ZCSD_DRAIN_H

#include <stdint.h>

struct zcsd;

struct drain {
	struct event *timer;	/* looks whether the sends are done */
	uint64_t deadline_ms;	/* now_ms() when the drain gives up */
};

int drain_init(struct zcsd *d);
void drain_start(struct zcsd *d);
void drain_fini(struct zcsd *d);

#endif /* ZCSD_DRAIN_H */
