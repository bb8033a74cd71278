/* SPDX-License-Identifier: MIT */
/*
 * --clients-idle N[,N...]: what connected clients that do nothing cost
 * the active ones and the daemon. Idle ring clients are connected step by
 * step up to each N (each gets a pool of the library's default size and
 * rings, and opens a flow, then sends nothing); at each step the daemon's
 * memory is read against its memory with none (per idle client), the
 * connects are timed, and the --latency rows (1 KB) and the 64 KB nr8
 * rows are measured beside them.
 */
#include <sys/resource.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zcsend.h"
#include "bench.h"

#define CI_LAT_SIZE	1024u	/* the --latency rows' size */
#define CI_SETTLE_S	0.2	/* after connecting, before reading memory */

/* The rows, as in --latency and the throughput table. */
static const struct row_def ci_rows[] = {
	{ "latency uring_zc_nr1", rows_uring_zc, 1, NULL, NULL },
	{ "latency zcsendd_socket_nr1", rows_daemon_zcs, 1, "imm", "socket" },
	{ "latency zcsendd_ring_nr1", rows_daemon_zcs, 1, "imm", "ring" },
	{ "uring_zc_nr8", rows_uring_zc, 8, NULL, NULL },
	{ "zcsendd_batch_nr8", rows_daemon_zcs, 8, "bat", "socket" },
	{ "zcsendd_ring_nr8", rows_daemon_zcs, 8, "bat", "ring" },
};

#define CI_NROWS	(sizeof(ci_rows) / sizeof(ci_rows[0]))

/* One row's medians over rounds. */
struct ci_row {
	double p50_us, p99_us, msgs_s, mb_s;
	int err;
};

/* One step: N idle clients connected. */
struct ci_step {
	unsigned n;
	double conn_p50_ms, conn_p99_ms, conn_max_ms;	/* this step's */
	struct daemon_mem mem;
	struct ci_row rows[CI_NROWS];
	int err;
};

/* The run: the clients so far and their connect times. */
struct ci_run {
	struct zcs_client **cs;
	double *conn_ms;
	unsigned n;
	struct lat *lat;
	struct daemon_mem mem0;	/* no client connected */
};

static void ci_report(const struct bench *b, const struct ci_run *c,
		      const struct ci_step *st, unsigned n);

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile @q (0..1) of @n values, sorted in place. */
static double pct(double *v, unsigned n, double q)
{
	size_t k = (size_t)(q * n + 0.5);

	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_dbl);
	k = k ? k - 1 : 0;
	return v[k < n ? k : n - 1];
}

/* One idle ring client: connect, open a flow, nothing more. */
static int ci_connect(struct bench *b, struct ci_run *c)
{
	struct zcs_client *cl;
	uint32_t flow;
	double t0 = meter_now();
	int err;

	err = rows_daemon_connect(b, "ring", 0, &cl);
	if (err)
		return err;
	err = zcs_flow_open(cl, "imm", &flow);
	if (err < 0) {
		zcs_close(cl);
		return err;
	}
	c->conn_ms[c->n] = (meter_now() - t0) * 1e3;
	c->cs[c->n++] = cl;
	return 0;
}

/* Connect up to st->n, then time and weigh the step. */
static int ci_grow(struct bench *b, struct ci_run *c, struct ci_step *st)
{
	struct timespec ts = { 0, (long)(CI_SETTLE_S * 1e9) };
	unsigned first = c->n;
	int err = 0;

	while (!err && c->n < st->n && !bench_stop)
		err = ci_connect(b, c);
	if (err) {
		fprintf(stderr, "zcsend-bench: idle client %u of %u: %s\n",
			c->n + 1, st->n, strerror(-err));
		return err;
	}
	if (bench_stop)
		return -EINTR;
	nanosleep(&ts, NULL);
	st->conn_max_ms = pct(c->conn_ms + first, c->n - first, 1.0);
	st->conn_p50_ms = pct(c->conn_ms + first, c->n - first, 0.5);
	st->conn_p99_ms = pct(c->conn_ms + first, c->n - first, 0.99);
	return daemon_mem(b, &st->mem);
}

/* Row @i once, at its size, latency recorded for the latency rows. */
static void ci_row_once(struct bench *b, struct ci_run *c, unsigned i,
			size_t rate_size, struct sample *s)
{
	int lat = !strncmp(ci_rows[i].name, "latency ", 8);

	memset(s, 0, sizeof(*s));
	b->size = lat ? CI_LAT_SIZE : rate_size;
	b->lat = lat ? c->lat : NULL;
	lat_reset(b->lat);
	s->err = ci_rows[i].run(b, &ci_rows[i], s);
	lat_summary(b->lat, s);
	b->lat = NULL;
	b->size = rate_size;
	if (s->err && !bench_stop)
		fprintf(stderr, "zcsend-bench: row %s: %s\n", ci_rows[i].name,
			strerror(-s->err));
}

