/* SPDX-License-Identifier: MIT */
/*
 * A hostile client beside a well-behaved one. While a libzcsend client
 * streams records over TCP to a receiver that checks every byte, another
 * connection after another sends what no client should: oversized and
 * truncated packets, file descriptors, messages before HELLO, HELLO twice,
 * SEND without a pool, a wrong record count, hundreds of connections that
 * vanish mid-handshake. Each is answered or dropped alone; the good stream
 * finishes intact, and the daemon's open fds are what they were.
 */
/* transports: socket ring */
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "zcsend.h"

#define GOOD_SENDS	3000
#define GOOD_CLIENT	7

static struct th_daemon daemon_;
static struct th_recv rv;

struct good {
	struct zcs_client *c;
	uint32_t flow;
	unsigned done;
	void *bufs[GOOD_SENDS];
};

/* The well-behaved client: GOOD_SENDS records, many in flight. */
static void *good_client(void *arg)
{
	struct zcs_completion comps[64];
	struct good *g = arg;
	uint64_t seq = 0;
	void *buf;
	int k, i;

	while (g->done < GOOD_SENDS) {
		while (seq < GOOD_SENDS && zcs_inflight(g->c) < 256 &&
		       zcs_alloc(g->c, 8192, &buf) == 0) {
			th_rec_build(buf, 8192, GOOD_CLIENT, seq);
			TH_EQ(zcs_send(g->c, g->flow, buf, 8192, seq), 0);
			g->bufs[seq++] = buf;
		}
		k = zcs_reap(g->c, comps, 64, 5000);
		TH_CHECK(k > 0, "good client: reap %d", k);
		for (i = 0; i < k; i++) {
			TH_EQ(comps[i].result, 8192);
			TH_CHECK(comps[i].tag < GOOD_SENDS, "tag %llu",
				 (unsigned long long)comps[i].tag);
			TH_EQ(zcs_free(g->c, g->bufs[comps[i].tag]), 0);
		}
		g->done += (unsigned)k;
	}
	return NULL;
}

static int raw_conn(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	TH_CHECK(strlen(daemon_.sock) < sizeof(sun.sun_path), "long path");
	memcpy(sun.sun_path, daemon_.sock, strlen(daemon_.sock) + 1);
	TH_CHECK(fd >= 0 && connect(fd, (struct sockaddr *)&sun,
				    sizeof(sun)) == 0,
		 "connect: %s", strerror(errno));
	return fd;
}

/* Wait for the daemon to close @fd, skipping its replies. */
static void expect_closed(int fd, const char *what)
{
	static unsigned char buf[ZCS_MSG_MAX];
	struct timeval tv = { 5, 0 };
	ssize_t n;
	int i;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (i = 0; i < 16; i++) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			break;
		TH_CHECK(n > 0, "%s: not dropped: %s", what, strerror(errno));
	}
	TH_CHECK(i < 16, "%s: still talking", what);
	close(fd);
}

static void send_hello(int fd, uint64_t pool)
{
	struct {
		struct zcs_hdr h;
		struct zcs_hello m;
	} msg;

	memset(&msg, 0, sizeof(msg));
	zcs_hdr_init(&msg.h, ZCS_MSG_HELLO, sizeof(msg.m), 1);
	msg.m.pool_bytes = pool;
	strcpy(msg.m.name, "hostile");
	TH_CHECK(send(fd, &msg, sizeof(msg), MSG_NOSIGNAL) ==
		 (ssize_t)sizeof(msg), "hello: %s", strerror(errno));
}

/* A STATUS request with an fd riding along: the fd must be closed. */
static void attach_fd(void)
{
	struct zcs_hdr h;
	int fd = raw_conn(), pass = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	send_hello(fd, 0);
	zcs_hdr_init(&h, ZCS_MSG_STATUS, 0, 2);
	n = th_send_fds(fd, &h, sizeof(h), &pass, 1);
	TH_CHECK(n == sizeof(h), "sendmsg: %s", strerror((int)-n));
	close(pass);
	expect_closed(fd, "message with an fd");
}

