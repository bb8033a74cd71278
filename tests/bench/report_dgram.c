/* SPDX-License-Identifier: MIT */
/*
 * Output of --dgram: a table per sink variant, then issue 11's targets as
 * ratios between rows of this one run on the software-segmenting sink
 * (never absolute rates, which belong to the machine), or the same as one
 * JSON object for bench-plot-dgram and the smoke test.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

/* The two sinks, in the order the rows ran on them. */
static const char *const sink_names[2] = { "whole", "software" };
static const char *const sink_about[2] = {
	"ifb0 takes a GSO packet whole, like a NIC with UDP segmentation "
	"offload",
	"ifb0 gso_max_segs 1: the kernel segments in software first, as for "
	"a NIC without it",
};

/* One target: the ratio @num/@den of a row field (or of the best of
 * several rows for @den), to be at least (@ge) or at most @bound. */
struct target {
	const char *what;
	const char *num;
	const char *den;	/* "a|b|c": the best of these rows */
	int cpu;		/* compare CPU s/GB instead of datagrams/s */
	int ge;
	double bound;
};

static const struct target targets[] = {
	{ "zcsendd_coalesce / send", "zcsendd_coalesce", "send", 0, 1, 3.0 },
	{ "zcsendd_coalesce / sendmmsg", "zcsendd_coalesce", "sendmmsg",
	  0, 1, 1.5 },
	{ "zcsendd_gso / best in-process GSO", "zcsendd_gso",
	  "udp_gso|udp_gso_zc|uring_gso_zc", 0, 1, 0.9 },
	{ "CPU s/GB zcsendd_gso / udp_gso", "zcsendd_gso", "udp_gso",
	  1, 0, 1.0 },
};

#define NTARGETS	(sizeof(targets) / sizeof(targets[0]))

static double fin(double v)
{
	return isfinite(v) ? v : 0.0;
}

static const struct row_result *find_row(const struct row_result *res,
					 unsigned n, const char *name,
					 size_t len)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (strlen(res[i].name) == len &&
		    !strncmp(res[i].name, name, len) && !res[i].err)
			return &res[i];
	return NULL;
}

/* The best measured of the '|'-separated rows in @names: most datagrams/s
 * or, with @cpu, least CPU s/GB. NULL when none was measured. */
static const struct row_result *best_of(const struct row_result *res,
					unsigned n, const char *names, int cpu)
{
	const struct row_result *best = NULL, *r;
	const char *p = names;
	size_t len;

	while (*p) {
		len = strcspn(p, "|");
		r = find_row(res, n, p, len);
		if (r && (!best || (cpu ? r->cpu_s_per_gb < best->cpu_s_per_gb :
				    r->dgrams_s > best->dgrams_s)))
			best = r;
		p += len + (p[len] == '|');
	}
	return best;
}

/* Target @t's ratio on @res, with the denominator's row in @den_name;
 * -1 when a row is missing or failed. */
static double target_ratio(const struct target *t,
			   const struct row_result *res, unsigned n,
			   const char **den_name)
{
	const struct row_result *a, *d;
	double x, y;

	a = find_row(res, n, t->num, strlen(t->num));
	d = best_of(res, n, t->den, t->cpu);
	*den_name = d ? d->name : t->den;
	if (!a || !d)
		return -1;
	x = t->cpu ? a->cpu_s_per_gb : a->dgrams_s;
	y = t->cpu ? d->cpu_s_per_gb : d->dgrams_s;
	return y > 0 && isfinite(x / y) ? x / y : -1;
}

static int target_met(const struct target *t, double v)
{
	return v >= 0 && (t->ge ? v >= t->bound : v <= t->bound);
}

static void table(const struct row_result *res, unsigned n, unsigned v)
{
	const struct row_result *r;
	unsigned i;

	printf("\nsink %s: %s\n", sink_names[v], sink_about[v]);
	printf("%-18s %12s %7s %9s %9s %9s %10s %7s\n", "row", "dgrams/s",
	       "x send", "MB/s", "CPU s/GB", "copied %", "dgrams/GSO",
	       "sink %");
	for (i = 0; i < n; i++) {
		r = &res[i];
		if (r->err) {
			printf("%-18s failed: %s\n", r->name, strerror(-r->err));
			continue;
		}
		printf("%-18s %12.0f %7.2f %9.1f %9.3f %9.1f %10.1f %7.1f\n",
		       r->name, fin(r->dgrams_s), fin(r->speedup),
		       fin(r->mb_s), fin(r->cpu_s_per_gb),
		       fin(r->zc_copied_pct), fin(r->dgrams_per_gso),
		       fin(r->sink_pct));
	}
}

