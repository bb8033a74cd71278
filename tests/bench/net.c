/* SPDX-License-Identifier: MIT */
/*
 * The sink every row sends to. As root: a private network namespace of
 * this process (and so of the daemon it starts) with an ifb device that
 * drops whatever leaves through it, at MTU 65535 so a 64 KB datagram is one
 * skb and zerocopy is real (--dgram: MTU 1500, and the device's own packet
 * counters). Otherwise: a loopback UDP socket never read. --fairness
 * adds a loopback receiver that never reads for its floods.
 */
#include <sys/socket.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

/* RFC 2544 benchmarking range: routed out of ifb0, never answered. */
#define IFB_LOCAL	"198.18.0.1/24"
#define IFB_SINK	"198.18.0.2"
#define IFB_PORT	9
#define IFB_MTU		65535

/* ifb's default gso_max_segs (GSO_MAX_SEGS): a GSO packet passes whole. */
#define IFB_GSO_SEGS_WHOLE	65535

extern char **environ;

static int sink_setup(struct bench *b);

/* Run "ip @args" (words split on spaces) and wait for it; its errors go
 * to our stderr. */
static int run_ip(const char *args)
{
	char line[128], *argv[16], *save = NULL, *w;
	unsigned n = 0;
	pid_t pid;
	int err, status;

	if (snprintf(line, sizeof(line), "ip %s", args) >= (int)sizeof(line))
		return -E2BIG;
	for (w = strtok_r(line, " ", &save); w && n < 15;
	     w = strtok_r(NULL, " ", &save))
		argv[n++] = w;
	argv[n] = NULL;
	err = posix_spawnp(&pid, "ip", NULL, NULL, argv, environ);
	if (err)
		return -err;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -EIO;
	return 0;
}

/* After unshare: the ifb sink device, up and addressed. --dgram wants
 * MTU 1500, so that a 1,472-byte datagram fills a packet and a GSO send
 * has to be cut into such packets. */
static int ifb_setup(const struct bench *b)
{
	char mtu[48];
	const char *const cmds[] = {
		"link add ifb0 type ifb",
		mtu,
		"addr add " IFB_LOCAL " dev ifb0",
	};
	size_t i;
	int err;

	snprintf(mtu, sizeof(mtu), "link set ifb0 mtu %u up",
		 b->mode == MODE_DGRAM ? BENCH_DGRAM_MTU : IFB_MTU);
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		err = run_ip(cmds[i]);
		if (err)
			return err;
	}
	return 0;
}

/* A UDP socket bound to a free loopback port, never read: datagrams to
 * it are dropped once its receive buffer is full. */
static int loopback_bound(struct sockaddr_in *addr)
{
	socklen_t len = sizeof(*addr);
	int fd, err;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(addr, 0, sizeof(*addr));
	addr->sin_family = AF_INET;
	addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)addr, len) ||
	    getsockname(fd, (struct sockaddr *)addr, &len)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* The fallback sink: loopback, never read. */
static int loopback_setup(struct bench *b)
{
	int fd = loopback_bound(&b->sink_addr);

	if (fd < 0)
		return fd;
	b->sink_fd = fd;
	b->sink = SINK_LOOPBACK;
	return 0;
}

/* --fairness: the floods' own sink, a loopback receiver that never reads
 * (in the bench's namespace when it has one), where a UDP GSO send is cut
 * into its datagrams on the way in, as on a real host's receiver. */
static int flood_setup(struct bench *b)
{
	int fd;

	if (b->mode != MODE_FAIRNESS)
		return 0;
	fd = loopback_bound(&b->flood_addr);
	if (fd < 0)
		return fd;
	b->flood_fd = fd;
	return 0;
}

/* Private namespace, lo up, ifb sink. On failure, go back to the
 * namespace we came from (@home), whose loopback is then the sink. */
static int netns_setup(const struct bench *b, int home)
{
	int err;

	if (unshare(CLONE_NEWNET))
		return -errno;
	/* A new namespace starts with lo down. */
	err = run_ip("link set lo up");
	if (!err)
		err = ifb_setup(b);
	if (err && setns(home, CLONE_NEWNET)) {
		fprintf(stderr, "zcsend-bench: setns back: %s\n",
			strerror(errno));
		return -ENOTRECOVERABLE;
	}
	return err;
}

/**
 * net_sink_setup - enter a private network namespace with the ifb sink,
 * or fall back to loopback (saying why on stderr).
 * Return: 0 or -errno when not even the loopback sink can be made.
 */
int net_sink_setup(struct bench *b)
{
	int err = sink_setup(b);

	b->flood_fd = -1;
	if (!err)
		err = flood_setup(b);
	return err;
}

