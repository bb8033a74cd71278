/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of libzcsend's ring steps (client/libzcsend_ring.c) on plain
 * memory laid out as a RINGS reply describes it, with this test playing
 * the daemon: indices wrapping at 2^32, full and empty rings, the sleep
 * flags, and indices corrupted in shared memory returning -EPROTO.
 * Exit 0 when all checks pass, 1 otherwise.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expect.h"
#include "libzcsend_ring.h"
#include "zcs_proto.h"

#define SQ	8u
#define CQ	16u


static struct zcs_rings lay;
static unsigned char *mem;

/* A zeroed region with the indices all at @start. */
static struct zcs_ring_ctl *region(uint32_t start)
{
	struct zcs_ring_ctl *ctl = (struct zcs_ring_ctl *)mem;

	memset(mem, 0, lay.bytes);
	ctl->sq_head.v = ctl->sq_tail.v = start;
	ctl->cq_head.v = ctl->cq_tail.v = start;
	return ctl;
}

static void fill_sends(struct zcs_msg_send *s, unsigned n, uint64_t tag0)
{
	unsigned i;

	memset(s, 0, n * sizeof(*s));
	for (i = 0; i < n; i++)
		s[i].tag = tag0 + i;
}

/* The SQ fills at sq_entries across the 2^32 wrap and drains in order. */
static void test_sq_wrap(void)
{
	struct zcs_ring_ctl *ctl = region(0xfffffffcu);
	const struct zcs_msg_send *sq =
		(const struct zcs_msg_send *)(mem + lay.sq_off);
	struct zcs_msg_send s[SQ + 2];
	struct zcsi_ring r;
	unsigned i;

	EXPECT_EQ(zcsi_ring_init(&r, mem, &lay), 0);
	EXPECT_EQ(zcsi_ring_sq_room(&r), SQ);
	fill_sends(s, SQ + 2, 100);
	EXPECT_EQ(zcsi_ring_push(&r, s, 3), 3);
	EXPECT_EQ(zcsi_ring_push(&r, s + 3, SQ + 2 - 3), SQ - 3);
	EXPECT_EQ(ctl->sq_tail.v, 0xfffffffcu + SQ);	/* wrapped */
	EXPECT_EQ(zcsi_ring_sq_room(&r), 0);
	EXPECT_EQ(zcsi_ring_push(&r, s + SQ, 2), 0);	/* full */
	for (i = 0; i < SQ; i++)
		EXPECT_EQ(sq[(0xfffffffcu + i) & (SQ - 1)].tag, 100 + i);
	ctl->sq_head.v += 5;	/* the daemon takes five */
	EXPECT_EQ(zcsi_ring_sq_room(&r), 5);
	EXPECT_EQ(zcsi_ring_push(&r, s + SQ, 2), 2);
	EXPECT_EQ(sq[(0xfffffffcu + SQ) & (SQ - 1)].tag, 100 + SQ);
}

/* The daemon posts @n completions with tags from @tag0. */
static void post(struct zcs_ring_ctl *ctl, unsigned n, uint64_t tag0)
{
	struct zcs_msg_completion *cq =
		(struct zcs_msg_completion *)(mem + lay.cq_off);
	unsigned i;

	for (i = 0; i < n; i++) {
		cq[(ctl->cq_tail.v + i) & (CQ - 1)].tag = tag0 + i;
		cq[(ctl->cq_tail.v + i) & (CQ - 1)].result = (int32_t)i;
	}
	ctl->cq_tail.v += n;
}

static void test_cq_wrap(void)
{
	struct zcs_ring_ctl *ctl = region(0xfffffff9u);
	struct zcs_msg_completion out[CQ];
	struct zcsi_ring r;
	unsigned i;

	EXPECT_EQ(zcsi_ring_init(&r, mem, &lay), 0);
	EXPECT_EQ(zcsi_ring_cq_ready(&r), 0);
	EXPECT_EQ(zcsi_ring_pop(&r, out, CQ), 0);	/* empty */
	post(ctl, CQ, 500);				/* full, wrapping */
	EXPECT_EQ(zcsi_ring_cq_ready(&r), CQ);
	EXPECT_EQ(zcsi_ring_pop(&r, out, 5), 5);
	EXPECT_EQ(ctl->cq_head.v, 0xfffffff9u + 5);
	EXPECT_EQ(zcsi_ring_pop(&r, out + 5, CQ), CQ - 5);
	for (i = 0; i < CQ; i++)
		EXPECT_EQ(out[i].tag, 500 + i);
	EXPECT_EQ(ctl->cq_head.v, 0xfffffff9u + CQ);
	EXPECT_EQ(zcsi_ring_cq_ready(&r), 0);
}

