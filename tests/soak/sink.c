/* SPDX-License-Identifier: MIT */
/*
 * The churn clients' receivers, run by the churn manager in one poll loop:
 * a TCP listener that drains at full speed, one whose connections have a
 * small window and are read a little every 20 ms (so that a client killed
 * there leaves thousands of sends in flight), and a UDP socket. Their data
 * is discarded: a killed client's stream is legitimately cut.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "soak.h"

#define SINK_SLOW_RCVBUF	16384
#define SINK_SLOW_BYTES		8192	/* per slow connection per 20 ms */
#define SINK_MAXFD		(512 + 4)

/* A socket on 127.0.0.1, ephemeral port; TCP ones listen. */
static int sink_socket(int type, int rcvbuf, uint16_t *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int big = 8 << 20;

	TH_CHECK(fd >= 0, "socket: %s", strerror(errno));
	if (rcvbuf)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (type == SOCK_DGRAM)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	TH_CHECK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		 (type == SOCK_DGRAM || listen(fd, 128) == 0) &&
		 getsockname(fd, (struct sockaddr *)&sa, &sl) == 0,
		 "sink socket: %s", strerror(errno));
	*port = ntohs(sa.sin_port);
	return fd;
}

/* sink_open - the three sockets; fails the test on error. */
void sink_open(struct sink *k)
{
	memset(k, 0, sizeof(*k));
	k->drain_lfd = sink_socket(SOCK_STREAM, 0, &k->drain_port);
	k->slow_lfd = sink_socket(SOCK_STREAM, SINK_SLOW_RCVBUF, &k->slow_port);
	k->udp_fd = sink_socket(SOCK_DGRAM, 0, &k->udp_port);
}

/* sink_dest - "tcp://127.0.0.1:PORT" for a flow. */
void sink_dest(const char *proto, uint16_t port, char *buf, size_t size)
{
	snprintf(buf, size, "%s://127.0.0.1:%u", proto, port);
}

static void sink_accept(struct sink *k, int lfd, int slow)
{
	int fd;

	while (k->nconns < (int)(sizeof(k->conn) / sizeof(k->conn[0]))) {
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		k->conn[k->nconns] = fd;
		k->slow[k->nconns] = (uint8_t)slow;
		k->nconns++;
		k->accepted++;
	}
}

/* Read what one connection has (a little if it is slow); 0 at EOF. */
static int sink_read(struct sink *k, int i, int slow_turn)
{
	static char buf[65536];
	size_t want = k->slow[i] && !k->fast ? SINK_SLOW_BYTES : sizeof(buf);
	ssize_t n;

	if (k->slow[i] && !k->fast && !slow_turn)
		return 1;
	n = read(k->conn[i], buf, want);
	if (n > 0)
		k->bytes += (uint64_t)n;
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		return 0;
	return 1;
}

static void sink_drop(struct sink *k, int i)
{
	close(k->conn[i]);
	k->nconns--;
	k->conn[i] = k->conn[k->nconns];
	k->slow[i] = k->slow[k->nconns];
	k->closed++;
}

static void sink_udp(struct sink *k)
{
	static char buf[65536];
	ssize_t n;
	int i;

	for (i = 0; i < 256; i++) {
		n = recv(k->udp_fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0)
			return;
		k->bytes += (uint64_t)n;
	}
}

/*
 * sink_poll - one round: accept, read, drop closed connections. Also
 * polls @extra_fd (or -1). Returns 1 if @extra_fd is readable, else 0.
 */
int sink_poll(struct sink *k, int extra_fd, int timeout_ms)
{
	struct pollfd p[SINK_MAXFD];
	uint64_t now = th_now_ms();
	int slow_turn = now >= k->slow_next_ms, i, n = k->nconns;

	if (slow_turn)
		k->slow_next_ms = now + 20;
	for (i = 0; i < n; i++) {
		p[i] = (struct pollfd){ .fd = k->conn[i], .events = POLLIN };
		/* A slow connection waits for its turn: do not spin on it. */
		if (k->slow[i] && !k->fast && !slow_turn)
			p[i].fd = -1;
	}
	p[n] = (struct pollfd){ .fd = k->drain_lfd, .events = POLLIN };
	p[n + 1] = (struct pollfd){ .fd = k->slow_lfd, .events = POLLIN };
	p[n + 2] = (struct pollfd){ .fd = k->udp_fd, .events = POLLIN };
	p[n + 3] = (struct pollfd){ .fd = extra_fd, .events = POLLIN };
	if (poll(p, (nfds_t)n + 4, timeout_ms) < 0)
		return 0;
	/* Back to front, so that dropping one moves an already-read one. */
	for (i = n - 1; i >= 0; i--)
		if (p[i].revents && !sink_read(k, i, slow_turn))
			sink_drop(k, i);
	if (p[n].revents)
		sink_accept(k, k->drain_lfd, 0);
	if (p[n + 1].revents)
		sink_accept(k, k->slow_lfd, 1);
	if (p[n + 2].revents)
		sink_udp(k);
	return extra_fd >= 0 && p[n + 3].revents != 0;
}

void sink_close(struct sink *k)
{
	while (k->nconns > 0)
		sink_drop(k, k->nconns - 1);
	close(k->drain_lfd);
	close(k->slow_lfd);
	close(k->udp_fd);
}
