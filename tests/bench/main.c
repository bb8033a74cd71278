/* SPDX-License-Identifier: MIT */
/*
 * zcsend-bench: how fast zcsendd sends compared with what a program gets
 * by itself (send, MSG_ZEROCOPY, its own io_uring). Parses options, sets
 * up the sink and the daemon, measures the rows interleaved round by round
 * (so drifts hit every row alike) and reports the median over rounds.
 * --latency times single sends instead; --idle measures what a daemon
 * with quiet clients costs; --dgram measures MTU-sized datagrams on two
 * variants of the sink (dgram.c); --busy N runs busy loops beside the
 * rows (busy.c); --fairness, --clients-idle and --handover are runs of
 * their own (fairness.c, idle_clients.c, handover.c). A row that fails
 * is reported as failed and the others go on.
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
#define ROW_SEND	0	/* --dgram: send, the ratio baseline */
#define LAT_SIZE	1024	/* --latency default payload */
#define IDLE_SECONDS	10.0	/* --idle default window */
#define IDLE_CLIENTS	8
#define FAIR_CLIENTS	100	/* --fairness: equal clients */
#define FAIR_ROUNDS	3	/* --fairness, --clients-idle default rounds */
#define EXIT_USAGE	2

volatile sig_atomic_t bench_stop;

/* The throughput rows. The socket rows force ZCSEND_TRANSPORT=socket so
 * they stay what they were once the library prefers rings. */
static const struct row_def rate_rows[] = {
	{ "send", rows_plain_send, 1, NULL, NULL },
	{ "msg_zerocopy", rows_plain_msg_zerocopy, 1, NULL, NULL },
	{ "uring_zc_nr1", rows_uring_zc, 1, NULL, NULL },
	{ "uring_zc_nr8", rows_uring_zc, 8, NULL, NULL },
	{ "zcsendd_immediate_nr1", rows_daemon_zcs, 1, "imm", "socket" },
	{ "zcsendd_immediate_nr8", rows_daemon_zcs, 8, "imm", "socket" },
	{ "zcsendd_batch_nr1", rows_daemon_zcs, 1, "bat", "socket" },
	{ "zcsendd_batch_nr8", rows_daemon_zcs, 8, "bat", "socket" },
	{ "zcsendd_batch_nr64", rows_daemon_zcs, 64, "bat", "socket" },
	{ "zcsendd_batch_nr512", rows_daemon_zcs, 512, "bat", "socket" },
	{ "zcsendd_copy_nr512", rows_daemon_zcs, 512, "cpy", "socket" },
	{ "zcsendd_ring_nr1", rows_daemon_zcs, 1, "bat", "ring" },
	{ "zcsendd_ring_nr8", rows_daemon_zcs, 8, "bat", "ring" },
	{ "zcsendd_ring_nr64", rows_daemon_zcs, 64, "bat", "ring" },
	{ "zcsendd_ring_nr512", rows_daemon_zcs, 512, "bat", "ring" },
};

/* --latency: one send in flight, timed from its call to its completion. */
static const struct row_def lat_rows[] = {
	{ "latency uring_zc_nr1", rows_uring_zc, 1, NULL, NULL },
	{ "latency zcsendd_socket_nr1", rows_daemon_zcs, 1, "imm", "socket" },
	{ "latency zcsendd_ring_nr1", rows_daemon_zcs, 1, "imm", "ring" },
};

#define NROWS_MAX	32u	/* bits in row_mask */
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
_Static_assert(ARRAY_SIZE(rate_rows) <= NROWS_MAX, "row_mask");
_Static_assert(ARRAY_SIZE(lat_rows) <= NROWS_MAX, "row_mask");

/* The table of the run's mode (set from the options, before any use). */
static const struct row_def *rows = rate_rows;
static unsigned nrows = ARRAY_SIZE(rate_rows);

