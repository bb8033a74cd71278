/* SPDX-License-Identifier: MIT */
/*
 * TCP order and completeness through a real daemon: several client threads,
 * each with its own libzcsend handle and TCP flow, send 10,000 records of
 * 33 B..16 KiB with many in flight. The receiver checks that every stream
 * carries its client's records in seq order with every byte right; each
 * completion must come exactly once with the length sent. One more flow
 * goes to [::1] when IPv6 loopback exists.
 */
/* transports: socket ring */
#include <sys/socket.h>
#include <sys/wait.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "zcsend.h"

#define NCLIENTS	4
#define COUNT		10000
#define REC_MIN		(sizeof(struct th_rec) + 1)
#define REC_MAX		16384
#define POOL		(4u << 20)
#define BURST		256	/* sends queued between two reaps */

static struct th_daemon daemon_;

struct worker {
	pthread_t thread;
	uint32_t id;
	char dest[64];
	/* per tag */
	void **bufs;
	uint32_t *lens;
	uint8_t *done;
	uint64_t seq;		/* next to send */
	uint64_t completed;
	uint64_t zc;		/* completions flagged ZCS_COMP_F_ZC */
	unsigned max_inflight;	/* most sends outstanding at once */
};

/* Queue up to BURST records; returns 1 if stopped by a full pool/quota. */
static int queue_some(struct worker *w, struct zcs_client *c, uint32_t flow)
{
	void *buf;
	size_t len;
	int i, ret;

	for (i = 0; i < BURST && w->seq < COUNT; i++) {
		len = th_size(w->id, w->seq, REC_MIN, REC_MAX);
		ret = zcs_alloc(c, len, &buf);
		if (ret == -ENOMEM)
			return 1;
		TH_CHECK(ret == 0, "client %u: alloc %zu: %s", w->id, len,
			 strerror(-ret));
		th_rec_build(buf, len, w->id, w->seq);
		ret = zcs_send(c, flow, buf, len, w->seq);
		if (ret == -EAGAIN) {
			TH_EQ(zcs_free(c, buf), 0);
			return 1;
		}
		TH_CHECK(ret == 0, "client %u: send seq %llu: %s", w->id,
			 (unsigned long long)w->seq, strerror(-ret));
		w->bufs[w->seq] = buf;
		w->lens[w->seq] = (uint32_t)len;
		w->seq++;
	}
	return w->seq == COUNT;
}

static void complete(struct worker *w, struct zcs_client *c,
		     const struct zcs_completion *cp)
{
	uint64_t tag = cp->tag;

	TH_CHECK(tag < w->seq, "client %u: completion for unsent tag %llu",
		 w->id, (unsigned long long)tag);
	TH_CHECK(!w->done[tag], "client %u: second completion for tag %llu",
		 w->id, (unsigned long long)tag);
	TH_CHECK(cp->result == (int32_t)w->lens[tag],
		 "client %u: tag %llu result %d, sent %u", w->id,
		 (unsigned long long)tag, cp->result, w->lens[tag]);
	TH_CHECK(!(cp->flags & ~(ZCS_COMP_F_ZC | ZCS_COMP_F_COPIED |
				 ZCS_COMP_F_USAGE)),
		 "unknown completion flags %#x", cp->flags);
	if (cp->flags & ZCS_COMP_F_ZC)
		w->zc++;
	w->done[tag] = 1;
	w->completed++;
	TH_EQ(zcs_free(c, w->bufs[tag]), 0);
}