static void oversized(void)
{
	static unsigned char big[ZCS_MSG_MAX + 4096];
	struct zcs_hdr h;
	int fd = raw_conn();

	send_hello(fd, 0);
	zcs_hdr_init(&h, ZCS_MSG_STATUS, sizeof(big) - sizeof(h), 3);
	memcpy(big, &h, sizeof(h));
	TH_CHECK(send(fd, big, sizeof(big), MSG_NOSIGNAL) == sizeof(big),
		 "send: %s", strerror(errno));
	expect_closed(fd, "oversized message");
}

/* Messages that are wrong in themselves, each on a fresh connection. */
static void bad_messages(void)
{
	struct {
		struct zcs_hdr h;
		uint8_t pad[48];
	} m;
	int fd;

	fd = raw_conn();		/* STATUS before HELLO */
	zcs_hdr_init(&m.h, ZCS_MSG_STATUS, 0, 4);
	send(fd, &m, sizeof(m.h), MSG_NOSIGNAL);
	expect_closed(fd, "STATUS before HELLO");

	fd = raw_conn();		/* HELLO twice */
	send_hello(fd, 0);
	send_hello(fd, 0);
	expect_closed(fd, "HELLO twice");

	fd = raw_conn();		/* SEND without a pool */
	send_hello(fd, 0);
	memset(m.pad, 0, sizeof(m.pad));
	zcs_hdr_init(&m.h, ZCS_MSG_SEND, 32, 5);
	send(fd, &m, sizeof(m.h) + 32, MSG_NOSIGNAL);
	expect_closed(fd, "SEND without a pool");

	fd = raw_conn();		/* 1.5 records */
	send_hello(fd, 1 << 20);
	zcs_hdr_init(&m.h, ZCS_MSG_SEND, 48, 6);
	send(fd, &m, sizeof(m.h) + 48, MSG_NOSIGNAL);
	expect_closed(fd, "SEND of 1.5 records");

	fd = raw_conn();		/* a reply type, from a client */
	send_hello(fd, 0);
	zcs_hdr_init(&m.h, ZCS_MSG_COMPLETE, 16, 7);
	send(fd, &m, sizeof(m.h) + 16, MSG_NOSIGNAL);
	expect_closed(fd, "COMPLETE from a client");
}

/* Connections that vanish: before HELLO, mid-HELLO, right after it. */
static void vanishing(void)
{
	struct zcs_hdr h;
	int i, fd;

	zcs_hdr_init(&h, ZCS_MSG_HELLO, sizeof(struct zcs_hello), 8);
	for (i = 0; i < 300; i++) {
		fd = raw_conn();
		if (i % 3 == 1)
			send(fd, &h, sizeof(h), MSG_NOSIGNAL);	/* half */
		else if (i % 3 == 2)
			send_hello(fd, 1 << 20);	/* pool, then gone */
		close(fd);
	}
}

int main(void)
{
	static struct good g;
	char dest[64];
	pthread_t t;
	int before, after, i;

	TH_EQ(th_recv_start(&rv, AF_INET, ZCS_PROTO_TCP, 1), 0);
	th_recv_dest(&rv, dest, sizeof(dest));
	th_daemon_start(&daemon_, NULL);
	TH_EQ(zcs_connect(daemon_.sock, 8u << 20, &g.c), 0);
	TH_EQ(zcs_flow_open(g.c, dest, &g.flow), ZCS_PROTO_TCP);
	th_sleep_ms(100);
	before = th_fd_count(daemon_.pid);
	TH_EQ(pthread_create(&t, NULL, good_client, &g), 0);
	attach_fd();
	oversized();
	bad_messages();
	vanishing();
	TH_EQ(pthread_join(t, NULL), 0);
	TH_EQ(th_recv_wait(&rv, GOOD_SENDS, 20000), 0);
	TH_EQ(rv.errors, 0);
	TH_EQ(rv.next_seq[GOOD_CLIENT], GOOD_SENDS);
	for (i = 0, after = -1; i < 100 && after != before; i++) {
		th_sleep_ms(50);	/* vanished clients are freed async */
		after = th_fd_count(daemon_.pid);
	}
	TH_CHECK(after == before, "daemon fds: %d before, %d after", before,
		 after);
	printf("test-hostile: %d good records intact, daemon fds %d -> %d\n",
	       GOOD_SENDS, before, after);
	zcs_close(g.c);
	i = th_daemon_stop(&daemon_);
	TH_CHECK(WIFEXITED(i) && WEXITSTATUS(i) == 0, "daemon exit %#x", i);
	th_recv_free(&rv);
	return 0;
}
