/* SPDX-License-Identifier: MIT */
/*
 * UDP through a real daemon: self-describing datagrams of 1-8 KB to
 * 127.0.0.1 and [::1] with a bounded number in flight. Every completion
 * must report the length sent, once; the receivers (large SO_RCVBUF, on
 * loopback) must see every seq exactly once with every byte right.
 */
/* transports: socket ring */
#include <sys/socket.h>
#include <sys/wait.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "zcsend.h"

#define COUNT4		2000
#define COUNT6		1000
#define DGRAM_MIN	1000
#define DGRAM_MAX	8192
#define INFLIGHT	64
#define POOL		(2u << 20)

static struct th_daemon daemon_;

struct stream {
	struct th_recv rv;
	uint32_t id;		/* client id in the records */
	uint32_t flow;
	uint64_t count;
	uint64_t seq;		/* next to send */
	uint64_t completed;
	void **bufs;
	uint32_t *lens;
	uint8_t *done;
};

#define TAG(s, seq) (((uint64_t)(s)->id << 32) | (seq))

static int send_next(struct zcs_client *c, struct stream *s)
{
	size_t len = th_size(s->id, s->seq, DGRAM_MIN, DGRAM_MAX);
	void *buf;
	int ret;

	ret = zcs_alloc(c, len, &buf);
	if (ret == -ENOMEM)
		return 0;
	TH_CHECK(ret == 0, "alloc: %s", strerror(-ret));
	th_rec_build(buf, len, s->id, s->seq);
	ret = zcs_send(c, s->flow, buf, len, TAG(s, s->seq));
	if (ret == -EAGAIN) {
		TH_EQ(zcs_free(c, buf), 0);
		return 0;
	}
	TH_CHECK(ret == 0, "send: %s", strerror(-ret));
	s->bufs[s->seq] = buf;
	s->lens[s->seq] = (uint32_t)len;
	s->seq++;
	return 1;
}

static void complete(struct zcs_client *c, struct stream *st, int ns,
		     const struct zcs_completion *cp)
{
	uint32_t id = (uint32_t)(cp->tag >> 32);
	uint64_t seq = cp->tag & 0xffffffffu;
	struct stream *s = NULL;
	int i;

	for (i = 0; i < ns; i++)
		if (st[i].id == id)
			s = &st[i];
	TH_CHECK(s && seq < s->seq, "unknown tag %#llx",
		 (unsigned long long)cp->tag);
	TH_CHECK(!s->done[seq], "second completion for tag %#llx",
		 (unsigned long long)cp->tag);
	TH_CHECK(cp->result == (int32_t)s->lens[seq],
		 "tag %#llx: result %d, sent %u", (unsigned long long)cp->tag,
		 cp->result, s->lens[seq]);
	s->done[seq] = 1;
	s->completed++;
	TH_EQ(zcs_free(c, s->bufs[seq]), 0);
}

/* Round-robin over the streams, at most INFLIGHT outstanding. */
static void run(struct zcs_client *c, struct stream *st, int ns)
{
	struct zcs_completion comps[INFLIGHT];
	uint64_t end = th_now_ms() + 120000, total = 0, done = 0;
	int i, n, progress;

	for (i = 0; i < ns; i++)
		total += st[i].count;
	while (done < total) {
		TH_CHECK(th_now_ms() < end, "%llu of %llu completed after 120 s",
			 (unsigned long long)done, (unsigned long long)total);
		progress = 0;
		for (i = 0; i < ns; i++)
			if (st[i].seq < st[i].count &&
			    zcs_inflight(c) < INFLIGHT)
				progress |= send_next(c, &st[i]);
		n = zcs_reap(c, comps, INFLIGHT, progress ? 0 : 1000);
		TH_CHECK(n >= 0, "reap: %s", strerror(-n));
		for (i = 0; i < n; i++)
			complete(c, st, ns, &comps[i]);
		done += (uint64_t)n;
	}
	TH_EQ(zcs_reap(c, comps, INFLIGHT, 200), 0);
}

static void check_stream(struct stream *s)
{
	uint64_t i, missing = 0;

	/* Loopback loses nothing here; stragglers get a bounded wait. */
	th_recv_wait(&s->rv, s->count, 10000);
	th_recv_stop(&s->rv);
	TH_CHECK(s->rv.errors == 0, "receiver %u: %llu errors, first: %s",
		 s->id, (unsigned long long)s->rv.errors, s->rv.first_error);
	for (i = 0; i < s->count; i++)
		missing += s->rv.seen[i] != 1;
	TH_CHECK(missing == 0, "stream %u: %llu of %llu datagrams missing",
		 s->id, (unsigned long long)missing,
		 (unsigned long long)s->count);
	TH_EQ(s->rv.records, s->count);
}

static int stream_init(struct stream *s, uint32_t id, int family,
		       uint64_t count)
{
	int err;

	memset(s, 0, sizeof(*s));
	s->id = id;
	s->count = count;
	err = th_recv_start(&s->rv, family, ZCS_PROTO_UDP, count);
	if (err)
		return err;
	s->bufs = calloc(count, sizeof(*s->bufs));
	s->lens = calloc(count, sizeof(*s->lens));
	s->done = calloc(count, 1);
	TH_CHECK(s->bufs && s->lens && s->done, "calloc");
	return 0;
}

static void stream_free(struct stream *s)
{
	th_recv_free(&s->rv);
	free(s->bufs);
	free(s->lens);
	free(s->done);
}

static void stream_open(struct zcs_client *c, struct stream *s)
{
	char dest[64];
	int ret;

	th_recv_dest(&s->rv, dest, sizeof(dest));
	ret = zcs_flow_open(c, dest, &s->flow);
	TH_CHECK(ret == ZCS_PROTO_UDP, "flow %s: %d", dest, ret);
}

int main(void)
{
	struct stream st[2];
	struct zcs_client *c;
	int ns = 1, i, err;

	err = stream_init(&st[0], 1, AF_INET, COUNT4);
	TH_CHECK(err == 0, "udp receiver: %s", strerror(-err));
	if (stream_init(&st[1], 2, AF_INET6, COUNT6) == 0)
		ns = 2;
	else
		printf("no ::1: skipping the IPv6 flow\n");
	th_daemon_start(&daemon_, NULL);
	err = zcs_connect(daemon_.sock, POOL, &c);
	TH_CHECK(err == 0, "connect: %s", strerror(-err));
	for (i = 0; i < ns; i++)
		stream_open(c, &st[i]);
	run(c, st, ns);
	for (i = 0; i < ns; i++)
		check_stream(&st[i]);
	zcs_close(c);
	th_daemon_stop_clean(&daemon_);
	printf("test-udp: %d flows, every datagram once and intact\n", ns);
	for (i = 0; i < ns; i++)
		stream_free(&st[i]);
	return 0;
}
