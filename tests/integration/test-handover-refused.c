/* SPDX-License-Identifier: MIT */
/*
 * A state the new process cannot use is refused, clearly: the daemon
 * spoils its own hand-over as ZCSENDD_TEST_HANDOVER says (corrupt: a byte
 * flipped after the checksum; version: version 99; truncate: the memfd
 * cut short; nofds: one descriptor fewer than the state names). For each,
 * a socket client and a ring client (raw, each with a flow), a libzcsend
 * client streaming, and the admin connection that sent UPGRADE must get
 * an ERROR whose text says "hand-over" and the reason ("checksum",
 * "version", "truncated", "descriptor"), then the connection closed;
 * then the daemon, same pid, started fresh, serves a new client.
 */
/* transports: default */
/* The libzcsend client here runs over rings and the raw clients cover
 * the socket, so one pass covers both. */
#include <sys/socket.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "th/handover.h"
#include "th/stream.h"
#include "zcsend.h"

#define POOL		(1u << 20)
#define BOUND_MS	10000
#define FRESH_SENDS	32
#define FRESH_LEN	1000

static const struct {
	const char *mode;	/* ZCSENDD_TEST_HANDOVER */
	const char *word;	/* the reason the ERROR must name */
} spoils[] = {
	{ "corrupt", "checksum" },
	{ "version", "version" },
	{ "truncate", "truncated" },
	{ "nofds", "descriptor" },
};

static struct th_daemon daemon_;

/*
 * The next message on @r must be an ERROR naming the hand-over and
 * @word, and then the connection must close, within 10 s. @who says
 * which client failed.
 */
static void expect_refusal(struct th_raw *r, const char *who,
			   const char *word)
{
	unsigned char buf[512];
	struct zcs_error e;
	struct zcs_hdr h;
	int n;

	do	/* an UPGRADE's OK, or a COMPLETE, may come before */
		n = th_raw_recv(r, &h, buf, sizeof(buf), NULL, BOUND_MS);
	while (n >= 0 && h.type != ZCS_MSG_ERROR);
	TH_CHECK(n >= 0, "%s: no ERROR before %s", who, n == -ETIMEDOUT ?
		 "10 s passed" : "the connection closed");
	memset(&e, 0, sizeof(e));
	memcpy(&e, buf, (size_t)n < sizeof(e) ? (size_t)n : sizeof(e));
	e.msg[sizeof(e.msg) - 1] = '\0';
	TH_CHECK(strcasestr(e.msg, "hand-over") && strcasestr(e.msg, word),
		 "%s: ERROR %d \"%s\" does not name the hand-over and "
		 "\"%s\"", who, e.err, e.msg, word);
	TH_CHECK(e.err < 0, "%s: ERROR with err %d", who, e.err);
	n = th_raw_recv(r, &h, buf, sizeof(buf), NULL, BOUND_MS);
	TH_CHECK(n == -ECONNRESET, "%s: after the ERROR: %s (want the "
		 "connection closed)", who, n >= 0 ? zcs_msg_name(h.type) :
		 strerror(-n));
	printf("  %s: ERROR %d \"%s\", then closed\n", who, e.err, e.msg);
}

/* A raw client with a pool (and rings when @rg) and a flow to @dest. */
static void raw_client(struct th_raw *r, struct th_rings *rg,
		       const char *dest, const char *name)
{
	long flow;

	TH_EQ(th_raw_connect(r, daemon_.sock), 0);
	if (rg)
		TH_EQ(th_raw_hello_rings(r, POOL, 0, name, rg), 0);
	else
		TH_EQ(th_raw_hello(r, POOL, name), 0);
	flow = th_raw_flow_open(r, dest);
	TH_CHECK(flow > 0, "%s: flow to %s: %ld", name, dest, flow);
}

