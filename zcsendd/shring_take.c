/* SPDX-License-Identifier: MIT */
/*
 * Taking SEND records out of a client's submission ring, and which rings
 * are read at all: a hot ring is read every turn, a cold one (nothing in
 * its SQ for SHRING_COOL_NS, or the daemon went to sleep) only after its
 * client writes our eventfd, which it does because a cold ring keeps
 * NEED_WAKEUP set. So a turn reads the rings of clients at work, not the
 * rings of every client connected.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sched/sched.h"
#include "shring.h"

/* A ring with nothing in its SQ this long while we poll goes cold. */
#define SHRING_COOL_NS	1000000u

/**
 * shring_violation - the client broke the ring protocol: only it is
 * harmed, and dropped. @what names the word, @got its value, @ours ours.
 */
void shring_violation(struct client *c, const char *what, uint32_t got,
		      uint32_t ours)
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
 * A turn reads @c's ring: beat for it, see whether its client beats (it
 * spins waiting for us: the loop counts it among the tasks it may poll
 * beside, service/loop.c) and note activity. Returns the records ready, or -EPROTO (then it was dropped).
 */
static int shring_look(struct client *c, uint64_t now_ns)
{
	struct shring *s = c->sr;
	struct zcsd *d = c->d;
	uint32_t tail;
	int ready;

	zcs_ring_beat(&s->ctl->daemon_beat);
	if (!s->active_ns)
		s->active_ns = now_ns;	/* just made hot */
	if (zcs_ring_pulse_read(&s->pulse, &s->ctl->client_beat, now_ns,
				ZCS_RING_BEAT_STALL_NS)) {
		s->active_ns = now_ns;
		if (s->pulse.moved_ns > d->ring_beat_ns)
			d->ring_beat_ns = s->pulse.moved_ns;
	}
	ready = zcs_ring_ready(&s->ctl->sq_tail, s->sq_head, s->sq_entries,
			       &tail);
	if (ready < 0)
		shring_violation(c, "sq_tail", tail, s->sq_head);
	else if (ready)
		s->active_ns = now_ns;
	return ready;
}

/**
 * shring_take - one turn's look at hot @c's ring at @now_ns: take what
 * the scheduler's budget (sched_budget) and the quota allow, or let the
 * ring go cold when it has been idle for SHRING_COOL_NS. Each record is
 * copied out before anything looks at it, so the client cannot change
 * it between check and use. Returns the records taken.
 */
uint32_t shring_take(struct client *c, uint64_t now_ns)
{
	struct zcs_msg_send recs[SCHED_RING_BUDGET];
	struct shring *s = c->sr;
	int ready = shring_look(c, now_ns);
	uint32_t n, i;

	if (ready < 0)
		return 0;
	if (!ready && !s->due && now_ns - s->active_ns > SHRING_COOL_NS) {
		if (!shring_cool(c))
			zcs_ring_flag_take(&s->ctl->daemon_flags,
					   ZCS_RING_NEED_WAKEUP);
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

/**
 * shring_has_records - records wait in @c's SQ, whether or not we may
 * take them now; a bad index counts too (the next take drops @c).
 */
bool shring_has_records(struct client *c)
{
	struct shring *s = c->sr;

	return zcs_ring_ready(&s->ctl->sq_tail, s->sq_head, s->sq_entries,
			      NULL) != 0;
}

/**
 * shring_has_work - there is something for a turn to do with @c: records
 * we may take now, or completions waiting with room in its CQ. Called
 * after NEED_WAKEUP was set and fenced, so it is the sleeper's re-check.
 */
bool shring_has_work(struct client *c)
{
	struct shring *s = c->sr;

	if (shring_has_records(c) && shring_room(c))
		return true;
	return s->due && shring_cq_has_room(c);
}

/* shring_unhot - take @s off the hot list: its NEED_WAKEUP stays set. */
void shring_unhot(struct shring *s)
{
	if (!s->hot)
		return;
	TAILQ_REMOVE(&s->c->d->ring_hot, s, hot_entry);
	s->hot = false;
}

/**
 * shring_cool - @c's ring looked idle: set NEED_WAKEUP, fence, look once
 * more. With its SQ still empty and nothing to publish it goes cold (off
 * the hot list, the flag left set): its client's next submit sees the
 * flag and writes our eventfd (shring_heat). Returns true when it went
 * cold, false when records or completions came (flag still set).
 */
bool shring_cool(struct client *c)
{
	struct shring *s = c->sr;

	zcs_ring_sleep_arm(&s->ctl->daemon_flags, ZCS_RING_NEED_WAKEUP);
	if (s->due || shring_has_records(c))
		return false;
	shring_unhot(s);
	return true;
}

/**
 * shring_heat - @c wrote our eventfd (it saw NEED_WAKEUP, which it took):
 * read its ring every turn again until it is idle.
 */
void shring_heat(struct client *c)
{
	struct shring *s = c->sr;

	if (s->hot || s->stopped)
		return;
	s->hot = true;
	s->active_ns = 0;	/* the next look starts the idle clock */
	TAILQ_INSERT_TAIL(&c->d->ring_hot, s, hot_entry);
}
