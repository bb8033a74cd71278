/* SPDX-License-Identifier: MIT */
/*
 * --fairness: is one client's send held by another's? A canary (1,000-byte
 * datagrams, one in flight, to a destination of its own) is timed alone
 * and beside each flood: 60 KB records, and 64 KB records cut into 16-byte
 * datagrams, each over the socket and over the rings, 32 records in
 * flight, to a loopback receiver that never reads (the receiving stack
 * cuts a GSO send into its datagrams). Each flood's throughput is taken
 * alone and beside the canary.
 * Then equal clients (1 KB, one in flight) share the daemon: all on the
 * socket, all on rings, half each. Every client is a process of its own.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

#define FAIR_CANARY_SIZE	1000u
#define FAIR_EQUAL_SIZE		1024u
#define FAIR_FLOOD_NR		32u
#define FAIR_SEG_RECORD		65536u	/* 4,096 datagrams of 16 bytes */
#define FAIR_SEG_SIZE		16u
#define FAIR_PLAIN_SIZE		61440u	/* 60 KB */
#define FAIR_CANARY_LAT		(1u << 22)
#define FAIR_EQUAL_LAT		(1u << 17)
#define FAIR_SMALL_POOL		(1u << 20)
#define FAIR_FLOOD_POOL		(4u << 20)
#define FAIR_WARMUP_S		0.2	/* a flood running before it is timed */
#define FAIR_READY_S		30.0	/* clients connecting, at most */

const char *const fairness_floods[FAIR_NFLOODS] = {
	"plain_socket", "plain_ring", "seg_socket", "seg_ring",
};
const char *const fairness_runs[FAIR_NRUNS] = { "socket", "ring", "mixed" };
const char *const fairness_transports[2] = { "socket", "ring" };

/* Flood @i: plain (0, 1) or segmented (2, 3), socket (even) or ring. */
static void flood_spec(unsigned i, struct peer_spec *sp)
{
	memset(sp, 0, sizeof(*sp));
	sp->transport = fairness_transports[i % 2];
	sp->dest = "fld";
	sp->size = i < 2 ? FAIR_PLAIN_SIZE : FAIR_SEG_RECORD;
	sp->segment = i < 2 ? 0 : FAIR_SEG_SIZE;
	sp->pool = FAIR_FLOOD_POOL;
	sp->nr = FAIR_FLOOD_NR;
	sp->drain = 1;
}

/* Sleep @secs; -EINTR when the run is interrupted. */
static int fair_sleep(double secs)
{
	struct timespec ts = {
		.tv_sec = (time_t)secs,
		.tv_nsec = (long)((secs - (double)(time_t)secs) * 1e9),
	};

	while (!bench_stop && nanosleep(&ts, &ts) && errno == EINTR)
		;
	return bench_stop ? -EINTR : 0;
}

/* The flood's MB/s and records/s over what @fn does. */
static int flood_rate(struct peer *f, int (*fn)(void *), void *arg,
		      double *mb_s, double *rec_s)
{
	uint64_t s0, b0, s1, b1;
	double t0, secs;
	int err;

	peer_counts(f, &s0, &b0);
	t0 = meter_now();
	err = fn(arg);
	secs = meter_now() - t0;
	peer_counts(f, &s1, &b1);
	*mb_s = (double)(b1 - b0) / secs / 1e6;
	if (rec_s)
		*rec_s = (double)(s1 - s0) / secs;
	return err;
}

/* A canary's timed window, handed to flood_rate. */
struct cwin {
	struct bench *b;
	struct peer *canary;
};

static int canary_window(void *arg)
{
	struct cwin *w = arg;
	int err;

	peer_record(w->canary, 1);
	err = fair_sleep(w->b->seconds);
	peer_record(w->canary, 0);
	return err;
}

static int alone_window(void *arg)
{
	return fair_sleep(((struct bench *)arg)->seconds);
}

