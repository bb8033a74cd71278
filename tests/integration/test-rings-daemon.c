/* SPDX-License-Identifier: MIT */
/*
 * Shared-memory rings, the daemon's side, driven by a raw client that
 * writes the rings as PROTOCOL.md says: the granted sizes, thousands of
 * records through a small SQ with every byte checked at a UDP receiver
 * and every completion's tag and result checked in the CQ, wake-ups both
 * ways with the daemon idle in between (none may be lost), bad records
 * answered by error completions only, and the ring counters in STATUS.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

#define POOL		(1u << 20)
#define INFLIGHT	64
#define SLOT		16384u	/* one record's room in the pool */
#define NRECS		3000
#define WAKE_ROUNDS	400
#define MAX_SEND	(64u << 10)

static struct th_daemon daemon_;

struct ring_client {
	struct th_raw r;
	struct th_rings rg;
	uint32_t flow;
};

static void client_open(struct ring_client *k, uint32_t entries,
			const char *dest)
{
	long flow;

	TH_EQ(th_raw_connect(&k->r, daemon_.sock), 0);
	TH_EQ(th_raw_hello_rings(&k->r, POOL, entries, "rings", &k->rg), 0);
	flow = th_raw_flow_open(&k->r, dest);
	TH_CHECK(flow >= 0, "flow open %s: %ld", dest, flow);
	k->flow = (uint32_t)flow;
}

static void client_close(struct ring_client *k)
{
	th_rings_close(&k->rg);
	th_raw_close(&k->r);
}

/* What the daemon grants: powers of two in [8, min(4096, INFLIGHT)]. */
static void granted_sizes(void)
{
	static const uint32_t ask[][2] = {
		{ 0, INFLIGHT }, { 3, 8 }, { 9, 16 }, { 32, 32 },
		{ 4096, INFLIGHT },
	};
	struct ring_client k;
	size_t i;

	for (i = 0; i < sizeof(ask) / sizeof(ask[0]); i++) {
		TH_EQ(th_raw_connect(&k.r, daemon_.sock), 0);
		TH_EQ(th_raw_hello_rings(&k.r, POOL, ask[i][0], "sizes", &k.rg),
		      0);
		TH_EQ(k.rg.lay.sq_entries, ask[i][1]);
		TH_EQ(k.rg.lay.cq_entries, 2 * ask[i][1]);
		TH_EQ(zcs_rings_check(&k.rg.lay), 0);
		client_close(&k);
	}
	/* Rings need a pool: refused, but the connection goes on. */
	TH_EQ(th_raw_connect(&k.r, daemon_.sock), 0);
	TH_EQ(th_raw_hello_rings(&k.r, 0, 0, "nopool", &k.rg), -EINVAL);
	client_close(&k);
}

/* Pool slots of records in flight: a record's bytes stay until done. */
struct slots {
	uint32_t free[INFLIGHT];
	uint32_t nfree;
	uint32_t of_tag[NRECS];
	uint32_t len[NRECS];
	uint8_t done[NRECS];
};

static void slots_init(struct slots *s)
{
	uint32_t i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < INFLIGHT; i++)
		s->free[s->nfree++] = i;
}

/* Records for seqs from @seq while slots last; returns how many. */
static uint32_t build(struct ring_client *k, struct slots *s, uint64_t seq,
		      uint32_t n, struct zcs_msg_send *out)
{
	uint32_t i, slot;

	for (i = 0; i < n && s->nfree; i++, seq++) {
		slot = s->free[--s->nfree];
		s->of_tag[seq] = slot;
		s->len[seq] = (uint32_t)th_size(1, seq, sizeof(struct th_rec),
						 SLOT);
		th_rec_build((char *)k->r.pool + (size_t)slot * SLOT,
			     s->len[seq], 1, seq);
		out[i] = (struct zcs_msg_send){ .tag = seq, .flow = k->flow,
			.offset = (uint64_t)slot * SLOT, .len = s->len[seq] };
	}
	return i;
}

/* Check completions and give their slots back. */
static void take_done(struct slots *s, const struct zcs_msg_completion *v,
		      uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++) {
		TH_CHECK(v[i].tag < NRECS && !s->done[v[i].tag],
			 "completion tag %llu", (unsigned long long)v[i].tag);
		TH_EQ(v[i].result, s->len[v[i].tag]);
		s->done[v[i].tag] = 1;
		s->free[s->nfree++] = s->of_tag[v[i].tag];
	}
}

/*
 * NRECS records through an SQ of 16: submit while slots and SQ room last,
 * reap, sleep on the eventfd when nothing came back.
 */
