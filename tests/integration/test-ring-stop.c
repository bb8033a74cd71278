/* SPDX-License-Identifier: MIT */
/*
 * Neither side of the rings may hang when the other is descheduled at any
 * moment. A libzcsend client (a child process) sends self-checking UDP
 * datagrams with a window in flight while this process stops and
 * continues it and the daemon with SIGSTOP and SIGCONT, several hundred
 * times, at random points and for random short times: a spinner must
 * notice the stopped peer and sleep, and every sleep must still be
 * woken. The transfer must end with every send completed exactly once
 * and every byte right at the receiver; a hang shows as the generous
 * deadline passing.
 */
/* transports: ring */
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "zcsend.h"

#define MAX_SENDS	200000	/* the receiver's bound */
#define WINDOW		8
#define POOL		(1u << 20)
#define STOPS		400
#define STOP_MAX_US	2000	/* each stop lasts 0..this */
#define RUN_MAX_US	4000	/* and the sides run 0..this in between */
#define DEADLINE_MS	120000	/* a hang, not slowness, misses this */

static struct th_daemon daemon_;
static pid_t child = -1;

/* The child's failures: _exit, so the parent's daemon is not touched. */
#define CHILD_CHECK(cond, ...) do {					\
	if (!(cond)) {							\
		fprintf(stderr, "client: " __VA_ARGS__);		\
		fputc('\n', stderr);					\
		_exit(1);						\
	}								\
} while (0)

struct sender {
	struct zcs_client *c;
	uint32_t flow;
	uint64_t sent, completed;
	uint8_t done[MAX_SENDS];
	void *bufs[MAX_SENDS];
	uint32_t lens[MAX_SENDS];
};

static void take(struct sender *s, const struct zcs_completion *cp)
{
	uint64_t seq = cp->tag;

	CHILD_CHECK(seq < s->sent, "unknown tag %llu",
		    (unsigned long long)seq);
	CHILD_CHECK(!s->done[seq], "tag %llu completed twice",
		    (unsigned long long)seq);
	CHILD_CHECK(cp->result == (int32_t)s->lens[seq],
		    "tag %llu: result %d, sent %u", (unsigned long long)seq,
		    cp->result, s->lens[seq]);
	s->done[seq] = 1;
	s->completed++;
	CHILD_CHECK(zcs_free(s->c, s->bufs[seq]) == 0, "free");
}

/* Queue one datagram if the window and the pool allow; 1 if queued. */
static int send_one(struct sender *s)
{
	size_t len = th_size(1, s->sent, 64, 2048);
	void *buf;
	int ret;

	if (zcs_inflight(s->c) >= WINDOW || zcs_alloc(s->c, len, &buf))
		return 0;
	th_rec_build(buf, len, 1, s->sent);
	ret = zcs_send(s->c, s->flow, buf, len, s->sent);
	if (ret == -EAGAIN) {
		zcs_free(s->c, buf);
		return 0;
	}
	CHILD_CHECK(ret == 0, "send: %s", strerror(-ret));
	s->bufs[s->sent] = buf;
	s->lens[s->sent] = (uint32_t)len;
	s->sent++;
	return 1;
}

/* Reap what is there (or wait a little when nothing could be queued). */
static void reap(struct sender *s, int wait_ms)
{
	struct zcs_completion comps[WINDOW];
	int n, i;

	n = zcs_reap(s->c, comps, WINDOW, wait_ms);
	CHILD_CHECK(n >= 0, "reap: %s", strerror(-n));
	for (i = 0; i < n; i++)
		take(s, &comps[i]);
}

/*
 * The client: send until a byte arrives on @stop_fd (or MAX_SENDS), then
 * collect the rest, write the count sent to @out_fd and exit 0.
 */
