/* SPDX-License-Identifier: MIT */
/*
 * SIGTERM while a client is paused at its in-flight bound. Once the
 * daemon drains, no new request is read, ever: the completions that free
 * room must not turn reading back on, or a busy client holds off
 * shutdown. The client fills its bound to a peer that does not read,
 * queues one more SEND, and the daemon gets SIGTERM; then the peer reads.
 * Only the sends taken before the signal may complete and reach the peer,
 * and the daemon exits 0 by itself.
 */
#include <sys/socket.h>
#include <sys/wait.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

#define BOUND		8
#define LEN		(1u << 20)

static struct th_daemon daemon_;
static uint64_t peer_bytes;

/* Count what the peer gets, until the daemon closes the connection. */
static void *reader(void *arg)
{
	static char buf[1 << 16];
	int fd = *(int *)arg;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		peer_bytes += (uint64_t)n;
	return NULL;
}

/* Every completion record until the daemon closes the connection. */
static int completions_until_closed(struct th_raw *r,
				    struct zcs_msg_completion *out, int max)
{
	static uint8_t buf[ZCS_MSG_MAX];
	struct zcs_hdr h;
	int n = 0, len, k;

	while ((len = th_raw_recv(r, &h, buf, sizeof(buf), NULL, 10000)) >= 0) {
		TH_EQ(h.type, ZCS_MSG_COMPLETE);
		k = len / (int)sizeof(*out);
		TH_CHECK(n + k <= max, "%d completions", n + k);
		memcpy(out + n, buf, (size_t)k * sizeof(*out));
		n += k;
	}
	TH_EQ(len, -ECONNRESET);
	return n;
}

static void send_records(struct th_raw *r, uint32_t flow, uint64_t tag0)
{
	struct zcs_msg_send s[BOUND];
	int i;

	memset(s, 0, sizeof(s));
	for (i = 0; i < BOUND; i++) {
		s[i].tag = tag0 + (uint64_t)i;
		s[i].flow = flow;
		s[i].offset = (uint64_t)i * LEN;
		s[i].len = LEN;
	}
	TH_EQ(th_raw_send(r, s, BOUND), 0);
}

int main(void)
{
	struct zcs_msg_completion comp[2 * BOUND];
	const char *extra[] = { "-c", NULL, NULL };
	char path[256], dest[64];
	int lfd, peer, n, i, status;
	struct th_raw r;
	uint16_t port;
	pthread_t t;
	long flow;

	th_conf_write(path, sizeof(path), "[daemon]\nmax_inflight = %d\n"
		      "pool_bytes = 16M\ndrain_timeout_ms = 20000\n", BOUND);
	extra[1] = path;
	lfd = th_listen_lo(&port, 4096);
	snprintf(dest, sizeof(dest), "tcp://127.0.0.1:%u", port);
	th_daemon_start(&daemon_, extra);
	TH_EQ(th_raw_connect(&r, daemon_.sock), 0);
	TH_EQ(th_raw_hello(&r, 2 * BOUND * LEN, "paused"), 0);
	TH_EQ(r.ok.max_inflight, BOUND);
	flow = th_raw_flow_open(&r, dest);
	TH_CHECK(flow > 0, "flow open: %ld", flow);
	peer = accept(lfd, NULL, NULL);
	TH_CHECK(peer >= 0, "accept: %s", strerror(errno));
	send_records(&r, (uint32_t)flow, 0);	/* the bound: paused */
	send_records(&r, (uint32_t)flow, BOUND);	/* waits unread */
	th_sleep_ms(200);
	TH_EQ(kill(daemon_.pid, SIGTERM), 0);
	th_sleep_ms(200);
	TH_EQ(pthread_create(&t, NULL, reader, &peer), 0);
	n = completions_until_closed(&r, comp, 2 * BOUND);
	TH_EQ(n, BOUND);
	for (i = 0; i < n; i++) {
		TH_CHECK(comp[i].tag < BOUND, "tag %llu was read after SIGTERM",
			 (unsigned long long)comp[i].tag);
		TH_EQ(comp[i].result, LEN);
	}
	status = th_daemon_wait_exit(&daemon_, 10000);	/* no second signal */
	TH_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		 "daemon did not exit 0 by itself after draining (%#x)",
		 status);
	th_daemon_stop(&daemon_);
	TH_EQ(pthread_join(t, NULL), 0);
	TH_EQ(peer_bytes, (uint64_t)BOUND * LEN);
	printf("test-drain-paused: %d sends completed, none read after "
	       "SIGTERM\n", n);
	th_raw_close(&r);
	return 0;
}