/* The canary on transport @t, timed for b->seconds; beside flood @f
 * (NULL: alone), whose MB/s meanwhile go to @mb_s. */
static int canary_run(struct bench *b, unsigned t, struct peer *f,
		      double *mb_s, struct peer_lat *out)
{
	struct peer_spec sp = {
		.transport = fairness_transports[t], .dest = "can",
		.size = FAIR_CANARY_SIZE, .pool = FAIR_SMALL_POOL, .nr = 1,
		.lat_cap = FAIR_CANARY_LAT, .hold = 1,
	};
	struct cwin w = { .b = b };
	int err, serr;

	err = peer_spawn(b, &sp, &w.canary);
	if (err)
		return err;
	err = peer_ready(w.canary, meter_now() + FAIR_READY_S);
	if (!err && f)
		err = flood_rate(f, canary_window, &w, mb_s, NULL);
	else if (!err)
		err = canary_window(&w);
	serr = peer_stop(w.canary);
	peer_lat(w.canary, out);
	peer_free(w.canary);
	return err ? err : serr;
}

/* Flood @i: alone, then beside the canary on each transport. */
static int flood_run(struct bench *b, unsigned i, struct fair_round *r,
		     struct fair_errs *e)
{
	struct fair_flood *ff = &r->flood[i];
	struct peer_spec sp;
	struct peer *f;
	unsigned t;
	int err, cerr;

	flood_spec(i, &sp);
	err = peer_spawn(b, &sp, &f);
	if (err)
		return err;
	err = peer_ready(f, meter_now() + FAIR_READY_S);
	if (!err)
		err = fair_sleep(FAIR_WARMUP_S);
	if (!err)
		err = flood_rate(f, alone_window, b, &ff->alone_mb_s,
				 &ff->alone_rec_s);
	for (t = 0; !err && t < 2; t++) {
		cerr = canary_run(b, t, f, &ff->beside_mb_s[t],
				  &r->canary[t][1 + i]);
		if (cerr && !e->canary[t][1 + i])
			e->canary[t][1 + i] = cerr;
		err = cerr == -EINTR ? cerr : 0;
	}
	cerr = peer_stop(f);
	peer_free(f);
	return err ? err : cerr;
}

/* Spawn the run's @n equal clients and wait until all are connected. */
static int equal_spawn(struct bench *b, unsigned run, struct peer **ps,
		       unsigned n)
{
	struct peer_spec sp = {
		.dest = "imm", .size = FAIR_EQUAL_SIZE,
		.pool = FAIR_SMALL_POOL, .nr = 1, .lat_cap = FAIR_EQUAL_LAT,
		.hold = 1,
	};
	double deadline = meter_now() + FAIR_READY_S;
	unsigned i;
	int err = 0;

	for (i = 0; !err && i < n; i++) {
		sp.transport = fairness_transports[run < 2 ? run : i % 2];
		err = peer_spawn(b, &sp, &ps[i]);
	}
	for (i = 0; !err && i < n; i++)
		err = peer_ready(ps[i], deadline);
	return err;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, unsigned n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_dbl);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The clients of transport @t among @n: their spread, into @q. */
static void equal_sum(struct peer **ps, unsigned n, unsigned run, unsigned t,
		      const double *sends, double secs, struct fair_equal *q)
{
	double p99[BENCH_FAIR_CLIENTS_MAX];
	struct peer_lat l;
	unsigned i, k = 0;

	memset(q, 0, sizeof(*q));
	for (i = 0; i < n; i++) {
		if ((run < 2 ? run : i % 2) != t)
			continue;
		peer_lat(ps[i], &l);
		p99[k++] = l.p99_us;
		q->sends_s += sends[i] / secs;
		if (!q->min || sends[i] < q->min)
			q->min = sends[i];
		if (sends[i] > q->max)
			q->max = sends[i];
		if (l.p99_us > q->p99_max_us)
			q->p99_max_us = l.p99_us;
	}
	q->clients = k;
	q->p99_med_us = median(p99, k);
}

