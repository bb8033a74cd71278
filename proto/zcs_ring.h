/* SPDX-License-Identifier: MIT */
/*
 * The shared-memory ring protocol (PROTOCOL.md, "Rings") in one place, for
 * the daemon, libzcsend, the tests and the fuzzers: index arithmetic modulo
 * 2^32, the bound every index read from the other side's memory must pass,
 * the C11 loads and stores of the eight control words, the sleep-flag
 * steps, and the beats that tell each side whether the other is running. Static inline and pure: no I/O, no allocation, no state.
 */
#ifndef ZCS_RING_H
#define ZCS_RING_H

#include <errno.h>
#include <stdint.h>

#include "zcs_proto.h"

/*
 * The control words are plain u32 on the wire, shared with another
 * process; the GCC __atomic builtins give them C11 semantics without an
 * _Atomic cast, and they must not fall back to a lock in this process.
 */
_Static_assert(__atomic_always_lock_free(sizeof(uint32_t), 0),
	       "another process shares the ring words: they must be lock-free");
/* Counts are returned as int: the largest ring must fit. */
_Static_assert(2 * ZCS_RING_ENTRIES_MAX <= INT32_MAX, "ring counts fit int");

/*
 * In every function below, @entries is a ring size that zcs_rings_check()
 * accepted (or the daemon chose): a power of two, at most twice
 * ZCS_RING_ENTRIES_MAX. Indices run free and wrap at 2^32.
 */

/* zcs_ring_slot - the array element of free-running index @i. */
static inline uint32_t zcs_ring_slot(uint32_t i, uint32_t entries)
{
	return i & (entries - 1);
}

/*
 * zcs_ring_used - entries written and not yet taken, between a consumer's
 * @head and a producer's @tail, modulo 2^32. More than @entries cannot
 * happen between honest sides: one index was scribbled (a tail behind its
 * head reads as a huge count, and is caught by the same test).
 * Returns 0..@entries, or -EPROTO.
 */
static inline int zcs_ring_used(uint32_t head, uint32_t tail, uint32_t entries)
{
	uint32_t n = tail - head;

	return n > entries ? -EPROTO : (int)n;
}

/* zcs_ring_free - slots a producer may still fill; 0..@entries or -EPROTO. */
static inline int zcs_ring_free(uint32_t head, uint32_t tail, uint32_t entries)
{
	int n = zcs_ring_used(head, tail, entries);

	return n < 0 ? n : (int)entries - n;
}

/*
 * zcs_ring_load - the other side's index (acquire): everything it wrote
 * into the ring before storing the index is visible after this load.
 */
static inline uint32_t zcs_ring_load(const struct zcs_ring_word *w)
{
	return __atomic_load_n(&w->v, __ATOMIC_ACQUIRE);
}

/* zcs_ring_peek - a word's value without ordering (setup, flag tests). */
static inline uint32_t zcs_ring_peek(const struct zcs_ring_word *w)
{
	return __atomic_load_n(&w->v, __ATOMIC_RELAXED);
}

/*
 * zcs_ring_store - publish our own index (release): the entries written
 * (producer) or copied out (consumer) before it are done with.
 */
static inline void zcs_ring_store(struct zcs_ring_word *w, uint32_t v)
{
	__atomic_store_n(&w->v, v, __ATOMIC_RELEASE);
}

/*
 * zcs_ring_ready - a consumer at @head reads the producer's @tail word,
 * once, and bounds it. The value read goes to *@seen (if not NULL), so a
 * caller that reports the violation names what it saw, not a re-read.
 * Returns the entries ready, 0..@entries, or -EPROTO.
 */
static inline int zcs_ring_ready(const struct zcs_ring_word *tail,
				 uint32_t head, uint32_t entries,
				 uint32_t *seen)
{
	uint32_t t = zcs_ring_load(tail);

	if (seen)
		*seen = t;
	return zcs_ring_used(head, t, entries);
}

/*
 * zcs_ring_unread - a producer at @tail reads the consumer's @head word,
 * once, and bounds it (*@seen as for zcs_ring_ready).
 * Returns the entries the consumer has not taken yet, or -EPROTO.
 */
static inline int zcs_ring_unread(const struct zcs_ring_word *head,
				  uint32_t tail, uint32_t entries,
				  uint32_t *seen)
{
	uint32_t h = zcs_ring_load(head);

	if (seen)
		*seen = h;
	return zcs_ring_used(h, tail, entries);
}

/* zcs_ring_room - as zcs_ring_unread, but the free slots; or -EPROTO. */
static inline int zcs_ring_room(const struct zcs_ring_word *head,
				uint32_t tail, uint32_t entries,
				uint32_t *seen)
{
	int n = zcs_ring_unread(head, tail, entries, seen);

	return n < 0 ? n : (int)entries - n;
}

