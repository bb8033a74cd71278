/* SPDX-License-Identifier: MIT */
/*
 * Output of zcsend-bench: an aligned table for people, or one JSON object
 * for bench-plot and the smoke test. Non-finite values (a row that moved
 * no bytes) print as 0 so the JSON stays valid. A failed row shows its
 * error instead of numbers (in JSON: zeros and "error"). --busy adds
 * the loops' iterations/s per row and as a ratio to the loops alone.
 */
#include <sys/utsname.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

static const char *sink_name(const struct bench *b)
{
	return b->sink == SINK_IFB ? "ifb" : "loopback";
}

static double finite_or_0(double v)
{
	return isfinite(v) ? v : 0.0;
}

/* Like nproc(1): the CPUs this process may run on. */
static int nproc(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set))
		return 0;
	return CPU_COUNT(&set);
}

/**
 * report_header - the first line of every table: what was run, and where.
 */
void report_header(const struct bench *b, const char *mode)
{
	struct utsname u;

	if (uname(&u))
		u.release[0] = '\0';
	printf("zcsend-bench%s: sink %s, size %zu B, %g s x %u rounds "
	       "(median), nproc %d, Linux %s", mode, sink_name(b), b->size,
	       b->seconds, b->rounds, nproc(), u.release);
	if (b->poll_usec >= 0)
		printf(", poll_usec %ld", b->poll_usec);
	if (b->spin_usec >= 0)
		printf(", spin_usec %ld", b->spin_usec);
	if (b->pin)
		printf(", pinned");
	if (b->busy_n)
		printf(", %u busy loops (alone: %.1f M iterations/s)",
		       b->busy_n, b->busy_alone_its_s / 1e6);
	printf("\n");
}

/* --busy: the column heads, and a row's figures (ending its line). */
static void busy_head(const struct bench *b)
{
	if (b->busy_n)
		printf(" %10s %7s", "busy Mit/s", "x alone");
	printf("\n");
}

static void busy_cols(const struct bench *b, const struct row_result *r)
{
	if (b->busy_n)
		printf(" %10.1f %7.3f", finite_or_0(r->busy_its_s) / 1e6,
		       b->busy_alone_its_s > 0 ?
		       finite_or_0(r->busy_its_s) / b->busy_alone_its_s : 0);
	printf("\n");
}

/* --busy, in JSON: the loops' figures of a row. */
static void busy_json(const struct bench *b, const struct row_result *r)
{
	if (b->busy_n)
		printf(", \"busy_its_s\": %.0f, \"busy_x_alone\": %.4f",
		       finite_or_0(r->busy_its_s),
		       b->busy_alone_its_s > 0 ?
		       finite_or_0(r->busy_its_s) / b->busy_alone_its_s : 0);
}

/* --busy, in JSON: the loops and their figure alone, after "rounds". */
static void busy_json_head(const struct bench *b)
{
	if (b->busy_n)
		printf(", \"busy\": %u, \"busy_alone_its_s\": %.0f",
		       b->busy_n, finite_or_0(b->busy_alone_its_s));
}

/* ", \"error\": \"...\"" for a failed row, else nothing. strerror's
 * text holds no quote or backslash. */
static void json_error(int err)
{
	if (err)
		printf(", \"error\": \"%s\"", strerror(-err));
}

/**
 * report_table - the header line and one aligned line per row on stdout.
 */
void report_table(const struct bench *b, const struct row_result *res,
		  unsigned n)
{
	unsigned i;

	report_header(b, "");
	printf("%-24s %10s %12s %8s %10s %9s", "row", "MB/s", "msgs/s",
	       "speedup", "CPU s/GB", "copied %");
	busy_head(b);
	for (i = 0; i < n; i++) {
		if (res[i].err) {
			printf("%-24s failed: %s\n", res[i].name,
			       strerror(-res[i].err));
			continue;
		}
		printf("%-24s %10.1f %12.0f %8.2f %10.3f %9.1f", res[i].name,
		       finite_or_0(res[i].mb_s), finite_or_0(res[i].msgs_s),
		       finite_or_0(res[i].speedup),
		       finite_or_0(res[i].cpu_s_per_gb),
		       finite_or_0(res[i].zc_copied_pct));
		busy_cols(b, &res[i]);
	}
}

/**
 * report_json - the run as one JSON object on stdout.
 */
