/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the ring protocol's shared steps (proto/zcs_ring.h).
 * The input sizes one ring, picks its start index and then drives an honest
 * producer and consumer through it while scribbling the shared index, flag
 * and beat words as a hostile peer would. Whatever the words hold: a count
 * is within the ring, or -EPROTO exactly when tail - head (mod 2^32)
 * exceeds it; no slot falls outside the array (ASan); until the first
 * scribble, records arrive once and in order; a beat only says whether it
 * changed. Broken promises are __builtin_trap().
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "zcs_ring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

/* One ring and both sides' private indices; the words are shared. */
struct sim {
	struct zcs_ring_ctl ctl;
	uint64_t *slots;	/* exactly @n, so ASan sees any overrun */
	uint32_t n;
	uint32_t tail;		/* the producer's own copy */
	uint32_t head;		/* the consumer's own copy */
	uint64_t put, got;	/* records written and taken, in order */
	int scribbled;		/* a word was written by neither side */
};

/* Input bytes, read past the end as zeros. */
struct in {
	const uint8_t *p;
	size_t left;
};

static uint8_t in_u8(struct in *in)
{
	if (!in->left)
		return 0;
	in->left--;
	return *in->p++;
}

static uint32_t in_u32(struct in *in)
{
	uint32_t v = 0;
	int i;

	for (i = 0; i < 4; i++)
		v = v << 8 | in_u8(in);
	return v;
}

/* A count from @head to @tail is what modulo-2^32 arithmetic says. */
static void check_count(int got, uint32_t head, uint32_t tail, uint32_t n)
{
	uint64_t d = ((uint64_t)tail + (1ull << 32) - head) & 0xffffffffu;

	if (d > n)
		CHECK(got == -EPROTO);
	else
		CHECK(got == (int)d);
	CHECK(zcs_ring_used(head, tail, n) == got);
	CHECK(zcs_ring_free(head, tail, n) ==
	      (got < 0 ? got : (int)n - got));
}

static void produce(struct sim *s, uint32_t want)
{
	uint32_t seen, i, k;
	int room = zcs_ring_room(&s->ctl.sq_head, s->tail, s->n, &seen);

	check_count(room < 0 ? room : (int)s->n - room, seen, s->tail, s->n);
	if (room < 0) {
		CHECK(s->scribbled);
		return;
	}
	k = want < (uint32_t)room ? want : (uint32_t)room;
	for (i = 0; i < k; i++) {
		CHECK(zcs_ring_slot(s->tail + i, s->n) < s->n);
		s->slots[zcs_ring_slot(s->tail + i, s->n)] = s->put++;
	}
	s->tail += k;
	zcs_ring_store(&s->ctl.sq_tail, s->tail);
}

static void consume(struct sim *s, uint32_t want)
{
	uint32_t seen, i, k;
	int ready = zcs_ring_ready(&s->ctl.sq_tail, s->head, s->n, &seen);

	check_count(ready, s->head, seen, s->n);
	if (ready < 0) {
		CHECK(s->scribbled);
		return;
	}
	k = want < (uint32_t)ready ? want : (uint32_t)ready;
	for (i = 0; i < k; i++) {
		uint64_t v = s->slots[zcs_ring_slot(s->head + i, s->n)];

		if (!s->scribbled)
			CHECK(v == s->got);
		s->got++;
	}
	s->head += k;
	zcs_ring_store(&s->ctl.sq_head, s->head);
}

/* Any value in a flag word: set and take touch only their bit. */
static void flags(struct sim *s, uint32_t v, uint32_t bit)
{
	struct zcs_ring_word *w = &s->ctl.daemon_flags;

	zcs_ring_store(w, v);
	CHECK(zcs_ring_flag_test(w, bit) == !!(v & bit));
	CHECK(zcs_ring_flag_take(w, bit) == !!(v & bit));
	CHECK(zcs_ring_peek(w) == (v & ~bit));
	CHECK(zcs_ring_wake_needed(w, bit) == 0);
	zcs_ring_sleep_arm(w, bit);
	CHECK(zcs_ring_peek(w) == (v | bit));
	CHECK(zcs_ring_peer_sleeps(w, bit) == 1);
}

/*
 * Any value in a beat word, read at any time: the pulse notes a change
 * and counts the peer running exactly within the stall time after it;
 * our own beat always moves by one, whatever the word held.
 */
static void beats(struct sim *s, uint32_t v, uint32_t dt)
{
	struct zcs_ring_word *w = &s->ctl.daemon_beat;
	struct zcs_ring_pulse p = { .seen = v ^ 1, .moved_ns = 0 };
	uint64_t now = (uint64_t)dt * 16;

	zcs_ring_store(w, v);
	CHECK(zcs_ring_pulse_read(&p, w, now, ZCS_RING_BEAT_STALL_NS) == 1);
	CHECK(p.seen == v && p.moved_ns == now);
	CHECK(zcs_ring_pulse_read(&p, w, now + dt, ZCS_RING_BEAT_STALL_NS) ==
	      (dt < ZCS_RING_BEAT_STALL_NS));
	zcs_ring_beat(w);
	CHECK(zcs_ring_peek(w) == v + 1);
}

/* One step: produce, consume, scribble an index, the flags or a beat. */
static void step(struct sim *s, struct in *in)
{
	uint8_t op = in_u8(in);
	uint32_t v;

	switch (op % 6) {
	case 0: produce(s, in_u8(in) % (2 * s->n + 2)); break;
	case 1: consume(s, in_u8(in) % (2 * s->n + 2)); break;
	case 2:
		zcs_ring_store(&s->ctl.sq_tail, in_u32(in));
		s->scribbled = 1;
		break;
	case 3:
		zcs_ring_store(&s->ctl.sq_head, in_u32(in));
		s->scribbled = 1;
		break;
	case 4:
		flags(s, in_u32(in), op & 0x80 ? ZCS_RING_WAITING
					       : ZCS_RING_NEED_WAKEUP);
		break;
	default:
		v = in_u32(in);
		beats(s, v, in_u32(in) % (4 * ZCS_RING_BEAT_STALL_NS));
		break;
	}
	if (!s->scribbled)
		CHECK(s->put - s->got == s->tail - s->head &&
		      s->tail - s->head <= s->n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { data, size };
	struct sim s;

	memset(&s, 0, sizeof(s));
	/* 8 .. 8192 entries: the SQ sizes zcs_rings_check allows and the CQ. */
	s.n = ZCS_RING_ENTRIES_MIN << (in_u8(&in) % 11);
	s.tail = s.head = in_u32(&in);
	s.ctl.sq_head.v = s.ctl.sq_tail.v = s.head;
	s.slots = malloc(s.n * sizeof(*s.slots));
	if (!s.slots)
		return 0;
	while (in.left)
		step(&s, &in);
	free(s.slots);
	return 0;
}
