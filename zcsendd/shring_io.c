/* SPDX-License-Identifier: MIT */
/*
 * The event loop's side of the rings: one turn (take from the hot rings,
 * reap, publish to the due ones) and the steps around a sleep (NEED_WAKEUP
 * set, fenced and re-checked on the hot rings only; cold rings keep it set
 * all along). Ordering is PROTOCOL.md's, in proto/zcs_ring.h: a sleeper's
 * set-fence-recheck against a producer's publish-fence-look, so no
 * wake-up is lost whichever side moves first.
 */
#include "shring.h"

/**
 * shring_turn - one pass at @now_ns: take the hot clients' records,
 * submit and reap (cqe_run, which also runs DEFER_TASKRUN task work),
 * publish the due clients' completions. The loop calls it after every
 * event loop turn while a ring client exists. Returns the records taken
 * plus the completions published.
 */
uint32_t shring_turn(struct zcsd *d, uint64_t now_ns)
{
	struct shring *s, *next;
	uint32_t n = 0;

	for (s = TAILQ_FIRST(&d->ring_hot); s; s = next) {
		next = TAILQ_NEXT(s, hot_entry);	/* a kill unlinks s */
		n += shring_take(s->c, now_ns);
	}
	cqe_run(d);
	/* Submitting and reaping may take microseconds: beat again, so
	 * that a spinning client does not take them for a lost core. */
	TAILQ_FOREACH(s, &d->ring_hot, hot_entry)
		zcs_ring_beat(&s->ctl->daemon_beat);
	for (s = TAILQ_FIRST(&d->ring_due); s; s = next) {
		next = TAILQ_NEXT(s, due_entry);
		n += shring_publish(s->c);
	}
	return n;
}

/*
 * shring_may_sleep - before the loop blocks: set NEED_WAKEUP on every hot
 * ring, a full fence, then look at each once more, and at the due rings
 * for CQ room (a cold ring's flag is set already). A client that
 * submitted before seeing the flag is seen here; one that submits after
 * sees the flag and writes our eventfd. Returns false when there is work
 * (shring_awake() clears the flags again); true, and the hot rings with
 * an empty SQ go cold with their flag left set, when the loop may sleep.
 */
bool shring_may_sleep(struct zcsd *d)
{
	struct shring *s, *next;

	TAILQ_FOREACH(s, &d->ring_hot, hot_entry)
		zcs_ring_flag_set(&s->ctl->daemon_flags,
				  ZCS_RING_NEED_WAKEUP);
	zcs_ring_fence();
	TAILQ_FOREACH(s, &d->ring_hot, hot_entry)
		if (shring_has_work(s->c))
			return false;
	TAILQ_FOREACH(s, &d->ring_due, due_entry)
		if (shring_cq_has_room(s->c))
			return false;
	for (s = TAILQ_FIRST(&d->ring_hot); s; s = next) {
		next = TAILQ_NEXT(s, hot_entry);
		if (!s->due && !shring_has_records(s->c))
			shring_unhot(s);
	}
	return true;
}

/*
 * shring_awake - the loop is running again: clear NEED_WAKEUP on the hot
 * rings where the client has not, so that it does not write our eventfd
 * while we poll. Cold rings keep theirs.
 */
void shring_awake(struct zcsd *d)
{
	struct zcs_ring_word *flags;
	struct shring *s;

	TAILQ_FOREACH(s, &d->ring_hot, hot_entry) {
		flags = &s->ctl->daemon_flags;
		if (zcs_ring_flag_test(flags, ZCS_RING_NEED_WAKEUP))
			zcs_ring_flag_take(flags, ZCS_RING_NEED_WAKEUP);
	}
}