/* Indices the daemon or the application scribbled: never trusted. */
static void test_corrupt(void)
{
	struct zcs_ring_ctl *ctl = region(7);
	struct zcs_msg_completion out[4];
	struct zcs_msg_send s[2];
	struct zcsi_ring r;

	fill_sends(s, 2, 1);
	EXPECT_EQ(zcsi_ring_init(&r, mem, &lay), 0);
	ctl->cq_tail.v = 7 + CQ + 1;			/* one past full */
	EXPECT_EQ(zcsi_ring_cq_ready(&r), -EPROTO);
	EXPECT_EQ(zcsi_ring_pop(&r, out, 4), -EPROTO);
	EXPECT_EQ(ctl->cq_head.v, 7);			/* nothing taken */
	ctl->cq_tail.v = 6;				/* behind our head */
	EXPECT_EQ(zcsi_ring_pop(&r, out, 4), -EPROTO);
	ctl->sq_head.v = 8;				/* past our tail */
	EXPECT_EQ(zcsi_ring_sq_room(&r), -EPROTO);
	EXPECT_EQ(zcsi_ring_push(&r, s, 2), -EPROTO);
	EXPECT_EQ(ctl->sq_tail.v, 7);			/* nothing published */
	ctl->sq_head.v = 7 - SQ - 1;			/* more used than fit */
	EXPECT_EQ(zcsi_ring_sq_room(&r), -EPROTO);
	/* Our own words scribbled: our private copies win. */
	ctl->sq_head.v = 7;
	ctl->sq_tail.v = 12345;
	EXPECT_EQ(zcsi_ring_push(&r, s, 2), 2);
	EXPECT_EQ(ctl->sq_tail.v, 9);
	/* A corrupt region is refused when it is handed over. */
	region(0)->cq_tail.v = CQ + 1;
	EXPECT_EQ(zcsi_ring_init(&r, mem, &lay), -EPROTO);
	region(0)->sq_head.v = 3;
	EXPECT_EQ(zcsi_ring_init(&r, mem, &lay), -EPROTO);
}

static void test_flags(void)
{
	struct zcs_ring_ctl *ctl = region(0);

	EXPECT_EQ(zcsi_ring_wake_needed(ctl), 0);
	ctl->daemon_flags.v = ZCS_RING_NEED_WAKEUP;
	EXPECT_EQ(zcsi_ring_wake_needed(ctl), 1);	/* we wake it ... */
	EXPECT_EQ(ctl->daemon_flags.v, 0);
	EXPECT_EQ(zcsi_ring_wake_needed(ctl), 0);	/* ... once */
	zcsi_ring_set_waiting(ctl);
	EXPECT_EQ(ctl->client_flags.v, ZCS_RING_WAITING);
	EXPECT_EQ(zcsi_ring_clear_waiting(ctl), 1);	/* still ours */
	zcsi_ring_set_waiting(ctl);
	ctl->client_flags.v = 0;			/* the daemon took it */
	EXPECT_EQ(zcsi_ring_clear_waiting(ctl), 0);
}

int main(void)
{
	lay.sq_entries = SQ;
	lay.cq_entries = CQ;
	lay.sq_off = sizeof(struct zcs_ring_ctl);
	lay.cq_off = lay.sq_off + SQ * sizeof(struct zcs_msg_send);
	lay.bytes = 4096;
	EXPECT_EQ(zcs_rings_check(&lay), 0);
	mem = aligned_alloc(64, lay.bytes);
	if (!mem)
		return 1;
	test_sq_wrap();
	test_cq_wrap();
	test_corrupt();
	test_flags();
	free(mem);
	printf("test-ring: %u checks, %u failures\n", checks, failures);
	return failures ? 1 : 0;
}
