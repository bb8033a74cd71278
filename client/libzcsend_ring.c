/* SPDX-License-Identifier: MIT */
/*
 * libzcsend shared-memory rings: the client's half of the ring protocol
 * as pure functions over the mapped region. The index rules, bounds and
 * orderings are proto/zcs_ring.h's, shared with the daemon: records are
 * written before the release store of sq_tail, completions read after
 * the acquire load of cq_tail, and every publish is followed by a full
 * fence before the other side's sleep flag is read.
 */
#include <errno.h>
#include <string.h>

#include "libzcsend_ring.h"
#include "zcs_ring.h"

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
	r->sq_tail = zcs_ring_peek(&r->ctl->sq_tail);
	r->cq_head = zcs_ring_peek(&r->ctl->cq_head);
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
	return zcs_ring_room(&r->ctl->sq_head, r->sq_tail, r->sq_entries,
			     NULL);
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
		memcpy(&r->sq[zcs_ring_slot(r->sq_tail + i, r->sq_entries)],
		       p + (size_t)i * sizeof(struct zcs_msg_send),
		       sizeof(struct zcs_msg_send));
	if (n) {
		r->sq_tail += n;
		zcs_ring_store(&r->ctl->sq_tail, r->sq_tail);
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
	return zcs_ring_ready(&r->ctl->cq_tail, r->cq_head, r->cq_entries,
			      NULL);
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
		memcpy(&out[i], &r->cq[zcs_ring_slot(r->cq_head + i,
						     r->cq_entries)],
		       sizeof(*out));
	if (n) {
		r->cq_head += n;
		zcs_ring_store(&r->ctl->cq_head, r->cq_head);
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
	return zcs_ring_wake_needed(&ctl->daemon_flags, ZCS_RING_NEED_WAKEUP);
}

/*
 * zcsi_ring_set_waiting - say that we are about to sleep, then fence, so
 * that the caller's re-check of the CQ cannot pass the flag's store.
 */
void zcsi_ring_set_waiting(struct zcs_ring_ctl *ctl)
{
	zcs_ring_sleep_arm(&ctl->client_flags, ZCS_RING_WAITING);
}

/*
 * zcsi_ring_clear_waiting - we are awake. Returns 1 if the flag was still
 * set (the daemon has not written our eventfd for it), 0 if the daemon
 * took it, so a wake-up is or soon will be in our eventfd.
 */
int zcsi_ring_clear_waiting(struct zcs_ring_ctl *ctl)
{
	return zcs_ring_flag_take(&ctl->client_flags, ZCS_RING_WAITING);
}
