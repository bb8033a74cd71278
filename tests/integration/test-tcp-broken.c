/* SPDX-License-Identifier: MIT */
/*
 * TCP flows whose peer misbehaves. A peer that resets the connection: sends
 * before the reset complete with their length, and once one send of the
 * flow has failed every later one fails too (a broken stream never resumes
 * with a hole); every tag completes exactly once, also for sends stuck in
 * the kernel when the reset comes. The client's next flow works. A client
 * killed with sends stuck behind a slow peer leaves nothing behind once the
 * peer reads: no flow, no send in flight, no pool.
 */
/* transports: socket ring */
#include <sys/socket.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "zcsend.h"

#define REC_LEN		16384
#define BEFORE		4	/* sends completed before the reset (fit in the
				   peer's receive buffer: it never reads) */
#define AFTER		256	/* sends queued after it */
#define STUCK		256	/* sends queued to a peer that never reads */
#define POOL		(4u << 20)

static struct th_daemon daemon_;

/* Close with RST rather than FIN. */
static void reset_close(int fd)
{
	struct linger l = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

/* Queue @n (<= AFTER) records, tags from @first; wait for all of them. */
static void send_and_reap(struct zcs_client *c, uint32_t flow, uint64_t first,
			  unsigned n, int32_t *results)
{
	static void *bufs[AFTER];
	struct zcs_completion comps[64];
	uint64_t end = th_now_ms() + 60000, t;
	unsigned got = 0, i;
	int k, j;

	for (i = 0; i < n; i++) {
		TH_EQ(zcs_alloc(c, REC_LEN, &bufs[i]), 0);
		th_rec_build(bufs[i], REC_LEN, 5, first + i);
		TH_EQ(zcs_send(c, flow, bufs[i], REC_LEN, first + i), 0);
	}
	while (got < n) {
		TH_CHECK(th_now_ms() < end, "%u of %u completed", got, n);
		k = zcs_reap(c, comps, 64, 1000);
		TH_CHECK(k >= 0, "reap: %s", strerror(-k));
		for (j = 0; j < k; j++) {
			t = comps[j].tag - first;
			TH_CHECK(t < n, "tag %llu", (unsigned long long)comps[j].tag);
			TH_CHECK(results[t] == INT32_MIN, "tag %llu twice",
				 (unsigned long long)comps[j].tag);
			results[t] = comps[j].result;
			TH_EQ(zcs_free(c, bufs[t]), 0);
			got++;
		}
	}
	TH_EQ(zcs_reap(c, comps, 64, 100), 0);
}

/* Results in tag order: successes, then only failures; at least one. */
static int first_failure(const int32_t *res, int n, const char *what)
{
	int i, first_bad = -1;

	for (i = 0; i < n; i++) {
		if (first_bad < 0 && res[i] < 0)
			first_bad = i;
		TH_CHECK(first_bad < 0 || res[i] < 0, "%s: tag %d: %d after "
			 "tag %d failed with %d", what, i, res[i], first_bad,
			 res[first_bad]);
		TH_CHECK(res[i] < 0 || res[i] == REC_LEN, "%s: tag %d: %d",
			 what, i, res[i]);
	}
	TH_CHECK(first_bad >= 0, "%s: no send failed after the reset", what);
	printf("%s: first failure at tag %d: %s\n", what, first_bad,
	       strerror(-res[first_bad]));
	return first_bad;
}

static void broken_stream(struct zcs_client *c)
{
	static int32_t res[BEFORE + AFTER];
	char dest[64];
	uint32_t flow;
	uint16_t port;
	int lfd, fd, i;

	for (i = 0; i < BEFORE + AFTER; i++)
		res[i] = INT32_MIN;
	lfd = th_listen_lo(&port, 0);
	snprintf(dest, sizeof(dest), "tcp://127.0.0.1:%u", port);
	TH_EQ(zcs_flow_open(c, dest, &flow), ZCS_PROTO_TCP);
	fd = accept(lfd, NULL, NULL);
	TH_CHECK(fd >= 0, "accept: %s", strerror(errno));
	send_and_reap(c, flow, 0, BEFORE, res);
	for (i = 0; i < BEFORE; i++)
		TH_EQ(res[i], REC_LEN);
	reset_close(fd);
	close(lfd);
	th_sleep_ms(50);	/* let the RST land; order is checked anyway */
	send_and_reap(c, flow, BEFORE, AFTER, res + BEFORE);
	TH_EQ(first_failure(res + BEFORE, AFTER, "reset before"), 0);
	zcs_flow_close(c, flow);
}

/* A new flow on the same client, to a verifying receiver. */
static void new_flow_works(struct zcs_client *c)
{
	static int32_t res[32];
	struct th_recv rv;
	char dest[64];
	uint32_t flow;
	int i;

	for (i = 0; i < 32; i++)
		res[i] = INT32_MIN;
	TH_EQ(th_recv_start(&rv, AF_INET, ZCS_PROTO_TCP, 1), 0);
	th_recv_dest(&rv, dest, sizeof(dest));
	TH_EQ(zcs_flow_open(c, dest, &flow), ZCS_PROTO_TCP);
	send_and_reap(c, flow, 0, 32, res);
	for (i = 0; i < 32; i++)
		TH_EQ(res[i], REC_LEN);
	TH_EQ(th_recv_wait(&rv, 32, 10000), 0);
	TH_EQ(rv.next_seq[5], 32);
	zcs_flow_close(c, flow);
	th_recv_free(&rv);
}

/*
 * Sends stuck in the kernel behind a peer that does not read, then the
 * peer resets: every one of them must still complete, exactly once.
 */
static void reset_midstream(struct zcs_client *c)
{
	static int32_t res[STUCK];
	static void *bufs[STUCK];
	struct zcs_completion comps[64];
	uint64_t end;
	unsigned got = 0;
	char dest[64];
	uint32_t flow;
	uint16_t port;
	int lfd, fd, i, k;

	lfd = th_listen_lo(&port, 4096);
	snprintf(dest, sizeof(dest), "tcp://127.0.0.1:%u", port);
	TH_EQ(zcs_flow_open(c, dest, &flow), ZCS_PROTO_TCP);
	fd = accept(lfd, NULL, NULL);
	TH_CHECK(fd >= 0, "accept: %s", strerror(errno));
	for (i = 0; i < STUCK; i++) {
		res[i] = INT32_MIN;
		TH_EQ(zcs_alloc(c, REC_LEN, &bufs[i]), 0);
		th_rec_build(bufs[i], REC_LEN, 6, (uint64_t)i);
		TH_EQ(zcs_send(c, flow, bufs[i], REC_LEN, (uint64_t)i), 0);
	}
	TH_EQ(zcs_flush(c), 0);
	th_sleep_ms(300);	/* let the daemon fill the socket */
	reset_close(fd);
	close(lfd);
	for (end = th_now_ms() + 20000; got < STUCK && th_now_ms() < end;) {
		k = zcs_reap(c, comps, 64, 1000);
		TH_CHECK(k >= 0, "reap: %s", strerror(-k));
		for (i = 0; i < k; i++) {
			TH_CHECK(comps[i].tag < STUCK && res[comps[i].tag] ==
				 INT32_MIN, "tag %llu unknown or twice",
				 (unsigned long long)comps[i].tag);
			res[comps[i].tag] = comps[i].result;
			TH_EQ(zcs_free(c, bufs[comps[i].tag]), 0);
			got++;
		}
	}
	for (i = 0; i < STUCK && got < STUCK; i++)
		if (res[i] == INT32_MIN)
			fprintf(stderr, "tag %d: no completion\n", i);
	TH_CHECK(got == STUCK, "%u of %u sends completed 20 s after the "
		 "peer's reset", got, STUCK);
	first_failure(res, STUCK, "reset midstream");
	zcs_flow_close(c, flow);
}

/* Child: fill a flow whose peer does not read, say so, wait to be killed. */
static void stuck_child(uint16_t port, int ready)
{
	struct zcs_client *c;
	char dest[64];
	uint32_t flow;
	void *buf;
	int i;

	snprintf(dest, sizeof(dest), "tcp://127.0.0.1:%u", port);
	if (zcs_connect(daemon_.sock, POOL, &c) ||
	    zcs_flow_open(c, dest, &flow) != ZCS_PROTO_TCP)
		_exit(3);
	for (i = 0; i < 256; i++) {
		if (zcs_alloc(c, REC_LEN, &buf) ||
		    zcs_send(c, flow, buf, REC_LEN, (uint64_t)i))
			break;
	}
	zcs_flush(c);
	if (write(ready, "x", 1) != 1)
		_exit(4);
	pause();
	_exit(0);
}

/* Read and drop everything until EOF; 20 s at most. */
static void drain(int fd)
{
	static char buf[1 << 16];
	uint64_t end = th_now_ms() + 20000;
	struct pollfd p = { .fd = fd, .events = POLLIN };

	while (th_now_ms() < end) {
		if (poll(&p, 1, 100) <= 0)
			continue;
		if (read(fd, buf, sizeof(buf)) <= 0)
			return;
	}
	TH_CHECK(0, "connection of the killed client still open after 20 s");
}

static void killed_client(uint64_t pool)
{
	int lfd, fd, pipefd[2], status;
	uint16_t port;
	pid_t pid;
	char x;

	lfd = th_listen_lo(&port, 4096);
	TH_EQ(pipe(pipefd), 0);
	pid = fork();
	TH_CHECK(pid >= 0, "fork");
	if (pid == 0)
		stuck_child(port, pipefd[1]);
	fd = accept(lfd, NULL, NULL);
	TH_CHECK(fd >= 0, "accept: %s", strerror(errno));
	TH_CHECK(read(pipefd[0], &x, 1) == 1, "child failed to queue sends");
	th_sleep_ms(100);
	kill(pid, SIGKILL);
	TH_EQ(waitpid(pid, &status, 0), pid);
	TH_CHECK(th_daemon_alive(&daemon_), "daemon died with the client");
	drain(fd);	/* the stuck sends finish; the daemon then closes */
	close(fd);
	close(lfd);
	close(pipefd[0]);
	close(pipefd[1]);
	/* Only the surviving client's pool is left, with no flow or send. */
	th_daemon_wait_idle(&daemon_, 1, pool, 20000);
}

int main(void)
{
	struct zcs_client *c;
	int err;

	th_daemon_start(&daemon_, NULL);
	err = zcs_connect(daemon_.sock, POOL, &c);
	TH_CHECK(err == 0, "connect: %s", strerror(-err));
	broken_stream(c);
	new_flow_works(c);
	killed_client(zcs_pool_size(c));
	reset_midstream(c);
	zcs_close(c);
	th_daemon_stop_clean(&daemon_);
	printf("test-tcp-broken: ok\n");
	return 0;
}