/* The medians of row @i's rounds @sm into @r. */
static void ci_row_median(const struct sample *sm, unsigned rounds,
			  struct ci_row *r)
{
	double v[4][BENCH_ROUNDS_MAX];
	unsigned k;

	for (k = 0; k < rounds; k++) {
		if (sm[k].err) {
			r->err = sm[k].err;
			return;
		}
		v[0][k] = sm[k].p50_us;
		v[1][k] = sm[k].p99_us;
		v[2][k] = (double)sm[k].msgs / sm[k].secs;
		v[3][k] = (double)sm[k].bytes / sm[k].secs / 1e6;
	}
	r->p50_us = pct(v[0], rounds, 0.5);
	r->p99_us = pct(v[1], rounds, 0.5);
	r->msgs_s = pct(v[2], rounds, 0.5);
	r->mb_s = pct(v[3], rounds, 0.5);
}

/* Every row, round by round, beside the step's idle clients. */
static int ci_measure(struct bench *b, struct ci_run *c, struct ci_step *st)
{
	struct sample *sm = calloc((size_t)CI_NROWS * b->rounds, sizeof(*sm));
	size_t rate_size = b->size;
	unsigned i, k;

	if (!sm)
		return -ENOMEM;
	for (k = 0; k < b->rounds && !bench_stop; k++)
		for (i = 0; i < CI_NROWS && !bench_stop; i++)
			ci_row_once(b, c, i, rate_size,
				    &sm[i * b->rounds + k]);
	for (i = 0; i < CI_NROWS && !bench_stop; i++)
		ci_row_median(&sm[i * b->rounds], b->rounds, &st->rows[i]);
	free(sm);
	return bench_stop ? -EINTR : 0;
}

/* Each idle client holds a few descriptors here (socket, pool, rings'
 * eventfds): the soft RLIMIT_NOFILE goes up to the hard one. */
static void ci_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
}

static int ci_open(struct bench *b, struct ci_run *c)
{
	unsigned max = b->ci_steps[b->nci_steps - 1];

	memset(c, 0, sizeof(*c));
	ci_nofile();
	c->cs = calloc(max, sizeof(*c->cs));
	c->conn_ms = calloc(max, sizeof(*c->conn_ms));
	c->lat = lat_new(1, BENCH_LAT_MAX);
	if (!c->cs || !c->conn_ms || !c->lat)
		return -ENOMEM;
	return daemon_mem(b, &c->mem0);
}

static void ci_close(struct ci_run *c)
{
	unsigned i;

	for (i = 0; i < c->n; i++)
		zcs_close(c->cs[i]);
	free(c->cs);
	free(c->conn_ms);
	lat_free(c->lat);
}

/**
 * idle_clients_run - --clients-idle: each step of b->ci_steps in turn
 * (clients are added, never dropped), then the report.
 * Return: 0, or -errno of a step that could not be set up.
 */
int idle_clients_run(struct bench *b)
{
	struct ci_step st[BENCH_CI_STEPS_MAX];
	struct ci_run c;
	unsigned k;
	int err;

	memset(st, 0, sizeof(st));
	err = ci_open(b, &c);
	for (k = 0; !err && k < b->nci_steps; k++) {
		st[k].n = b->ci_steps[k];
		err = ci_grow(b, &c, &st[k]);
		if (!err)
			err = ci_measure(b, &c, &st[k]);
	}
	if (!err || (err != -EINTR && k > 1))
		ci_report(b, &c, st, err ? k - 1 : k);
	ci_close(&c);
	return err;
}

/* Memory per idle client, KiB: the step's less none, over N. */
static double per_client(double now_kb, double base_kb, unsigned n)
{
	return n ? (now_kb - base_kb) / n : 0;
}

/* One row of a step; the throughput rows time no single send. */
static void ci_row_line(const struct ci_step *st, unsigned i)
{
	const struct ci_row *r = &st->rows[i];

	printf("%6u %-28s ", st->n, ci_rows[i].name);
	if (!strncmp(ci_rows[i].name, "latency ", 8))
		printf("%10.1f %10.1f", r->p50_us, r->p99_us);
	else
		printf("%10s %10s", "-", "-");
	printf(" %12.0f %10.1f\n", r->msgs_s, r->mb_s);
}

