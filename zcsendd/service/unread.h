/* SPDX-License-Identifier: MIT */
/*
 * Replies left unread (unread.c): a client's timer and what it measures
 * progress by, embedded in struct client as c->unread, and its calls.
 */
#ifndef ZCSD_UNREAD_H
#define ZCSD_UNREAD_H

#include <stdbool.h>

struct client;

struct unread {
	struct event *timer;	/* replies wait: is it reading? */
	int mark;		/* its unread bytes when the timer was armed */
	bool writable;		/* its socket became writable since then */
};

int unread_init(struct client *c);
void unread_watch(struct client *c);
void unread_writable(struct client *c);
void unread_stop(struct client *c);

#endif /* ZCSD_UNREAD_H */
