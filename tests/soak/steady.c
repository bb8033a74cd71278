/* SPDX-License-Identifier: MIT */
/*
 * Steady clients: one thread and one libzcsend handle each, sending
 * th_rec records with consecutive seqs for the whole soak, many in flight.
 * Every tag must complete exactly once with result == length; a ring of
 * slots indexed by tag remembers what is in flight. UDP clients share one
 * verifying receiver: their seqs interleave, and they hold back when the
 * receiver lags, so that a full socket buffer cannot pass for a lost send.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "soak.h"
#include "zcsend.h"

#define STEADY_BURST	128	/* sends queued between two reaps */
#define STEADY_POOL	(8u << 20)
#define STEADY_DRAIN_MS	30000

struct steady_slot {
	void *buf;
	uint64_t tag;
	uint32_t len;
	uint8_t busy;
};

/* The seq a record carries: TCP n, UDP interleaved with the other. */
static uint64_t steady_seq(const struct steady *s, uint64_t n)
{
	if (s->proto == ZCS_PROTO_TCP)
		return n;
	return s->udp_index + (uint64_t)s->udp_stride * n;
}

/*
 * UDP: is the receiver too far behind all UDP clients' sends? A receiver
 * that got nothing for 500 ms is not waited for: what it lacks was lost.
 */
static int steady_udp_lagging(struct steady *s)
{
	uint64_t got, now, sent = __atomic_load_n(s->udp_sent,
						  __ATOMIC_RELAXED);

	pthread_mutex_lock(&s->rv->lock);
	got = s->rv->records;
	pthread_mutex_unlock(&s->rv->lock);
	now = th_now_ms();
	if (got != s->udp_seen) {
		s->udp_seen = got;
		s->udp_seen_ms = now;
	}
	if (now > s->udp_seen_ms + 500)
		return 0;
	return sent > got + SOAK_UDP_WINDOW;
}

/* Queue one record; 0, or 1 when something is full (reap first). */
static int steady_one(struct steady *s, struct zcs_client *c, uint32_t flow)
{
	struct steady_slot *sl = &s->slots[s->sent % SOAK_RING];
	size_t hi = s->proto == ZCS_PROTO_TCP ? 65536 : 8192;
	size_t len = th_size(s->id, s->sent, 64, hi);
	void *buf;
	int ret;

	if (sl->busy)
		return 1;
	if (s->proto == ZCS_PROTO_UDP &&
	    (steady_seq(s, s->sent) >= s->udp_limit || steady_udp_lagging(s)))
		return 1;
	ret = zcs_alloc(c, len, &buf);
	if (ret == -ENOMEM)
		return 1;
	TH_CHECK(ret == 0, "client %u: alloc %zu: %s", s->id, len,
		 strerror(-ret));
	th_rec_build(buf, len, s->id, steady_seq(s, s->sent));
	ret = zcs_send(c, flow, buf, len, s->sent);
	if (ret == -EAGAIN) {
		TH_EQ(zcs_free(c, buf), 0);
		return 1;
	}
	TH_CHECK(ret == 0, "client %u: send %llu: %s", s->id,
		 (unsigned long long)s->sent, strerror(-ret));
	*sl = (struct steady_slot){ buf, s->sent, (uint32_t)len, 1 };
	s->sent++;
	if (s->proto == ZCS_PROTO_UDP)
		__atomic_add_fetch(s->udp_sent, 1, __ATOMIC_RELAXED);
	return 0;
}

static void steady_complete(struct steady *s, struct zcs_client *c,
			    const struct zcs_completion *cp)
{
	struct steady_slot *sl = &s->slots[cp->tag % SOAK_RING];

	TH_CHECK(cp->tag < s->sent, "client %u: completion for unsent tag "
		 "%llu", s->id, (unsigned long long)cp->tag);
	TH_CHECK(sl->busy && sl->tag == cp->tag, "client %u: second "
		 "completion for tag %llu", s->id, (unsigned long long)cp->tag);
	TH_CHECK(cp->result == (int32_t)sl->len, "client %u: tag %llu "
		 "result %d, sent %u", s->id, (unsigned long long)cp->tag,
		 cp->result, sl->len);
	if (cp->flags & ZCS_COMP_F_ZC)
		s->zc++;
	s->bytes += sl->len;
	s->completed++;
	sl->busy = 0;
	TH_EQ(zcs_free(c, sl->buf), 0);
}

static void steady_reap(struct steady *s, struct zcs_client *c, int timeout)
{
	struct zcs_completion comps[256];
	int n, i;

	n = zcs_reap(c, comps, 256, timeout);
	TH_CHECK(n >= 0, "client %u: reap: %s", s->id, strerror(-n));
	for (i = 0; i < n; i++)
		steady_complete(s, c, &comps[i]);
}

/* Send and reap until told to stop. */
static void steady_run(struct steady *s, struct zcs_client *c, uint32_t flow)
{
	int blocked, i;

	while (!*s->stop) {
		blocked = 0;
		for (i = 0; i < STEADY_BURST && !blocked; i++)
			blocked = steady_one(s, c, flow);
		if (zcs_inflight(c) > s->max_inflight)
			s->max_inflight = zcs_inflight(c);
		/* zcs_reap() does not wait with nothing in flight. */
		if (blocked && !zcs_inflight(c))
			th_sleep_ms(2);
		steady_reap(s, c, blocked ? 20 : 0);
	}
}

/* Reap every completion still owed (bounded), then expect no more. */
static void steady_drain(struct steady *s, struct zcs_client *c)
{
	uint64_t end = th_now_ms() + STEADY_DRAIN_MS;

	while (s->completed < s->sent && th_now_ms() < end)
		steady_reap(s, c, 200);
	TH_CHECK(s->completed == s->sent, "client %u: %llu of %llu sends "
		 "completed %d s after the end", s->id,
		 (unsigned long long)s->completed,
		 (unsigned long long)s->sent, STEADY_DRAIN_MS / 1000);
	TH_EQ(zcs_inflight(c), 0);
	steady_reap(s, c, 200);
	TH_EQ(s->completed, s->sent);
}

static void *steady_main(void *arg)
{
	struct steady *s = arg;
	struct zcs_client *c;
	uint32_t flow;
	int ret;

	ret = zcs_connect(s->sock, STEADY_POOL, &c);
	TH_CHECK(ret == 0, "client %u: connect: %s", s->id, strerror(-ret));
	ret = zcs_flow_open(c, s->dest, &flow);
	TH_CHECK(ret == s->proto, "client %u: flow %s: %d", s->id, s->dest,
		 ret);
	steady_run(s, c, flow);
	steady_drain(s, c);
	TH_EQ(zcs_flow_close(c, flow), 0);
	zcs_close(c);
	return NULL;
}

/* steady_start - start the client thread; s->stop ends its sending. */
void steady_start(struct steady *s)
{
	s->slots = calloc(SOAK_RING, sizeof(*s->slots));
	TH_CHECK(s->slots, "calloc");
	TH_EQ(pthread_create(&s->thread, NULL, steady_main, s), 0);
}

/* steady_join - wait for the thread: it has drained and closed. */
void steady_join(struct steady *s)
{
	pthread_join(s->thread, NULL);
	free(s->slots);
	s->slots = NULL;
}
