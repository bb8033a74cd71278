/* SPDX-License-Identifier: MIT */
/*
 * Talking to systemd (notify.c): its tick and what the STATUS= line is
 * computed from, embedded in struct zcsd as d->notify, and its calls.
 */
#ifndef ZCSD_NOTIFY_H
#define ZCSD_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

struct zcsd;

struct notify {
	struct event *tick;	/* WATCHDOG=1 and STATUS= */
	uint64_t watchdog_us;	/* 0: no watchdog */
	uint64_t status_us;	/* when the last STATUS= went */
	uint64_t status_bytes;	/* d->st.bytes then */
	bool failed_logged;	/* an sd_notify failure: said once */
};

int notify_start(struct zcsd *d);
void notify_send(struct zcsd *d, const char *state);
void notify_stop(struct zcsd *d);

#endif /* ZCSD_NOTIFY_H */
