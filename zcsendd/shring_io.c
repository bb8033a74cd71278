/* SPDX-License-Identifier: MIT */
/*
 * Moving records through shared-memory rings: SEND records out of a
 * client's submission ring into the same checks and submission path as
 * the socket's, completions into its completion ring as they finish, and
 * the flags and eventfds that wake a side only when it sleeps, a client
 * when its destinations' flush policy says (immediate, or batch_max
 * published, batch_usec passed, or the flow idle). Ordering
 * is PROTOCOL.md's, in proto/zcs_ring.h: acquire loads of the peer's
 * index, release stores of ours, and a full fence between publishing and
 * looking at the peer's sleep flag (and between setting ours and looking
 * at its index).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sched/sched.h"
#include "shring.h"
#include "zcs_ring.h"

/* The client broke the ring protocol: only it is harmed, and dropped. */
static void shring_violation(struct client *c, const char *what,
			     uint32_t got, uint32_t ours)
{
	char why[128];

	snprintf(why, sizeof(why), "ring protocol: %s %u against our %u "
		 "(ring of %u)", what, got, ours, c->sr->sq_entries);
	conn_error(c, ZCS_MSG_SEND, 0, -EPROTO, "%s", why);
	conn_kill(c, why);
}

/*
 * Records @c may have taken now: its in-flight room, less the error
 * completions still waiting (they hold room too, so the errq never
 * overflows). None while draining: no request is read then.
 */
static uint32_t shring_room(const struct client *c)
{
	uint32_t used = c->inflight + c->sr->nerr;

	if (c->d->draining || used >= c->d->cfg.max_inflight)
		return 0;
	return c->d->cfg.max_inflight - used;
}

/*
 * Take what the scheduler's budget (sched_budget) and the quota allow
 * from @c's SQ. Each record is copied out before anything looks at it, so
 * the client cannot change it between check and use. Returns the records
 * taken.
 */
static uint32_t shring_take(struct client *c)
{
	struct zcs_msg_send recs[SCHED_RING_BUDGET];
	struct shring *s = c->sr;
	uint32_t tail, n, i;
	int ready = zcs_ring_ready(&s->ctl->sq_tail, s->sq_head,
				   s->sq_entries, &tail);

	if (ready < 0) {
		shring_violation(c, "sq_tail", tail, s->sq_head);
		return 0;
	}
	n = sched_budget(c, min_u32((uint32_t)ready, shring_room(c)));
	if (!n)
		return 0;
	if (intake_begin(c, 0)) {
		conn_kill(c, "its pool cannot be pinned");
		return 0;
	}
	for (i = 0; i < n; i++)
		memcpy(&recs[i], &s->sq[zcs_ring_slot(s->sq_head + i,
						      s->sq_entries)],
		       sizeof(recs[i]));
	s->sq_head += n;
	zcs_ring_store(&s->ctl->sq_head, s->sq_head);
	s->st.records += n;
	c->d->rings.records += n;
	intake_records(c, (const uint8_t *)recs, n, INTAKE_RING);
	return n;
}

/* Write one completion at the CQ tail plus @k (room was checked). */
static void shring_put(struct shring *s, uint32_t k,
		       const struct zcs_msg_completion *v)
{
	memcpy(&s->cq[zcs_ring_slot(s->cq_tail + k, s->cq_entries)], v,
	       sizeof(*v));
}

/* Error completions first: they waited longest. Returns how many. */
static uint32_t shring_put_errs(struct shring *s, uint32_t room)
{
	uint32_t k = min_u32(s->nerr, room), i;

	for (i = 0; i < k; i++)
		shring_put(s, i, &s->errq[i]);
	s->nerr -= k;
	memmove(s->errq, s->errq + k, s->nerr * sizeof(*s->errq));
	return k;
}

/* @f's finished requests, from CQ tail plus @k; frees their slots. */
static uint32_t shring_put_flow(struct client *c, struct flow *f,
				uint32_t k, uint32_t room)
{
	struct zcs_msg_completion v;
	uint32_t k0 = k;
	struct req *r;

	while (k < room && (r = req_list_pop(&f->batch))) {
		deliver_record(r, &v);
		shring_put(c->sr, k++, &v);
		req_release(r);
	}
	f->flush_due = f->batch.n != 0;
	deliver_count(c, f->dest, k - k0, 0);
	f->wake_n += k - k0;
	return k;
}

/*
 * Does @s's client sleep, or is it about to? The fence orders our
 * publishing before the look at its flag: a client that sets WAITING
 * later re-checks the CQ after its own fence and finds what we wrote.
 */