static void data_path(void)
{
	static struct slots s;
	struct zcs_msg_send recs[INFLIGHT];
	struct zcs_msg_completion v[INFLIGHT];
	struct ring_client k;
	struct th_recv rv;
	char dest[64];
	uint64_t seq = 0, done = 0, end = th_now_ms() + 60000;
	uint32_t n, put;

	TH_EQ(th_recv_start(&rv, AF_INET, ZCS_PROTO_UDP, NRECS), 0);
	th_recv_dest(&rv, dest, sizeof(dest));
	client_open(&k, 16, dest);
	slots_init(&s);
	while (done < NRECS) {
		TH_CHECK(th_now_ms() < end, "%llu of %d done",
			 (unsigned long long)done, NRECS);
		n = build(&k, &s, seq, (uint32_t)(NRECS - seq < INFLIGHT
				       ? NRECS - seq : INFLIGHT), recs);
		put = th_rings_submit(&k.rg, recs, n);
		s.nfree += n - put;	/* what did not fit goes again */
		seq += put;
		n = th_rings_reap(&k.rg, v, INFLIGHT);
		take_done(&s, v, n);
		done += n;
		if (!n && !put)
			th_rings_wait(&k.rg, 1000);
	}
	TH_EQ(th_recv_wait(&rv, NRECS, 10000), 0);
	th_recv_stop(&rv);
	TH_CHECK(rv.errors == 0, "receiver: %s", rv.first_error);
	printf("data path: %d records, each byte checked; %llu wake-ups of "
	       "the daemon, %llu of the client\n", NRECS,
	       (unsigned long long)k.rg.wakeups,
	       (unsigned long long)k.rg.woken);
	th_recv_free(&rv);
	client_close(&k);
}

/* Pause @us microseconds with the daemon left alone. */
static void idle_us(unsigned us)
{
	struct timespec ts = { 0, (long)us * 1000 };

	if (us)
		nanosleep(&ts, NULL);
}

/*
 * Submit one record, then sleep on the eventfd until its completion: with
 * pauses from none (the daemon still polls) to 2 ms (it sleeps), every
 * round must end with the completion, never with the timeout.
 */
static void wakeups(void)
{
	static const unsigned pause_us[] = { 0, 10, 60, 200, 2000 };
	struct zcs_msg_completion v;
	struct zcs_msg_send rec;
	struct ring_client k;
	struct th_recv rv;
	char dest[64];
	uint32_t i;

	TH_EQ(th_recv_start(&rv, AF_INET, ZCS_PROTO_UDP, WAKE_ROUNDS), 0);
	th_recv_dest(&rv, dest, sizeof(dest));
	client_open(&k, 8, dest);
	for (i = 0; i < WAKE_ROUNDS; i++) {
		idle_us(pause_us[i % 5]);
		th_rec_build(k.r.pool, 256, 2, i);
		rec = (struct zcs_msg_send){ .tag = i, .flow = k.flow,
					     .len = 256 };
		TH_EQ(th_rings_submit(&k.rg, &rec, 1), 1);
		TH_CHECK(th_rings_wait(&k.rg, 5000) == 0,
			 "round %u: no completion within 5 s (lost wake-up)",
			 i);
		TH_EQ(th_rings_reap(&k.rg, &v, 1), 1);
		TH_EQ(v.tag, i);
		TH_EQ(v.result, 256);
	}
	TH_EQ(th_recv_wait(&rv, WAKE_ROUNDS, 10000), 0);
	th_recv_stop(&rv);
	TH_CHECK(rv.errors == 0, "receiver: %s", rv.first_error);
	TH_CHECK(k.rg.wakeups > 0 && k.rg.woken > 0,
		 "nobody slept: %llu daemon wake-ups, %llu client ones",
		 (unsigned long long)k.rg.wakeups,
		 (unsigned long long)k.rg.woken);
	printf("wake-ups: %d rounds, daemon woken %llu times, client %llu\n",
	       WAKE_ROUNDS, (unsigned long long)k.rg.wakeups,
	       (unsigned long long)k.rg.woken);
	th_recv_free(&rv);
	client_close(&k);
}

