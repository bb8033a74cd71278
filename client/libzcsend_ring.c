/* SPDX-License-Identifier: MIT */
/*
 * libzcsend shared-memory rings: the client's half of the ring protocol
 * as pure functions over the mapped region. Ordering follows PROTOCOL.md:
 * records are written before the release store of sq_tail, completions
 * are read after the acquire load of cq_tail, and every publish is
 * followed by a full fence before the other side's sleep flag is read.
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "libzcsend_ring.h"

/* The six control words are plain uint32_t in the wire header; the GCC
 * __atomic builtins give them C11 semantics without an _Atomic cast. */
static uint32_t load_acquire(const struct zcs_ring_word *w)
{
	return __atomic_load_n(&w->v, __ATOMIC_ACQUIRE);
}

static void store_release(struct zcs_ring_word *w, uint32_t v)
{
	__atomic_store_n(&w->v, v, __ATOMIC_RELEASE);
}

/*
 * zcsi_ring_init - point @r into the ring memory @map laid out as @lay
 * (already checked with zcs_rings_check). Our indices start where the
 * shared words say, which must already be consistent.
 * Returns 0, or -EPROTO when the daemon handed over corrupt indices.
 */
int zcsi_ring_init(struct zcsi_ring *r, void *map, const struct zcs_rings *lay)
{
	unsigned char *base = map;

	r->ctl = map;
	r->sq = (struct zcs_msg_send *)(base + lay->sq_off);
	r->cq = (const struct zcs_msg_completion *)(base + lay->cq_off);
	r->sq_entries = lay->sq_entries;
	r->cq_entries = lay->cq_entries;
	r->sq_tail = __atomic_load_n(&r->ctl->sq_tail.v, __ATOMIC_RELAXED);
	r->cq_head = __atomic_load_n(&r->ctl->cq_head.v, __ATOMIC_RELAXED);
	if (zcsi_ring_sq_room(r) < 0 || zcsi_ring_cq_ready(r) < 0)
		return -EPROTO;
	return 0;
}

/*
 * zcsi_ring_sq_room - free SQ slots. The daemon's sq_head may lag our
 * tail by at most sq_entries; anything else is corruption.
 * Returns the free count, or -EPROTO.
 */
int zcsi_ring_sq_room(const struct zcsi_ring *r)
{
	uint32_t used = r->sq_tail - load_acquire(&r->ctl->sq_head);

	if (used > r->sq_entries)
		return -EPROTO;
	return (int)(r->sq_entries - used);
}

/*
 * zcsi_ring_push - write up to @n SEND records from @recs (unaligned
 * bytes) at the tail and publish them with one release store.
 * Returns the count written (0 when full), or -EPROTO.
 */
int zcsi_ring_push(struct zcsi_ring *r, const void *recs, unsigned n)
{
	const unsigned char *p = recs;
	int room = zcsi_ring_sq_room(r);
	unsigned i;

	if (room < 0)
		return room;
	if (n > (unsigned)room)
		n = (unsigned)room;
	for (i = 0; i < n; i++)
		memcpy(&r->sq[(r->sq_tail + i) & (r->sq_entries - 1)],
		       p + (size_t)i * sizeof(struct zcs_msg_send),
		       sizeof(struct zcs_msg_send));
	if (n) {
		r->sq_tail += n;
		store_release(&r->ctl->sq_tail, r->sq_tail);
	}
	return (int)n;
}

/*
 * zcsi_ring_cq_ready - completions waiting. More than cq_entries past
 * our head means the daemon or the application corrupted the ring.
 * Returns the count, or -EPROTO.
 */
int zcsi_ring_cq_ready(const struct zcsi_ring *r)
{
	uint32_t ready = load_acquire(&r->ctl->cq_tail) - r->cq_head;

	if (ready > r->cq_entries)
		return -EPROTO;
	return (int)ready;
}

/*
 * zcsi_ring_pop - copy up to @max completions out of shared memory, then
 * hand their slots back with a release store of cq_head. The caller
 * fences and wakes the daemon (zcsi_ring_wake_needed) as after a push.
 * Returns the count copied, or -EPROTO.
 */
int zcsi_ring_pop(struct zcsi_ring *r, struct zcs_msg_completion *out,
		  unsigned max)
{
	int ready = zcsi_ring_cq_ready(r);
	unsigned i, n;

	if (ready <= 0)
		return ready;
	n = (unsigned)ready < max ? (unsigned)ready : max;
	for (i = 0; i < n; i++)
		memcpy(&out[i], &r->cq[(r->cq_head + i) & (r->cq_entries - 1)],
		       sizeof(*out));
	if (n) {
		r->cq_head += n;
		store_release(&r->ctl->cq_head, r->cq_head);
	}
	return (int)n;
}

/*
 * zcsi_ring_wake_needed - after publishing: a full fence, then take the
 * daemon's NEED_WAKEUP. The fence pairs with the daemon's set-fence-
 * recheck, so either it sees our indices or we see its flag.
 * Returns 1 when the caller must write the daemon's eventfd, else 0.
 */
int zcsi_ring_wake_needed(struct zcs_ring_ctl *ctl)
{
	atomic_thread_fence(memory_order_seq_cst);
	if (!(__atomic_load_n(&ctl->daemon_flags.v, __ATOMIC_RELAXED) &
	      ZCS_RING_NEED_WAKEUP))
		return 0;
	/* Only the side that clears the flag writes: one wake per sleep. */
	return !!(__atomic_fetch_and(&ctl->daemon_flags.v,
				     ~ZCS_RING_NEED_WAKEUP, __ATOMIC_SEQ_CST) &
		  ZCS_RING_NEED_WAKEUP);
}

/*
 * zcsi_ring_set_waiting - say that we are about to sleep, then fence, so
 * that the caller's re-check of the CQ cannot pass the flag's store.
 */
void zcsi_ring_set_waiting(struct zcs_ring_ctl *ctl)
{
	__atomic_fetch_or(&ctl->client_flags.v, ZCS_RING_WAITING,
			  __ATOMIC_SEQ_CST);
	atomic_thread_fence(memory_order_seq_cst);
}

/*
 * zcsi_ring_clear_waiting - we are awake. Returns 1 if the flag was still
 * set (the daemon has not written our eventfd for it), 0 if the daemon
 * took it, so a wake-up is or soon will be in our eventfd.
 */
int zcsi_ring_clear_waiting(struct zcs_ring_ctl *ctl)
{
	return !!(__atomic_fetch_and(&ctl->client_flags.v, ~ZCS_RING_WAITING,
				     __ATOMIC_SEQ_CST) & ZCS_RING_WAITING);
}
