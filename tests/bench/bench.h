/* SPDX-License-Identifier: MIT */
/*
 * zcsend-bench shared declarations: the run's options and context, one
 * round's measurement of a row (struct sample), the row table entry and
 * the per-file entry points. Every function returns 0/count or -errno.
 */
#ifndef ZCS_BENCH_H
#define ZCS_BENCH_H

#include <sys/types.h>
#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#define BENCH_SIZE_MAX		65507u	/* largest UDP payload over IPv4 */
#define BENCH_ROUNDS_MAX	1000u
#define BENCH_SECONDS_MAX	3600.0
#define BENCH_DRAIN_SECONDS	10.0	/* bound on waiting for stragglers */
#define BENCH_POOL_BYTES	(64u << 20)

enum bench_sink { SINK_IFB, SINK_LOOPBACK };

/* The run: options, where the sink is, and the daemon behind the rows. */
struct bench {
	size_t size;
	double seconds;
	unsigned rounds;
	int json;
	uint32_t row_mask;	/* bit i: row i of the table is measured */

	enum bench_sink sink;
	struct sockaddr_in sink_addr;
	int sink_fd;		/* loopback only: the never-read receiver */

	pid_t daemon_pid;	/* 0 when no daemon runs */
	char dir[64];		/* mkdtemp dir holding conf, socket and log */
	char sock[108];		/* fits sun_path */
};

/* One row measured once: totals over the timed interval. */
struct sample {
	double secs;		/* wall time, first send to last completion */
	double cpu_s;		/* bench + daemon CPU over the same span */
	uint64_t bytes;		/* payload bytes sent successfully */
	uint64_t msgs;
	uint64_t zc_sends;	/* sends the kernel was asked to do zerocopy */
	uint64_t zc_copied;	/* ... of which it reported copying */
	uint64_t errors;
};

/* Interval bookkeeping for struct sample: wall clock and CPU at start. */
struct meter {
	double t0;
	double cpu0;
	double deadline;
};

struct row_def;
typedef int (*row_fn)(struct bench *b, const struct row_def *r,
		      struct sample *s);

/* One line of the table: how to measure it and with what depth. */
struct row_def {
	const char *name;
	row_fn run;
	unsigned nr;		/* sends kept in flight */
	const char *dest;	/* zcsendd destination, NULL if none */
};

/* The median over rounds of one row, as reported. */
struct row_result {
	const char *name;
	double mb_s;
	double msgs_s;
	double speedup;
	double cpu_s_per_gb;
	double zc_copied_pct;
};

/* main.c: set by SIGINT/SIGTERM; loops stop early and main cleans up. */
extern volatile sig_atomic_t bench_stop;

/* meter.c */
double meter_now(void);
int meter_start(const struct bench *b, struct meter *m);
int meter_expired(const struct meter *m);
int meter_stop(const struct bench *b, const struct meter *m,
	       struct sample *s);

/* net.c */
int net_sink_setup(struct bench *b);
void net_sink_close(struct bench *b);
int net_udp_open(const struct bench *b);
int net_sink_url(const struct bench *b, char *buf, size_t size);

/* daemon.c */
int daemon_start(struct bench *b);
void daemon_stop(struct bench *b);
int daemon_cpu(const struct bench *b, double *secs);

/* rows_plain.c */
int rows_plain_send(struct bench *b, const struct row_def *r,
		    struct sample *s);
int rows_plain_msg_zerocopy(struct bench *b, const struct row_def *r,
			    struct sample *s);

/* rows_uring.c */
int rows_uring_zc(struct bench *b, const struct row_def *r, struct sample *s);

/* rows_daemon.c */
int rows_daemon_zcs(struct bench *b, const struct row_def *r,
		    struct sample *s);

/* report.c */
void report_table(const struct bench *b, const struct row_result *res,
		  unsigned n);
void report_json(const struct bench *b, const struct row_result *res,
		 unsigned n);

#endif /* ZCS_BENCH_H */