/* Bad records and the errors they must get; nothing of them is sent. */
static void scribbled(void)
{
	struct ring_client a, b;
	struct zcs_msg_send recs[8];
	struct zcs_msg_completion v[8 + 32];
	const int32_t want[8] = { -EINVAL, -EINVAL, -EMSGSIZE, -EBADF,
				  -ERANGE, -EMSGSIZE, -ERANGE, -EACCES };
	uint8_t junk[32 * sizeof(struct zcs_msg_send)];
	uint32_t i;

	client_open(&a, 8, "udp://127.0.0.1:9");
	client_open(&b, 64, "udp://127.0.0.1:9");
	for (i = 0; i < 8; i++)
		recs[i] = (struct zcs_msg_send){ .tag = 100 + i,
						 .flow = a.flow, .len = 64 };
	recs[0].flags = 1;
	recs[1].segment = 7;	/* without its flag */
	recs[2].len = 0;
	recs[3].flow = a.flow ^ (1u << 20);	/* another generation */
	recs[4].offset = POOL;
	recs[5].len = MAX_SEND + 1;
	recs[6].offset = UINT64_MAX - 10;
	recs[7].flow = b.flow;	/* another client's */
	TH_EQ(th_rings_submit(&a.rg, recs, 8), 8);
	TH_EQ(th_rings_completions(&a.rg, v, 8, 5000), 8);
	for (i = 0; i < 8; i++) {
		TH_EQ(v[i].tag, 100 + i);
		TH_EQ(v[i].result, want[i]);
	}
	/* Random bytes, flags forced non-zero: all fail, none is sent. */
	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 2654435761u >> 13);
	for (i = 0; i < 32; i++) {
		struct zcs_msg_send s;

		memcpy(&s, junk + i * sizeof(s), sizeof(s));
		s.flags |= 1;
		s.tag = 1000 + i;
		TH_CHECK(th_rings_submit(&b.rg, &s, 1) == 1, "submit junk");
	}
	TH_EQ(th_rings_completions(&b.rg, v, 32, 5000), 32);
	for (i = 0; i < 32; i++)
		TH_CHECK(v[i].result < 0 && v[i].tag >= 1000 && v[i].tag < 1032,
			 "junk record %u: tag %llu result %d", i,
			 (unsigned long long)v[i].tag, v[i].result);
	TH_EQ(th_rings_reap(&b.rg, v, 1), 0);
	client_close(&a);
	client_close(&b);
	printf("scribbled records: 40 error completions, right errors\n");
}

/* STATUS: this client's ring, and the daemon's totals. */
static void status(void)
{
	struct zcs_status_daemon sd;
	struct zcs_status_client sc;
	struct zcs_msg_send rec = { .tag = 5, .len = 100 };
	struct zcs_msg_completion v;
	struct ring_client k;
	struct th_raw s;
	unsigned clients, dests;

	client_open(&k, 32, "udp://127.0.0.1:9");
	rec.flow = k.flow;
	TH_EQ(th_rings_submit(&k.rg, &rec, 1), 1);
	TH_EQ(th_rings_completions(&k.rg, &v, 1, 5000), 1);
	TH_EQ(th_raw_connect(&s, daemon_.sock), 0);
	TH_EQ(th_raw_hello(&s, 0, "status"), 0);
	TH_EQ(th_raw_status_client(&s, k.r.ok.client_id, &sc), 0);
	TH_CHECK(sc.flags & ZCS_CLIENT_F_RINGS, "flags %#x", sc.flags);
	TH_EQ(sc.ring_entries, 32);
	TH_EQ(sc.rings.records, 1);
	TH_EQ(sc.st.completions, 1);
	TH_EQ(th_raw_status(&s, &sd, &clients, &dests), 0);
	TH_EQ(sd.poll_usec, 50);
	TH_CHECK(sd.rings.records >= NRECS + WAKE_ROUNDS + 40 + 1,
		 "daemon ring records %llu",
		 (unsigned long long)sd.rings.records);
	TH_CHECK(sd.rings.wakeups_in > 0 && sd.rings.wakeups_out > 0,
		 "daemon wake-ups in %llu out %llu",
		 (unsigned long long)sd.rings.wakeups_in,
		 (unsigned long long)sd.rings.wakeups_out);
	printf("status: daemon rings: %llu records, %llu wake-ups in, %llu "
	       "out, %llu us polling\n",
	       (unsigned long long)sd.rings.records,
	       (unsigned long long)sd.rings.wakeups_in,
	       (unsigned long long)sd.rings.wakeups_out,
	       (unsigned long long)sd.rings.poll_ns / 1000);
	th_raw_close(&s);
	client_close(&k);
}

int main(void)
{
	char conf[256];
	const char *args[] = { "-c", conf, NULL };

	th_conf_write(conf, sizeof(conf),
		      "[daemon]\nmax_inflight = %u\nmax_send_bytes = %u\n"
		      "poll_usec = 50\nallow_adhoc = yes\n\n[defaults]\nflush = batch\n",
		      INFLIGHT, MAX_SEND);
	th_daemon_start(&daemon_, args);
	granted_sizes();
	data_path();
	wakeups();
	scribbled();
	status();
	TH_CHECK(th_daemon_alive(&daemon_), "daemon died");
	TH_EQ(th_daemon_stop(&daemon_), 0);
	return 0;
}