/* The options of issue 18's modes. */
static void usage_more(FILE *f)
{
	fprintf(f, "  --busy N      N busy loops (for(;;) processes at normal "
		"priority) beside every\n"
		"                row, with their iterations/s per row and alone "
		"(no row running,\n"
		"                before each round and after the last), so what "
		"a row costs its\n"
		"                neighbours shows (1..%u; not with --idle, "
		"--fairness, --clients-idle)\n",
		BENCH_BUSY_MAX);
	fprintf(f, "  --fairness    a canary (1000 B, 1 in flight) alone and "
		"beside floods of 60 KB\n"
		"                records and of 64 KB records cut into 16-byte "
		"datagrams, each\n"
		"                over socket and rings, canary on both; each "
		"flood's MB/s alone\n"
		"                and beside it; then --fair-clients N (default "
		"%u, 2..%u) equal\n"
		"                clients (1 KB, 1 in flight): all socket, all "
		"ring, half each\n", FAIR_CLIENTS, BENCH_FAIR_CLIENTS_MAX);
	fprintf(f, "  --clients-idle N[,N...]  the --latency rows (1 KB) and "
		"the nr8 rows (--size)\n"
		"                beside N idle ring clients (4 MiB pools, a flow, "
		"no sends), and\n"
		"                the daemon's memory per idle client and connect "
		"times; steps\n"
		"                ascending, up to %u, a step of 1 first if none\n",
		BENCH_CI_CLIENTS_MAX);
	fprintf(f, "  --pin         the daemon on the first CPU, the bench and "
		"its clients on the\n"
		"                last (--busy loops may run anywhere)\n");
	fprintf(f, "  --daemon-set KEY=VALUE  a [daemon] key of the bench's "
		"zcsendd config,\n"
		"                over the bench's own value (repeatable, up to "
		"%u)\n", BENCH_CONF_SETS_MAX);
	fprintf(f, "  --handover N  N hand-overs (UPGRADE, ~200 ms apart) while "
		"8 clients (socket and\n"
		"                ring, TCP and UDP, pools of 128 MiB) stream to "
		"checking receivers:\n"
		"                blackout p50 and max, errors, lost and "
		"duplicated sends, the\n"
		"                daemon's fds and pinned buffers after the first and "
		"last (issue 19)\n");
}

static void usage(FILE *f)
{
	unsigned i;

	fprintf(f, "usage: zcsend-bench [--latency | --idle | --dgram | "
		"--fairness | --clients-idle N[,N...]\n"
		"                    | --handover N]\n"
		"                    [--size BYTES] [--seconds S] [--rounds R] "
		"[--json] [--rows a,b,...]\n"
		"                    [--clients N] [--transport ring|socket] "
		"[--poll-usec U] [--spin-usec U]\n"
		"                    [--busy N] [--fair-clients N] [--pin] "
		"[--daemon-set KEY=VALUE]...\n"
		"  --size BYTES  datagram payload, 1..%u (default 65435, "
		"--latency 1024, --dgram 1472)\n"
		"  --seconds S   per row (--fairness: per window) and round, "
		"fractions allowed\n"
		"                (default 1, --idle 10)\n"
		"  --rounds R    rounds; the median is reported (default 5, "
		"--idle 1,\n"
		"                --fairness and --clients-idle %u)\n"
		"  --json        one JSON object instead of the table\n"
		"  --rows LIST   only these rows (msg_zerocopy always runs):\n"
		"               ", BENCH_SIZE_MAX, FAIR_ROUNDS);
	for (i = 0; i < ARRAY_SIZE(rate_rows); i++)
		fprintf(f, " %s", rate_rows[i].name);
	fprintf(f, "\n"
		"  --latency     p50/p99 of single sends, send call to "
		"completion:\n               ");
	for (i = 0; i < ARRAY_SIZE(lat_rows); i++)
		fprintf(f, " %s", lat_rows[i].name + strlen("latency "));
	fprintf(f, "\n"
		"  --idle        the daemon's CPU while --clients N (default "
		"%u) connections\n"
		"                on --transport (default ring) do nothing\n"
		"  --poll-usec U the daemon's [daemon] poll_usec (default: "
		"its own)\n"
		"  --spin-usec U zcs_set_spin_usec() for every connection "
		"(default: the library's)\n", IDLE_CLIENTS);
	fprintf(f, "  --dgram       MTU-sized datagrams (--size at most %u): "
		"ifb0 at MTU %u,\n"
		"                every row on the sink taking GSO packets whole "
		"(like a NIC with\n"
		"                UDP segmentation offload) and with gso_max_segs 1 "
		"(the kernel\n"
		"                segments in software); datagrams/s and CPU s/GB "
		"from ifb0's\n"
		"                counters. Needs root. Rows (send always runs):\n"
		"               ", BENCH_DGRAM_SIZE, BENCH_DGRAM_MTU);
	for (i = 0; i < dgram_nrows; i++)
		fprintf(f, " %s", dgram_rows[i].name);
	fprintf(f, "\n");
	usage_more(f);
}

