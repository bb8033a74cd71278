/* SPDX-License-Identifier: MIT */
/*
 * The event-loop pattern of libzcsend.3 (issue 16): wait for zcs_get_fd()
 * to be readable with poll, epoll level- or edge-triggered, then reap with
 * timeout 0, either once per wake-up or until it returns 0. Every
 * completion must come without a stall: the fd is readable whenever the
 * library holds completions back, and an edge-triggered waiter gets a new
 * edge after a reap that leaves some; also after a flow_open that took
 * completions in while it waited for its answer. A loopback UDP receiver
 * checks every byte. Runs over each transport (tests/run.sh).
 */
/* transports: socket ring */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "zcsend.h"

#define SENDS		200	/* per case: the batch of the issue */
#define LEN		1200
#define POOL		(1u << 20)
#define WAIT_MS		5000	/* one wait; missing completions after it fail */
#define REAP_BIG	(SENDS + 100)	/* a reap larger than the batch */
#define QUIET_MS	100	/* the fd must go quiet once all is reaped */

enum waiter { W_POLL, W_EPOLL_LT, W_EPOLL_ET };

static const char *const waiter_name[] = { "poll", "epoll", "epoll-et" };

struct tcase {
	enum waiter w;
	unsigned reap_max;
	unsigned pause_ms;	/* between the sends and the first wait */
	int drain;		/* reap until 0 per wake-up, or once */
	int ctl;		/* open and close a flow before waiting */
};

static struct th_daemon daemon_;

/* Wait for the fd: > 0 readable, 0 timed out. */
static int wait_fd(const struct tcase *t, int fd, int epfd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct epoll_event ev;
	int n;

	do
		n = t->w == W_POLL ? poll(&pfd, 1, ms) :
		    epoll_wait(epfd, &ev, 1, ms);
	while (n < 0 && errno == EINTR);
	TH_CHECK(n >= 0, "wait: %s", strerror(errno));
	if (n && t->w == W_POLL)
		TH_CHECK(pfd.revents == POLLIN, "revents %#x", pfd.revents);
	return n;
}

/* A control request with completions on their way: the library buffers
 * them while it waits for the answer, and the socket is then empty. */
static void flow_cycle(struct zcs_client *c, const char *dest)
{
	uint32_t flow;
	int ret;

	ret = zcs_flow_open(c, dest, &flow);
	TH_CHECK(ret == ZCS_PROTO_UDP, "flow %s: %d", dest, ret);
	ret = zcs_flow_close(c, flow);
	TH_CHECK(ret == 0, "flow close: %s", strerror(-ret));
}

static int waiter_open(const struct tcase *t, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int epfd;

	if (t->w == W_POLL)
		return -1;
	if (t->w == W_EPOLL_ET)
		ev.events |= EPOLLET;
	epfd = epoll_create1(EPOLL_CLOEXEC);
	TH_CHECK(epfd >= 0, "epoll_create1: %s", strerror(errno));
	TH_CHECK(epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == 0, "epoll_ctl: %s",
		 strerror(errno));
	return epfd;
}

/* Queue and flush SENDS records, seqs from @base, each in its own buffer. */
static void send_batch(struct zcs_client *c, uint32_t flow, uint64_t base,
		       void **bufs)
{
	unsigned i;
	int ret;

	for (i = 0; i < SENDS; i++) {
		ret = zcs_alloc(c, LEN, &bufs[i]);
		TH_CHECK(ret == 0, "alloc: %s", strerror(-ret));
		th_rec_build(bufs[i], LEN, 1, base + i);
		ret = zcs_send(c, flow, bufs[i], LEN, base + i);
		TH_CHECK(ret == 0, "send %u: %s", i, strerror(-ret));
	}
	ret = zcs_flush(c);
	TH_CHECK(ret == 0, "flush: %s", strerror(-ret));
}

/* Check and count completions; each seq of the batch exactly once. */
static void take(struct zcs_client *c, uint64_t base, void **bufs,
		 unsigned char *done, const struct zcs_completion *cp, int n)
{
	uint64_t i;
	int k;

	for (k = 0; k < n; k++) {
		i = cp[k].tag - base;
		TH_CHECK(cp[k].tag >= base && i < SENDS, "unknown tag %llu",
			 (unsigned long long)cp[k].tag);
		TH_CHECK(!done[i], "second completion for tag %llu",
			 (unsigned long long)cp[k].tag);
		TH_EQ(cp[k].result, LEN);
		done[i] = 1;
		TH_EQ(zcs_free(c, bufs[i]), 0);
	}
}

/* Once everything is reaped, the fd may still hold one wake-up that was
 * on its way; after a reap it must be quiet, or a level-triggered loop
 * would spin. */