/* The daemon, after refusing, serves a new client from scratch. */
static void fresh_client(struct th_recv *rv, const char *dest)
{
	struct zcs_completion cp[FRESH_SENDS];
	struct zcs_client *c;
	uint32_t flow;
	void *buf;
	int i, n = 0, k, ret;
	uint64_t end = th_now_ms() + BOUND_MS;

	/* The fresh start may still be opening its socket. */
	while ((ret = zcs_connect(daemon_.sock, POOL, &c)) &&
	       (ret == -ECONNREFUSED || ret == -ENOENT) && th_now_ms() < end)
		th_sleep_ms(20);
	TH_CHECK(ret == 0, "a new client after the refusal: %s",
		 strerror(-ret));
	TH_EQ(zcs_flow_open(c, dest, &flow), ZCS_PROTO_UDP);
	TH_EQ(zcs_alloc(c, (size_t)FRESH_LEN * FRESH_SENDS, &buf), 0);
	for (i = 0; i < FRESH_SENDS; i++) {
		th_rec_build((char *)buf + i * FRESH_LEN, FRESH_LEN, 2,
			     (uint64_t)i);
		TH_EQ(zcs_send(c, flow, (char *)buf + i * FRESH_LEN,
			       FRESH_LEN, (uint64_t)i), 0);
	}
	while (n < FRESH_SENDS) {
		k = zcs_reap(c, cp + n, FRESH_SENDS - n, BOUND_MS);
		TH_CHECK(k > 0, "new client: reap: %s", k ? strerror(-k) :
			 "nothing in 10 s");
		n += k;
	}
	for (i = 0; i < FRESH_SENDS; i++)
		TH_CHECK(cp[i].result == FRESH_LEN, "new client: tag %llu: "
			 "result %d", (unsigned long long)cp[i].tag,
			 cp[i].result);
	TH_EQ(th_recv_wait(rv, FRESH_SENDS, BOUND_MS), 0);
	zcs_close(c);
}

/* A libzcsend client streaming over rings to @rv, started. */
static void stream_client(struct th_stream *s, struct th_recv *rv)
{
	struct th_stream_cfg cfg = {
		.sock = daemon_.sock, .transport = "ring", .rv = rv,
		.id = 1, .pool = POOL, .window = 64, .rx_window = 256,
		.max_sends = 1u << 20, .lo = 64, .hi = 4096,
	};

	TH_EQ(th_stream_open(s, &cfg), 0);
	TH_EQ(th_stream_start(s), 0);
	while (th_stream_completed(s) < 100)
		th_sleep_ms(5);
}

/* One spoiled hand-over: everyone told why, then a fresh start. */
static void refused(size_t i)
{
	static struct th_recv rv_stream, rv_fresh;
	static struct th_stream s;
	char dest[64], fresh[64];
	struct th_raw sock_c, ring_c, admin;
	struct th_rings rg;
	pid_t pid;
	int ret;

	printf("ZCSENDD_TEST_HANDOVER=%s:\n", spoils[i].mode);
	TH_EQ(setenv("ZCSENDD_TEST_HANDOVER", spoils[i].mode, 1), 0);
	th_daemon_start(&daemon_, NULL);
	unsetenv("ZCSENDD_TEST_HANDOVER");
	pid = daemon_.pid;
	TH_EQ(th_recv_start(&rv_stream, AF_INET, ZCS_PROTO_UDP, 1u << 20), 0);
	TH_EQ(th_recv_start(&rv_fresh, AF_INET, ZCS_PROTO_UDP, FRESH_SENDS),
	      0);
	th_recv_dest(&rv_stream, dest, sizeof(dest));
	th_recv_dest(&rv_fresh, fresh, sizeof(fresh));
	raw_client(&sock_c, NULL, dest, "refused-socket");
	raw_client(&ring_c, &rg, dest, "refused-ring");
	stream_client(&s, &rv_stream);
	TH_EQ(th_handover_admin(&admin, daemon_.sock), 0);
	TH_EQ(th_handover_upgrade_send(&admin), 0);
	expect_refusal(&admin, "the admin connection", spoils[i].word);
	expect_refusal(&sock_c, "socket client", spoils[i].word);
	expect_refusal(&ring_c, "ring client", spoils[i].word);
	ret = th_stream_wait_end(&s, BOUND_MS);
	TH_CHECK(ret != 0, "the libzcsend client saw no error in 10 s (in %s)",
		 s.where);
	printf("  libzcsend client: %s\n", strerror(-ret));
	TH_CHECK(th_daemon_alive(&daemon_) && daemon_.pid == pid,
		 "the daemon did not go on after refusing");
	fresh_client(&rv_fresh, fresh);
	printf("  a new client then sent %d records\n", FRESH_SENDS);
	th_stream_close(&s);
	th_rings_close(&rg);
	th_raw_close(&sock_c);
	th_raw_close(&ring_c);
	th_raw_close(&admin);
	th_daemon_stop_clean(&daemon_);
	th_recv_free(&rv_stream);
	th_recv_free(&rv_fresh);
}

int main(void)
{
	size_t i;

	for (i = 0; i < sizeof(spoils) / sizeof(spoils[0]); i++)
		refused(i);
	printf("test-handover-refused: every spoiled state refused, every "
	       "client told why\n");
	return 0;
}
