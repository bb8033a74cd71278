/* SPDX-License-Identifier: MIT */
/*
 * The in-flight bound pushes back instead of failing: a raw client writes
 * four times its max_inflight of small UDP sends in full SEND messages as
 * fast as the socket takes them. The daemon must stop reading it at the
 * bound and go on when completions free room: every send completes once
 * with its length, and every datagram arrives once and intact.
 */
#include <sys/socket.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define REC_LEN		200
#define PER_MSG		512	/* records per SEND message */
#define POOL		(4u << 20)

static struct th_daemon daemon_;

struct run {
	struct th_raw r;
	uint32_t flow;
	uint64_t total;
	uint64_t sent;		/* records written to the socket */
	uint64_t completed;
	uint8_t *done;
};

/* Each seq has its own REC_LEN slot; main() checks that they fit. */
static uint64_t slot(const struct run *x, uint64_t seq)
{
	(void)x;
	return seq * REC_LEN;
}

/* Write the next SEND message; 0, or -EAGAIN when the socket is full. */
static int send_batch(struct run *x)
{
	struct zcs_msg_send recs[PER_MSG];
	uint64_t n = x->total - x->sent, i;
	int err;

	if (n > PER_MSG)
		n = PER_MSG;
	memset(recs, 0, sizeof(recs));
	for (i = 0; i < n; i++) {
		recs[i].tag = x->sent + i;
		recs[i].offset = slot(x, x->sent + i);
		recs[i].len = REC_LEN;
		recs[i].flow = x->flow;
	}
	err = th_raw_send(&x->r, recs, n);
	if (err == -EAGAIN)
		return err;
	TH_CHECK(err == 0, "send: %s", strerror(-err));
	x->sent += n;
	return 0;
}

static void read_completions(struct run *x)
{
	static struct zcs_msg_completion c[ZCS_COMPLETE_BATCH_MAX];
	struct zcs_hdr h;
	int n, i;

	n = th_raw_recv(&x->r, &h, c, sizeof(c), NULL, 0);
	TH_CHECK(n >= 0, "recv: %s", strerror(-n));
	TH_CHECK(h.type == ZCS_MSG_COMPLETE, "got %s", zcs_msg_name(h.type));
	for (i = 0; i < n / (int)sizeof(c[0]); i++) {
		TH_CHECK(c[i].tag < x->sent, "tag %llu not sent",
			 (unsigned long long)c[i].tag);
		TH_CHECK(!x->done[c[i].tag], "tag %llu twice",
			 (unsigned long long)c[i].tag);
		TH_CHECK(c[i].result == REC_LEN, "tag %llu: result %d",
			 (unsigned long long)c[i].tag, c[i].result);
		x->done[c[i].tag] = 1;
		x->completed++;
	}
}

/* Write whenever the socket takes more, read whenever completions wait. */
static void pump(struct run *x)
{
	uint64_t end = th_now_ms() + 60000;
	struct pollfd p = { .fd = x->r.fd };

	while (x->completed < x->total) {
		TH_CHECK(th_now_ms() < end, "%llu sent, %llu of %llu done",
			 (unsigned long long)x->sent,
			 (unsigned long long)x->completed,
			 (unsigned long long)x->total);
		p.events = POLLIN | (x->sent < x->total ? POLLOUT : 0);
		if (poll(&p, 1, 1000) <= 0)
			continue;
		TH_CHECK(!(p.revents & (POLLHUP | POLLERR)), "daemon hung up");
		if (p.revents & POLLIN)
			read_completions(x);
		if (p.revents & POLLOUT)
			send_batch(x);
	}
}

int main(void)
{
	static struct run x;
	struct th_recv rv;
	char dest[64];
	uint64_t i;
	long flow;
	int err;

	th_daemon_start(&daemon_, NULL);
	TH_EQ(th_raw_connect(&x.r, daemon_.sock), 0);
	TH_EQ(th_raw_hello(&x.r, POOL, "backpressure"), 0);
	x.total = 4ull * x.r.ok.max_inflight;
	TH_CHECK(x.total >= 4 && x.total <= x.r.pool_bytes / REC_LEN,
		 "max_inflight %u, pool %llu", x.r.ok.max_inflight,
		 (unsigned long long)x.r.pool_bytes);
	/* Never block in send(): completions must be read meanwhile. */
	TH_EQ(fcntl(x.r.fd, F_SETFL, O_NONBLOCK), 0);
	err = th_recv_start(&rv, AF_INET, ZCS_PROTO_UDP, x.total);
	TH_CHECK(err == 0, "udp receiver: %s", strerror(-err));
	th_recv_dest(&rv, dest, sizeof(dest));
	flow = th_raw_flow_open(&x.r, dest);
	TH_CHECK(flow >= 0, "flow %s: %ld", dest, flow);
	x.flow = (uint32_t)flow;
	x.done = calloc(x.total, 1);
	for (i = 0; i < x.total; i++)
		th_rec_build((char *)x.r.pool + slot(&x, i), REC_LEN, 3, i);
	pump(&x);
	err = th_recv_wait(&rv, x.total, 10000);
	th_recv_stop(&rv);
	TH_CHECK(rv.errors == 0, "receiver: %s", rv.first_error);
	TH_CHECK(err == 0, "%llu of %llu datagrams arrived",
		 (unsigned long long)rv.records, (unsigned long long)x.total);
	th_raw_close(&x.r);
	err = th_daemon_stop(&daemon_);
	TH_CHECK(WIFEXITED(err) && WEXITSTATUS(err) == 0,
		 "daemon exit status %#x on SIGTERM", err);
	printf("test-backpressure: %llu sends past an in-flight bound of %u\n",
	       (unsigned long long)x.total, x.r.ok.max_inflight);
	th_recv_free(&rv);
	free(x.done);
	return 0;
}
