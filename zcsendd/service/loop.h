/* SPDX-License-Identifier: MIT */
/*
 * The event loop (loop.c), run by main.c until the drain ends it.
 */
#ifndef ZCSD_LOOP_H
#define ZCSD_LOOP_H

struct zcsd;

int loop_run(struct zcsd *d);

#endif /* ZCSD_LOOP_H */
