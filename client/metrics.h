/* SPDX-License-Identifier: MIT */
/*
 * zcsendctl metrics: the daemon's counters in the Prometheus text
 * exposition format, printed once or served over HTTP by a separate
 * unprivileged process. Clients are summed per user and program name
 * (metrics_agg.c), so the series do not grow with short-lived clients.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "zcs_proto.h"

struct ctl_status;

/* The Content-Type of what metrics_write() produces. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* A program label: a name's ZCS_NAME_MAX - 1 bytes, each at most 3 once
 * bytes that are not UTF-8 become U+FFFD. */
#define METRICS_PROGRAM_MAX	(3 * (ZCS_NAME_MAX - 1) + 1)

/* Groups with no client connected that an exporter keeps (see below). */
#define METRICS_IDLE_GROUPS_MAX	256

/* What the clients of one group add up to. */
struct metrics_sums {
	struct zcs_counters st;
	struct zcs_ring_counters rings;	/* poll_ns left 0: not per client */
	struct zcs_sched_counters sched; /* queue_max_ns: the largest */
};

/* The clients of one user running one program. */
struct metrics_group {
	uint32_t uid;
	char program[METRICS_PROGRAM_MAX];	/* the label value, cleaned */
	struct metrics_sums gone;	/* clients that left, as last seen */
	struct metrics_sums sum;	/* gone plus the connected ones */
	uint32_t clients[2];		/* connected: [0] socket, [1] rings */
	uint32_t weight;		/* the connected clients' weights, summed */
	uint32_t flows, inflight;
	uint64_t pool_bytes;
	uint64_t live_gen;		/* last update with a client of it */
};

/* Two reckonings of the service's start within it are one service. */
#define METRICS_START_SLACK_MS	1000

/*
 * Groups across updates: each update adds the counters of the clients
 * that left since the one before (as that one saw them) to their group,
 * so a group's counters never go down while this lives. A daemon restart
 * starts over; a hand-over, which keeps clients and counters, does not.
 * An exporter keeps one; `metrics` once makes one per run.
 */
struct metrics_agg {
	struct metrics_group *groups;	/* sorted by uid, then program */
	size_t ngroups;
	struct zcs_status_client *seen;	/* the last update's, sorted by id */
	size_t nseen;
	uint32_t daemon_pid;
	uint64_t uptime_ms;
	uint64_t svc_start_ms;		/* the service's start; 0: unknown */
	uint64_t gen;			/* updates so far */
};

/* A counter of struct zcs_counters or zcs_ring_counters, by offset. */
struct metrics_counter {
	const char *name;	/* after the family's prefix */
	const char *help;
	size_t off;
	int ns;			/* nanoseconds, printed as seconds */
	int daemon_only;	/* meaningless summed over clients */
};

/* metrics.c */
int metrics_write(FILE *f, const struct ctl_status *st);
int metrics_write_agg(FILE *f, const struct ctl_status *st,
		      const struct metrics_agg *agg);

/* metrics_agg.c */
int metrics_agg_update(struct metrics_agg *a, const struct ctl_status *st);
void metrics_agg_free(struct metrics_agg *a);
void metrics_clean(const char *in, size_t size, char *out, size_t outsize);

/* metrics_fmt.c */
extern const struct metrics_counter metrics_counters[], metrics_ring[];
extern const size_t metrics_ncounters, metrics_nring;
uint64_t metrics_field(const void *base, size_t off);
void metrics_family(FILE *f, const char *prefix, const char *name,
		    const char *type, const char *help);
void metrics_label(FILE *f, const char *key, const char *val, int comma);
const char *metrics_str(const char *field, size_t size, char *buf);
void metrics_secs(FILE *f, uint64_t ns);

/* metrics_prog.c */
void metrics_prog_write(FILE *f, const struct metrics_agg *agg);

/* metrics_http.c */
int metrics_http_serve(const char *sock, const char *listen);

#endif /* METRICS_H */
