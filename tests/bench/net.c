/* SPDX-License-Identifier: MIT */
/*
 * The sink every row sends to. As root: a private network namespace of
 * this process (and so of the daemon it starts) with an ifb device that
 * drops whatever leaves through it, at MTU 65535 so a 64 KB datagram is one
 * skb and zerocopy is real. Otherwise: a loopback UDP socket never read.
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

extern char **environ;

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

/* After unshare: the ifb sink device, up and addressed. */
static int ifb_setup(void)
{
	static const char *const cmds[] = {
		"link add ifb0 type ifb",
		"link set ifb0 mtu 65535 up",
		"addr add " IFB_LOCAL " dev ifb0",
	};
	size_t i;
	int err;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		err = run_ip(cmds[i]);
		if (err)
			return err;
	}
	return 0;
}

/* The fallback: a bound UDP socket nobody reads, so datagrams drop once
 * its receive buffer is full. */
static int loopback_setup(struct bench *b)
{
	socklen_t len = sizeof(b->sink_addr);
	int fd, err;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&b->sink_addr, 0, sizeof(b->sink_addr));
	b->sink_addr.sin_family = AF_INET;
	b->sink_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&b->sink_addr, len) ||
	    getsockname(fd, (struct sockaddr *)&b->sink_addr, &len)) {
		err = -errno;
		close(fd);
		return err;
	}
	b->sink_fd = fd;
	b->sink = SINK_LOOPBACK;
	return 0;
}

/* Private namespace, lo up, ifb sink. On failure, go back to the
 * namespace we came from (@home), whose loopback is then the sink. */
static int netns_setup(int home)
{
	int err;

	if (unshare(CLONE_NEWNET))
		return -errno;
	/* A new namespace starts with lo down. */
	err = run_ip("link set lo up");
	if (!err)
		err = ifb_setup();
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
	int home, err;

	b->sink_fd = -1;
	if (geteuid() != 0) {
		fprintf(stderr, "zcsend-bench: not root: using a loopback sink\n");
		return loopback_setup(b);
	}
	home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (home < 0)
		return -errno;
	err = netns_setup(home);
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
 * net_sink_close - close the loopback receiver, if any. The namespace
 * and its ifb device vanish with the process.
 */
void net_sink_close(struct bench *b)
{
	if (b->sink_fd >= 0)
		close(b->sink_fd);
	b->sink_fd = -1;
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
 * net_sink_url - the sink as a zcsendd address, "udp://A.B.C.D:PORT".
 * Return: 0 or -ENAMETOOLONG.
 */
int net_sink_url(const struct bench *b, char *buf, size_t size)
{
	char ip[INET_ADDRSTRLEN];
	int n;

	inet_ntop(AF_INET, &b->sink_addr.sin_addr, ip, sizeof(ip));
	n = snprintf(buf, size, "udp://%s:%u", ip,
		     (unsigned)ntohs(b->sink_addr.sin_port));
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}