static void ci_table(const struct bench *b, const struct ci_run *c,
		     const struct ci_step *st, unsigned n)
{
	const struct daemon_mem *m0 = &c->mem0;
	unsigned k, i;

	report_header(b, " --clients-idle");
	printf("daemon with no client: RSS %.0f KiB, Pss %.0f KiB, Pss_Shmem "
	       "%.0f KiB\n", m0->rss_kb, m0->pss_kb, m0->pss_shmem_kb);
	printf("%6s %8s %8s %8s %10s %10s %10s %9s %9s %9s\n", "idle",
	       "conn p50", "p99 ms", "max ms", "RSS KiB", "Pss KiB",
	       "Shmem KiB", "RSS/cl", "Pss/cl", "Shmem/cl");
	for (k = 0; k < n; k++)
		printf("%6u %8.2f %8.2f %8.2f %10.0f %10.0f %10.0f %9.1f "
		       "%9.1f %9.1f\n", st[k].n, st[k].conn_p50_ms,
		       st[k].conn_p99_ms, st[k].conn_max_ms, st[k].mem.rss_kb,
		       st[k].mem.pss_kb, st[k].mem.pss_shmem_kb,
		       per_client(st[k].mem.rss_kb, m0->rss_kb, st[k].n),
		       per_client(st[k].mem.pss_kb, m0->pss_kb, st[k].n),
		       per_client(st[k].mem.pss_shmem_kb, m0->pss_shmem_kb,
				  st[k].n));
	printf("%6s %-28s %10s %10s %12s %10s\n", "idle", "row", "p50 us",
	       "p99 us", "msgs/s", "MB/s");
	for (k = 0; k < n; k++)
		for (i = 0; i < CI_NROWS; i++)
			if (st[k].rows[i].err)
				printf("%6u %-28s failed: %s\n", st[k].n,
				       ci_rows[i].name,
				       strerror(-st[k].rows[i].err));
			else
				ci_row_line(&st[k], i);
}

static void ci_json_step(const struct ci_run *c, const struct ci_step *s)
{
	const struct daemon_mem *m0 = &c->mem0;
	unsigned i;

	printf("{\"clients\": %u, \"connect_p50_ms\": %.3f, "
	       "\"connect_p99_ms\": %.3f, \"connect_max_ms\": %.3f, "
	       "\"rss_kb\": %.0f, \"pss_kb\": %.0f, \"pss_shmem_kb\": %.0f, "
	       "\"per_client_rss_kb\": %.2f, \"per_client_pss_kb\": %.2f, "
	       "\"per_client_shmem_kb\": %.2f, \"rows\": [", s->n,
	       s->conn_p50_ms, s->conn_p99_ms, s->conn_max_ms, s->mem.rss_kb,
	       s->mem.pss_kb, s->mem.pss_shmem_kb,
	       per_client(s->mem.rss_kb, m0->rss_kb, s->n),
	       per_client(s->mem.pss_kb, m0->pss_kb, s->n),
	       per_client(s->mem.pss_shmem_kb, m0->pss_shmem_kb, s->n));
	for (i = 0; i < CI_NROWS; i++) {
		printf("%s\n    {\"name\": \"%s\", \"p50_us\": %.2f, "
		       "\"p99_us\": %.2f, \"msgs_s\": %.1f, \"mb_s\": %.3f",
		       i ? "," : "", ci_rows[i].name, s->rows[i].p50_us,
		       s->rows[i].p99_us, s->rows[i].msgs_s, s->rows[i].mb_s);
		if (s->rows[i].err)
			printf(", \"error\": \"%s\"",
			       strerror(-s->rows[i].err));
		printf("}");
	}
	printf("]}");
}

static void ci_report(const struct bench *b, const struct ci_run *c,
		      const struct ci_step *st, unsigned n)
{
	unsigned k;

	if (!b->json) {
		ci_table(b, c, st, n);
		return;
	}
	printf("{\"mode\": \"clients_idle\", \"sink\": \"%s\", \"size\": %zu, "
	       "\"seconds\": %g, \"rounds\": %u, \"rss0_kb\": %.0f, "
	       "\"pss0_kb\": %.0f, \"pss_shmem0_kb\": %.0f, \"steps\": [",
	       b->sink == SINK_IFB ? "ifb" : "loopback", b->size, b->seconds,
	       b->rounds, c->mem0.rss_kb, c->mem0.pss_kb,
	       c->mem0.pss_shmem_kb);
	for (k = 0; k < n; k++) {
		printf("%s\n  ", k ? "," : "");
		ci_json_step(c, &st[k]);
	}
	printf("\n]}\n");
}