/* Run @run: every client timed over the same window. */
static int equal_window(struct bench *b, struct peer **ps, unsigned n,
			unsigned run, struct fair_equal q[2])
{
	double sends[BENCH_FAIR_CLIENTS_MAX], t0, secs;
	uint64_t s, by;
	unsigned i;
	int err, serr;

	for (i = 0; i < n; i++)
		peer_record(ps[i], 1);
	t0 = meter_now();
	err = fair_sleep(b->seconds);
	for (i = 0; i < n; i++) {
		peer_record(ps[i], 0);
		peer_counts(ps[i], &s, &by);
		sends[i] = (double)s;
	}
	secs = meter_now() - t0;
	for (i = 0; i < n; i++) {
		serr = peer_stop(ps[i]);
		err = err ? err : serr;
	}
	for (i = 0; !err && i < 2; i++)
		equal_sum(ps, n, run, i, sends, secs, &q[i]);
	return err;
}

static int equal_run(struct bench *b, unsigned run, struct fair_equal q[2])
{
	unsigned n = b->fair_clients, i;
	struct peer **ps = calloc(n, sizeof(*ps));
	int err;

	if (!ps)
		return -ENOMEM;
	err = equal_spawn(b, run, ps, n);
	if (!err)
		err = equal_window(b, ps, n, run, q);
	for (i = 0; i < n; i++)
		peer_free(ps[i]);
	free(ps);
	return err;
}

/* One round: the canaries alone, each flood, the equal clients. A part
 * that fails keeps its error and the others go on; only an interrupt
 * stops the round. */
static int fair_round(struct bench *b, struct fair_round *r,
		      struct fair_errs *e)
{
	unsigned i;
	int err = 0;

	for (i = 0; err != -EINTR && i < 2; i++) {
		err = canary_run(b, i, NULL, NULL, &r->canary[i][0]);
		if (err && !e->canary[i][0])
			e->canary[i][0] = err;
	}
	for (i = 0; err != -EINTR && i < FAIR_NFLOODS; i++) {
		err = flood_run(b, i, r, e);
		if (err && !e->flood[i])
			e->flood[i] = err;
	}
	for (i = 0; err != -EINTR && i < FAIR_NRUNS; i++) {
		err = equal_run(b, i, r->equal[i]);
		if (err && !e->equal[i])
			e->equal[i] = err;
	}
	return err == -EINTR ? err : 0;
}

/* Every field of struct fair_round is a double: the median over rounds,
 * field by field, into rounds[0]. */
#define FAIR_NFIELDS	(sizeof(struct fair_round) / sizeof(double))
_Static_assert(sizeof(struct fair_round) % sizeof(double) == 0,
	       "struct fair_round holds doubles only");

static void fair_medians(struct fair_round *rs, unsigned n)
{
	double v[BENCH_ROUNDS_MAX], out[FAIR_NFIELDS];
	const double *f;
	unsigned i, k;

	for (i = 0; i < FAIR_NFIELDS; i++) {
		for (k = 0; k < n; k++) {
			f = (const double *)&rs[k];
			v[k] = f[i];
		}
		out[i] = median(v, n);
	}
	memcpy(&rs[0], out, sizeof(out));
}

/**
 * fairness_run - --fairness: b->rounds rounds, then the medians reported.
 * Return: 0 (failed parts are reported as such) or -EINTR / -ENOMEM.
 */
int fairness_run(struct bench *b)
{
	struct fair_round *rs = calloc(b->rounds, sizeof(*rs));
	struct fair_errs e;
	unsigned k;
	int err = 0;

	if (!rs)
		return -ENOMEM;
	memset(&e, 0, sizeof(e));
	for (k = 0; !err && k < b->rounds; k++)
		err = fair_round(b, &rs[k], &e);
	if (!err) {
		fair_medians(rs, b->rounds);
		report_fair(b, &rs[0], &e);
	}
	free(rs);
	return err;
}
