/* SPDX-License-Identifier: MIT */
/*
 * The reaper: the one place that frees clients and flows. Killing an object
 * (conn_kill, flow_close, flow_kill) only marks it dead and puts its client
 * on the reap list (reap_add). The reap runs from the event loop after the
 * callback that killed the object has returned, and frees what is dead and
 * owes nothing: no request taken, no completion unwritten, no CQE still to
 * come. So no function ever frees an object its caller may still be holding.
 */
#include <errno.h>

#include "zcsd.h"

/*
 * A closing flow is done when nothing of it is taken or in the kernel.
 * Once the ring is closed at exit, no CQE will ever come: nothing is owed.
 */
static bool reap_flow_done(const struct flow *f)
{
	return f->state == FLOW_CLOSING &&
	       ((!f->inflight && !f->batch.n && !f->connect_pending) ||
		f->c->d->ring.closed);
}

/*
 * A dead client is done once its flows are gone, no request slot is taken
 * (a finished request still reaches it to be delivered and released) and
 * the kernel owes it no CQE: their user_data point into it.
 */
static bool reap_client_done(const struct client *c)
{
	return c->dead && !c->nflows &&
	       ((!c->inflight && !c->cqes_owed) || c->d->ring.closed);
}

/* Free what of @c is done; it leaves the list once nothing waits. */
static void reap_client(struct client *c)
{
	struct flow *f, *next;

	for (f = TAILQ_FIRST(&c->flows); f; f = next) {
		next = TAILQ_NEXT(f, entry);
		if (reap_flow_done(f))
			flow_free(f);
	}
	if (!reap_client_done(c) && (c->dead || c->closing_flows))
		return;
	TAILQ_REMOVE(&c->d->reap_list, c, reap_entry);
	c->reaping = false;
	if (c->dead)
		conn_free(c);
}

/* reap_now - free every dead object that owes nothing. */
void reap_now(struct zcsd *d)
{
	struct client *c, *next;

	for (c = TAILQ_FIRST(&d->reap_list); c; c = next) {
		next = TAILQ_NEXT(c, reap_entry);
		reap_client(c);
	}
}

static void reap_cb(evutil_socket_t fd, short what, void *arg)
{
	reap_now(arg);
}

/*
 * reap_schedule - run the reaper once the current callback returns. Cheap
 * when nothing is dying; activating an active event is a no-op.
 */
void reap_schedule(struct zcsd *d)
{
	if (!TAILQ_EMPTY(&d->reap_list))
		event_active(d->reap_ev, EV_TIMEOUT, 0);
}

/*
 * reap_add - @c died, or one of its flows is closing: it waits on the
 * reap list until what is dead of it owes nothing, and is freed then.
 */
void reap_add(struct client *c)
{
	if (!c->reaping) {
		c->reaping = true;
		TAILQ_INSERT_TAIL(&c->d->reap_list, c, reap_entry);
	}
	reap_schedule(c->d);
}

/* reap_init - the reaper's event. Returns 0 or -ENOMEM. */
int reap_init(struct zcsd *d)
{
	TAILQ_INIT(&d->reap_list);
	d->reap_ev = event_new(d->base, -1, 0, reap_cb, d);
	return d->reap_ev ? 0 : -ENOMEM;
}

void reap_fini(struct zcsd *d)
{
	if (d->reap_ev)
		event_free(d->reap_ev);
	d->reap_ev = NULL;
}
