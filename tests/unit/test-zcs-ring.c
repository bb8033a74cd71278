/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the ring protocol's shared steps (proto/zcs_ring.h), the
 * ones the daemon, libzcsend and the fuzzers all use: counts across the
 * 2^32 wrap, full and empty rings, hostile indices (a tail behind its
 * head or more than a ring ahead) refused with -EPROTO and reported as
 * read, and the sleep flags. Exit 0 when all checks pass, 1 otherwise.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "expect.h"
#include "zcs_proto.h"
#include "zcs_ring.h"


/* Heads where modulo-2^32 arithmetic goes wrong if it is done wrong. */
static const uint32_t heads[] = {
	0, 1, 7, 0x7ffffff8u, 0x7fffffffu, 0x80000000u, 0xfffffff0u,
	0xfffffff8u, 0xfffffffcu, 0xffffffffu,
};
#define NHEADS	(sizeof(heads) / sizeof(heads[0]))

/* Every distance 0..entries counts, from every head, wrapping or not. */
static void test_counts(uint32_t entries)
{
	uint32_t d;
	size_t i;

	for (i = 0; i < NHEADS; i++)
		for (d = 0; d <= entries; d++) {
			EXPECT_EQ(zcs_ring_used(heads[i], heads[i] + d, entries),
				  d);
			EXPECT_EQ(zcs_ring_free(heads[i], heads[i] + d, entries),
				  entries - d);
		}
}

/* A tail behind its head, or ahead by more than the ring: -EPROTO. */
static void test_hostile_counts(uint32_t entries)
{
	static const uint32_t off[] = { 1, 2, 0x10000, 0x80000000u };
	uint32_t h;
	size_t i, k;

	for (i = 0; i < NHEADS; i++) {
		h = heads[i];
		EXPECT_EQ(zcs_ring_used(h, h + entries + 1, entries), -EPROTO);
		EXPECT_EQ(zcs_ring_free(h, h + entries + 1, entries), -EPROTO);
		EXPECT_EQ(zcs_ring_used(h, h - 1, entries), -EPROTO);
		EXPECT_EQ(zcs_ring_free(h, h - 1, entries), -EPROTO);
		EXPECT_EQ(zcs_ring_used(h, h - entries, entries), -EPROTO);
		EXPECT_EQ(zcs_ring_used(h, h - entries - 1, entries), -EPROTO);
		for (k = 0; k < sizeof(off) / sizeof(off[0]); k++)
			EXPECT_EQ(zcs_ring_used(h, h + entries + off[k],
						entries), -EPROTO);
	}
}

/* Consecutive indices take consecutive slots across the wrap. */
static void test_slots(void)
{
	uint32_t i;

	EXPECT_EQ(zcs_ring_slot(0xffffffffu, 8), 7);
	EXPECT_EQ(zcs_ring_slot(0xffffffffu + 1u, 8), 0);
	EXPECT_EQ(zcs_ring_slot(0x80000005u, 8192), 5);
	for (i = 0xfffffff0u; i != 0x10u; i++)
		EXPECT_EQ(zcs_ring_slot(i + 1, 16),
			  (zcs_ring_slot(i, 16) + 1) % 16);
}

/* The word readers: empty and full rings, and what a bad read reports. */
static void test_words(void)
{
	struct zcs_ring_ctl ctl;
	uint32_t seen = 0;

	memset(&ctl, 0, sizeof(ctl));
	ctl.sq_tail.v = 0xfffffffeu;	/* empty, just before the wrap */
	EXPECT_EQ(zcs_ring_ready(&ctl.sq_tail, 0xfffffffeu, 8, &seen), 0);
	EXPECT_EQ(seen, 0xfffffffeu);
	ctl.sq_tail.v = 0xfffffffeu + 8;	/* full, wrapped */
	EXPECT_EQ(zcs_ring_ready(&ctl.sq_tail, 0xfffffffeu, 8, NULL), 8);
	ctl.sq_tail.v = 0xfffffffeu + 9;	/* one past full */
	EXPECT_EQ(zcs_ring_ready(&ctl.sq_tail, 0xfffffffeu, 8, &seen),
		  -EPROTO);
	EXPECT_EQ(seen, 0xfffffffeu + 9);	/* named in the report */

	ctl.cq_head.v = 5;		/* producer's view: 0 unread */
	EXPECT_EQ(zcs_ring_unread(&ctl.cq_head, 5, 16, NULL), 0);
	EXPECT_EQ(zcs_ring_room(&ctl.cq_head, 5, 16, NULL), 16);
	EXPECT_EQ(zcs_ring_room(&ctl.cq_head, 5 + 16, 16, NULL), 0);
	EXPECT_EQ(zcs_ring_unread(&ctl.cq_head, 5 + 16, 16, NULL), 16);
	ctl.cq_head.v = 6;		/* the consumer claims one too many */
	EXPECT_EQ(zcs_ring_room(&ctl.cq_head, 5, 16, &seen), -EPROTO);
	EXPECT_EQ(seen, 6);
	EXPECT_EQ(zcs_ring_unread(&ctl.cq_head, 5, 16, NULL), -EPROTO);
	ctl.cq_head.v = 0x80000000u;	/* half-way round */
	EXPECT_EQ(zcs_ring_room(&ctl.cq_head, 5, 16, NULL), -EPROTO);

	zcs_ring_store(&ctl.sq_head, 0xffffffffu);
	EXPECT_EQ(zcs_ring_load(&ctl.sq_head), 0xffffffffu);
	EXPECT_EQ(zcs_ring_peek(&ctl.sq_head), 0xffffffffu);
}

