/* SPDX-License-Identifier: MIT */
/*
 * Bad requests against a real daemon, through the raw protocol client:
 * sends outside the pool, overflowing uint64, of length 0, on an unknown
 * flow and on another client's flow each complete with the exact -errno and
 * put nothing on the wire; a good send still works afterwards. A wrong
 * protocol version gets ZCS_MSG_VERSION; garbage gets its sender dropped
 * while other clients carry on; the daemon still serves a fresh client.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

#define POOL (1u << 20)

static struct th_daemon daemon_;
static struct th_recv udp;
static char dest[64];

static void hello(struct th_raw *r, const char *name)
{
	int err = th_raw_connect(r, daemon_.sock);

	TH_CHECK(err == 0, "connect: %s", strerror(-err));
	err = th_raw_hello(r, POOL, name);
	TH_CHECK(err == 0, "hello: %s", strerror(-err));
	TH_CHECK(r->pool_bytes >= 4096, "granted pool %llu",
		 (unsigned long long)r->pool_bytes);
}

static uint32_t open_flow(struct th_raw *r)
{
	long flow = th_raw_flow_open(r, dest);

	TH_CHECK(flow >= 0, "flow open %s: %s", dest, strerror((int)-flow));
	return (uint32_t)flow;
}

/* One record alone in a SEND; returns its completion's result. */
static int send_one(struct th_raw *r, uint64_t tag, uint64_t off,
		    uint32_t len, uint32_t flow)
{
	struct zcs_msg_send s = {
		.tag = tag, .offset = off, .len = len, .flow = flow,
	};
	struct zcs_msg_completion c;
	int n;

	TH_EQ(th_raw_send(r, &s, 1), 0);
	n = th_raw_completions(r, &c, 1, 10000);
	TH_CHECK(n == 1, "completion of tag %llu: %d",
		 (unsigned long long)tag, n);
	TH_EQ(c.tag, tag);
	return c.result;
}

/* A good datagram (seq @seq) at offset 0 of @r's pool. */
static void good_send(struct th_raw *r, uint32_t flow, uint64_t seq)
{
	size_t len = 1000;

	th_rec_build(r->pool, len, 1, seq);
	TH_EQ(send_one(r, 1000 + seq, 0, (uint32_t)len, flow), len);
}

static void bad_sends(struct th_raw *a, uint32_t flow, uint32_t b_flow)
{
	uint64_t pool = a->pool_bytes;

	/* Keep a valid record at offset 0 so a leak would be visible. */
	th_rec_build(a->pool, 1000, 1, 99);
	TH_EQ(send_one(a, 1, pool - 10, 100, flow), -ERANGE);
	TH_EQ(send_one(a, 2, pool, 1, flow), -ERANGE);
	TH_EQ(send_one(a, 3, UINT64_MAX - 10, 100, flow), -ERANGE);
	TH_EQ(send_one(a, 4, 0, 0, flow), -EMSGSIZE);
	TH_EQ(send_one(a, 5, 0, 1000, 0xfffff0u), -EBADF);
	TH_EQ(send_one(a, 6, 0, 1000, b_flow), -EACCES);
}

/* Several bad records and one good in the same SEND message. */
static void mixed_batch(struct th_raw *a, uint32_t flow)
{
	struct zcs_msg_send s[3] = {
		{ .tag = 10, .offset = a->pool_bytes, .len = 10, .flow = flow },
		{ .tag = 11, .offset = 0, .len = 1000, .flow = flow },
		{ .tag = 12, .offset = 0, .len = 0, .flow = flow },
	};
	struct zcs_msg_completion c[3];
	int i, seen = 0;

	th_rec_build(a->pool, 1000, 1, 1);
	TH_EQ(th_raw_send(a, s, 3), 0);
	TH_EQ(th_raw_completions(a, c, 3, 10000), 3);
	for (i = 0; i < 3; i++) {
		TH_CHECK(c[i].tag >= 10 && c[i].tag <= 12, "tag %llu",
			 (unsigned long long)c[i].tag);
		seen |= 1 << (c[i].tag - 10);
		if (c[i].tag == 10)
			TH_EQ(c[i].result, -ERANGE);
		if (c[i].tag == 11)
			TH_EQ(c[i].result, 1000);
		if (c[i].tag == 12)
			TH_EQ(c[i].result, -EMSGSIZE);
	}
	TH_EQ(seen, 7);
}

/* The pool memfd can be neither shrunk nor grown by the client. */
static void pool_sealed(struct th_raw *a)
{
	int seals = fcntl(a->pool_fd, F_GET_SEALS);

	TH_CHECK(seals >= 0, "F_GET_SEALS: %s", strerror(errno));
	TH_CHECK((seals & (F_SEAL_SHRINK | F_SEAL_GROW)) ==
		 (F_SEAL_SHRINK | F_SEAL_GROW), "seals %#x", seals);
	TH_CHECK(ftruncate(a->pool_fd, 4096) < 0, "pool shrunk");
	TH_CHECK(ftruncate(a->pool_fd, (off_t)a->pool_bytes * 2) < 0,
		 "pool grown");
	TH_CHECK(a->ok.max_inflight > 0 && a->ok.max_flows > 0 &&
		 a->ok.max_send_bytes > 0, "HELLO_OK limits %u/%u/%u",
		 a->ok.max_inflight, a->ok.max_flows, a->ok.max_send_bytes);
}

