/* SPDX-License-Identifier: MIT */
/*
 * Issue 11's fallback: where the kernel will not do UDP GSO, the daemon
 * sends one datagram per send, says so once per destination, and status
 * shows gso_active false with a reason; receivers see the same datagrams.
 * Two ways to get there, each in its own child process and namespaces:
 *  - tx-off: a veth with TX checksum offload turned off (SIOCETHTOOL, as
 *    `ethtool -K va tx off`). Kernels before 6.11 refuse GSO there with
 *    EIO; newer ones checksum in software and accept it, so the test
 *    first asks the kernel itself and expects the fallback only if it
 *    refuses (otherwise: GSO stays on, no fallback logged).
 *  - no-udp-segment: the daemon runs under a seccomp filter that fails
 *    its UDP_SEGMENT probe with ENOPROTOOPT, as a kernel without UDP GSO
 *    (before 4.18) does.
 *  - mtu-drop: destinations made while the veth MTU is 1500, then the MTU
 *    lowered to 1280. A GSO send whose segment no longer fits the route
 *    MTU is refused at send time (EINVAL before Linux 6.14, EMSGSIZE
 *    since), so the daemon's checks against the MTU it knew pass and the
 *    kernel's refusal is what it must recover from: explicit and
 *    coalesced, under udp_segment=auto and =on, both families.
 */
/* transports: socket ring */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gso.h"

#define POOL		(4u << 20)
#ifndef UDP_SEGMENT
#define UDP_SEGMENT	103
#endif

/* Log lines about UDP segmentation the daemon wrote so far. Not "gso":
 * this program's own name, in every client line, has that. */
static unsigned log_lines(const struct th_daemon *d)
{
	char line[1024];
	unsigned n = 0;
	FILE *f = fopen(d->log, "r");

	TH_CHECK(f, "%s: %s", d->log, strerror(errno));
	while (fgets(line, sizeof(line), f))
		n += strcasestr(line, "segment") != NULL;
	fclose(f);
	return n;
}

/*
 * Does the kernel take a UDP GSO send out of "va" in @seg-byte segments
 * to namespace B? 0, or its errno. The destination port has no listener:
 * one send, then the socket is gone.
 */
static int kernel_gso_probe(int family, uint16_t seg)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	static char buf[3 * 2048];
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0), opt = seg;
	int err = 0;

	TH_CHECK(fd >= 0, "socket: %s", strerror(errno));
	TH_CHECK(seg <= 2048, "probe segment %u", seg);
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = (sa_family_t)family;
	if (family == AF_INET) {
		in->sin_port = htons(9);
		inet_pton(AF_INET, GSO_NS_B_V4, &in->sin_addr);
	} else {
		in6->sin6_port = htons(9);
		inet_pton(AF_INET6, GSO_NS_B_V6, &in6->sin6_addr);
	}
	/* Three datagrams, the last shorter. */
	if (setsockopt(fd, SOL_UDP, UDP_SEGMENT, &opt, sizeof(opt)) < 0 ||
	    sendto(fd, buf, 2u * seg + 7, 0, (struct sockaddr *)&ss,
		   family == AF_INET ? sizeof(*in) : sizeof(*in6)) < 0)
		err = errno;
	close(fd);
	return err;
}

/*
 * A kernel without UDP_SEGMENT, for the daemon: installed here, kept
 * across fork and exec. setsockopt and getsockopt of SOL_UDP UDP_SEGMENT
 * fail with ENOPROTOOPT, as on a kernel older than 4.18; the daemon's
 * probe asks for the option first. Sends through io_uring pass no filter;
 * a daemon that found no GSO makes none. The daemon is a native binary:
 * native syscall numbers.
 */
