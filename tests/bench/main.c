/* SPDX-License-Identifier: MIT */
/*
 * zcsend-bench: how fast zcsendd sends compared with what a program gets
 * by itself (send, MSG_ZEROCOPY, its own io_uring). Parses options, sets
 * up the sink and the daemon, measures the rows interleaved round by round
 * (so drifts hit every row alike) and reports the median over rounds.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define ROW_ZC		1	/* msg_zerocopy: the speedup baseline */
#define EXIT_USAGE	2

volatile sig_atomic_t bench_stop;

static const struct row_def rows[] = {
	{ "send", rows_plain_send, 1, NULL },
	{ "msg_zerocopy", rows_plain_msg_zerocopy, 1, NULL },
	{ "uring_zc_nr1", rows_uring_zc, 1, NULL },
	{ "uring_zc_nr8", rows_uring_zc, 8, NULL },
	{ "zcsendd_immediate_nr1", rows_daemon_zcs, 1, "imm" },
	{ "zcsendd_immediate_nr8", rows_daemon_zcs, 8, "imm" },
	{ "zcsendd_batch_nr1", rows_daemon_zcs, 1, "bat" },
	{ "zcsendd_batch_nr8", rows_daemon_zcs, 8, "bat" },
	{ "zcsendd_batch_nr64", rows_daemon_zcs, 64, "bat" },
	{ "zcsendd_batch_nr512", rows_daemon_zcs, 512, "bat" },
	{ "zcsendd_copy_nr512", rows_daemon_zcs, 512, "cpy" },
};
#define NROWS	(sizeof(rows) / sizeof(rows[0]))

static void usage(FILE *f)
{
	unsigned i;

	fprintf(f, "usage: zcsend-bench [--size BYTES] [--seconds S] "
		"[--rounds R] [--json] [--rows a,b,...]\n"
		"  --size BYTES  datagram payload, 1..%u (default 65435)\n"
		"  --seconds S   per row and round, fractions allowed "
		"(default 1)\n"
		"  --rounds R    rounds; the median is reported (default 5)\n"
		"  --json        one JSON object instead of the table\n"
		"  --rows LIST   only these rows (msg_zerocopy always runs):\n"
		"               ", BENCH_SIZE_MAX);
	for (i = 0; i < NROWS; i++)
		fprintf(f, " %s", rows[i].name);
	fprintf(f, "\n");
}

/* "a,b,..." to a row mask; -EINVAL names the unknown row on stderr. */
static int parse_rows(const char *list, uint32_t *mask)
{
	char buf[512], *save = NULL, *w;
	unsigned i;

	if (snprintf(buf, sizeof(buf), "%s", list) >= (int)sizeof(buf))
		return -EINVAL;
	*mask = 1u << ROW_ZC;
	for (w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < NROWS && strcmp(w, rows[i].name); i++)
			;
		if (i == NROWS) {
			fprintf(stderr, "zcsend-bench: unknown row '%s'\n", w);
			return -EINVAL;
		}
		*mask |= 1u << i;
	}
	return 0;
}

/* One numeric option within [lo, hi]; -EINVAL otherwise. */
static int parse_num(const char *s, double lo, double hi, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(*out) || *out < lo ||
	    *out > hi)
		return -EINVAL;
	return 0;
}

/* Returns 0, 1 for --help, or -EINVAL for a usage error. */
static int parse_args(int argc, char **argv, struct bench *b)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 'z' },
		{ "seconds", required_argument, NULL, 's' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "rows", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	double v;
	int c, err = 0;

	while (!err && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'z':
			err = parse_num(optarg, 1, BENCH_SIZE_MAX, &v);
			b->size = (size_t)v;
			err = err ? err : (v == (double)b->size ? 0 : -EINVAL);
			break;
		case 's':
			err = parse_num(optarg, 0.001, BENCH_SECONDS_MAX,
					&b->seconds);
			break;
		case 'r':
			err = parse_num(optarg, 1, BENCH_ROUNDS_MAX, &v);
			b->rounds = (unsigned)v;
			err = err ? err : (v == b->rounds ? 0 : -EINVAL);
			break;
		case 'j':
			b->json = 1;
			break;
		case 'R':
			err = parse_rows(optarg, &b->row_mask);
			break;
		case 'h':
			return 1;
		default:
			return -EINVAL;
		}
	}
	if (err && optarg)
		fprintf(stderr, "zcsend-bench: bad value '%s'\n", optarg);
	if (!err && optind < argc)
		err = -EINVAL;
	return err;
}

static void on_signal(int sig)
{
	bench_stop = 1;
}

/* No SA_RESTART: a blocked poll or wait returns and the loops see the
 * flag. SIGPIPE is ignored: a dead daemon shows as -EPIPE instead. */
static void signals_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

static int row_wanted(const struct bench *b, unsigned i)
{
	return (b->row_mask >> i) & 1u;
}

