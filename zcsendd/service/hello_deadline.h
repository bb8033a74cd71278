/* SPDX-License-Identifier: MIT */
/*
 * The HELLO deadline (hello_deadline.c): its one timer for all
 * connections, embedded in struct zcsd as d->hello, and its calls.
 */
#ifndef ZCSD_HELLO_DEADLINE_H
#define ZCSD_HELLO_DEADLINE_H

struct zcsd;
struct client;

struct hello_deadline {
	struct event *timer;	/* closes who has not said HELLO; lazy */
};

void hello_deadline_watch(struct zcsd *d, struct client *c);
void hello_deadline_fini(struct zcsd *d);

#endif /* ZCSD_HELLO_DEADLINE_H */