static bool shring_client_waits(struct shring *s)
{
	return zcs_ring_peer_sleeps(&s->ctl->client_flags, ZCS_RING_WAITING);
}

/* A wake-up of @c: counted for it, the daemon, and once for each
 * destination whose completions it carried. */
static void shring_wake_count(struct client *c)
{
	struct zcsd *d = c->d;
	struct flow *f;

	c->sr->st.wakeups_out++;
	d->rings.wakeups_out++;
	c->st.wakeups++;
	d->st.wakeups++;
	TAILQ_FOREACH(f, &c->flows, entry)
		if (f->wake_n && f->dest->wake_mark != d->st.wakeups) {
			f->dest->wake_mark = d->st.wakeups;
			f->dest->st.wakeups++;
		}
}

/* Nothing is owed any more: @c was woken, or is awake and sees its CQ
 * before it sleeps again. */
static void shring_wake_clear(struct client *c)
{
	struct flow *f;

	TAILQ_FOREACH(f, &c->flows, entry)
		if (f->wake_n) {
			f->wake_n = 0;
			evtimer_del(f->batch_timer);
		}
}

/* The client sleeps on its eventfd (the caller saw WAITING): wake it,
 * once, and forget what was owed. */
static void shring_wake_client(struct client *c)
{
	struct shring *s = c->sr;
	uint64_t one = 1;

	/* The client may have taken WAITING back itself: then it is awake. */
	if (zcs_ring_flag_take(&s->ctl->client_flags, ZCS_RING_WAITING) &&
	    write(s->efd_out, &one, sizeof(one)) == (ssize_t)sizeof(one))
		shring_wake_count(c);	/* EAGAIN: it filled the counter */
	shring_wake_clear(c);
}

/* Must @f's client be woken now for what @f published? The policy's. */
static bool shring_wake_now(const struct flow *f)
{
	return f->wake_n && deliver_now(f, f->wake_n);
}

/*
 * The batch_usec deadline of @f's first completion not yet woken for:
 * armed once, when it was published. Returns 0, or -errno when the
 * timer cannot be armed (then the caller wakes at once).
 */
static int shring_wake_arm(struct flow *f)
{
	if (evtimer_pending(f->batch_timer, NULL))
		return 0;
	return deliver_arm(f);	/* batch_usec 0: no deadline, wake now */
}

/*
 * Completions of @c were just published: wake it now if it sleeps and
 * @urgent (error completions, or more waiting for CQ room) or one of its
 * flows' policies says so; otherwise leave a deadline. A client that does
 * not sleep is owed nothing: it reads the CQ before it sleeps.
 */
static void shring_notify(struct client *c, bool urgent)
{
	struct flow *f;

	if (!shring_client_waits(c->sr)) {
		shring_wake_clear(c);
		return;
	}
	TAILQ_FOREACH(f, &c->flows, entry)
		urgent = urgent || shring_wake_now(f);
	TAILQ_FOREACH(f, &c->flows, entry)
		if (!urgent && f->wake_n && shring_wake_arm(f))
			urgent = true;
	if (urgent)
		shring_wake_client(c);
}

/* Free CQ entries, or -1 when the client's cq_head is out of bounds. */
static int64_t shring_cq_room(struct client *c)
{
	struct shring *s = c->sr;
	uint32_t head;
	int room = zcs_ring_room(&s->ctl->cq_head, s->cq_tail, s->cq_entries,
				 &head);

	if (room < 0) {
		shring_violation(c, "cq_head", head, s->cq_tail);
		return -1;
	}
	return room;
}

/*
 * Publish what fits of @c's waiting completions, then wake the client if
 * it sleeps and the policy says now. What does not fit waits (its
 * requests still count as in flight, so the client's quota pushes back)
 * and the unread timer watches for the client freeing room. Returns the
 * completions published.
 */
static uint32_t shring_publish(struct client *c)
{
	struct shring *s = c->sr;
	int64_t room = s->due ? shring_cq_room(c) : 0;
	struct flow *f;
	uint32_t k;
	bool errs;

	if (room < 0 || !s->due)
		return 0;	/* dropped, or nothing waits */
	k = shring_put_errs(s, (uint32_t)room);
	errs = k != 0;
	deliver_count(c, NULL, k, 0);
	TAILQ_FOREACH(f, &c->flows, entry)
		if (f->flush_due && k < room)
			k = shring_put_flow(c, f, k, (uint32_t)room);
	s->due = s->nerr != 0;
	TAILQ_FOREACH(f, &c->flows, entry)
		s->due |= f->flush_due;
	if (s->due)
		unread_watch(c);	/* the CQ is full: is it read? */
	if (!k)
		return 0;
	s->cq_tail += k;
	zcs_ring_store(&s->ctl->cq_tail, s->cq_tail);
	shring_notify(c, errs || s->due);
	conn_resume(c);
	return k;
}