static int need_daemon(const struct bench *b)
{
	unsigned i;

	for (i = 0; i < NROWS; i++)
		if (row_wanted(b, i) && rows[i].dest)
			return 1;
	return 0;
}

/* Round by round, every wanted row once: samples[i * rounds + round]. */
static int run_rounds(struct bench *b, struct sample *samples)
{
	struct sample *s;
	unsigned round, i;
	int err;

	for (round = 0; round < b->rounds; round++) {
		for (i = 0; i < NROWS; i++) {
			if (!row_wanted(b, i))
				continue;
			s = &samples[i * b->rounds + round];
			err = rows[i].run(b, &rows[i], s);
			if (bench_stop)
				return -EINTR;
			if (err) {
				fprintf(stderr, "zcsend-bench: row %s: %s\n",
					rows[i].name, strerror(-err));
				return err;
			}
			if (s->errors)
				fprintf(stderr, "zcsend-bench: row %s: %llu "
					"sends failed\n", rows[i].name,
					(unsigned long long)s->errors);
		}
	}
	return 0;
}

/* One round's numbers of one row (speedup filled in later). */
static void sample_result(const struct sample *s, struct row_result *r)
{
	r->mb_s = (double)s->bytes / s->secs / 1e6;
	r->msgs_s = (double)s->msgs / s->secs;
	r->cpu_s_per_gb = s->bytes ? s->cpu_s / ((double)s->bytes / 1e9) : 0;
	r->zc_copied_pct = s->zc_sends ?
		100.0 * (double)s->zc_copied / (double)s->zc_sends : 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The median of the field at @off over @n per-round results. */
static double median_of(const struct row_result *v, unsigned n, size_t off)
{
	double tmp[BENCH_ROUNDS_MAX];
	unsigned i;

	for (i = 0; i < n; i++)
		memcpy(&tmp[i], (const char *)&v[i] + off, sizeof(double));
	qsort(tmp, n, sizeof(double), cmp_double);
	return n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
}

/* Medians per row into @out; returns the number of rows reported. */
static unsigned summarize(const struct bench *b, const struct sample *samples,
			  struct row_result *out)
{
	struct row_result per[BENCH_ROUNDS_MAX];
	double base = 0;
	unsigned i, k, n = 0;

	for (i = 0; i < NROWS; i++) {
		if (!row_wanted(b, i))
			continue;
		for (k = 0; k < b->rounds; k++)
			sample_result(&samples[i * b->rounds + k], &per[k]);
		out[n].name = rows[i].name;
#define MEDIAN(f) median_of(per, b->rounds, offsetof(struct row_result, f))
		out[n].mb_s = MEDIAN(mb_s);
		out[n].msgs_s = MEDIAN(msgs_s);
		out[n].cpu_s_per_gb = MEDIAN(cpu_s_per_gb);
		out[n].zc_copied_pct = MEDIAN(zc_copied_pct);
#undef MEDIAN
		if (i == ROW_ZC)
			base = out[n].mb_s;
		n++;
	}
	for (k = 0; k < n; k++)
		out[k].speedup = base > 0 ? out[k].mb_s / base : 0;
	return n;
}

/* Sink, daemon, rounds; the daemon is stopped whatever happened. */
static int bench_run(struct bench *b, struct sample *samples)
{
	int err;

	err = net_sink_setup(b);
	if (err) {
		fprintf(stderr, "zcsend-bench: sink: %s\n", strerror(-err));
		return err;
	}
	if (need_daemon(b)) {
		err = daemon_start(b);
		if (err) {
			fprintf(stderr, "zcsend-bench: zcsendd: %s\n",
				strerror(-err));
			goto err_sink;
		}
	}
	err = run_rounds(b, samples);
	if (err == -EINTR)
		fprintf(stderr, "zcsend-bench: interrupted\n");
	daemon_stop(b);
err_sink:
	net_sink_close(b);
	return err;
}

int main(int argc, char **argv)
{
	struct bench b = { .size = 65435, .seconds = 1.0, .rounds = 5,
			   .row_mask = (1u << NROWS) - 1, .sink_fd = -1 };
	struct row_result res[NROWS];
	struct sample *samples;
	unsigned n;
	int err;

	err = parse_args(argc, argv, &b);
	if (err) {
		usage(err > 0 ? stdout : stderr);
		return err > 0 ? 0 : EXIT_USAGE;
	}
	samples = calloc((size_t)NROWS * b.rounds, sizeof(*samples));
	if (!samples) {
		fprintf(stderr, "zcsend-bench: out of memory\n");
		return 1;
	}
	signals_init();
	err = bench_run(&b, samples);
	if (!err) {
		n = summarize(&b, samples, res);
		if (b.json)
			report_json(&b, res, n);
		else
			report_table(&b, res, n);
	}
	free(samples);
	return err ? 1 : 0;
}
