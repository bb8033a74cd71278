/* SPDX-License-Identifier: MIT */
/*
 * Replies left unread. The daemon never blocks on a client: replies the
 * socket does not take wait, and a client at its in-flight bound is not
 * read until its completions are written. So a client that stops reading
 * would hold its place, its pool and its requests for ever; alive or not,
 * for its socket outlives it when it passed that socket to us in a
 * message we have not read yet. While replies wait, a timer looks every
 * reply_timeout_ms for progress: the socket became writable, or the bytes
 * the client has not read went down. A client with none in a whole period
 * is dropped; a slow reader never is. Completions waiting for room in a
 * ring client's full completion ring are timed the same way, its cq_head
 * moving being the progress.
 */
#include <sys/ioctl.h>
#include <linux/sockios.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>

#include "zcsd.h"

/* Bytes (kernel accounting) written to @c that it has not read. */
static int unread_bytes(const struct client *c)
{
	int n;

	return ioctl(c->fd, SIOCOUTQ, &n) ? INT_MAX : n;
}

static void unread_arm(struct client *c)
{
	uint32_t ms = c->d->cfg.reply_timeout_ms;
	struct timeval tv = timeval_ms(ms);

	c->unread.mark = unread_bytes(c);
	c->unread.writable = false;
	shring_cq_mark(c);
	if (evtimer_add(c->unread.timer, &tv))
		log_warnx("client %u: cannot arm the reply timer: it keeps "
			  "its place while it reads nothing", c->id);
}

/* Replies wait for the socket, or completions for the ring. */
static bool unread_waiting(const struct client *c)
{
	return event_pending(c->wev, EV_WRITE, NULL) || shring_blocked(c);
}

/* The client read something since unread_arm(). */
static bool unread_progress(const struct client *c)
{
	return c->unread.writable || unread_bytes(c) < c->unread.mark ||
	       shring_cq_moved(c);
}

static void unread_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;
	char why[64];

	if (c->dead || !unread_waiting(c))
		return;	/* nothing waits: the next wait arms it again */
	if (unread_progress(c)) {
		unread_arm(c);
		return;
	}
	snprintf(why, sizeof(why), "left its replies unread for %u ms",
		 c->d->cfg.reply_timeout_ms);
	conn_kill(c, why);
}

/* unread_init - @c's timer, at connect. 0 or -ENOMEM. */
int unread_init(struct client *c)
{
	c->unread.timer = evtimer_new(c->d->base, unread_cb, c);
	return c->unread.timer ? 0 : -ENOMEM;
}

/*
 * unread_watch - replies now wait for @c's socket, or completions for
 * room in its ring: time them, once.
 */
void unread_watch(struct client *c)
{
	if (c->unread.timer && !evtimer_pending(c->unread.timer, NULL))
		unread_arm(c);
}

/*
 * unread_writable - @c's socket became writable: it read something, which
 * is progress for the timer running now.
 */
void unread_writable(struct client *c)
{
	c->unread.writable = true;
}

/* unread_stop - @c is dead or freed: no more checks. */
void unread_stop(struct client *c)
{
	if (c->unread.timer)
		event_free(c->unread.timer);
	c->unread.timer = NULL;
}