static void client_main(const char *dest, int stop_fd, int out_fd)
{
	static struct sender s;
	char b;
	int ret;

	ret = zcs_connect(daemon_.sock, POOL, &s.c);
	CHILD_CHECK(ret == 0, "connect: %s", strerror(-ret));
	ret = zcs_flow_open(s.c, dest, &s.flow);
	CHILD_CHECK(ret == ZCS_PROTO_UDP, "flow %s: %d", dest, ret);
	while (s.sent < MAX_SENDS && read(stop_fd, &b, 1) != 1)
		reap(&s, send_one(&s) ? 0 : 100);
	while (s.completed < s.sent)
		reap(&s, 1000);
	CHILD_CHECK(write(out_fd, &s.sent, sizeof(s.sent)) ==
		    (ssize_t)sizeof(s.sent), "write count");
	zcs_close(s.c);
	_exit(0);
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, us % 1000000 * 1000 };

	nanosleep(&ts, NULL);
}

/* Whatever happens, nobody stays stopped. */
static void cont_all(void)
{
	if (child > 0) {
		kill(child, SIGCONT);
		kill(child, SIGKILL);
	}
	if (daemon_.pid > 0)
		kill(daemon_.pid, SIGCONT);
}

/* @n stops at random of the client or the daemon, both about equally. */
static void stop_go(unsigned n, unsigned seed)
{
	unsigned i, stopped[2] = { 0, 0 };
	pid_t who;
	int side;

	srand(seed);
	for (i = 0; i < n; i++) {
		side = rand() & 1;
		who = side ? daemon_.pid : child;
		TH_EQ(kill(who, SIGSTOP), 0);
		sleep_us(rand() % (STOP_MAX_US + 1));
		TH_EQ(kill(who, SIGCONT), 0);
		stopped[side]++;
		sleep_us(rand() % (RUN_MAX_US + 1));
	}
	printf("stops: %u of the client, %u of the daemon (seed %u)\n",
	       stopped[0], stopped[1], seed);
}

/* The child's exit within the deadline, and the count it sent. */
static uint64_t child_result(int out_fd)
{
	uint64_t end = th_now_ms() + DEADLINE_MS, sent = 0;
	int status;
	pid_t got;

	while ((got = waitpid(child, &status, WNOHANG)) == 0) {
		TH_CHECK(th_now_ms() < end, "the client hangs: no end "
			 "within %d s of its transfer", DEADLINE_MS / 1000);
		th_sleep_ms(10);
	}
	TH_EQ(got, child);
	child = -1;
	TH_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		 "client status %#x", status);
	TH_EQ(read(out_fd, &sent, sizeof(sent)), sizeof(sent));
	return sent;
}

int main(void)
{
	int stop_p[2], out_p[2];
	struct th_recv rv;
	char dest[64];
	uint64_t sent, i, missing = 0;
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();

	TH_EQ(th_recv_start(&rv, AF_INET, ZCS_PROTO_UDP, MAX_SENDS), 0);
	th_recv_dest(&rv, dest, sizeof(dest));
	th_daemon_start(&daemon_, NULL);
	TH_EQ(pipe(stop_p), 0);
	TH_EQ(pipe(out_p), 0);
	fflush(NULL);
	child = fork();
	TH_CHECK(child >= 0, "fork: %s", strerror(errno));
	if (!child) {
		close(stop_p[1]);
		TH_EQ(fcntl(stop_p[0], F_SETFL, O_NONBLOCK), 0);
		client_main(dest, stop_p[0], out_p[1]);
	}
	atexit(cont_all);
	th_sleep_ms(50);	/* connected and sending */
	stop_go(STOPS, seed);
	TH_EQ(write(stop_p[1], "x", 1), 1);
	sent = child_result(out_p[0]);
	TH_EQ(th_recv_wait(&rv, sent, 10000), 0);
	th_recv_stop(&rv);
	TH_CHECK(rv.errors == 0, "receiver: %s", rv.first_error);
	for (i = 0; i < sent; i++)
		missing += rv.seen[i] != 1;
	TH_CHECK(missing == 0, "%llu of %llu datagrams missing or doubled",
		 (unsigned long long)missing, (unsigned long long)sent);
	printf("test-ring-stop: %llu sends, each completed once, every byte "
	       "right\n", (unsigned long long)sent);
	th_recv_free(&rv);
	th_daemon_stop_clean(&daemon_);
	return 0;
}