/*
 * The sleep flags (daemon_flags: ZCS_RING_NEED_WAKEUP, client_flags:
 * ZCS_RING_WAITING) have two writers, the sleeper and the side that wakes
 * it, so they change only by atomic read-modify-write. A producer's
 * publish-fence-look and a sleeper's set-fence-recheck cannot both miss:
 * no wake-up is lost.
 */

/* zcs_ring_fence - the full fence between publishing and looking. */
static inline void zcs_ring_fence(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* zcs_ring_flag_set - set @bit in flag word @w. */
static inline void zcs_ring_flag_set(struct zcs_ring_word *w, uint32_t bit)
{
	__atomic_fetch_or(&w->v, bit, __ATOMIC_SEQ_CST);
}

/*
 * zcs_ring_flag_take - clear @bit in @w. Returns 1 if it was set: only
 * the side that takes the flag writes the sleeper's eventfd, so a sleep
 * gets one wake-up. Else 0.
 */
static inline int zcs_ring_flag_take(struct zcs_ring_word *w, uint32_t bit)
{
	return !!(__atomic_fetch_and(&w->v, ~bit, __ATOMIC_SEQ_CST) & bit);
}

/* zcs_ring_flag_test - 1 if @bit is set in @w now, else 0; no ordering. */
static inline int zcs_ring_flag_test(const struct zcs_ring_word *w,
				     uint32_t bit)
{
	return !!(zcs_ring_peek(w) & bit);
}

/*
 * zcs_ring_peer_sleeps - after publishing: a full fence, then the other
 * side's @bit. Returns 1 if it sleeps or is about to, else 0 (then it
 * re-checks its ring after its own fence and finds what we published).
 */
static inline int zcs_ring_peer_sleeps(const struct zcs_ring_word *w,
				       uint32_t bit)
{
	zcs_ring_fence();
	return zcs_ring_flag_test(w, bit);
}

/*
 * zcs_ring_wake_needed - after publishing, as a producer that wakes the
 * other side at once: fence, look, and take the flag when set.
 * Returns 1 when the caller must write the sleeper's eventfd, else 0.
 */
static inline int zcs_ring_wake_needed(struct zcs_ring_word *w, uint32_t bit)
{
	if (!zcs_ring_peer_sleeps(w, bit))
		return 0;
	return zcs_ring_flag_take(w, bit);
}

/*
 * zcs_ring_sleep_arm - about to sleep: set our @bit, then fence, so that
 * the caller's re-check of its ring cannot pass the flag's store.
 */
static inline void zcs_ring_sleep_arm(struct zcs_ring_word *w, uint32_t bit)
{
	zcs_ring_flag_set(w, bit);
	zcs_ring_fence();
}

/*
 * The beats (daemon_beat, client_beat): each side adds one to its own
 * while it is awake and turning, so the other can tell a peer on a CPU
 * making progress from one that sleeps or was descheduled, and spin only
 * for the first. A beat publishes nothing (relaxed); its value means
 * nothing, only whether it changed. ZCS_RING_BEAT_STALL_NS is how long
 * an unchanged beat may stay "running": longer than the daemon's longest
 * step between beats (one io_uring_enter submitting a turn: tens of
 * microseconds for eight 64 KB zerocopy sends; 2 us made every such
 * hand-off a sleep, 0.07x the throughput), so a stalled beat means a
 * side that sleeps. A side that lost its core to another program is
 * told apart by the host's runnable tasks instead (proto/zcs_spare.h).
 */
#define ZCS_RING_BEAT_STALL_NS	50000u

/* zcs_ring_beat - advance our own beat word @w (one writer: us). */
static inline void zcs_ring_beat(struct zcs_ring_word *w)
{
	__atomic_store_n(&w->v, zcs_ring_peek(w) + 1, __ATOMIC_RELAXED);
}

/* What one side remembers of the other's beat. */
struct zcs_ring_pulse {
	uint32_t seen;		/* the beat last read */
	uint64_t moved_ns;	/* when it was last seen to change */
};

/*
 * zcs_ring_pulse_read - read the other side's beat @w at @now_ns (any
 * monotonic clock): note when it changed. Returns 1 when the peer counts
 * as running (its beat moved within @stall_ns, ZCS_RING_BEAT_STALL_NS
 * unless the caller knows better), else 0.
 * The value is the other side's to scribble: only its change is used.
 */
static inline int zcs_ring_pulse_read(struct zcs_ring_pulse *p,
				      const struct zcs_ring_word *w,
				      uint64_t now_ns, uint64_t stall_ns)
{
	uint32_t b = zcs_ring_peek(w);

	if (b != p->seen) {
		p->seen = b;
		p->moved_ns = now_ns;
	}
	return now_ns - p->moved_ns < stall_ns;
}

#endif /* ZCS_RING_H */
