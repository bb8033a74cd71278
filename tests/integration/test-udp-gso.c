/* SPDX-License-Identifier: MIT */
/*
 * UDP segmentation (issue 11) seen at real receivers. On 127.0.0.1 and
 * ::1: explicit zcs_send_segmented ranges of many shapes, coalescing of
 * plain same-length sends (status gso_sends rises; with udp_segment=off it
 * does not), and bad input (segment 0 or over 65535, a segment over the
 * path MTU, a TCP flow). In two network namespaces joined by a 1500-byte
 * veth (root only, in a child process): the 1472/1452 limits.
 * Every datagram must arrive once, whole, with every byte in place.
 */
/* transports: socket ring */
#include <sys/socket.h>
#include <sys/wait.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gso.h"

#define POOL		(8u << 20)

static struct th_daemon daemon_;

/* The shapes: MTU-sized, ragged, over 64 KB, over the segment count
 * limit, tiny, shorter than one segment, and the largest datagrams. */
static void explicit_cases(struct zcs_client *c, const char *sock,
			   struct gso_flow *f)
{
	gso_explicit(c, sock, f, 10 * 1472, 1472, 1);
	gso_explicit(c, sock, f, 44 * 1472 + 100, 1472, 1);
	gso_explicit(c, sock, f, 1472, 1472, 1);
	gso_explicit(c, sock, f, 300000, 1200, 1);
	gso_explicit(c, sock, f, 200 * 100, 100, 1);
	gso_explicit(c, sock, f, 3, 1, 1);
	gso_explicit(c, sock, f, 500, 1472, 1);
	gso_explicit(c, sock, f, 100000, 30000, 1);
	gso_explicit(c, sock, f, 130000, 65000, 1);
}

static void policy_set(const char *sock, struct gso_flow *f, const char *kv)
{
	int err = gso_policy(sock, f->dest, kv);

	TH_CHECK(err == 0, "policy %s %s: %s", f->dest, kv, strerror(-err));
}

static void coalesce_cases(struct zcs_client *c, const char *sock,
			   struct gso_flow *f)
{
	static const uint32_t mixed[] = { 1000, 1000, 1000, 500, 1000, 1000,
					  1000, 1200, 1200, 1200, 1, 1000 };
	uint32_t *l60 = gso_lens(61, 1000, 300), *l40 = gso_lens(40, 1472,
								 1472);
	struct zcs_status_dest st;
	struct zcs_status_daemon d;
	char what[96];

	snprintf(what, sizeof(what), "%s coalesce 60x1000+300", f->name);
	gso_coalesce(c, sock, f, l60, 61, 0, 1, what);
	snprintf(what, sizeof(what), "%s coalesce 40x1472", f->name);
	gso_coalesce(c, sock, f, l40, 40, 0, 1, what);
	/* Not adjacent in the pool: allowed to coalesce, must stay right. */
	snprintf(what, sizeof(what), "%s coalesce with gaps", f->name);
	gso_coalesce(c, sock, f, l60, 61, 1, -1, what);
	/* A shorter record mid-run ends a run: never a datagram cut wrong. */
	snprintf(what, sizeof(what), "%s mixed lengths", f->name);
	gso_coalesce(c, sock, f, mixed, sizeof(mixed) / sizeof(mixed[0]), 0,
		      -1, what);
	gso_status(sock, &d, f->dest, &st);
	TH_CHECK(st.udp_segment == ZCS_SEG_AUTO, "%s: udp_segment %u by "
		 "default, want auto", f->dest, st.udp_segment);
	TH_CHECK(st.gso_active, "%s: gso_active 0 on loopback (%.64s)",
		 f->dest, st.gso_reason);
	TH_CHECK(st.max_segment >= 65000, "%s: max_segment %u on loopback "
		 "(MTU 65536)", f->dest, st.max_segment);
	policy_set(sock, f, "udp_segment=off");
	gso_status(sock, &d, f->dest, &st);
	TH_EQ(st.udp_segment, ZCS_SEG_OFF);
	snprintf(what, sizeof(what), "%s udp_segment=off", f->name);
	gso_coalesce(c, sock, f, l60, 61, 0, 0, what);
	/* off stops coalescing only: an explicit request is still honoured. */
	gso_explicit(c, sock, f, 20 * 1000 + 1, 1000, 1);
	policy_set(sock, f, "udp_segment=on");
	snprintf(what, sizeof(what), "%s udp_segment=on", f->name);
	gso_coalesce(c, sock, f, l60, 61, 0, 1, what);
	policy_set(sock, f, "udp_segment=auto");
	free(l60);
	free(l40);
}

