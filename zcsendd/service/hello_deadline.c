/* SPDX-License-Identifier: MIT */
/*
 * The deadline for HELLO (the message itself is handled in dispatch.c,
 * with the others). A connection holds one of the daemon's bounded
 * connection places from accept on; one that never says HELLO would hold
 * it for ever, and enough of them would keep everyone out. So whoever has
 * not said HELLO within hello_timeout_ms is answered and closed.
 * One timer serves all connections: it is armed for the earliest
 * deadline, and only while some connection is waiting, so an idle daemon
 * never wakes for it.
 */
#include <errno.h>
#include <stdio.h>

#include "zcsd.h"

static void hello_arm(struct zcsd *d, uint64_t ms)
{
	struct timeval tv = timeval_ms(ms);

	if (evtimer_add(d->hello.timer, &tv))
		log_warnx("cannot arm the HELLO timer: silent connections "
			  "stay open");
}

static void hello_expire(struct client *c)
{
	uint32_t ms = c->d->cfg.hello_timeout_ms;
	char why[64];

	conn_error(c, ZCS_MSG_HELLO, 0, -ETIMEDOUT, "no HELLO within %u ms",
		   ms);
	snprintf(why, sizeof(why), "no HELLO within %u ms", ms);
	conn_kill(c, why);
}

/* Close whoever is past the deadline; wait for the next one. */
static void hello_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct zcsd *d = arg;
	uint64_t now = now_ms(), next = UINT64_MAX, due;
	struct client *c, *tmp;

	for (c = TAILQ_FIRST(&d->clients); c; c = tmp) {
		tmp = TAILQ_NEXT(c, entry);
		if (c->hello_done || c->dead)
			continue;
		due = c->accept_ms + d->cfg.hello_timeout_ms;
		if (due <= now)
			hello_expire(c);
		else if (due < next)
			next = due;
	}
	if (next != UINT64_MAX)
		hello_arm(d, next - now);
}

/*
 * hello_deadline_watch - start @c's HELLO deadline; call once, at accept.
 * The timer, when already armed, is for an earlier deadline than this one.
 */
void hello_deadline_watch(struct zcsd *d, struct client *c)
{
	c->accept_ms = now_ms();
	if (!d->hello.timer) {
		d->hello.timer = evtimer_new(d->base, hello_timer_cb, d);
		if (!d->hello.timer) {
			log_warnx("no memory for the HELLO timer");
			return;
		}
	}
	if (!evtimer_pending(d->hello.timer, NULL))
		hello_arm(d, d->cfg.hello_timeout_ms);
}

/* hello_deadline_fini - at exit, after the clients are gone. */
void hello_deadline_fini(struct zcsd *d)
{
	if (d->hello.timer)
		event_free(d->hello.timer);
	d->hello.timer = NULL;
}