/* @w names row @i of the table, "latency " prefix optional. */
static int row_named(const char *w, unsigned i)
{
	const char *name = rows[i].name;

	if (!strncmp(name, "latency ", 8) && strncmp(w, "latency ", 8))
		name += 8;
	return !strcmp(w, name);
}

/* "a,b,..." to a row mask; -EINVAL names the unknown row on stderr. */
static int parse_rows(const char *list, uint32_t base, uint32_t *mask)
{
	char buf[512], *save = NULL, *w;
	unsigned i;

	if (snprintf(buf, sizeof(buf), "%s", list) >= (int)sizeof(buf))
		return -EINVAL;
	*mask = base;
	for (w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < nrows && !row_named(w, i); i++)
			;
		if (i == nrows) {
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

/* An integer option within [lo, hi]. */
static int parse_uint(const char *s, double lo, double hi, unsigned long *out)
{
	double v;
	int err = parse_num(s, lo, hi, &v);

	*out = (unsigned long)v;
	return err ? err : (v == (double)*out ? 0 : -EINVAL);
}

static int parse_transport(const char *s, const char **out)
{
	if (strcmp(s, "ring") && strcmp(s, "socket"))
		return -EINVAL;
	*out = !strcmp(s, "ring") ? "ring" : "socket";
	return 0;
}

/* --clients-idle "N[,N...]": ascending steps; a step of 1 goes first
 * when the list has none, so every run compares with one idle client. */
static int parse_steps(const char *list, struct bench *b)
{
	char buf[128], *save = NULL, *w;
	unsigned long v;
	unsigned n = 0;

	if (snprintf(buf, sizeof(buf), "%s", list) >= (int)sizeof(buf))
		return -EINVAL;
	for (w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		if (parse_uint(w, 1, BENCH_CI_CLIENTS_MAX, &v) ||
		    n + 1 >= BENCH_CI_STEPS_MAX ||
		    (n && v <= b->ci_steps[n - 1]))
			return -EINVAL;
		if (!n && v > 1)
			b->ci_steps[n++] = 1;
		b->ci_steps[n++] = (unsigned)v;
	}
	b->nci_steps = n;
	return n ? 0 : -EINVAL;
}

/* The options of issue 18's modes. */
static int parse_opt_more(int c, struct bench *b)
{
	unsigned long v;
	int err = 0;

	switch (c) {
	case 'B':
		err = parse_uint(optarg, 1, BENCH_BUSY_MAX, &v);
		b->busy_n = (unsigned)v;
		break;
	case 'F':
		b->mode = MODE_FAIRNESS;
		break;
	case 'C':
		err = parse_uint(optarg, 2, BENCH_FAIR_CLIENTS_MAX, &v);
		b->fair_clients = (unsigned)v;
		break;
	case 'N':
		b->mode = MODE_CLIENTS_IDLE;
		err = parse_steps(optarg, b);
		break;
	case 'P':
		b->pin = 1;
		break;
	case 'K':
		if (b->nconf_set == BENCH_CONF_SETS_MAX || !strchr(optarg, '='))
			return -EINVAL;
		b->conf_set[b->nconf_set++] = optarg;
		break;
	case 'H':
		b->mode = MODE_HANDOVER;
		err = parse_uint(optarg, 1, BENCH_HANDOVERS_MAX, &v);
		b->handovers = (unsigned)v;
		break;
	default:
		return -EINVAL;
	}
	return err;
}

/* One option into @b; --rows is kept in @rows_arg for after the mode. */
static int parse_opt(int c, struct bench *b, const char **rows_arg)
{
	unsigned long v;
	int err = 0;

	switch (c) {
	case 'z':
		err = parse_uint(optarg, 1, BENCH_SIZE_MAX, &v);
		b->size = v;
		break;
	case 's':
		err = parse_num(optarg, 0.001, BENCH_SECONDS_MAX, &b->seconds);
		break;
	case 'r':
		err = parse_uint(optarg, 1, BENCH_ROUNDS_MAX, &v);
		b->rounds = (unsigned)v;
		break;
	case 'c':
		err = parse_uint(optarg, 1, BENCH_IDLE_CLIENTS_MAX, &v);
		b->clients = (unsigned)v;
		break;
	case 'p':
		err = parse_uint(optarg, 0, 1e7, &v);
		b->poll_usec = (long)v;
		break;
	case 'S':
		err = parse_uint(optarg, 0, 1e6, &v);
		b->spin_usec = (long)v;
		break;
	case 't':
		err = parse_transport(optarg, &b->transport);
		break;
	case 'j':
		b->json = 1;
		break;
	case 'L':
		b->mode = MODE_LATENCY;
		break;
	case 'I':
		b->mode = MODE_IDLE;
		break;
	case 'D':
		b->mode = MODE_DGRAM;
		break;
	case 'R':
		*rows_arg = optarg;
		break;
	default:
		return parse_opt_more(c, b);
	}
	return err;
}

/* The mode's row table, and the row every run of it includes. */
static uint32_t mode_rows(const struct bench *b)
{
	switch (b->mode) {
	case MODE_LATENCY:
		rows = lat_rows;
		nrows = ARRAY_SIZE(lat_rows);
		return 0;
	case MODE_DGRAM:
		rows = dgram_rows;
		nrows = dgram_nrows;
		return 1u << ROW_SEND;
	default:
		rows = rate_rows;
		nrows = ARRAY_SIZE(rate_rows);
		return 1u << ROW_ZC;
	}
}

/* --dgram: datagrams that fit the sink's MTU, and the GSO send size. */
static int apply_dgram(struct bench *b)
{
	if (!b->size)
		b->size = BENCH_DGRAM_SIZE;
	if (b->size > BENCH_DGRAM_SIZE) {
		fprintf(stderr, "zcsend-bench: --dgram: --size at most %u (MTU "
			"%u less IPv4 and UDP headers)\n", BENCH_DGRAM_SIZE,
			BENCH_DGRAM_MTU);
		return -EINVAL;
	}
	if (nrows > NROWS_MAX)
		return -E2BIG;
	b->gso_segs = dgram_gso_segs(b->size);
	return 0;
}

/* --fairness, --clients-idle and --handover measure and report by
 * themselves. */
static int own_run(const struct bench *b)
{
	return b->mode == MODE_FAIRNESS || b->mode == MODE_CLIENTS_IDLE ||
	       b->mode == MODE_HANDOVER;
}

/* What was not given, by mode; the mode's row table and mask. */
static int apply_mode(struct bench *b, const char *rows_arg)
{
	int lat = b->mode == MODE_LATENCY;
	uint32_t base = mode_rows(b);
	int err;

	if (b->mode == MODE_DGRAM) {
		err = apply_dgram(b);
		if (err)
			return err;
	}
	if (!b->size)
		b->size = lat ? LAT_SIZE : 65435;
	if (b->seconds == 0)
		b->seconds = b->mode == MODE_IDLE ? IDLE_SECONDS : 1.0;
	if (!b->rounds)
		b->rounds = b->mode == MODE_IDLE ? 1 : own_run(b) ?
			FAIR_ROUNDS : 5;
	if (!b->clients)
		b->clients = IDLE_CLIENTS;
	if (!b->fair_clients)
		b->fair_clients = FAIR_CLIENTS;
	if (b->busy_n && (b->mode == MODE_IDLE || own_run(b))) {
		fprintf(stderr, "zcsend-bench: --busy goes with the row "
			"tables only\n");
		return -EINVAL;
	}
	if (!b->transport)
		b->transport = "ring";
	if (rows_arg)
		return parse_rows(rows_arg, base, &b->row_mask);
	b->row_mask = nrows == 32 ? UINT32_MAX : (1u << nrows) - 1;
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
		{ "latency", no_argument, NULL, 'L' },
		{ "idle", no_argument, NULL, 'I' },
		{ "dgram", no_argument, NULL, 'D' },
		{ "clients", required_argument, NULL, 'c' },
		{ "transport", required_argument, NULL, 't' },
		{ "poll-usec", required_argument, NULL, 'p' },
		{ "spin-usec", required_argument, NULL, 'S' },
		{ "busy", required_argument, NULL, 'B' },
		{ "fairness", no_argument, NULL, 'F' },
		{ "fair-clients", required_argument, NULL, 'C' },
		{ "clients-idle", required_argument, NULL, 'N' },
		{ "daemon-set", required_argument, NULL, 'K' },
		{ "pin", no_argument, NULL, 'P' },
		{ "handover", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *rows_arg = NULL;
	int c, err = 0;

	while (!err && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'h')
			return 1;
		err = parse_opt(c, b, &rows_arg);
		if (err && c != '?' && optarg)
			fprintf(stderr, "zcsend-bench: bad value '%s'\n",
				optarg);
	}
	if (!err && optind < argc)
		err = -EINVAL;
	return err ? err : apply_mode(b, rows_arg);
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

	if (b->mode == MODE_IDLE || own_run(b))
		return 1;
	for (i = 0; i < nrows; i++)
		if (row_wanted(b, i) && rows[i].dest)
			return 1;
	return 0;
}

/* Row @i once into @s; a failure is kept in s->err and said on stderr. */
static void run_row(struct bench *b, unsigned i, struct sample *s)
{
	if (rows[i].dest && b->daemon_err) {
		s->err = b->daemon_err;	/* said once, at daemon_start */
		return;
	}
	lat_reset(b->lat);
	s->err = rows[i].run(b, &rows[i], s);
	lat_summary(b->lat, s);
	if (s->err && !bench_stop)
		fprintf(stderr, "zcsend-bench: row %s: %s%s\n", rows[i].name,
			strerror(-s->err), rows[i].transport &&
			!strcmp(rows[i].transport, "ring") ?
			" (ring transport not usable; other rows go on)" : "");
	else if (s->errors)
		fprintf(stderr, "zcsend-bench: row %s: %llu sends failed\n",
			rows[i].name, (unsigned long long)s->errors);
}

/* Every wanted row once: samples[i * rounds + round]. A row that failed
 * is not run again: its later rounds keep the error. */
static int run_round(struct bench *b, struct sample *samples, unsigned round)
{
	unsigned i;
	int failed;

	for (i = 0; i < nrows; i++) {
		if (!row_wanted(b, i))
			continue;
		failed = round ? samples[i * b->rounds + round - 1].err : 0;
		if (failed)
			samples[i * b->rounds + round].err = failed;
		else
			run_row(b, i, &samples[i * b->rounds + round]);
		if (bench_stop)
			return -EINTR;
	}
	return 0;
}

/* The samples of sink variant @v (--dgram: 0 whole, 1 software). */
static struct sample *variant(const struct bench *b, struct sample *samples,
			      unsigned v)
{
	return samples + (size_t)v * nrows * b->rounds;
}

/* Round by round, so drifts hit every row alike; --dgram runs each round
 * on both sink variants, switching ifb0 in between. --busy: a window of
 * the loops alone before each round and after the last, so the reference
 * for the rows brackets them (its median is reported). */
static int run_rounds(struct bench *b, struct sample *samples)
{
	unsigned round, v, nv = b->mode == MODE_DGRAM ? 2 : 1;
	int err = 0;

	for (round = 0; !err && round < b->rounds; round++) {
		err = busy_alone(b);
		for (v = 0; !err && v < nv; v++) {
			if (b->mode == MODE_DGRAM)
				err = net_sink_set_gso_sw(b, (int)v);
			if (!err)
				err = run_round(b, variant(b, samples, v), round);
		}
	}
	return err ? err : busy_alone(b);
}

/* One round's numbers of row @i (speedup filled in later); --dgram's
 * come from the sink, on variant @v. */
static void sample_result(const struct bench *b, unsigned i, unsigned v,
			  const struct sample *s, struct row_result *r)
{
	if (b->mode == MODE_DGRAM) {
		dgram_result(b, rows[i].name, v == 1, s, r);
		return;
	}
	r->mb_s = (double)s->bytes / s->secs / 1e6;
	r->msgs_s = (double)s->msgs / s->secs;
	r->cpu_s_per_gb = s->bytes ? s->cpu_s / ((double)s->bytes / 1e9) : 0;
	r->zc_copied_pct = s->zc_sends ?
		100.0 * (double)s->zc_copied / (double)s->zc_sends : 0;
	r->p50_us = s->p50_us;
	r->p99_us = s->p99_us;
	r->lat_n = s->lat_n;
	r->busy_its_s = s->busy_its / s->secs;
	r->err = s->err;
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

/* Row @i's medians over rounds into @out; a failed row keeps only the
 * error. */
static void summarize_row(const struct bench *b, const struct sample *sm,
			  unsigned i, unsigned v, struct row_result *out)
{
	struct row_result per[BENCH_ROUNDS_MAX];
	unsigned k;

	memset(out, 0, sizeof(*out));
	out->name = rows[i].name;
	for (k = 0; k < b->rounds; k++) {
		sample_result(b, i, v, &sm[i * b->rounds + k], &per[k]);
		if (per[k].err) {
			out->err = per[k].err;
			return;
		}
		out->lat_n += per[k].lat_n;
	}
#define MEDIAN(f) median_of(per, b->rounds, offsetof(struct row_result, f))
	out->mb_s = MEDIAN(mb_s);
	out->msgs_s = MEDIAN(msgs_s);
	out->cpu_s_per_gb = MEDIAN(cpu_s_per_gb);
	out->zc_copied_pct = MEDIAN(zc_copied_pct);
	out->p50_us = MEDIAN(p50_us);
	out->p99_us = MEDIAN(p99_us);
	out->dgrams_s = MEDIAN(dgrams_s);
	out->sink_pct = MEDIAN(sink_pct);
	out->dgrams_per_gso = MEDIAN(dgrams_per_gso);
	out->busy_its_s = MEDIAN(busy_its_s);
#undef MEDIAN
}

/* Medians per row of sink variant @v into @out; returns the number of
 * rows reported. The speedup is over msg_zerocopy's MB/s, --dgram's over
 * send's datagrams/s (the same thing at one datagram size). */
static unsigned summarize(const struct bench *b, const struct sample *samples,
			  unsigned v, struct row_result *out)
{
	double base = 0;
	unsigned i, k, n = 0;

	for (i = 0; i < nrows; i++) {
		if (!row_wanted(b, i))
			continue;
		summarize_row(b, samples, i, v, &out[n]);
		if ((i == ROW_ZC && b->mode == MODE_RATE) ||
		    (i == ROW_SEND && b->mode == MODE_DGRAM))
			base = out[n].mb_s;
		n++;
	}
	for (k = 0; k < n; k++)
		out[k].speedup = base > 0 ? out[k].mb_s / base : 0;
	return n;
}

/* The mode's measurement, with sink and daemon set up. */
static int bench_measure(struct bench *b, struct sample *samples,
			 struct idle_result *idle)
{
	int err;

	if (b->mode == MODE_IDLE)
		return idle_run(b, idle);
	if (b->mode == MODE_FAIRNESS)
		return fairness_run(b);
	if (b->mode == MODE_CLIENTS_IDLE)
		return idle_clients_run(b);
	if (b->mode == MODE_HANDOVER)
		return handover_run(b);
	err = busy_start(b);
	if (err) {
		fprintf(stderr, "zcsend-bench: --busy: %s\n", strerror(-err));
		return err;
	}
	err = run_rounds(b, samples);
	busy_stop(b);
	return err;
}

/* --dgram counts at ifb0 and changes it: no other sink will do. */
static int check_sink(const struct bench *b)
{
	if (b->mode != MODE_DGRAM || b->sink == SINK_IFB)
		return 0;
	fprintf(stderr, "zcsend-bench: --dgram needs the ifb sink (root)\n");
	return -EOPNOTSUPP;
}

/* The daemon; under --dgram a daemon that does not start fails only its
 * own rows, so the in-process ones are still measured. */
static int start_daemon(struct bench *b)
{
	int err;

	if (!need_daemon(b))
		return 0;
	err = daemon_start(b);
	if (!err)
		return 0;
	fprintf(stderr, "zcsend-bench: zcsendd: %s%s\n", strerror(-err),
		b->mode == MODE_DGRAM ? " (its rows fail, the others go on)" :
		"");
	if (b->mode != MODE_DGRAM)
		return err;
	b->daemon_err = err;
	return 0;
}

/* Sink, daemon, rounds; the daemon is stopped whatever happened. */
static int bench_run(struct bench *b, struct sample *samples,
		     struct idle_result *idle)
{
	int err;

	err = net_sink_setup(b);
	if (err) {
		fprintf(stderr, "zcsend-bench: sink: %s\n", strerror(-err));
		return err;
	}
	err = check_sink(b);
	if (!err)
		err = start_daemon(b);
	if (err)
		goto err_sink;
	err = pin_start(b);
	if (!err)
		err = bench_measure(b, samples, idle);
	if (err == -EINTR)
		fprintf(stderr, "zcsend-bench: interrupted\n");
	daemon_stop(b);
err_sink:
	net_sink_close(b);
	return err;
}

/* --dgram: both sink variants' medians, reported together. */
static void report_dgram_run(const struct bench *b, struct sample *samples)
{
	struct row_result whole[NROWS_MAX], sw[NROWS_MAX];
	const struct row_result *res[2] = { whole, sw };
	unsigned n;

	n = summarize(b, variant(b, samples, 0), 0, whole);
	summarize(b, variant(b, samples, 1), 1, sw);
	report_dgram(b, res, n);
}

/* The tables of the mode, or the idle result. */
static void report(const struct bench *b, struct sample *samples,
		   const struct idle_result *idle)
{
	struct row_result res[NROWS_MAX];
	unsigned n;

	if (own_run(b))
		return;	/* reported as it ended */
	if (b->mode == MODE_IDLE) {
		report_idle(b, idle);
		return;
	}
	if (b->mode == MODE_DGRAM) {
		report_dgram_run(b, samples);
		return;
	}
	n = summarize(b, samples, 0, res);
	if (b->mode == MODE_LATENCY)
		report_latency(b, res, n);
	else if (b->json)
		report_json(b, res, n);
	else
		report_table(b, res, n);
}

int main(int argc, char **argv)
{
	struct bench b = { .sink_fd = -1, .flood_fd = -1, .poll_usec = -1,
			   .spin_usec = -1 };
	struct idle_result idle = { 0 };
	struct sample *samples;
	int err;

	err = parse_args(argc, argv, &b);
	if (err) {
		usage(err > 0 ? stdout : stderr);
		return err > 0 ? 0 : EXIT_USAGE;
	}
	/* --dgram keeps a set of samples per sink variant. */
	samples = calloc((size_t)nrows * b.rounds *
			 (b.mode == MODE_DGRAM ? 2 : 1), sizeof(*samples));
	if (b.mode == MODE_LATENCY)
		b.lat = lat_new(1, BENCH_LAT_MAX);
	if (!samples || (b.mode == MODE_LATENCY && !b.lat)) {
		fprintf(stderr, "zcsend-bench: out of memory\n");
		return 1;
	}
	signals_init();
	err = bench_run(&b, samples, &idle);
	/* --idle: a failed window (no rings, say) is reported, not hidden. */
	if (!err || (b.mode == MODE_IDLE && err != -EINTR))
		report(&b, samples, &idle);
	lat_free(b.lat);
	free(samples);
	return err ? 1 : 0;
}