static void no_udp_segment_filter(void)
{
	struct sock_filter f[] = {
		/* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
				 offsetof(struct seccomp_data, nr)),
		/* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_setsockopt, 1, 0),
		/* 2 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getsockopt, 0, 5),
		/* 3 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
				 offsetof(struct seccomp_data, args[1])),
		/* 4 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SOL_UDP, 0, 3),
		/* 5 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
				 offsetof(struct seccomp_data, args[2])),
		/* 6 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, UDP_SEGMENT, 0, 1),
		/* 7 */ BPF_STMT(BPF_RET | BPF_K,
				 SECCOMP_RET_ERRNO | ENOPROTOOPT),
		/* 8 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };

	TH_CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
		 prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0,
		 "seccomp: %s", strerror(errno));
}

/*
 * A daemon that still reports UDP GSO under the filter learnt it some way
 * other than these system calls (io_uring's own setsockopt, a kernel
 * version check): the filter cannot stand for an old kernel then.
 */
static void seccomp_effective(struct th_daemon *d)
{
	struct zcs_status_daemon sd;

	gso_status(d->sock, &sd, NULL, NULL);
	printf("  under the filter: features %#x, gso_max_segments %u\n",
	       sd.features, sd.gso_max_segments);
	if ((sd.features & ZCS_FEAT_UDP_GSO) || sd.gso_max_segments)
		th_skip("the daemon finds UDP GSO without setsockopt or "
			"getsockopt: the filter cannot hide it");
}

/*
 * Explicit, coalesced, explicit again to one destination. @fallback: the
 * kernel refuses GSO, so after the first send none may be a GSO send, and
 * status must say why. Returns the GSO log lines this destination added.
 */
static unsigned dest_round(struct zcs_client *c, struct th_daemon *d,
			   struct gso_flow *f, int fallback)
{
	uint32_t *lens = gso_lens(41, 1000, 200);
	unsigned before = log_lines(d);
	struct zcs_status_daemon sd;
	struct zcs_status_dest st;
	uint32_t seg = f->rv.family == AF_INET ? 1472 : 1452;	/* MTU 1500 */
	char what[96];

	/* The first may be the GSO send that fails and teaches the daemon. */
	gso_explicit(c, d->sock, f, 20 * seg + 7, seg, fallback ? -1 : 1);
	snprintf(what, sizeof(what), "%s coalesce 40x1000+200", f->name);
	gso_coalesce(c, d->sock, f, lens, 41, 0, fallback ? 0 : -1, what);
	gso_explicit(c, d->sock, f, 100 * 1000 + 1, 1000, fallback ? 0 : 1);
	gso_status(d->sock, &sd, f->dest, &st);
	printf("  %s: gso_active %u, reason \"%.64s\", datagrams %llu, "
	       "gso_sends %llu\n", f->dest, st.gso_active, st.gso_reason,
	       (unsigned long long)st.st.datagrams,
	       (unsigned long long)st.st.gso_sends);
	TH_EQ(st.st.errors, 0);
	if (fallback) {
		TH_CHECK(!st.gso_active && st.gso_reason[0], "%s: gso_active "
			 "%u, reason \"%.64s\" where the kernel refuses GSO",
			 f->dest, st.gso_active, st.gso_reason);
	} else {
		TH_CHECK(st.gso_active, "%s: GSO off (%.64s) though the "
			 "kernel takes it", f->dest, st.gso_reason);
	}
	free(lens);
	return log_lines(d) - before;
}

/* A second client to the same destination: nothing new in the log. */
static void second_client(struct th_daemon *d, struct gso_flow *f,
			  int fallback)
{
	unsigned before = log_lines(d);
	struct zcs_client *c;
	uint32_t flow = f->flow;
	int err = zcs_connect(d->sock, POOL, &c);

	TH_CHECK(err == 0, "connect: %s", strerror(-err));
	err = zcs_flow_open(c, f->dest, &f->flow);
	TH_CHECK(err == ZCS_PROTO_UDP, "flow %s: %d", f->dest, err);
	gso_explicit(c, d->sock, f, 30 * 1472, 1472, fallback ? 0 : 1);
	zcs_close(c);
	f->flow = flow;
	TH_CHECK(log_lines(d) == before, "%s: the fallback logged again for "
		 "a second client", f->dest);
}

/*
 * The daemon is static in each part: th_daemon_start() keeps a pointer to
 * it for its exit handler, which runs after the part has returned (and
 * would otherwise read a dead stack frame and signal whatever pid it held).
 */
static void scenario(struct gso_net *net, int fallback, int seccomp)
{
	static struct th_daemon d;
	struct gso_flow f[2];
	struct zcs_client *c;
	unsigned added, nf = 1, i, at_start;
	int err;

	if (seccomp)
		no_udp_segment_filter();
	th_daemon_start(&d, NULL);
	at_start = log_lines(&d);
	if (seccomp)
		seccomp_effective(&d);
	err = zcs_connect(d.sock, POOL, &c);
	TH_CHECK(err == 0, "connect: %s", strerror(-err));
	err = gso_flow_open(c, &f[0], "veth4", AF_INET, net);
	TH_CHECK(err == 0, "receiver in %s: %s", net->b, strerror(-err));
	if (net->v6 && gso_flow_open(c, &f[1], "veth6", AF_INET6, net) == 0)
		nf = 2;
	for (i = 0; i < nf; i++) {
		added = dest_round(c, &d, &f[i], fallback);
		printf("  %s: %u GSO log lines\n", f[i].dest, added);
		/* Once per destination; a daemon that knew from its start
		 * may have said it then instead. */
		TH_CHECK(fallback ? added == 1 || (seccomp && added == 0 &&
						   at_start > 0)
				  : added == 0,
			 "%s: %u log lines about GSO for one destination, want "
			 "%s", f[i].dest, added, fallback ? "1" : "0");
	}
	second_client(&d, &f[0], fallback);
	for (i = 0; i < nf; i++)
		gso_recv_stop(&f[i].rv);
	zcs_close(c);
	th_daemon_stop_clean(&d);
}

static void tx_off_part(void)
{
	struct gso_net net;
	int err;

	gso_net_setup(&net, 1);
	err = kernel_gso_probe(AF_INET, 1000);
	printf("tx-off: the kernel %s a GSO send on va (%s)\n",
	       err ? "refuses" : "takes", err ? strerror(err) : "ok");
	TH_CHECK(err == 0 || err == EIO, "GSO probe: %s", strerror(err));
	if (!err)
		printf("tx-off: checksummed in software (Linux 6.11+): the "
		       "fallback is not expected here\n");
	scenario(&net, err == EIO, 0);
}

static void seccomp_part(void)
{
	struct gso_net net;

	gso_net_setup(&net, 0);
	scenario(&net, 1, 1);
}

/* ---- mtu-drop ---- */

#define MTU_HIGH	1500
#define MTU_LOW		1280
#define RUN_RECORDS	100	/* plain records: more than one GSO send */

/* One family's destinations, made while the MTU is MTU_HIGH. */
struct mtu_flows {
	int family;
	uint32_t seg_old, seg_new;	/* largest payload: high, low MTU */
	struct gso_flow ex;		/* auto, explicit segment sizes */
	struct gso_flow co;		/* auto, coalesced records */
	struct gso_flow on;		/* udp_segment=on, coalesced */
};

/* The daemon's "refused UDP segmentation" lines about @dest. */
static unsigned refusal_lines(const struct th_daemon *d, const char *dest)
{
	char line[1024], who[128];
	unsigned n = 0;
	FILE *f = fopen(d->log, "r");

	TH_CHECK(f, "%s: %s", d->log, strerror(errno));
	snprintf(who, sizeof(who), "%s:", dest);	/* not a longer port */
	while (fgets(line, sizeof(line), f))
		n += strstr(line, "refused UDP segmentation") && strstr(line, who);
	fclose(f);
	return n;
}

static void dest_get(struct th_daemon *d, const struct gso_flow *f,
		     struct zcs_status_dest *st)
{
	struct zcs_status_daemon sd;

	gso_status(d->sock, &sd, f->dest, st);
	printf("  %s: gso_active %u, max_segment %u, reason \"%.64s\", "
	       "datagrams %llu, gso_sends %llu\n", f->name, st->gso_active,
	       st->max_segment, st->gso_reason,
	       (unsigned long long)st->st.datagrams,
	       (unsigned long long)st->st.gso_sends);
}

/* Open @f and check the daemon means to use GSO on it up to @seg. */
static int mtu_flow_open(struct zcs_client *c, struct th_daemon *d,
			 struct gso_flow *f, const char *name, int family,
			 struct gso_net *net, uint32_t seg)
{
	struct zcs_status_dest st;
	int err = gso_flow_open(c, f, name, family, net);

	if (err)
		return err;
	dest_get(d, f, &st);
	if (!st.gso_active)
		th_skip("%s: no GSO at MTU %u (%.64s)", f->dest, MTU_HIGH,
			st.gso_reason);
	TH_CHECK(st.max_segment == seg, "%s: max_segment %u at MTU %u, want "
		 "%u", f->dest, st.max_segment, MTU_HIGH, seg);
	return 0;
}

/* @m's three destinations; 0, or -errno when @family has no receiver. */
static int mtu_flows_open(struct zcs_client *c, struct th_daemon *d,
			  struct mtu_flows *m, int family, struct gso_net *net)
{
	uint32_t hdr = family == AF_INET ? 28 : 48;
	int v4 = family == AF_INET, err;
	struct zcs_status_dest st;

	m->family = family;
	m->seg_old = MTU_HIGH - hdr;
	m->seg_new = MTU_LOW - hdr;
	err = mtu_flow_open(c, d, &m->ex, v4 ? "v4 auto explicit" :
			    "v6 auto explicit", family, net, m->seg_old);
	if (err)
		return err;
	TH_EQ(mtu_flow_open(c, d, &m->co, v4 ? "v4 auto coalesced" :
			    "v6 auto coalesced", family, net, m->seg_old), 0);
	TH_EQ(mtu_flow_open(c, d, &m->on, v4 ? "v4 on coalesced" :
			    "v6 on coalesced", family, net, m->seg_old), 0);
	err = gso_policy(d->sock, m->on.dest, "udp_segment=on");
	TH_CHECK(err == 0, "policy %s udp_segment=on: %s", m->on.dest,
		 strerror(-err));
	dest_get(d, &m->on, &st);
	TH_EQ(st.udp_segment, ZCS_SEG_ON);
	return 0;
}

/*
 * After the refusal: GSO in force as @active says, the reason names the
 * refusal, the path MTU read again, and the daemon said so exactly once.
 */
static void mtu_dest_after(struct th_daemon *d, const struct mtu_flows *m,
			   const struct gso_flow *f, int active)
{
	struct zcs_status_dest st;
	unsigned lines = refusal_lines(d, f->dest);

	dest_get(d, f, &st);
	TH_CHECK(!st.gso_active == !active, "%s: gso_active %u after the "
		 "kernel refused GSO, want %d", f->dest, st.gso_active, active);
	TH_CHECK(strcasestr(st.gso_reason, "refused"), "%s: gso_reason \"%.64s"
		 "\" does not name the refusal", f->dest, st.gso_reason);
	TH_CHECK(st.max_segment == m->seg_new, "%s: max_segment %u after "
		 "the MTU fell to %u, want %u", f->dest, st.max_segment,
		 MTU_LOW, m->seg_new);
	TH_CHECK(lines == 1, "%s: %u \"refused UDP segmentation\" log lines, "
		 "want 1", f->dest, lines);
}

/*
 * A segmented send with a segment over the MTU the daemon now knows: a
 * completion with EMSGSIZE and nothing sent.
 */
static void mtu_too_big(struct zcs_client *c, struct gso_flow *f,
			uint32_t seg)
{
	uint32_t len = 5 * seg + 7;
	void *buf = gso_alloc_fill(c, len, gso_key(), 0);
	struct zcs_completion cp;
	uint64_t tag = gso_tag();
	char what[96];
	int err = zcs_send_segmented(c, f->flow, buf, len, seg, tag);

	snprintf(what, sizeof(what), "%s explicit seg %u over the MTU",
		 f->name, seg);
	TH_CHECK(err == 0, "%s: %s", what, strerror(-err));
	TH_EQ(zcs_flush(c), 0);
	gso_reap(c, &cp, 1);
	TH_CHECK(cp.tag == tag && cp.result == -EMSGSIZE, "%s: completion "
		 "%d (%s), want EMSGSIZE", what, cp.result,
		 cp.result < 0 ? strerror(-cp.result) : "bytes sent");
	gso_expect_none(&f->rv, 200, what);
	TH_EQ(zcs_free(c, buf), 0);
}

/* udp_segment=auto, an explicit segment size that no longer fits. */
static void mtu_auto_explicit(struct zcs_client *c, struct th_daemon *d,
			      struct mtu_flows *m)
{
	struct gso_flow *f = &m->ex;

	/* Refused by the kernel, then sent one datagram per send. */
	gso_explicit(c, d->sock, f, 20 * m->seg_old + 7, m->seg_old, -1);
	mtu_dest_after(d, m, f, 0);
	mtu_too_big(c, f, m->seg_old);
	/* Within the new MTU; auto: no GSO for a while after a refusal. */
	gso_explicit(c, d->sock, f, 20 * m->seg_new + 7, m->seg_new, 0);
	mtu_dest_after(d, m, f, 0);
}

/* Coalesced records of the old MTU's size; @active: GSO stays on. */
static void mtu_coalesced(struct zcs_client *c, struct th_daemon *d,
			  struct mtu_flows *m, struct gso_flow *f, int active)
{
	uint32_t *lens = gso_lens(RUN_RECORDS, m->seg_old, 500);
	char what[96];

	/* Several runs, each refused and then sent record by record. */
	snprintf(what, sizeof(what), "%s %ux%u+500", f->name,
		 RUN_RECORDS - 1, m->seg_old);
	gso_coalesce(c, d->sock, f, lens, RUN_RECORDS, 0, -1, what);
	mtu_dest_after(d, m, f, active);
	/* Over the new MTU: one plain send each, no new refusal. */
	snprintf(what, sizeof(what), "%s again 9x%u+500", f->name,
		 m->seg_old);
	gso_coalesce(c, d->sock, f, lens + RUN_RECORDS - 10, 10, 0, 0, what);
	mtu_dest_after(d, m, f, active);
	free(lens);
}

/* udp_segment=on: GSO stays in force and works at the new size. */
static void mtu_on(struct zcs_client *c, struct th_daemon *d,
		   struct mtu_flows *m)
{
	struct gso_flow *f = &m->on;

	mtu_coalesced(c, d, m, f, 1);
	gso_explicit(c, d->sock, f, 20 * m->seg_new + 7, m->seg_new, 1);
	mtu_too_big(c, f, m->seg_old);
	mtu_dest_after(d, m, f, 1);
}

/* The kernel itself must refuse the old segment size now. */
static void mtu_kernel_refuses(const struct mtu_flows *m)
{
	int err = kernel_gso_probe(m->family, (uint16_t)m->seg_old);

	printf("mtu-drop: at MTU %u the kernel %s a GSO send of %u-byte "
	       "segments over IPv%c (%s)\n", MTU_LOW, err ? "refuses" : "takes",
	       m->seg_old, m->family == AF_INET ? '4' : '6',
	       err ? strerror(err) : "ok");
	TH_CHECK(err, "the kernel takes GSO segments over the route MTU: "
		 "this case cannot reach the daemon's fallback");
}

static void mtu_part(void)
{
	static struct th_daemon d;	/* see scenario() */
	struct mtu_flows m[2];
	struct gso_net net;
	struct zcs_client *c;
	unsigned i, nf = 1;
	int err;

	gso_net_setup(&net, 0);
	th_daemon_start(&d, NULL);
	err = zcs_connect(d.sock, POOL, &c);
	TH_CHECK(err == 0, "connect: %s", strerror(-err));
	err = mtu_flows_open(c, &d, &m[0], AF_INET, &net);
	TH_CHECK(err == 0, "receiver in %s: %s", net.b, strerror(-err));
	if (net.v6 && mtu_flows_open(c, &d, &m[1], AF_INET6, &net) == 0)
		nf = 2;
	gso_net_mtu(&net, MTU_LOW);
	for (i = 0; i < nf; i++)
		mtu_kernel_refuses(&m[i]);
	for (i = 0; i < nf; i++) {
		mtu_auto_explicit(c, &d, &m[i]);
		mtu_coalesced(c, &d, &m[i], &m[i].co, 0);
		mtu_on(c, &d, &m[i]);
	}
	for (i = 0; i < nf; i++) {
		gso_recv_stop(&m[i].ex.rv);
		gso_recv_stop(&m[i].co.rv);
		gso_recv_stop(&m[i].on.rv);
	}
	zcs_close(c);
	th_daemon_stop_clean(&d);
}

int main(void)
{
	int a, b, m, ran;

	setvbuf(stdout, NULL, _IOLBF, 0);
	a = gso_part("tx-off", tx_off_part);
	b = gso_part("no-udp-segment", seccomp_part);
	m = gso_part("mtu-drop", mtu_part);
	TH_CHECK(a >= 0 && b >= 0 && m >= 0, "a part failed (output above)");
	ran = a + b + m;
	if (!ran)
		th_skip("needs root, ip(8) and veth in network namespaces");
	printf("test-udp-gso-fallback: %d parts passed\n", ran);
	return 0;
}
