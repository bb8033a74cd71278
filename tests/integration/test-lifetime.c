/* SPDX-License-Identifier: MIT */
/*
 * Clients that die at every step of a SEND: before the daemon reads it,
 * while it is taking the records (its replies fail mid-message), after the
 * records are in the kernel, and at random moments. Whatever the moment,
 * the daemon lives on, frees everything the client held, and serves the
 * next client. Run it under ASan (make check SANITIZE=1) to catch a use
 * after free that a release build might survive.
 */
#include <sys/socket.h>
#include <sys/wait.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

#define POOL		(1u << 20)
#define REC_LEN		4096u
#define BAD_RECS	200	/* more than one error batch */
#define RANDOM_KILLS	120

static struct th_daemon daemon_;
static char dest[64];

/* Read and throw away one connection's bytes until it ends. */
static void *drain_conn(void *arg)
{
	char buf[1 << 14];
	int fd = (int)(intptr_t)arg;

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
	return NULL;
}

/*
 * A TCP peer that reads everything, each connection in a thread of its
 * own (not a child process, which would keep the test's own sockets open).
 */
static void *drain_peer(void *arg)
{
	int lfd = *(int *)arg, fd;
	pthread_t t;

	while ((fd = accept(lfd, NULL, NULL)) >= 0) {
		if (pthread_create(&t, NULL, drain_conn, (void *)(intptr_t)fd))
			close(fd);
		else
			pthread_detach(t);
	}
	return NULL;
}

/* A client with a pool and one TCP flow to the draining peer. */
static uint32_t client_open(struct th_raw *r)
{
	long flow;

	TH_EQ(th_raw_connect(r, daemon_.sock), 0);
	TH_EQ(th_raw_hello(r, POOL, "lifetime"), 0);
	flow = th_raw_flow_open(r, dest);
	TH_CHECK(flow > 0, "flow open: %ld", flow);
	return (uint32_t)flow;
}

/* One SEND: @good records to @flow, then BAD_RECS to a flow that is not. */
static int send_mixed(struct th_raw *r, uint32_t flow, unsigned good,
		      int flags)
{
	static struct {
		struct zcs_hdr h;
		struct zcs_msg_send s[64 + BAD_RECS];
	} m;
	unsigned i, n = good + BAD_RECS;

	memset(&m, 0, sizeof(m));
	zcs_hdr_init(&m.h, ZCS_MSG_SEND, n * sizeof(m.s[0]), 0);
	for (i = 0; i < n; i++) {
		m.s[i].tag = i;
		m.s[i].flow = i < good ? flow : 0x7fffffffu;
		m.s[i].offset = (i % 64) * REC_LEN;
		m.s[i].len = REC_LEN;
	}
	if (send(r->fd, &m, m.h.len, MSG_NOSIGNAL | flags) < 0)
		return -errno;
	return 0;
}

/* The daemon still serves: a fresh client gets STATUS answered. */
static void expect_alive(const char *after)
{
	struct zcs_status_daemon st;
	struct th_raw r;
	unsigned clients, dests;

	TH_CHECK(th_daemon_alive(&daemon_), "daemon died after %s", after);
	TH_EQ(th_raw_connect(&r, daemon_.sock), 0);
	TH_EQ(th_raw_hello(&r, 0, "status"), 0);
	TH_CHECK(th_raw_status(&r, &st, &clients, &dests) == 0,
		 "no status after %s", after);
	th_raw_close(&r);
}

/* Before: the SEND is queued, the client is gone before it is read. */
static void die_before(void)
{
	struct th_raw r;
	uint32_t flow = client_open(&r);

	TH_EQ(send_mixed(&r, flow, 1, 0), 0);
	th_raw_close(&r);
	expect_alive("a client closed behind its SEND");
}

/* During: replies fail while the records are being taken. */
static void die_during_shut_rd(void)
{
	struct th_raw r;
	uint32_t flow = client_open(&r);

	shutdown(r.fd, SHUT_RD);
	TH_EQ(send_mixed(&r, flow, 1, 0), 0);
	th_sleep_ms(50);
	th_raw_close(&r);
	expect_alive("a SEND whose error batch could not be written");
}

/* During: the client stops reading until the daemon drops it. */
static void die_during_not_reading(void)
{
	struct th_raw r;
	uint32_t flow = client_open(&r);
	unsigned i;
	int err = 0;

	for (i = 0; i < 4000 && !err; i++) {
		err = send_mixed(&r, flow, 1, MSG_DONTWAIT);
		if (err == -EAGAIN) {
			th_sleep_ms(2);
			err = 0;
		}
	}
	TH_CHECK(err == -EPIPE || err == -ECONNRESET,
		 "not dropped after %u messages: %s", i, strerror(-err));
	th_raw_close(&r);
	expect_alive("a client dropped for not reading");
}

/* After: the records are in the kernel when the client goes. */
static void die_after(void)
{
	struct th_raw r;
	uint32_t flow = client_open(&r);
	unsigned i;

	for (i = 0; i < 8; i++)
		TH_EQ(send_mixed(&r, flow, 64, 0), 0);
	th_raw_close(&r);
	expect_alive("a client gone with sends in flight");
}

/* A child sending in a loop, killed at a pseudo-random moment. */
static void die_at_random(unsigned i)
{
	struct th_raw r;
	pid_t pid = fork();
	int status;

	TH_CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {	/* no TH_CHECK here: its exit stops the daemon */
		long flow = -1;

		if (th_raw_connect(&r, daemon_.sock) == 0 &&
		    th_raw_hello(&r, POOL, "lifetime") == 0)
			flow = th_raw_flow_open(&r, dest);
		while (flow > 0)
			send_mixed(&r, (uint32_t)flow, 1 + i % 64, 0);
		_exit(1);
	}
	usleep((useconds_t)(th_size(1, i, 0, 40000)));
	kill(pid, i % 2 ? SIGKILL : SIGTERM);
	TH_CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
}

int main(void)
{
	pthread_t t;
	uint16_t port;
	int lfd, before, after, i;

	signal(SIGPIPE, SIG_IGN);
	lfd = th_listen_lo(&port, 0);
	snprintf(dest, sizeof(dest), "tcp://127.0.0.1:%u", port);
	TH_EQ(pthread_create(&t, NULL, drain_peer, &lfd), 0);
	th_daemon_start(&daemon_, NULL);
	th_sleep_ms(100);
	before = th_fd_count(daemon_.pid);
	die_before();
	die_during_shut_rd();
	die_during_not_reading();
	die_after();
	for (i = 0; i < RANDOM_KILLS; i++)
		die_at_random((unsigned)i);
	expect_alive("clients killed at random moments");
	for (i = 0, after = -1; i < 200 && after != before; i++) {
		th_sleep_ms(50);	/* dead clients are freed async */
		after = th_fd_count(daemon_.pid);
	}
	if (after != before) { char cmd[128]; snprintf(cmd, sizeof cmd, "ls -l /proc/%d/fd; ss -tnp | grep -c pid=%d", daemon_.pid, daemon_.pid); if (system(cmd)) {} }
	TH_CHECK(after == before, "daemon fds: %d before, %d after", before,
		 after);
	printf("test-lifetime: %d random kills, daemon fds %d -> %d\n",
	       RANDOM_KILLS, before, after);
	i = th_daemon_stop(&daemon_);
	TH_CHECK(WIFEXITED(i) && WEXITSTATUS(i) == 0, "daemon exit %#x", i);
	return 0;
}
