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
 */
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
 * Does the kernel take a UDP GSO send out of "va"? 0, or its errno. The
 * destination port has no listener: one send, then the socket is gone.
 */
static int kernel_gso_probe(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(9) };
	static char buf[3000];
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), seg = 1000;
	int err = 0;

	TH_CHECK(fd >= 0, "socket: %s", strerror(errno));
	inet_pton(AF_INET, GSO_NS_B_V4, &sa.sin_addr);
	if (setsockopt(fd, SOL_UDP, UDP_SEGMENT, &seg, sizeof(seg)) < 0 ||
	    sendto(fd, buf, sizeof(buf), 0, (struct sockaddr *)&sa,
		   sizeof(sa)) < 0)
		err = errno;
	close(fd);
	return err;
}

/*
 * A kernel without UDP_SEGMENT, for the daemon: installed here, kept
 * across fork and exec. The socket options fail with ENOPROTOOPT; so does
 * a sendmsg(2) with flags exactly MSG_DONTWAIT, which is how the daemon
 * probes with a UDP_SEGMENT cmsg (its control-socket sends all add
 * MSG_NOSIGNAL; seccomp cannot read the cmsg itself). Sends through
 * io_uring pass no filter; a daemon that found no GSO makes none.
 * The daemon is a native binary: native syscall numbers.
 */
static void no_udp_segment_filter(void)
{
	struct sock_filter f[] = {
		/* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
				 offsetof(struct seccomp_data, nr)),
		/* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_sendmsg, 0, 2),
		/* 2 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
				 offsetof(struct seccomp_data, args[2])),
		/* 3 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, MSG_DONTWAIT, 6, 7),
		/* 4 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_setsockopt, 1, 0),
		/* 5 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getsockopt, 0, 5),
		/* 6 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
				 offsetof(struct seccomp_data, args[1])),
		/* 7 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SOL_UDP, 0, 3),
		/* 8 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
				 offsetof(struct seccomp_data, args[2])),
		/* 9 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, UDP_SEGMENT, 0, 1),
		/* 10 */ BPF_STMT(BPF_RET | BPF_K,
				  SECCOMP_RET_ERRNO | ENOPROTOOPT),
		/* 11 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
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

static void scenario(struct gso_net *net, int fallback, int seccomp)
{
	struct gso_flow f[2];
	struct th_daemon d;
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
	TH_CHECK(th_daemon_alive(&d), "daemon died");
	err = th_daemon_stop(&d);
	TH_CHECK(WIFEXITED(err) && WEXITSTATUS(err) == 0,
		 "daemon exit status %#x on SIGTERM", err);
}

static void tx_off_part(void)
{
	struct gso_net net;
	int err;

	gso_net_setup(&net, 1);
	err = kernel_gso_probe();
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

/* Run @fn in a child (own namespaces, daemon and exit handlers). 1 on
 * pass, 0 on skip, -1 on failure (the other part still runs). */
static int part(const char *name, void (*fn)(void))
{
	pid_t pid;
	int st;

	fflush(NULL);
	pid = fork();
	TH_CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		fn();
		exit(0);
	}
	TH_CHECK(waitpid(pid, &st, 0) == pid, "waitpid");
	if (WIFEXITED(st) && WEXITSTATUS(st) == TH_SKIP) {
		printf("%s: skipped\n", name);
		return 0;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		printf("%s: FAILED (status %#x)\n", name, st);
		return -1;
	}
	printf("%s: ok\n", name);
	return 1;
}

int main(void)
{
	int a, b, ran;

	setvbuf(stdout, NULL, _IOLBF, 0);
	a = part("tx-off", tx_off_part);
	b = part("no-udp-segment", seccomp_part);
	TH_CHECK(a >= 0 && b >= 0, "a part failed (output above)");
	ran = a + b;
	if (!ran)
		th_skip("needs root, ip(8) and veth in network namespaces");
	printf("test-udp-gso-fallback: %d parts passed\n", ran);
	return 0;
}