/* Closing: not another client's flow; a closed flow takes no sends. */
static void flow_closing(struct th_raw *a, uint32_t b_flow)
{
	uint32_t flow = open_flow(a);

	TH_EQ(th_raw_flow_close(a, b_flow), -EACCES);
	TH_EQ(th_raw_flow_close(a, 0xfffff0u), -EBADF);
	TH_EQ(th_raw_flow_close(a, flow), 0);
	TH_EQ(th_raw_flow_close(a, flow), -EBADF);
	th_rec_build(a->pool, 1000, 1, 98);
	TH_EQ(send_one(a, 7, 0, 1000, flow), -EBADF);
}

static void wrong_version(void)
{
	struct zcs_msg_version v;
	struct zcs_hdr h;
	struct th_raw r;
	int n;

	TH_EQ(th_raw_connect(&r, daemon_.sock), 0);
	TH_EQ(th_raw_hello_send(&r, ZCS_PROTO_VERSION + 1, POOL, ""), 0);
	n = th_raw_recv(&r, &h, &v, sizeof(v), NULL, 5000);
	TH_EQ(n, sizeof(v));
	TH_EQ(h.type, ZCS_MSG_VERSION);
	TH_CHECK(v.min <= ZCS_PROTO_VERSION && v.max >= ZCS_PROTO_VERSION,
		 "version range %u..%u", v.min, v.max);
	/* ... and then the daemon closes. */
	TH_EQ(th_raw_recv(&r, &h, &v, sizeof(v), NULL, 5000), -ECONNRESET);
	th_raw_close(&r);
}

/* Expect EOF (maybe after one ERROR) within 5 s. */
static void expect_dropped(struct th_raw *r, const char *what)
{
	struct zcs_error e;
	struct zcs_hdr h;
	int n;

	n = th_raw_recv(r, &h, &e, sizeof(e), NULL, 5000);
	if (n >= 0 && h.type == ZCS_MSG_ERROR) {
		TH_CHECK(e.err < 0, "%s: ERROR err %d", what, e.err);
		n = th_raw_recv(r, &h, &e, sizeof(e), NULL, 5000);
	}
	TH_CHECK(n == -ECONNRESET || n == -ECONNREFUSED || n == -EPIPE,
		 "%s: client not dropped (%d: %s)", what, n,
		 n < 0 ? strerror(-n) : zcs_msg_name(h.type));
	th_raw_close(r);
}

static void garbage(void)
{
	static const unsigned char junk[5] = { 1, 2, 3, 4, 5 };
	struct zcs_hdr h;
	struct th_raw r;
	unsigned char half[20];
	int n;

	hello(&r, "junk");
	TH_EQ(th_raw_send_bytes(&r, junk, sizeof(junk)), 0);
	expect_dropped(&r, "5 junk bytes");

	hello(&r, "liar");
	zcs_hdr_init(&h, ZCS_MSG_STATUS, 1000, 7);	/* says 1016 bytes */
	TH_EQ(th_raw_send_bytes(&r, &h, sizeof(h)), 0);
	expect_dropped(&r, "header longer than the packet");

	hello(&r, "partial");
	memset(half, 0, sizeof(half));			/* 20 of 32 bytes */
	TH_EQ(th_raw_send_msg(&r, ZCS_MSG_SEND, ZCS_PROTO_VERSION, half,
			      sizeof(half)), 0);
	expect_dropped(&r, "partial send record");

	/* Malformed FLOW_OPEN (empty destination): refused or dropped. */
	hello(&r, "empty-dest");
	n = (int)th_raw_flow_open(&r, "");
	TH_CHECK(n < 0 && n != -ETIMEDOUT, "empty destination: %d", n);
	th_raw_close(&r);

	hello(&r, "unknown");
	TH_EQ(th_raw_send_msg(&r, 999, ZCS_PROTO_VERSION, NULL, 0), 0);
	expect_dropped(&r, "unknown type");
}

int main(void)
{
	struct th_raw a, b, c;
	uint32_t a_flow, b_flow;
	int err;

	err = th_recv_start(&udp, AF_INET, ZCS_PROTO_UDP, 100);
	TH_CHECK(err == 0, "udp receiver: %s", strerror(-err));
	th_recv_dest(&udp, dest, sizeof(dest));
	th_daemon_start(&daemon_, NULL);
	hello(&a, "client-a");
	hello(&b, "client-b");
	a_flow = open_flow(&a);
	b_flow = open_flow(&b);
	b_flow = open_flow(&b);		/* B's second flow: surely not A's */
	TH_CHECK(a_flow != b_flow, "A and B both got flow id %u", a_flow);
	pool_sealed(&a);
	bad_sends(&a, a_flow, b_flow);
	flow_closing(&a, b_flow);
	good_send(&a, a_flow, 0);
	TH_EQ(th_recv_wait(&udp, 1, 5000), 0);
	mixed_batch(&a, a_flow);
	wrong_version();
	garbage();
	good_send(&a, a_flow, 2);	/* A survived all of the above */
	hello(&c, "fresh");
	good_send(&c, open_flow(&c), 3);
	/* seq 0 and 2 from A, 1 from the mixed batch, 3 from C: no more. */
	TH_EQ(th_recv_wait(&udp, 4, 5000), 0);
	th_sleep_ms(300);		/* room for a stray datagram */
	th_recv_stop(&udp);
	TH_EQ(udp.errors, 0);
	TH_EQ(udp.records, 4);
	TH_EQ(udp.seen[0] + udp.seen[1] + udp.seen[2] + udp.seen[3], 4);
	TH_EQ(udp.seen[99] + udp.seen[98], 0);
	th_raw_close(&a);
	th_raw_close(&b);
	th_raw_close(&c);
	th_daemon_stop_clean(&daemon_);
	th_recv_free(&udp);
	printf("test-bad-requests: ok\n");
	return 0;
}