static void targets_table(const struct row_result *res, unsigned n)
{
	const char *den;
	unsigned i;
	double v;

	printf("\ntargets (issue 11), ratios on the software sink:\n");
	for (i = 0; i < NTARGETS; i++) {
		v = target_ratio(&targets[i], res, n, &den);
		if (v < 0) {
			printf("  %-36s not measured\n", targets[i].what);
			continue;
		}
		printf("  %-36s %6.2f  (%s %.1f, vs %s)  %s\n", targets[i].what,
		       v, targets[i].ge ? ">=" : "<=", targets[i].bound, den,
		       target_met(&targets[i], v) ? "met" : "missed");
	}
}

static void json_rows(const struct row_result *res, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		printf("%s\n    {\"name\": \"%s\", \"dgrams_s\": %.1f, "
		       "\"ratio\": %.4f, \"mb_s\": %.3f, "
		       "\"cpu_s_per_gb\": %.4f, \"zc_copied_pct\": %.2f, "
		       "\"dgrams_per_gso\": %.2f, \"sink_pct\": %.2f",
		       i ? "," : "", res[i].name, fin(res[i].dgrams_s),
		       fin(res[i].speedup), fin(res[i].mb_s),
		       fin(res[i].cpu_s_per_gb), fin(res[i].zc_copied_pct),
		       fin(res[i].dgrams_per_gso), fin(res[i].sink_pct));
		if (res[i].err)
			printf(", \"error\": \"%s\"", strerror(-res[i].err));
		printf("}");
	}
}

static void json_targets(const struct row_result *res, unsigned n)
{
	const char *den;
	unsigned i;
	double v;

	for (i = 0; i < NTARGETS; i++) {
		v = target_ratio(&targets[i], res, n, &den);
		printf("%s\n  {\"name\": \"%s\", \"vs\": \"%s\", \"op\": \"%s\", "
		       "\"bound\": %.2f, ", i ? "," : "", targets[i].what, den,
		       targets[i].ge ? ">=" : "<=", targets[i].bound);
		if (v < 0)
			printf("\"ratio\": null, \"met\": null}");
		else
			printf("\"ratio\": %.4f, \"met\": %s}", v,
			       target_met(&targets[i], v) ? "true" : "false");
	}
}

static void json(const struct bench *b, const struct row_result *res[2],
		 unsigned n)
{
	unsigned v;

	printf("{\"mode\": \"dgram\", \"sink\": \"ifb\", \"mtu\": %u, "
	       "\"size\": %zu, \"gso_segs\": %u, \"seconds\": %g, "
	       "\"rounds\": %u, \"sinks\": [", BENCH_DGRAM_MTU, b->size,
	       b->gso_segs, b->seconds, b->rounds);
	for (v = 0; v < 2; v++) {
		printf("%s\n {\"sink\": \"%s\", \"gso_max_segs\": %u, "
		       "\"rows\": [", v ? "," : "", sink_names[v],
		       v ? 1u : 65535u);
		json_rows(res[v], n);
		printf("]}");
	}
	printf("],\n \"targets\": [");
	json_targets(res[1], n);
	printf("]}\n");
}

/**
 * report_dgram - --dgram's tables (or JSON): @res[0] the rows on the sink
 * taking GSO packets whole, @res[1] on the software-segmenting one, @n
 * rows each in the same order.
 */
void report_dgram(const struct bench *b, const struct row_result *res[2],
		  unsigned n)
{
	unsigned v;

	if (b->json) {
		json(b, res, n);
		return;
	}
	report_header(b, " --dgram");
	printf("ifb0 MTU %u, %u datagrams per GSO send; datagrams, MB/s (of "
	       "payload) and CPU s/GB (bench + daemon) from ifb0's counters; "
	       "sink %% = payload at ifb0 / bytes sent\n", BENCH_DGRAM_MTU,
	       b->gso_segs);
	for (v = 0; v < 2; v++)
		table(res[v], n, v);
	targets_table(res[1], n);
}
