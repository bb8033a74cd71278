/* SPDX-License-Identifier: MIT */
/*
 * Publishing completions into a client's completion ring as they finish.
 * Only rings with completions waiting are visited (d->ring_due): a ring
 * joins the list when a completion or an error is queued for it and
 * leaves once everything is published, so idle clients cost a turn
 * nothing. Waking the client is shring_wake.c's.
 */
#include <string.h>

#include "shring.h"

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

/* Put @s on the due list: the next turn publishes for it. */
static void shring_set_due(struct shring *s)
{
	s->due = true;
	if (s->on_due || s->stopped)
		return;
	s->on_due = true;
	TAILQ_INSERT_TAIL(&s->c->d->ring_due, s, due_entry);
}

/* shring_undue - take @s off the due list (published, or stopped). */
void shring_undue(struct shring *s)
{
	if (!s->on_due)
		return;
	TAILQ_REMOVE(&s->c->d->ring_due, s, due_entry);
	s->on_due = false;
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

/**
 * shring_cq_has_room - @c's CQ has a free slot (a bad cq_head counts as
 * room: the next publish drops the client). No side effect.
 */
bool shring_cq_has_room(struct client *c)
{
	struct shring *s = c->sr;

	return zcs_ring_room(&s->ctl->cq_head, s->cq_tail, s->cq_entries,
			     NULL) != 0;
}

/* What of @c's completions fits in @room, errors first. Returns the
 * count written past the CQ tail; sets @errs when errors were. */
static uint32_t shring_fill(struct client *c, uint32_t room, bool *errs)
{
	struct shring *s = c->sr;
	uint32_t k = shring_put_errs(s, room);
	struct flow *f;

	*errs = k != 0;
	deliver_count(c, NULL, k, 0);
	s->due = s->nerr != 0;
	TAILQ_FOREACH(f, &c->flows, entry) {
		if (f->flush_due && k < room)
			k = shring_put_flow(c, f, k, room);
		s->due |= f->flush_due;
	}
	return k;
}

/**
 * shring_publish - publish what fits of due @c's waiting completions,
 * then wake the client if it sleeps and the policy says now. What does
 * not fit waits (its requests still count as in flight, so the client's
 * quota pushes back) and the unread timer watches for the client freeing
 * room. Returns the completions published.
 */
uint32_t shring_publish(struct client *c)
{
	struct shring *s = c->sr;
	int64_t room = s->due ? shring_cq_room(c) : 0;
	uint32_t k;
	bool errs;

	if (room < 0)
		return 0;	/* dropped */
	k = room ? shring_fill(c, (uint32_t)room, &errs) : 0;
	if (s->due)
		unread_watch(c);	/* the CQ is full: is it read? */
	else
		shring_undue(s);
	if (!k)
		return 0;
	zcs_ring_beat(&s->ctl->daemon_beat);
	s->cq_tail += k;
	zcs_ring_store(&s->ctl->cq_tail, s->cq_tail);
	shring_notify(c, errs || s->due);
	conn_resume(c);
	return k;
}

/*
 * shring_due - a completion of @f (of a ring client) is in its batch:
 * the next shring_turn() publishes it.
 */
void shring_due(struct flow *f)
{
	f->flush_due = true;
	shring_set_due(f->c->sr);
}

/*
 * shring_errors - error completions for @n records taken from @c's ring;
 * they are published with the next turn. shring_take's room keeps them
 * within the errq's max_inflight.
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
	shring_set_due(s);
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
