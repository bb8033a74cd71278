/* SPDX-License-Identifier: MIT */
/*
 * Hand-overs under load: four clients (socket and ring, each with a TCP
 * and a UDP flow's worth: socket/tcp, socket/udp, ring/tcp, ring/udp)
 * stream at full speed to loopback receivers that check every byte,
 * through 5 hand-overs by UPGRADE and 5 by SIGUSR2. No client may see an
 * error; every send completes exactly once with its length; TCP receivers
 * see one connection each and every byte in order, UDP receivers every
 * datagram once. The daemon keeps its pid (it re-executes itself), its
 * clients keep their ids and flows, SERVICE counts 10 hand-overs, and the
 * daemon holds as many fds and as much pinned memory after the 10th as
 * after the 1st.
 */
/* transports: default */
/* Each client sets its own transport (th_stream_open forces
 * ZCSEND_TRANSPORT per connection), so one pass covers both. */
#include <sys/socket.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "th/handover.h"
#include "th/stream.h"
#include "zcsend.h"

#define CLIENTS		4
#define UPGRADES	5	/* then as many by SIGUSR2 */
#define HANDOVERS	(2 * UPGRADES)
#define POOL		(8u << 20)
#define MAX_SENDS	(4u << 20)	/* the UDP receivers' seq range */
#define PROGRESS	200	/* completions that show a client moves */

static const struct {
	const char *transport;
	int proto;
} kinds[CLIENTS] = {
	{ "socket", ZCS_PROTO_TCP }, { "socket", ZCS_PROTO_UDP },
	{ "ring", ZCS_PROTO_TCP }, { "ring", ZCS_PROTO_UDP },
};

static struct th_daemon daemon_;
static struct th_recv rv[CLIENTS];
static struct th_stream st[CLIENTS];

/* A receiver and a streaming client of kind @i, not yet started. */
static void client_open(unsigned i)
{
	struct th_stream_cfg cfg = {
		.sock = daemon_.sock, .transport = kinds[i].transport,
		.rv = &rv[i], .id = i + 1, .pool = POOL, .window = 256,
		.rx_window = 512, .max_sends = MAX_SENDS,
	};
	int tcp = kinds[i].proto == ZCS_PROTO_TCP;

	/* TCP: room for more connections than one, so that a reconnect
	 * is counted rather than left in the backlog. */
	TH_EQ(th_recv_start(&rv[i], AF_INET, kinds[i].proto,
			    tcp ? 4 : MAX_SENDS), 0);
	cfg.lo = tcp ? 512 : 64;
	cfg.hi = tcp ? 32768 : 8192;
	TH_CHECK(th_stream_open(&st[i], &cfg) == 0, "client %u (%s %s) "
		 "did not open", i + 1, kinds[i].transport, tcp ? "tcp" :
		 "udp");
	TH_EQ(st[i].proto, kinds[i].proto);
}

/* Open every client (each sets its transport in the environment as it
 * connects), then start them all. */
static void clients_up(void)
{
	unsigned i;

	for (i = 0; i < CLIENTS; i++)
		client_open(i);
	for (i = 0; i < CLIENTS; i++)
		TH_EQ(th_stream_start(&st[i]), 0);
}

/* Every client completes @more sends beyond @base[] within 10 s, and
 * none has ended. */
static void all_move(const uint64_t *base, unsigned more, const char *when)
{
	uint64_t end = th_now_ms() + 10000;
	unsigned i;

	for (i = 0; i < CLIENTS; i++) {
		while (th_stream_completed(&st[i]) < base[i] + more) {
			TH_CHECK(!th_stream_wait_end(&st[i], 0), "client %u "
				 "(%s) ended %s: %s", i + 1, kinds[i].transport,
				 when, st[i].first_error);
			TH_CHECK(th_now_ms() < end, "client %u (%s): %llu "
				 "completions in 10 s %s (in %s; %llu sent, "
				 "the receiver has %llu)", i + 1,
				 kinds[i].transport, (unsigned long long)
				 (th_stream_completed(&st[i]) - base[i]),
				 when, st[i].where,
				 (unsigned long long)st[i].sent,
				 (unsigned long long)rv[i].records);
			th_sleep_ms(5);
		}
	}
}

/* The ids of our clients with pools, as STATUS lists them, sorted. */
static unsigned status_ids(struct th_raw *r, uint32_t *ids)
{
	unsigned char buf[4096];
	struct zcs_status_client m;
	struct zcs_hdr h;
	unsigned n = 0, i, j;
	int len;

	TH_EQ(th_raw_send_msg(r, ZCS_MSG_STATUS, ZCS_PROTO_VERSION, NULL, 0),
	      0);
	for (;;) {
		len = th_raw_recv(r, &h, buf, sizeof(buf), NULL, 30000);
		TH_CHECK(len >= 0, "STATUS: %s", strerror(-len));
		if (h.type == ZCS_MSG_STATUS_END)
			break;
		if (h.type != ZCS_MSG_STATUS_CLIENT)
			continue;
		memcpy(&m, buf, sizeof(m));
		if (m.pid != (uint32_t)getpid() || !m.pool_bytes)
			continue;
		TH_CHECK(n < CLIENTS, "more than %d clients with pools",
			 CLIENTS);
		TH_CHECK(m.flows == 1, "client %u has %u flows, want 1",
			 m.id, m.flows);
		ids[n++] = m.id;
	}
	for (i = 1; i < n; i++)	/* insertion sort: a handful */
		for (j = i; j > 0 && ids[j - 1] > ids[j]; j--) {
			uint32_t t = ids[j];

			ids[j] = ids[j - 1];
			ids[j - 1] = t;
		}
	return n;
}

