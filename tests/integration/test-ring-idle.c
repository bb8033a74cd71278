/* SPDX-License-Identifier: MIT */
/*
 * Idle ring clients cost the daemon nothing. NIDLE clients each send one
 * record and then sit still while another client sends thousands: the
 * daemon must never touch their control words meanwhile (their
 * NEED_WAKEUP flag, set when the daemon first slept, stays set the whole
 * time, watched by a thread; their daemon_beat does not move), so a turn
 * costs what the active client costs. Then, all idle, the daemon must
 * not run for a second but for its status tick: no CPU time to speak of,
 * no ring wake-up either way.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "zcs_ring.h"

#define NIDLE		100
#define POOL		(64u << 10)
#define ACTIVE_RECS	3000
#define LEN		512

static struct th_daemon daemon_;

struct ring_client {
	struct th_raw r;
	struct th_rings rg;
	uint32_t flow;
};

static struct ring_client idle[NIDLE];
static atomic_int sampling;
static uint64_t samples, cleared;	/* the sampler's, read after join */

static void client_open(struct ring_client *k, const char *dest)
{
	long flow;

	TH_EQ(th_raw_connect(&k->r, daemon_.sock), 0);
	TH_EQ(th_raw_hello_rings(&k->r, POOL, 8, "idle", &k->rg), 0);
	flow = th_raw_flow_open(&k->r, dest);
	TH_CHECK(flow >= 0, "flow open %s: %ld", dest, flow);
	k->flow = (uint32_t)flow;
}

/* One record through @k's ring and its completion back. */
static void one_send(struct ring_client *k, uint64_t tag)
{
	struct zcs_msg_send rec = { .tag = tag, .flow = k->flow, .len = LEN };
	struct zcs_msg_completion v;

	th_rec_build(k->r.pool, LEN, 9, tag);
	TH_EQ(th_rings_submit(&k->rg, &rec, 1), 1);
	TH_EQ(th_rings_completions(&k->rg, &v, 1, 10000), 1);
	TH_EQ(v.tag, tag);
	TH_EQ(v.result, LEN);
}

static int flag_set(const struct ring_client *k)
{
	return zcs_ring_flag_test(&k->rg.ctl->daemon_flags,
				  ZCS_RING_NEED_WAKEUP);
}

/* Every idle ring says NEED_WAKEUP: the daemon slept since they sent. */
static void wait_all_flagged(void)
{
	uint64_t end = th_now_ms() + 10000;
	int i, n;

	do {
		for (i = 0, n = 0; i < NIDLE; i++)
			n += flag_set(&idle[i]);
		if (n == NIDLE)
			return;
		th_sleep_ms(10);
	} while (th_now_ms() < end);
	TH_CHECK(0, "only %d of %d idle rings have NEED_WAKEUP after 10 s", n,
		 NIDLE);
}

/* Look at every idle ring's flag, over and over, until told to stop. */
static void *sampler(void *arg)
{
	int i;

	(void)arg;
	while (atomic_load(&sampling)) {
		for (i = 0; i < NIDLE; i++) {
			samples++;
			cleared += !flag_set(&idle[i]);
		}
	}
	return NULL;
}

/* The active client: one record at a time, the daemon polling between. */
static void active_traffic(void)
{
	struct ring_client k;
	struct th_recv rv;
	char dest[64];
	uint32_t i;

	TH_EQ(th_recv_start(&rv, AF_INET, ZCS_PROTO_UDP, ACTIVE_RECS), 0);
	th_recv_dest(&rv, dest, sizeof(dest));
	client_open(&k, dest);
	for (i = 0; i < ACTIVE_RECS; i++) {
		struct zcs_msg_send rec = { .tag = i, .flow = k.flow,
					    .len = LEN };
		struct zcs_msg_completion v;

		th_rec_build(k.r.pool, LEN, 2, i);
		TH_EQ(th_rings_submit(&k.rg, &rec, 1), 1);
		TH_EQ(th_rings_completions(&k.rg, &v, 1, 10000), 1);
		TH_EQ(v.result, LEN);
	}
	TH_EQ(th_recv_wait(&rv, ACTIVE_RECS, 10000), 0);
	th_recv_stop(&rv);
	TH_CHECK(rv.errors == 0, "receiver: %s", rv.first_error);
	th_recv_free(&rv);
	th_rings_close(&k.rg);
	th_raw_close(&k.r);
}