/*
 * shring_turn - one pass over the live ring clients: take their records,
 * submit and reap (cqe_run, which also runs DEFER_TASKRUN task work),
 * publish their completions. The loop calls it after every event loop
 * turn while a ring client exists. Returns the records taken plus the
 * completions published.
 */
uint32_t shring_turn(struct zcsd *d)
{
	struct client *c, *next;
	uint32_t n = 0;

	for (c = TAILQ_FIRST(&d->ring_clients); c; c = next) {
		next = TAILQ_NEXT(c, ring_entry);	/* a kill unlinks c */
		n += shring_take(c);
	}
	cqe_run(d);
	for (c = TAILQ_FIRST(&d->ring_clients); c; c = next) {
		next = TAILQ_NEXT(c, ring_entry);
		n += shring_publish(c);
	}
	return n;
}

/*
 * Is there work for @c, looking once more after NEED_WAKEUP was set?
 * Records we may take, or completion-ring room for what waits. A bad
 * index counts as work: the next turn drops the client.
 */
static bool shring_has_work(struct client *c)
{
	struct shring *s = c->sr;

	if (zcs_ring_ready(&s->ctl->sq_tail, s->sq_head, s->sq_entries,
			   NULL) && shring_room(c))
		return true;
	return s->due && zcs_ring_room(&s->ctl->cq_head, s->cq_tail,
				       s->cq_entries, NULL);
}

/*
 * shring_may_sleep - before the loop blocks: set NEED_WAKEUP on every
 * ring, a full fence, then look at each ring once more. A client that
 * submitted before seeing the flag is seen here; one that submits after
 * sees the flag and writes our eventfd. Returns false when there is work
 * (the flags are cleared again by shring_awake()).
 */
bool shring_may_sleep(struct zcsd *d)
{
	struct client *c;

	TAILQ_FOREACH(c, &d->ring_clients, ring_entry)
		zcs_ring_flag_set(&c->sr->ctl->daemon_flags,
				  ZCS_RING_NEED_WAKEUP);
	zcs_ring_fence();
	TAILQ_FOREACH(c, &d->ring_clients, ring_entry)
		if (shring_has_work(c))
			return false;
	return true;
}

/*
 * shring_awake - the loop is running again: clear NEED_WAKEUP where the
 * client has not, so that it does not write our eventfd while we poll.
 */
void shring_awake(struct zcsd *d)
{
	struct zcs_ring_word *flags;
	struct client *c;

	TAILQ_FOREACH(c, &d->ring_clients, ring_entry) {
		flags = &c->sr->ctl->daemon_flags;
		if (zcs_ring_flag_test(flags, ZCS_RING_NEED_WAKEUP))
			zcs_ring_flag_take(flags, ZCS_RING_NEED_WAKEUP);
	}
}

/*
 * shring_due - a completion of @f (of a ring client) is in its batch:
 * the next shring_turn() publishes it.
 */
void shring_due(struct flow *f)
{
	f->flush_due = true;
	f->c->sr->due = true;
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
		shring_wake_clear(c);
}

/*
 * shring_errors - error completions for @n records taken from @c's ring;
 * they are published with the next turn. shring_room() keeps them within
 * the errq's max_inflight.
 */
void shring_errors(struct client *c, const struct zcs_msg_completion *v,
		   uint32_t n)
{
	struct shring *s = c->sr;

	if (c->dead || !s)
		return;
	if (n > c->d->cfg.max_inflight - s->nerr) {
		conn_kill(c, "internal error: ring error completions over "
			  "the in-flight bound");
		return;
	}
	memcpy(s->errq + s->nerr, v, n * sizeof(*v));
	s->nerr += n;
	s->due = true;
}

/* shring_blocked - completions of @c wait for room in its CQ. */
bool shring_blocked(const struct client *c)
{
	return c->sr && !c->dead && c->sr->due;
}

/* shring_cq_mark - remember @c's cq_head, to see later if it moved. */
void shring_cq_mark(struct client *c)
{
	if (c->sr && !c->dead)
		c->sr->cq_mark = zcs_ring_load(&c->sr->ctl->cq_head);
}

/* shring_cq_moved - @c read completions since shring_cq_mark(). */
bool shring_cq_moved(const struct client *c)
{
	if (!c->sr || c->dead)
		return false;
	return zcs_ring_load(&c->sr->ctl->cq_head) != c->sr->cq_mark;
}
