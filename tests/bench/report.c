/* SPDX-License-Identifier: MIT */
/*
 * Output of zcsend-bench: an aligned table for people, or one JSON object
 * for bench-plot and the smoke test. Non-finite values (a row that moved
 * no bytes) print as 0 so the JSON stays valid.
 */
#include <sys/utsname.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>

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
 * report_table - the header line and one aligned line per row on stdout.
 */
void report_table(const struct bench *b, const struct row_result *res,
		  unsigned n)
{
	struct utsname u;
	unsigned i;

	if (uname(&u))
		u.release[0] = '\0';
	printf("zcsend-bench: sink %s, size %zu B, %g s x %u rounds (median), "
	       "nproc %d, Linux %s\n", sink_name(b), b->size, b->seconds,
	       b->rounds, nproc(), u.release);
	printf("%-24s %10s %12s %8s %10s %9s\n", "row", "MB/s", "msgs/s",
	       "speedup", "CPU s/GB", "copied %");
	for (i = 0; i < n; i++)
		printf("%-24s %10.1f %12.0f %8.2f %10.3f %9.1f\n",
		       res[i].name, finite_or_0(res[i].mb_s),
		       finite_or_0(res[i].msgs_s), finite_or_0(res[i].speedup),
		       finite_or_0(res[i].cpu_s_per_gb),
		       finite_or_0(res[i].zc_copied_pct));
}

/**
 * report_json - the run as one JSON object on stdout.
 */
void report_json(const struct bench *b, const struct row_result *res,
		 unsigned n)
{
	unsigned i;

	printf("{\"sink\": \"%s\", \"size\": %zu, \"seconds\": %g, "
	       "\"rounds\": %u, \"rows\": [", sink_name(b), b->size,
	       b->seconds, b->rounds);
	for (i = 0; i < n; i++)
		printf("%s\n  {\"name\": \"%s\", \"mb_s\": %.3f, "
		       "\"msgs_s\": %.1f, \"speedup\": %.4f, "
		       "\"cpu_s_per_gb\": %.4f, \"zc_copied_pct\": %.2f}",
		       i ? "," : "", res[i].name, finite_or_0(res[i].mb_s),
		       finite_or_0(res[i].msgs_s), finite_or_0(res[i].speedup),
		       finite_or_0(res[i].cpu_s_per_gb),
		       finite_or_0(res[i].zc_copied_pct));
	printf("\n]}\n");
}
