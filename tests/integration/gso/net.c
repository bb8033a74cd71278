/* SPDX-License-Identifier: MIT */
/*
 * Two network namespaces joined by a veth pair for the UDP GSO tests:
 * addresses of both families and permanent neighbours, TX checksum
 * offload off on request, the MTU changed as a route change would, and
 * receivers started on the far side.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gso.h"

/* What exit deletes: not the caller's struct, which may be gone by then. */
static char net_del[160];

static void net_atexit(void)
{
	if (net_del[0] && system(net_del) != 0)
		fprintf(stderr, "%s: failed\n", net_del);
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Run a shell command; its exit status (0 on success). */
static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	if (st != 0)
		fprintf(stderr, "'%s' failed: status %#x\n", cmd, st);
	return st;
}

/*
 * TX checksum offload off through the legacy ethtool request (as
 * `ethtool -K DEV tx off`), then read back: the kernel maps it onto the
 * device's checksum features, and UDP GSO needs those.
 */
static void net_tx_csum_off(const char *dev)
{
	struct ethtool_value ev = { .cmd = ETHTOOL_STXCSUM, .data = 0 };
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	TH_CHECK(fd >= 0, "socket: %s", strerror(errno));
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	ifr.ifr_data = (char *)&ev;
	TH_CHECK(ioctl(fd, SIOCETHTOOL, &ifr) == 0,
		 "ETHTOOL_STXCSUM %s off: %s", dev, strerror(errno));
	ev.cmd = ETHTOOL_GTXCSUM;
	ev.data = 1;
	TH_CHECK(ioctl(fd, SIOCETHTOOL, &ifr) == 0 && ev.data == 0,
		 "%s: tx checksum still %u (%s)", dev, ev.data,
		 strerror(errno));
	close(fd);
}

/* Addresses, permanent neighbours, links up; 0 or the failing status. */
static int net_links(const struct gso_net *n)
{
	const char *a = n->a, *b = n->b;

	return sh("ip link add va address 02:00:00:00:00:0a netns %s type "
		  "veth peer name vb address 02:00:00:00:00:0b netns %s",
		  a, b) ||
	       sh("ip -n %s link set lo up && ip -n %s link set lo up", a, b) ||
	       sh("ip -n %s addr add " GSO_NS_A_V4 "/24 dev va && ip -n %s "
		  "addr add " GSO_NS_B_V4 "/24 dev vb", a, b) ||
	       sh("ip -n %s link set va up && ip -n %s link set vb up", a, b) ||
	       sh("ip -n %s neigh replace " GSO_NS_B_V4 " lladdr "
		  "02:00:00:00:00:0b dev va nud permanent", a) ||
	       sh("ip -n %s neigh replace " GSO_NS_A_V4 " lladdr "
		  "02:00:00:00:00:0a dev vb nud permanent", b);
}

/* IPv6 too when the namespaces have it: nodad, so usable at once. */
static int net_links6(const struct gso_net *n)
{
	const char *a = n->a, *b = n->b;

	return sh("ip -n %s addr add " GSO_NS_A_V6 "/64 dev va nodad && "
		  "ip -n %s addr add " GSO_NS_B_V6 "/64 dev vb nodad", a, b) ||
	       sh("ip -n %s neigh replace " GSO_NS_B_V6 " lladdr "
		  "02:00:00:00:00:0b dev va nud permanent", a) ||
	       sh("ip -n %s neigh replace " GSO_NS_A_V6 " lladdr "
		  "02:00:00:00:00:0a dev vb nud permanent", b);
}

static int net_open(const char *name)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	TH_CHECK(fd >= 0, "%s: %s", path, strerror(errno));
	return fd;
}

void gso_net_setup(struct gso_net *n, int tx_csum_off)
{
	if (geteuid() != 0)
		th_skip("needs root (network namespaces, veth)");
	if (system("ip -V >/dev/null 2>&1") != 0)
		th_skip("no ip(8)");
	memset(n, 0, sizeof(*n));
	snprintf(n->a, sizeof(n->a), "zcsgso-a-%d", (int)getpid());
	snprintf(n->b, sizeof(n->b), "zcsgso-b-%d", (int)getpid());
	if (sh("ip netns add %s && ip netns add %s", n->a, n->b) != 0) {
		sh("ip netns del %s 2>/dev/null", n->a);
		th_skip("ip netns add failed");
	}
	snprintf(net_del, sizeof(net_del), "ip netns del %s 2>/dev/null; "
		 "ip netns del %s 2>/dev/null", n->a, n->b);
	atexit(net_atexit);
	if (net_links(n) != 0)
		th_skip("no veth pair in a network namespace");
	n->v6 = net_links6(n) == 0;
	n->fd_a = net_open(n->a);
	n->fd_b = net_open(n->b);
	TH_CHECK(setns(n->fd_a, CLONE_NEWNET) == 0, "setns %s: %s", n->a,
		 strerror(errno));
	if (tx_csum_off)
		net_tx_csum_off("va");
}

void gso_net_mtu(struct gso_net *n, unsigned mtu)
{
	TH_CHECK(sh("ip -n %s link set va mtu %u && ip -n %s link set vb mtu "
		    "%u", n->a, mtu, n->b, mtu) == 0, "MTU %u on the veth", mtu);
}

int gso_net_recv_start(struct gso_net *n, struct gso_recv *rv, int family)
{
	int err;

	/* The socket stays in B; the thread that reads it may live anywhere. */
	TH_CHECK(setns(n->fd_b, CLONE_NEWNET) == 0, "setns %s: %s", n->b,
		 strerror(errno));
	err = gso_recv_start(rv, family, family == AF_INET ? GSO_NS_B_V4
							   : GSO_NS_B_V6);
	TH_CHECK(setns(n->fd_a, CLONE_NEWNET) == 0, "setns %s: %s", n->a,
		 strerror(errno));
	return err;
}