static void check_quiet(struct zcs_client *c, int fd, const char *name)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct zcs_completion cp;
	int round;

	for (round = 0; round < 2; round++) {
		TH_EQ(zcs_reap(c, &cp, 1, 0), 0);
		if (poll(&pfd, 1, QUIET_MS) == 0)
			return;
	}
	TH_CHECK(0, "%s: fd still readable with nothing to reap", name);
}

static void run_case(struct zcs_client *c, uint32_t flow, const char *dest,
		     int fd, const struct tcase *t, uint64_t base)
{
	static struct zcs_completion comps[REAP_BIG];
	static void *bufs[SENDS];
	unsigned char done[SENDS] = { 0 };
	unsigned reaped = 0, wakes = 0, empty = 0;
	int epfd = waiter_open(t, fd), n;
	char name[64];

	snprintf(name, sizeof(name), "%s reap %u%s%s%s", waiter_name[t->w],
		 t->reap_max, t->pause_ms ? " paused" : "",
		 t->drain ? " drain" : "", t->ctl ? " flow_open" : "");
	send_batch(c, flow, base, bufs);
	th_sleep_ms(t->pause_ms);
	if (t->ctl)
		flow_cycle(c, dest);
	while (reaped < SENDS) {
		TH_CHECK(wait_fd(t, fd, epfd, WAIT_MS) > 0,
			 "%s: wait timed out with %u of %u reaped, inflight %u",
			 name, reaped, SENDS, zcs_inflight(c));
		wakes++;
		do {
			n = zcs_reap(c, comps, t->reap_max, 0);
			TH_CHECK(n >= 0, "%s: reap: %s", name, strerror(-n));
			take(c, base, bufs, done, comps, n);
			reaped += (unsigned)n;
			empty += n == 0;
		} while (t->drain && n > 0);
		/* A wake-up with nothing to reap happens (one already on its
		 * way); a loop of them is a busy fd. */
		TH_CHECK(empty <= SENDS, "%s: %u wake-ups with nothing to reap",
			 name, empty);
	}
	TH_EQ(zcs_inflight(c), 0);
	check_quiet(c, fd, name);
	if (epfd >= 0)
		close(epfd);
	printf("%-32s %u wake-ups, %u empty reaps\n", name, wakes, empty);
}

int main(void)
{
	static const unsigned sizes[] = { 1, 64, REAP_BIG };
	struct tcase t = { .ctl = 0 };
	struct th_recv rv;
	struct zcs_client *c;
	uint64_t seq = 0, total, i, missing = 0;
	char dest[64];
	uint32_t flow;
	int fd, err, ret;
	unsigned s;

	/* 3 waiters x (3 reap sizes x pause or not x drain or not, and a
	 * flow_open) */
	total = 3 * (3 * 2 * 2 + 1) * (uint64_t)SENDS;
	err = th_recv_start(&rv, AF_INET, ZCS_PROTO_UDP, total);
	TH_CHECK(err == 0, "udp receiver: %s", strerror(-err));
	th_daemon_start(&daemon_, NULL);
	err = zcs_connect(daemon_.sock, POOL, &c);
	TH_CHECK(err == 0, "connect: %s", strerror(-err));
	TH_CHECK(zcs_max_inflight(c) >= SENDS, "max_inflight %u",
		 zcs_max_inflight(c));
	th_recv_dest(&rv, dest, sizeof(dest));
	ret = zcs_flow_open(c, dest, &flow);
	TH_CHECK(ret == ZCS_PROTO_UDP, "flow %s: %d", dest, ret);
	fd = zcs_get_fd(c);
	TH_CHECK(fd >= 0, "zcs_get_fd: %d", fd);

	for (t.w = W_POLL; t.w <= W_EPOLL_ET; t.w++)
		for (s = 0; s < 3; s++)
			for (t.pause_ms = 0; t.pause_ms <= 200;
			     t.pause_ms += 200)
				for (t.drain = 0; t.drain < 2; t.drain++) {
					t.reap_max = sizes[s];
					run_case(c, flow, dest, fd, &t, seq);
					seq += SENDS;
				}
	t.reap_max = 64;
	t.pause_ms = 200;
	t.drain = 0;
	t.ctl = 1;
	for (t.w = W_POLL; t.w <= W_EPOLL_ET; t.w++) {
		run_case(c, flow, dest, fd, &t, seq);
		seq += SENDS;
	}

	th_recv_wait(&rv, total, 10000);
	th_recv_stop(&rv);
	TH_CHECK(rv.errors == 0, "receiver: %llu errors, first: %s",
		 (unsigned long long)rv.errors, rv.first_error);
	for (i = 0; i < total; i++)
		missing += rv.seen[i] != 1;
	TH_CHECK(missing == 0, "%llu of %llu datagrams missing or repeated",
		 (unsigned long long)missing, (unsigned long long)total);
	zcs_close(c);
	th_daemon_stop_clean(&daemon_);
	th_recv_free(&rv);
	printf("test-evloop: %llu sends, every completion and byte\n",
	       (unsigned long long)total);
	return 0;
}
