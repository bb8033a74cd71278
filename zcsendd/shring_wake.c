/* SPDX-License-Identifier: MIT */
/*
 * Waking a ring client for the completions published to it: only when it
 * sleeps (WAITING set, seen after a full fence that orders our publishing
 * before the look), and when its destinations' flush policy says
 * (immediate, or batch_max published, batch_usec passed, or the flow
 * idle). A client found awake is owed nothing: it re-checks its CQ
 * before it sleeps.
 */
#include <unistd.h>

#include "shring.h"

/* Does @s's client sleep, or is it about to? (A full fence first.) */
static bool shring_client_waits(struct shring *s)
{
	return zcs_ring_peer_sleeps(&s->ctl->client_flags, ZCS_RING_WAITING);
}

/*
 * Nothing is owed any more to @c: it was woken (@woken: then count the
 * wake-up once for each destination whose completions it carried), or
 * it is awake and sees its CQ before it sleeps again. One walk.
 */
static void shring_wake_clear(struct client *c, bool woken)
{
	struct zcsd *d = c->d;
	struct flow *f;

	TAILQ_FOREACH(f, &c->flows, entry) {
		if (!f->wake_n)
			continue;
		if (woken && f->dest->wake_mark != d->st.wakeups) {
			f->dest->wake_mark = d->st.wakeups;
			f->dest->st.wakeups++;
		}
		f->wake_n = 0;
		evtimer_del(f->batch_timer);
	}
}

/* The client sleeps on its eventfd (the caller saw WAITING): wake it,
 * once, and forget what was owed. */
static void shring_wake_client(struct client *c)
{
	struct shring *s = c->sr;
	struct zcsd *d = c->d;
	uint64_t one = 1;
	bool woken = false;

	/* The client may have taken WAITING back itself: then it is awake.
	 * EAGAIN: it filled the counter, a wake-up is pending anyway. */
	if (zcs_ring_flag_take(&s->ctl->client_flags, ZCS_RING_WAITING) &&
	    write(s->efd_out, &one, sizeof(one)) == (ssize_t)sizeof(one)) {
		woken = true;
		s->st.wakeups_out++;
		d->rings.wakeups_out++;
		c->st.wakeups++;
		d->st.wakeups++;
	}
	shring_wake_clear(c, woken);
}

/*
 * Must @f's client be woken now for what @f published? The policy's
 * answer; when it is not yet, the batch_usec deadline of the first
 * completion not woken for is armed, once (failing to arm it: now).
 */
static bool shring_wake_now(struct flow *f)
{
	if (deliver_now(f, f->wake_n))
		return true;
	if (evtimer_pending(f->batch_timer, NULL))
		return false;
	return deliver_arm(f) != 0;	/* batch_usec 0: no deadline */
}

/**
 * shring_notify - completions of @c were just published: wake it now if
 * it sleeps and @urgent (error completions, or more waiting for CQ room)
 * or one of its flows' policies says so; otherwise leave deadlines. One
 * walk over its flows (two when it is woken).
 */
void shring_notify(struct client *c, bool urgent)
{
	struct flow *f;

	if (!shring_client_waits(c->sr)) {
		shring_wake_clear(c, false);
		return;
	}
	TAILQ_FOREACH(f, &c->flows, entry) {
		if (urgent)
			break;
		if (f->wake_n)
			urgent = shring_wake_now(f);
	}
	if (urgent)
		shring_wake_client(c);
}

/*
 * shring_wake_due - @f's batch_usec has passed since the first of its
 * completions that its sleeping client was not woken for: wake it if it
 * still sleeps with completions unread in its CQ.
 */
void shring_wake_due(struct flow *f)
{
	struct client *c = f->c;
	struct shring *s = c->sr;

	if (c->dead || s->stopped)
		return;
	if (shring_client_waits(s) &&
	    zcs_ring_unread(&s->ctl->cq_head, s->cq_tail, s->cq_entries, NULL))
		shring_wake_client(c);
	else
		shring_wake_clear(c, false);
}

/*
 * shring_wake_all - a hand-over: wake every ring client that sleeps, so
 * none waits past it for completions a flush policy was holding back.
 */
void shring_wake_all(struct zcsd *d)
{
	struct client *c;

	TAILQ_FOREACH(c, &d->ring_clients, ring_entry)
		if (!c->dead)
			shring_notify(c, true);
}
