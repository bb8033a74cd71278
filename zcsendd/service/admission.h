/* SPDX-License-Identifier: MIT */
/*
 * Admission (admission.c): who gets a connection place at accept and pool
 * memory at HELLO, within per-user limits and a reserve kept for admins.
 * Its state, embedded in struct zcsd as d->admission, is its own.
 */
#ifndef ZCSD_ADMISSION_H
#define ZCSD_ADMISSION_H

#include <stdint.h>

struct zcsd;
struct client;
struct event;
struct peer;

/* Refusals are logged once per burst, not once per connection. */
struct admission {
	uint64_t logged_ms;	/* the last refusal line, monotonic */
	uint32_t unlogged;	/* refusals since then, not logged */
	struct event *tally;	/* logs how many, once the burst is over */
};

int admission_conn(struct zcsd *d, int fd, const struct peer *p);
int admission_pool(struct client *c, uint64_t cookie, uint64_t want);
void admission_log_limits(const struct zcsd *d, const char *when);
void admission_fini(struct zcsd *d);

#endif /* ZCSD_ADMISSION_H */
