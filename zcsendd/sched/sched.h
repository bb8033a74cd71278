/* SPDX-License-Identifier: MIT */
/*
 * The scheduling seam: what intake has checked waits on its client's
 * queue until sched_run() hands it to the operations stage.
 */
#ifndef SCHED_H
#define SCHED_H

#include "zcsd.h"

/*
 * SEND records taken from one client's ring per turn, so none starves
 * others; enough for a few full GSO sends of MTU-sized datagrams (44 of
 * 1472 bytes each), which a run coalesces only within one turn.
 */
#define SCHED_RING_BUDGET	128u

uint32_t sched_budget(const struct client *c, uint32_t avail);
void sched_put(struct client *c, struct req *r);
void sched_run(struct client *c);

#endif /* SCHED_H */