/* Set, test and take; other bits (scribbled) are left alone. */
static void test_flags(void)
{
	struct zcs_ring_ctl ctl;

	memset(&ctl, 0, sizeof(ctl));
	EXPECT_EQ(zcs_ring_wake_needed(&ctl.daemon_flags,
				       ZCS_RING_NEED_WAKEUP), 0);
	zcs_ring_sleep_arm(&ctl.daemon_flags, ZCS_RING_NEED_WAKEUP);
	EXPECT_EQ(ctl.daemon_flags.v, ZCS_RING_NEED_WAKEUP);
	EXPECT_EQ(zcs_ring_peer_sleeps(&ctl.daemon_flags,
				       ZCS_RING_NEED_WAKEUP), 1);
	EXPECT_EQ(zcs_ring_wake_needed(&ctl.daemon_flags,
				       ZCS_RING_NEED_WAKEUP), 1);
	EXPECT_EQ(zcs_ring_wake_needed(&ctl.daemon_flags,
				       ZCS_RING_NEED_WAKEUP), 0);	/* once */
	ctl.client_flags.v = 0xfffffffeu;	/* anything but ours */
	EXPECT_EQ(zcs_ring_flag_test(&ctl.client_flags, ZCS_RING_WAITING), 0);
	EXPECT_EQ(zcs_ring_flag_take(&ctl.client_flags, ZCS_RING_WAITING), 0);
	zcs_ring_flag_set(&ctl.client_flags, ZCS_RING_WAITING);
	EXPECT_EQ(ctl.client_flags.v, 0xffffffffu);
	EXPECT_EQ(zcs_ring_flag_take(&ctl.client_flags, ZCS_RING_WAITING), 1);
	EXPECT_EQ(ctl.client_flags.v, 0xfffffffeu);
}

/*
 * One producer and one consumer through a ring of 8 starting 20 before
 * the wrap, batches of 0..9 (more than fit): every record arrives once,
 * in order, and neither side ever sees a count out of bounds.
 */
static void test_fifo(void)
{
	const uint32_t n = 8, start = 0u - 20u;
	struct zcs_ring_ctl ctl;
	uint64_t ring[8], next_put = 0, next_get = 0;
	uint32_t tail = start, head = start, k, i, step;
	int room, ready;

	memset(&ctl, 0, sizeof(ctl));
	ctl.sq_head.v = ctl.sq_tail.v = start;
	for (step = 0; step < 200; step++) {
		room = zcs_ring_room(&ctl.sq_head, tail, n, NULL);
		EXPECT_EQ(room >= 0 && room <= (int)n, 1);
		k = step % 10 < (uint32_t)room ? step % 10 : (uint32_t)room;
		for (i = 0; i < k; i++)
			ring[zcs_ring_slot(tail + i, n)] = next_put++;
		tail += k;
		zcs_ring_store(&ctl.sq_tail, tail);
		ready = zcs_ring_ready(&ctl.sq_tail, head, n, NULL);
		EXPECT_EQ(ready >= 0 && ready <= (int)n, 1);
		k = (step * 7) % 10 < (uint32_t)ready ? (step * 7) % 10
						      : (uint32_t)ready;
		for (i = 0; i < k; i++)
			EXPECT_EQ(ring[zcs_ring_slot(head + i, n)], next_get++);
		head += k;
		zcs_ring_store(&ctl.sq_head, head);
	}
	EXPECT_EQ(next_put - next_get, tail - head);
	EXPECT_EQ(next_put > 300, 1);	/* it went round, past the wrap */
}

/*
 * Beats: ours moves by one whatever the word held (a scribbled one too,
 * past the wrap); the peer counts as running exactly while its beat moved
 * within the stall time, and any change, a scribble too, restarts that.
 */
static void test_beats(void)
{
	const uint64_t stall = ZCS_RING_BEAT_STALL_NS;
	struct zcs_ring_pulse p = { 0, 0 };
	struct zcs_ring_ctl ctl;

	memset(&ctl, 0, sizeof(ctl));
	ctl.client_beat.v = UINT32_MAX;
	zcs_ring_beat(&ctl.client_beat);
	EXPECT_EQ(ctl.client_beat.v, 0);
	EXPECT_EQ(ctl.daemon_beat.v, 0);	/* the other word untouched */
	EXPECT_EQ(zcs_ring_pulse_read(&p, &ctl.daemon_beat, 1000, stall), 1);
	EXPECT_EQ(zcs_ring_pulse_read(&p, &ctl.daemon_beat, stall - 1, stall),
		  1);
	EXPECT_EQ(zcs_ring_pulse_read(&p, &ctl.daemon_beat, stall, stall), 0);
	zcs_ring_beat(&ctl.daemon_beat);
	EXPECT_EQ(zcs_ring_pulse_read(&p, &ctl.daemon_beat, 10 * stall,
				      stall), 1);
	EXPECT_EQ(p.moved_ns, 10 * stall);
	EXPECT_EQ(zcs_ring_pulse_read(&p, &ctl.daemon_beat, 11 * stall,
				      stall), 0);
	ctl.daemon_beat.v = 0xdeadbeefu;	/* a scribble is a change */
	EXPECT_EQ(zcs_ring_pulse_read(&p, &ctl.daemon_beat, 12 * stall,
				      stall), 1);
	EXPECT_EQ(p.seen, 0xdeadbeefu);
}

int main(void)
{
	test_counts(ZCS_RING_ENTRIES_MIN);
	test_counts(2 * ZCS_RING_ENTRIES_MAX);	/* the largest CQ */
	test_hostile_counts(ZCS_RING_ENTRIES_MIN);
	test_hostile_counts(2 * ZCS_RING_ENTRIES_MAX);
	test_slots();
	test_words();
	test_flags();
	test_fifo();
	test_beats();
	printf("test-zcs-ring: %u checks, %u failures\n", checks, failures);
	return failures ? 1 : 0;
}