/* A refused send: its completion carries @want, and nothing leaves. */
static void refused_case(struct zcs_client *c, struct gso_flow *f, uint32_t len,
			 uint32_t seg, int want)
{
	struct zcs_completion cp;
	uint64_t tag = gso_tag();
	char what[96];
	void *buf = gso_alloc_fill(c, len, gso_key(), 0);
	int err;

	snprintf(what, sizeof(what), "%s len %u seg %u", f->name, len, seg);
	err = zcs_send_segmented(c, f->flow, buf, len, seg, tag);
	TH_CHECK(err == 0, "%s: %s", what, strerror(-err));
	gso_reap(c, &cp, 1);
	TH_CHECK(cp.result == want, "%s: result %d (%s), want %d (%s)", what,
		 cp.result, strerror(-cp.result), want, strerror(-want));
	gso_expect_none(&f->rv, 300, what);
	TH_EQ(zcs_free(c, buf), 0);
}

/* Segment sizes the library refuses before anything is queued. */
static void library_refusals(struct zcs_client *c, struct gso_flow *f)
{
	void *buf = gso_alloc_fill(c, 4096, 0, 0);
	unsigned before = zcs_inflight(c);

	TH_EQ(zcs_send_segmented(c, f->flow, buf, 4096, 0, 1), -EINVAL);
	TH_EQ(zcs_send_segmented(c, f->flow, buf, 4096, 65536, 1), -EINVAL);
	TH_EQ(zcs_send_segmented(c, f->flow, buf, 4096, (size_t)1 << 32, 1),
	      -EINVAL);
	TH_EQ(zcs_inflight(c), before);
	TH_EQ(zcs_flush(c), 0);
	gso_expect_none(&f->rv, 200, "segment 0 and 65536");
	TH_EQ(zcs_free(c, buf), 0);
}

/* Read exactly @len bytes from @fd within 5 s. */
static void read_exact(int fd, void *buf, size_t len)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		TH_CHECK(poll(&p, 1, 5000) == 1, "TCP receiver: %zu of %zu "
			 "bytes", got, len);
		n = read(fd, (char *)buf + got, len - got);
		TH_CHECK(n > 0, "TCP read: %zd (%s)", n, strerror(errno));
		got += (size_t)n;
	}
}

/* A segment size on a TCP flow: -EOPNOTSUPP, not one byte on the wire,
 * and the stream carries the next plain send intact. */
static void tcp_case(struct zcs_client *c)
{
	struct pollfd p;
	struct zcs_completion cp;
	char dest[64];
	uint8_t got[1000], want[1000];
	uint16_t port;
	uint32_t flow;
	int lfd = th_listen_lo(&port, 0), fd, ret;
	void *seg = gso_alloc_fill(c, 3000, 77, 0), *plain;

	snprintf(dest, sizeof(dest), "tcp://127.0.0.1:%u", port);
	ret = zcs_flow_open(c, dest, &flow);
	TH_CHECK(ret == ZCS_PROTO_TCP, "flow %s: %d", dest, ret);
	fd = accept(lfd, NULL, NULL);
	TH_CHECK(fd >= 0, "accept: %s", strerror(errno));
	TH_EQ(zcs_send_segmented(c, flow, seg, 3000, 1000, 900), 0);
	gso_reap(c, &cp, 1);
	TH_CHECK(cp.result == -EOPNOTSUPP, "TCP flow with a segment: result "
		 "%d (%s), want -EOPNOTSUPP", cp.result, strerror(-cp.result));
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	TH_CHECK(poll(&p, 1, 300) == 0, "TCP receiver got bytes of a "
		 "refused segmented send");
	plain = gso_alloc_fill(c, sizeof(want), 78, 0);
	gso_fill(want, sizeof(want), 78, 0);
	TH_EQ(zcs_send(c, flow, plain, sizeof(want), 901), 0);
	gso_reap(c, &cp, 1);
	TH_EQ(cp.result, (int)sizeof(want));
	read_exact(fd, got, sizeof(got));
	TH_CHECK(!memcmp(got, want, sizeof(want)), "TCP stream: the plain "
		 "send's bytes are not the first on the stream");
	printf("  tcp: segmented refused with -EOPNOTSUPP, nothing sent\n");
	TH_EQ(zcs_flow_close(c, flow), 0);
	TH_EQ(zcs_free(c, seg), 0);
	TH_EQ(zcs_free(c, plain), 0);
	close(fd);
	close(lfd);
}