/* Hand-over @k (1-based): by UPGRADE up to UPGRADES, then SIGUSR2. */
static void handover(struct th_raw *admin, uint32_t k)
{
	char why[ZCS_ERRMSG_MAX];
	struct zcs_service sv;
	uint64_t base[CLIENTS];
	unsigned i;
	int ret;

	for (i = 0; i < CLIENTS; i++)
		base[i] = th_stream_completed(&st[i]);
	if (k <= UPGRADES) {
		ret = th_handover_upgrade(admin, why, sizeof(why), 30000);
		TH_CHECK(ret == 0, "hand-over %u: UPGRADE answered %s%s%s", k,
			 strerror(-ret), why[0] ? ": " : "", why);
	} else {
		TH_EQ(kill(daemon_.pid, SIGUSR2), 0);
	}
	ret = th_handover_wait(admin, k, &sv, 30000);
	TH_CHECK(ret == 0, "hand-over %u (%s) did not complete: %s", k,
		 k <= UPGRADES ? "UPGRADE" : "SIGUSR2", strerror(-ret));
	TH_CHECK(th_daemon_alive(&daemon_), "daemon gone after hand-over %u",
		 k);
	TH_EQ(sv.pid, daemon_.pid);
	all_move(base, PROGRESS, "after the hand-over");
	printf("hand-over %u (%s): blackout %llu us, %u clients carried\n", k,
	       k <= UPGRADES ? "UPGRADE" : "SIGUSR2",
	       (unsigned long long)sv.last_handover_us, sv.last_clients);
}

/* SERVICE after all of them: the count, and the service older than the
 * process. */
static void service_after(struct th_raw *admin)
{
	struct zcs_service sv;
	char why[ZCS_ERRMSG_MAX];
	int ret = th_handover_service(admin, &sv, why, sizeof(why), 10000);

	TH_CHECK(ret == 0, "SERVICE: %s %s", strerror(-ret), why);
	TH_EQ(sv.handovers, HANDOVERS);
	TH_EQ(sv.pid, daemon_.pid);
	TH_CHECK(sv.service_uptime_ms >= sv.process_uptime_ms, "service up "
		 "%llu ms, process %llu ms", (unsigned long long)
		 sv.service_uptime_ms,
		 (unsigned long long)sv.process_uptime_ms);
	TH_CHECK(sv.last_clients >= CLIENTS, "the last hand-over carried %u "
		 "clients, want at least %d", sv.last_clients, CLIENTS);
}

/* Stop every client, then check each: all errors are printed before
 * the test fails. */
static void stop_and_check(void)
{
	unsigned i, bad = 0;

	for (i = 0; i < CLIENTS; i++)
		th_stream_stop(&st[i], 30000);
	for (i = 0; i < CLIENTS; i++) {
		if (th_stream_check(&st[i], 30000))
			bad++;
		else
			printf("client %u (%s %s): %llu sends, %llu bytes, "
			       "each completed once\n", i + 1,
			       kinds[i].transport, kinds[i].proto ==
			       ZCS_PROTO_TCP ? "tcp" : "udp",
			       (unsigned long long)st[i].sent,
			       (unsigned long long)st[i].bytes);
	}
	TH_CHECK(bad == 0, "%u of %d clients saw something wrong (above)",
		 bad, CLIENTS);
}

int main(void)
{
	const char *extra[] = { "-c", NULL, NULL };
	uint32_t before[CLIENTS], after[CLIENTS];
	struct th_handover_res first, last;
	uint64_t zero[CLIENTS] = { 0 };
	char conf[256];
	struct th_raw admin;
	unsigned i, n;
	uint32_t k;

	th_conf_write(conf, sizeof(conf), "[daemon]\npool_bytes = 16M\n"
		      "pool_total_bytes = 256M\nmax_inflight = 1024\n");
	extra[1] = conf;
	th_daemon_start(&daemon_, extra);
	clients_up();
	TH_EQ(th_handover_admin(&admin, daemon_.sock), 0);
	n = status_ids(&admin, before);
	TH_EQ(n, CLIENTS);
	all_move(zero, PROGRESS, "before any hand-over");
	for (k = 1; k <= HANDOVERS; k++) {
		handover(&admin, k);
		if (k == 1)
			th_handover_res_read(daemon_.pid, &first);
		if (k == HANDOVERS)
			th_handover_res_read(daemon_.pid, &last);
		th_sleep_ms(200);
	}
	service_after(&admin);
	TH_EQ(status_ids(&admin, after), CLIENTS);
	for (i = 0; i < CLIENTS; i++)
		TH_CHECK(before[i] == after[i], "client ids before %u, after "
			 "%u (the %uth)", before[i], after[i], i + 1);
	stop_and_check();
	printf("daemon after hand-over 1: %d fds, pinned %ld kB; after %d: "
	       "%d fds, pinned %ld kB\n", first.fds, first.pinned_kb,
	       HANDOVERS, last.fds, last.pinned_kb);
	TH_EQ(last.fds, first.fds);
	TH_EQ(last.pinned_kb, first.pinned_kb);
	TH_CHECK(first.pinned_kb > 0, "no registered buffer after a hand-over");
	for (i = 0; i < CLIENTS; i++)
		th_stream_close(&st[i]);
	th_raw_close(&admin);
	th_daemon_stop_clean(&daemon_);
	for (i = 0; i < CLIENTS; i++)
		th_recv_free(&rv[i]);
	printf("test-handover: %d hand-overs, every send completed once\n",
	       HANDOVERS);
	return 0;
}