void report_json(const struct bench *b, const struct row_result *res,
		 unsigned n)
{
	unsigned i;

	printf("{\"sink\": \"%s\", \"size\": %zu, \"seconds\": %g, "
	       "\"rounds\": %u", sink_name(b), b->size, b->seconds, b->rounds);
	busy_json_head(b);
	printf(", \"rows\": [");
	for (i = 0; i < n; i++) {
		printf("%s\n  {\"name\": \"%s\", \"mb_s\": %.3f, "
		       "\"msgs_s\": %.1f, \"speedup\": %.4f, "
		       "\"cpu_s_per_gb\": %.4f, \"zc_copied_pct\": %.2f",
		       i ? "," : "", res[i].name, finite_or_0(res[i].mb_s),
		       finite_or_0(res[i].msgs_s), finite_or_0(res[i].speedup),
		       finite_or_0(res[i].cpu_s_per_gb),
		       finite_or_0(res[i].zc_copied_pct));
		busy_json(b, &res[i]);
		json_error(res[i].err);
		printf("}");
	}
	printf("\n]}\n");
}

static void latency_table(const struct bench *b, const struct row_result *res,
			  unsigned n)
{
	unsigned i;

	report_header(b, " --latency");
	printf("%-28s %10s %10s %10s", "row (1 in flight)", "sends",
	       "p50 us", "p99 us");
	busy_head(b);
	for (i = 0; i < n; i++) {
		if (res[i].err) {
			printf("%-28s failed: %s\n", res[i].name,
			       strerror(-res[i].err));
			continue;
		}
		printf("%-28s %10zu %10.1f %10.1f", res[i].name, res[i].lat_n,
		       res[i].p50_us, res[i].p99_us);
		busy_cols(b, &res[i]);
	}
}

static void latency_json(const struct bench *b, const struct row_result *res,
			 unsigned n)
{
	unsigned i;

	printf("{\"mode\": \"latency\", \"sink\": \"%s\", \"size\": %zu, "
	       "\"seconds\": %g, \"rounds\": %u", sink_name(b), b->size,
	       b->seconds, b->rounds);
	busy_json_head(b);
	printf(", \"rows\": [");
	for (i = 0; i < n; i++) {
		printf("%s\n  {\"name\": \"%s\", \"samples\": %zu, "
		       "\"p50_us\": %.2f, \"p99_us\": %.2f",
		       i ? "," : "", res[i].name, res[i].lat_n,
		       finite_or_0(res[i].p50_us), finite_or_0(res[i].p99_us));
		busy_json(b, &res[i]);
		json_error(res[i].err);
		printf("}");
	}
	printf("\n]}\n");
}

/**
 * report_latency - --latency: per row the sends timed (all rounds) and
 * the median over rounds of each round's p50 and p99, in µs.
 */
void report_latency(const struct bench *b, const struct row_result *res,
		    unsigned n)
{
	if (b->json)
		latency_json(b, res, n);
	else
		latency_table(b, res, n);
}

/**
 * report_idle - --idle: the daemon's CPU over the quiet window.
 */
void report_idle(const struct bench *b, const struct idle_result *r)
{
	if (b->json) {
		printf("{\"mode\": \"idle\", \"sink\": \"%s\", "
		       "\"transport\": \"%s\", \"clients\": %u, "
		       "\"seconds\": %g, \"rounds\": %u, \"window_s\": %.3f, "
		       "\"daemon_cpu_pct\": %.3f, \"wakeups_in\": %llu, "
		       "\"wakeups_out\": %llu", sink_name(b), b->transport,
		       b->clients, b->seconds, b->rounds, r->secs,
		       finite_or_0(r->cpu_pct),
		       (unsigned long long)r->wakeups_in,
		       (unsigned long long)r->wakeups_out);
		json_error(r->err);
		printf("}\n");
		return;
	}
	report_header(b, " --idle");
	if (r->err) {
		printf("idle %u %s clients: failed: %s\n", b->clients,
		       b->transport, strerror(-r->err));
		return;
	}
	printf("idle %u %s clients: daemon CPU %.3f %% of one CPU over "
	       "%.1f s; ring wake-ups in %llu, out %llu\n", b->clients,
	       b->transport, finite_or_0(r->cpu_pct), r->secs,
	       (unsigned long long)r->wakeups_in,
	       (unsigned long long)r->wakeups_out);
}