/* Idle rings untouched while another client works. */
static void untouched(void)
{
	uint32_t beat[NIDLE];
	pthread_t t;
	int i;

	wait_all_flagged();
	for (i = 0; i < NIDLE; i++)
		beat[i] = zcs_ring_peek(&idle[i].rg.ctl->daemon_beat);
	atomic_store(&sampling, 1);
	TH_EQ(pthread_create(&t, NULL, sampler, NULL), 0);
	active_traffic();
	atomic_store(&sampling, 0);
	pthread_join(t, NULL);
	printf("idle rings: %llu looks at their NEED_WAKEUP during %d sends "
	       "of another client, %llu found it cleared\n",
	       (unsigned long long)samples, ACTIVE_RECS,
	       (unsigned long long)cleared);
	TH_CHECK(cleared == 0, "the daemon cleared NEED_WAKEUP of idle rings "
		 "(%llu of %llu looks): it walks every ring",
		 (unsigned long long)cleared, (unsigned long long)samples);
	for (i = 0; i < NIDLE; i++)
		TH_CHECK(zcs_ring_peek(&idle[i].rg.ctl->daemon_beat) == beat[i],
			 "idle ring %d: the daemon beat in it", i);
}

/* "voluntary" + "nonvoluntary" context switches, and utime + stime. */
static void daemon_runs(uint64_t *switches, uint64_t *ticks)
{
	char path[64], line[256];
	unsigned long long v, u, s;
	FILE *f;

	*switches = 0;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)daemon_.pid);
	f = fopen(path, "re");
	TH_CHECK(f, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "voluntary_ctxt_switches: %llu", &v) == 1 ||
		    sscanf(line, "nonvoluntary_ctxt_switches: %llu", &v) == 1)
			*switches += v;
	fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)daemon_.pid);
	f = fopen(path, "re");
	TH_CHECK(f && fgets(line, sizeof(line), f), "%s", path);
	fclose(f);
	/* After "(comm) ", fields 3..: utime is the 14th, stime the 15th. */
	TH_CHECK(sscanf(strrchr(line, ')') + 2, "%*c %*d %*d %*d %*d %*d %*u "
			"%*u %*u %*u %*u %llu %llu", &u, &s) == 2, "stat");
	*ticks = u + s;
}

/* All quiet: the daemon must not run at all. */
static void idle_daemon(void)
{
	struct zcs_status_daemon s0, s1;
	uint64_t sw0, sw1, t0, t1;
	unsigned clients, dests;
	struct th_raw st;

	TH_EQ(th_raw_connect(&st, daemon_.sock), 0);
	TH_EQ(th_raw_hello(&st, 0, "status"), 0);
	TH_EQ(th_raw_status(&st, &s0, &clients, &dests), 0);
	th_sleep_ms(1000);	/* the STATUS reply's own events settle, on a
				 * loaded host too (300 ms saw 4 wake-ups) */
	daemon_runs(&sw0, &t0);
	th_sleep_ms(1000);
	daemon_runs(&sw1, &t1);
	TH_EQ(th_raw_status(&st, &s1, &clients, &dests), 0);
	printf("idle daemon with %u clients: %llu context switches, %llu "
	       "ticks of CPU in 1 s\n", clients,
	       (unsigned long long)(sw1 - sw0), (unsigned long long)(t1 - t0));
	/* Its one timer: the status tick for systemd, once a second. */
	TH_CHECK(sw1 - sw0 <= 3, "the idle daemon ran %llu times in 1 s",
		 (unsigned long long)(sw1 - sw0));
	TH_CHECK(t1 - t0 <= 1, "the idle daemon took %llu ticks of CPU",
		 (unsigned long long)(t1 - t0));
	TH_EQ(s1.rings.wakeups_in, s0.rings.wakeups_in);
	TH_EQ(s1.rings.wakeups_out, s0.rings.wakeups_out);
	th_raw_close(&st);
}

int main(void)
{
	char conf[256];
	const char *args[] = { "-c", conf, NULL };
	struct th_recv rv;
	char dest[64];
	int i;

	th_conf_write(conf, sizeof(conf),
		      "[daemon]\nmax_clients = %d\npool_total_bytes = %u\n"
		      "poll_usec = 1000\nallow_adhoc = yes\n"
		      /* its timer, armed at connect, would fire once idle */
		      "hello_timeout_ms = 600000\n",
		      NIDLE + 8, (NIDLE + 8) * POOL);
	th_daemon_start(&daemon_, args);
	TH_EQ(th_recv_start(&rv, AF_INET, ZCS_PROTO_UDP, NIDLE), 0);
	th_recv_dest(&rv, dest, sizeof(dest));
	for (i = 0; i < NIDLE; i++) {
		client_open(&idle[i], dest);
		one_send(&idle[i], (uint64_t)i);
	}
	TH_EQ(th_recv_wait(&rv, NIDLE, 10000), 0);
	th_recv_stop(&rv);
	th_recv_free(&rv);
	untouched();
	idle_daemon();
	for (i = 0; i < NIDLE; i++) {
		th_rings_close(&idle[i].rg);
		th_raw_close(&idle[i].r);
	}
	TH_CHECK(th_daemon_alive(&daemon_), "daemon died");
	TH_EQ(th_daemon_stop(&daemon_), 0);
	return 0;
}