/* ---- a 1500-byte path: two namespaces and a veth ---- */

static void mtu_family(struct zcs_client *c, const char *sock,
		       struct gso_flow *f, uint32_t max)
{
	struct zcs_status_daemon d;
	struct zcs_status_dest st;
	uint32_t *lens = gso_lens(51, max, 100), *over = gso_lens(8, max + 1,
								  max + 1);
	char what[96];

	gso_status(sock, &d, f->dest, &st);
	TH_CHECK(st.max_segment == max, "%s: max_segment %u on a 1500-byte "
		 "veth, want %u", f->dest, st.max_segment, max);
	gso_explicit(c, sock, f, 10 * max + 1, max, 1);
	gso_explicit(c, sock, f, 200000, max, 1);
	refused_case(c, f, 10 * (max + 1), max + 1, -EMSGSIZE);
	refused_case(c, f, 60000, 8000, -EMSGSIZE);
	snprintf(what, sizeof(what), "%s coalesce 50x%u+100", f->name, max);
	gso_coalesce(c, sock, f, lens, 51, 0, 1, what);
	/* Over the segment limit, plain sends are fragmented, not cut into
	 * GSO segments the path cannot carry: each is still one datagram. */
	snprintf(what, sizeof(what), "%s 8 plain sends of %u", f->name,
		 max + 1);
	gso_coalesce(c, sock, f, over, 8, 0, -1, what);
	gso_status(sock, &d, f->dest, &st);
	TH_CHECK(st.gso_active, "%s: gso_active 0 on a veth with checksum "
		 "offload (%.64s)", f->dest, st.gso_reason);
	free(lens);
	free(over);
}

static void mtu_part(void)
{
	struct th_daemon d;
	struct gso_net net;
	struct zcs_client *c;
	struct gso_flow f4, f6;
	int err;

	gso_net_setup(&net, 0);
	th_daemon_start(&d, NULL);
	err = zcs_connect(d.sock, POOL, &c);
	TH_CHECK(err == 0, "connect: %s", strerror(-err));
	err = gso_flow_open(c, &f4, "veth4", AF_INET, &net);
	TH_CHECK(err == 0, "receiver in %s: %s", net.b, strerror(-err));
	mtu_family(c, d.sock, &f4, 1472);
	if (net.v6 && gso_flow_open(c, &f6, "veth6", AF_INET6, &net) == 0) {
		mtu_family(c, d.sock, &f6, 1452);
		gso_recv_stop(&f6.rv);
	} else {
		printf("  veth6: no IPv6 in the namespaces, not tested\n");
	}
	gso_recv_stop(&f4.rv);
	zcs_close(c);
	th_daemon_stop_clean(&d);
}

static void loopback_part(void)
{
	struct gso_flow f[2];
	struct zcs_client *c;
	int nf = 1, i, err;

	th_daemon_start(&daemon_, NULL);
	err = zcs_connect(daemon_.sock, POOL, &c);
	TH_CHECK(err == 0, "connect: %s", strerror(-err));
	err = gso_flow_open(c, &f[0], "lo4", AF_INET, NULL);
	TH_CHECK(err == 0, "receiver on 127.0.0.1: %s", strerror(-err));
	if (gso_flow_open(c, &f[1], "lo6", AF_INET6, NULL) == 0)
		nf = 2;
	else
		printf("no ::1: IPv6 not tested\n");
	for (i = 0; i < nf; i++) {
		library_refusals(c, &f[i]);
		explicit_cases(c, daemon_.sock, &f[i]);
		coalesce_cases(c, daemon_.sock, &f[i]);
		/* Over the largest datagram the path takes. */
		refused_case(c, &f[i], 70000, 65535, -EMSGSIZE);
		gso_explicit(c, daemon_.sock, &f[i], 5000, 1000, 1);
	}
	tcp_case(c);
	for (i = 0; i < nf; i++)
		gso_recv_stop(&f[i].rv);
	zcs_close(c);
	th_daemon_stop_clean(&daemon_);
}

int main(void)
{
	int veth;

	setvbuf(stdout, NULL, _IOLBF, 0);
	/* First, before this process starts a daemon its child would inherit
	 * an exit handler for. */
	veth = gso_part("1500-byte veth", mtu_part);
	TH_CHECK(veth >= 0, "the 1500-byte veth part failed (above)");
	loopback_part();
	printf("test-udp-gso: every datagram once and intact%s\n",
	       veth > 0 ? ", loopback and a 1500-byte veth" : ", loopback only");
	return 0;
}
