/* SPDX-License-Identifier: MIT */
/*
 * Output of --fairness: per canary transport its latency alone and beside
 * each flood, with the ratio to alone and each flood's throughput beside
 * it against alone (the targets are those ratios); then the equal
 * clients' spread. Or the same as one JSON object.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

static double fin(double v)
{
	return isfinite(v) ? v : 0.0;
}

static double ratio(double num, double den)
{
	return den > 0 ? num / den : 0;
}

/* Canary @t beside flood @i (-1: alone): one table line. */
static void canary_line(const struct fair_round *r, const struct fair_errs *e,
			unsigned t, int i)
{
	const struct peer_lat *l = &r->canary[t][i + 1];
	const struct fair_flood *f = i >= 0 ? &r->flood[i] : NULL;
	const char *name = i >= 0 ? fairness_floods[i] : "alone";
	int err = e->canary[t][i + 1];

	if (err || (i >= 0 && e->flood[i])) {
		printf("  %-14s failed: %s\n", name,
		       strerror(-(err ? err : e->flood[i])));
		return;
	}
	printf("  %-14s %8.0f %9.1f %9.1f %9.1f %8.1f %7.2f", name, l->n,
	       l->p50_us, l->p99_us, l->max_us, l->stuck_ms,
	       ratio(l->p99_us, r->canary[t][0].p99_us));
	if (f)
		printf(" %10.1f %10.1f %7.2f", f->alone_mb_s,
		       f->beside_mb_s[t],
		       ratio(f->beside_mb_s[t], f->alone_mb_s));
	printf("\n");
}

static void equal_line(const struct fair_round *r, const struct fair_errs *e,
		       unsigned run, unsigned t)
{
	const struct fair_equal *q = &r->equal[run][t];

	if (e->equal[run]) {
		if (!t)
			printf("  %-7s failed: %s\n", fairness_runs[run],
			       strerror(-e->equal[run]));
		return;
	}
	if (!q->clients)
		return;
	printf("  %-7s %-7s %7.0f %10.0f %8.0f %8.0f %7.2f %10.1f %10.1f\n",
	       fairness_runs[run], fairness_transports[t], q->clients,
	       q->sends_s, q->min, q->max, ratio(q->max, q->min),
	       q->p99_med_us, q->p99_max_us);
}

static void fair_table(const struct bench *b, const struct fair_round *r,
		       const struct fair_errs *e)
{
	unsigned t, run;
	int i;

	report_header(b, " --fairness");
	for (t = 0; t < 2; t++) {
		printf("canary over %s (1000 B, 1 in flight) beside floods "
		       "of 32 records in flight:\n", fairness_transports[t]);
		printf("  %-14s %8s %9s %9s %9s %8s %7s %10s %10s %7s\n",
		       "flood", "sends", "p50 us", "p99 us", "max us",
		       "stuck ms", "p99 x1", "alone MB/s", "beside", "x alone");
		for (i = -1; i < FAIR_NFLOODS; i++)
			canary_line(r, e, t, i);
	}
	printf("%u equal clients (1024 B, 1 in flight each), sends per "
	       "client in the window:\n", b->fair_clients);
	printf("  %-7s %-7s %7s %10s %8s %8s %7s %10s %10s\n", "run",
	       "client", "clients", "sends/s", "min", "max", "max/min",
	       "p99 med us", "p99 max us");
	for (run = 0; run < FAIR_NRUNS; run++)
		for (t = 0; t < 2; t++)
			equal_line(r, e, run, t);
}

static void json_err(int err)
{
	if (err)
		printf(", \"error\": \"%s\"", strerror(-err));
}

static void canary_json(const struct fair_round *r, const struct fair_errs *e)
{
	const struct peer_lat *l;
	unsigned t;
	int i, n = 0;

	printf(", \"canary\": [");
	for (t = 0; t < 2; t++)
		for (i = -1; i < FAIR_NFLOODS; i++) {
			l = &r->canary[t][i + 1];
			printf("%s\n  {\"transport\": \"%s\", "
			       "\"flood\": \"%s\", "
			       "\"samples\": %.0f, \"p50_us\": %.2f, "
			       "\"p99_us\": %.2f, \"max_us\": %.2f, "
			       "\"stuck_ms\": %.3f, \"p99_x_alone\": %.3f",
			       n++ ? "," : "", fairness_transports[t],
			       i >= 0 ? fairness_floods[i] : "none", l->n,
			       fin(l->p50_us), fin(l->p99_us), fin(l->max_us),
			       fin(l->stuck_ms),
			       fin(ratio(l->p99_us, r->canary[t][0].p99_us)));
			json_err(e->canary[t][i + 1]);
			printf("}");
		}
	printf("\n]");
}

static void floods_json(const struct fair_round *r, const struct fair_errs *e)
{
	const struct fair_flood *f;
	unsigned i;

	printf(", \"floods\": [");
	for (i = 0; i < FAIR_NFLOODS; i++) {
		f = &r->flood[i];
		printf("%s\n  {\"name\": \"%s\", \"alone_mb_s\": %.3f, "
		       "\"alone_records_s\": %.1f, "
		       "\"beside_socket_mb_s\": %.3f, "
		       "\"beside_ring_mb_s\": %.3f, \"x_alone_socket\": %.3f, "
		       "\"x_alone_ring\": %.3f", i ? "," : "",
		       fairness_floods[i], fin(f->alone_mb_s),
		       fin(f->alone_rec_s), fin(f->beside_mb_s[0]),
		       fin(f->beside_mb_s[1]),
		       fin(ratio(f->beside_mb_s[0], f->alone_mb_s)),
		       fin(ratio(f->beside_mb_s[1], f->alone_mb_s)));
		json_err(e->flood[i]);
		printf("}");
	}
	printf("\n]");
}

static void equal_json(const struct fair_round *r, const struct fair_errs *e)
{
	const struct fair_equal *q;
	unsigned run, t;
	int n = 0;

	printf(", \"equal\": [");
	for (run = 0; run < FAIR_NRUNS; run++)
		for (t = 0; t < 2; t++) {
			q = &r->equal[run][t];
			/* A failed run is said once. */
			if (e->equal[run] ? t : !q->clients)
				continue;
			printf("%s\n  {\"run\": \"%s\", \"transport\": \"%s\", "
			       "\"clients\": %.0f, \"sends_s\": %.1f, "
			       "\"min\": %.0f, \"max\": %.0f, "
			       "\"max_min\": %.3f, "
			       "\"p99_median_us\": %.2f, \"p99_max_us\": %.2f",
			       n++ ? "," : "", fairness_runs[run],
			       fairness_transports[t], q->clients,
			       fin(q->sends_s),
			       q->min, q->max, fin(ratio(q->max, q->min)),
			       fin(q->p99_med_us), fin(q->p99_max_us));
			json_err(e->equal[run]);
			printf("}");
		}
	printf("\n]");
}

/**
 * report_fair - --fairness: the medians over rounds in @r, failures in @e.
 */
void report_fair(const struct bench *b, const struct fair_round *r,
		 const struct fair_errs *e)
{
	if (!b->json) {
		fair_table(b, r, e);
		return;
	}
	printf("{\"mode\": \"fairness\", \"sink\": \"%s\", \"seconds\": %g, "
	       "\"rounds\": %u, \"clients\": %u",
	       b->sink == SINK_IFB ? "ifb" : "loopback", b->seconds,
	       b->rounds, b->fair_clients);
	canary_json(r, e);
	floods_json(r, e);
	equal_json(r, e);
	printf("}\n");
}