static void run(struct worker *w, struct zcs_client *c, uint32_t flow)
{
	struct zcs_completion comps[256];
	uint64_t end = th_now_ms() + 180000;
	int blocked, n, i;

	while (w->completed < COUNT) {
		TH_CHECK(th_now_ms() < end, "client %u: %llu of %u completed "
			 "after 180 s", w->id,
			 (unsigned long long)w->completed, COUNT);
		blocked = queue_some(w, c, flow);
		if (zcs_inflight(c) > w->max_inflight)
			w->max_inflight = zcs_inflight(c);
		n = zcs_reap(c, comps, 256, blocked ? 1000 : 0);
		TH_CHECK(n >= 0, "client %u: reap: %s", w->id, strerror(-n));
		for (i = 0; i < n; i++)
			complete(w, c, &comps[i]);
	}
	/* Nothing more may come: one completion per tag. */
	n = zcs_reap(c, comps, 256, 200);
	TH_EQ(n, 0);
	TH_EQ(zcs_inflight(c), 0);
	/* The pool holds 256 records of <= 16 KiB: many were in flight. */
	TH_CHECK(w->max_inflight >= 32, "client %u: at most %u in flight",
		 w->id, w->max_inflight);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct zcs_client *c;
	uint32_t flow;
	int ret;

	ret = zcs_connect(daemon_.sock, POOL, &c);
	TH_CHECK(ret == 0, "client %u: connect: %s", w->id, strerror(-ret));
	ret = zcs_flow_open(c, w->dest, &flow);
	TH_CHECK(ret == ZCS_PROTO_TCP, "client %u: flow %s: %d (%s)", w->id,
		 w->dest, ret, ret < 0 ? strerror(-ret) : "wrong proto");
	w->bufs = calloc(COUNT, sizeof(*w->bufs));
	w->lens = calloc(COUNT, sizeof(*w->lens));
	w->done = calloc(COUNT, 1);
	TH_CHECK(w->bufs && w->lens && w->done, "calloc");
	run(w, c, flow);
	TH_EQ(zcs_flow_close(c, flow), 0);
	zcs_close(c);
	free(w->bufs);
	free(w->lens);
	free(w->done);
	return NULL;
}

static void check_receiver(struct th_recv *rv, uint32_t first, uint32_t n)
{
	uint32_t i;
	int err = th_recv_wait(rv, (uint64_t)n * COUNT, 60000);

	TH_CHECK(rv->errors == 0, "receiver: %llu errors, first: %s",
		 (unsigned long long)rv->errors, rv->first_error);
	TH_CHECK(err == 0, "receiver got %llu of %llu records",
		 (unsigned long long)rv->records,
		 (unsigned long long)n * COUNT);
	TH_EQ(rv->nconns, n);	/* one TCP connection per flow */
	th_recv_stop(rv);
	TH_EQ(rv->records, (uint64_t)n * COUNT);
	for (i = first; i < first + n; i++)
		TH_EQ(rv->next_seq[i], COUNT);
}

int main(void)
{
	struct worker w[NCLIENTS + 1];
	struct th_recv rv4, rv6;
	int have6, i, nw = NCLIENTS, err;
	uint64_t zc = 0;
	unsigned most = 0;

	err = th_recv_start(&rv4, AF_INET, ZCS_PROTO_TCP, NCLIENTS);
	TH_CHECK(err == 0, "tcp receiver: %s", strerror(-err));
	have6 = th_recv_start(&rv6, AF_INET6, ZCS_PROTO_TCP, 1) == 0;
	if (!have6)
		printf("no ::1: skipping the IPv6 flow\n");
	th_daemon_start(&daemon_, NULL);
	memset(w, 0, sizeof(w));
	for (i = 0; i < NCLIENTS; i++)
		th_recv_dest(&rv4, w[i].dest, sizeof(w[i].dest));
	if (have6)
		th_recv_dest(&rv6, w[nw++].dest, sizeof(w[0].dest));
	for (i = 0; i < nw; i++) {
		w[i].id = (uint32_t)i;
		TH_EQ(pthread_create(&w[i].thread, NULL, worker_main, &w[i]), 0);
	}
	for (i = 0; i < nw; i++) {
		pthread_join(w[i].thread, NULL);
		zc += w[i].zc;
		if (w[i].max_inflight > most)
			most = w[i].max_inflight;
	}
	check_receiver(&rv4, 0, NCLIENTS);
	if (have6)
		check_receiver(&rv6, NCLIENTS, 1);
	th_daemon_stop_clean(&daemon_);
	printf("test-tcp-order: %d flows x %u records in order; %llu "
	       "zerocopy completions; up to %u in flight\n", nw, COUNT,
	       (unsigned long long)zc, most);
	th_recv_free(&rv4);
	if (have6)
		th_recv_free(&rv6);
	return 0;
}