/* The sink of every row: ifb in a namespace of ours, else loopback. */
static int sink_setup(struct bench *b)
{
	int home, err;

	b->sink_fd = -1;
	if (geteuid() != 0) {
		fprintf(stderr, "zcsend-bench: not root: using a loopback sink\n");
		return loopback_setup(b);
	}
	home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (home < 0)
		return -errno;
	err = netns_setup(b, home);
	close(home);
	if (err == -ENOTRECOVERABLE)
		return err;
	if (err) {
		fprintf(stderr, "zcsend-bench: no ifb sink in a private network "
			"namespace (%s): using a loopback sink\n",
			strerror(-err));
		return loopback_setup(b);
	}
	memset(&b->sink_addr, 0, sizeof(b->sink_addr));
	b->sink_addr.sin_family = AF_INET;
	b->sink_addr.sin_port = htons(IFB_PORT);
	inet_pton(AF_INET, IFB_SINK, &b->sink_addr.sin_addr);
	b->sink = SINK_IFB;
	return 0;
}

/**
 * net_sink_close - close the loopback receivers, if any. The namespace
 * and its ifb device vanish with the process.
 */
void net_sink_close(struct bench *b)
{
	if (b->sink_fd >= 0)
		close(b->sink_fd);
	if (b->flood_fd >= 0)
		close(b->flood_fd);
	b->sink_fd = b->flood_fd = -1;
}

/**
 * net_flood_url - --fairness: the floods' loopback sink as a zcsendd
 * address.
 * Return: 0 or -ENAMETOOLONG.
 */
int net_flood_url(const struct bench *b, char *buf, size_t size)
{
	int n = snprintf(buf, size, "udp://127.0.0.1:%u",
			 (unsigned)ntohs(b->flood_addr.sin_port));

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/**
 * net_udp_open - a UDP socket connected to the sink.
 * Return: the fd or -errno.
 */
int net_udp_open(const struct bench *b)
{
	int fd, err;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)&b->sink_addr,
		    sizeof(b->sink_addr))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/**
 * net_sink_url_port - the sink as a zcsendd address, "udp://A.B.C.D:PORT",
 * its port @off further on the ifb sink, where every port drops alike
 * (the loopback sink has one port only: @off is ignored there).
 * Return: 0 or -ENAMETOOLONG.
 */
int net_sink_url_port(const struct bench *b, unsigned off, char *buf,
		      size_t size)
{
	char ip[INET_ADDRSTRLEN];
	unsigned port = ntohs(b->sink_addr.sin_port);
	int n;

	if (b->sink == SINK_IFB)
		port += off;
	inet_ntop(AF_INET, &b->sink_addr.sin_addr, ip, sizeof(ip));
	n = snprintf(buf, size, "udp://%s:%u", ip, port);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/**
 * net_sink_url - the sink as a zcsendd address, "udp://A.B.C.D:PORT".
 * Return: 0 or -ENAMETOOLONG.
 */
int net_sink_url(const struct bench *b, char *buf, size_t size)
{
	return net_sink_url_port(b, 0, buf, size);
}

/**
 * net_sink_set_gso_sw - --dgram: make ifb0 segment GSO packets in software
 * first (@sw, gso_max_segs 1, as for a NIC without UDP segmentation
 * offload), or take them whole (ifb's default, as a NIC with it does).
 * The kernel checks gso_max_segs per packet at transmit, so sockets
 * already open (the daemon's too) follow at once.
 * Return: 0 or -errno.
 */
int net_sink_set_gso_sw(struct bench *b, int sw)
{
	char cmd[64];
	int err;

	snprintf(cmd, sizeof(cmd), "link set dev ifb0 gso_max_segs %u",
		 sw ? 1u : IFB_GSO_SEGS_WHOLE);
	err = run_ip(cmd);
	if (!err)
		b->sink_gso_sw = sw;
	return err;
}

/**
 * net_sink_counters - what the ifb sink has counted so far.
 *
 * ifb counts what is handed to it in its rx_* counters (ifb_xmit), then
 * drops a packet that tc did not redirect to it and adds rx_dropped;
 * tx_* count only redirected packets and stay 0 here. Measured here
 * (Linux 6.18): one datagram of 1,472 bytes adds 1 packet and 1,514 bytes
 * (14 Ethernet + 20 IPv4 + 8 UDP headers); a GSO send of 44 such
 * datagrams adds 1 packet of 64,810 bytes when ifb takes it whole, and 44
 * packets of 1,514 bytes with gso_max_segs 1. So packets are datagrams
 * only on the software-segmenting sink, while bytes less one set of
 * headers per packet are the payload on both (see dgram.c).
 *
 * Read from /proc/self/net/dev: it shows this process's namespace, while
 * /sys/class/net shows that of whoever mounted sysfs, and the host may
 * have an ifb0 of its own.
 * Return: 0, -ENODEV when ifb0 is not listed, or -errno.
 */
int net_sink_counters(const struct bench *b, uint64_t *pkts, uint64_t *bytes)
{
	unsigned long long rx_bytes, rx_pkts;
	char line[512], *p;
	int err = -ENODEV;
	FILE *f;

	f = fopen("/proc/self/net/dev", "re");
	if (!f)
		return -errno;
	while (err && fgets(line, sizeof(line), f)) {
		p = line + strspn(line, " ");
		if (strncmp(p, "ifb0:", 5))
			continue;
		if (sscanf(p + 5, "%llu %llu", &rx_bytes, &rx_pkts) != 2)
			err = -EIO;
		else
			err = 0;
	}
	fclose(f);
	if (!err) {
		*pkts = rx_pkts;
		*bytes = rx_bytes;
	}
	return err;
}
