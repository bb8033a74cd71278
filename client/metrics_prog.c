/* SPDX-License-Identifier: MIT */
/*
 * The per-program part of the exposition: one series per family for each
 * user and program name (labels uid, program), summed over its clients
 * (metrics_agg.c). Per-connection detail (pid, client id) stays in
 * `zcsendctl status`: as labels it made new series for every client.
 */
#include <stdio.h>

#include "ctl_status.h"
#include "metrics.h"

#define U(x)	((unsigned long long)(x))
#define PPFX	"zcsendd_program_"

static void begin(FILE *f, const char *name, const struct metrics_group *g)
{
	fprintf(f, PPFX "%s{uid=\"%u\"", name, g->uid);
	metrics_label(f, "program", g->program, 1);
}

static void end_u64(FILE *f, uint64_t v)
{
	fprintf(f, "} %llu\n", U(v));
}

/* The counters every client carries, summed. */
static void prog_counters(FILE *f, const struct metrics_agg *a)
{
	const struct metrics_counter *m;
	size_t i, k;

	for (k = 0; k < metrics_ncounters; k++) {
		m = &metrics_counters[k];
		metrics_family(f, PPFX, m->name, "counter", m->help);
		for (i = 0; i < a->ngroups; i++) {
			begin(f, m->name, &a->groups[i]);
			end_u64(f, metrics_field(&a->groups[i].sum.st, m->off));
		}
	}
	for (k = 0; k < metrics_nring; k++) {
		m = &metrics_ring[k];
		if (m->daemon_only)
			continue;
		metrics_family(f, PPFX, m->name, "counter", m->help);
		for (i = 0; i < a->ngroups; i++) {
			begin(f, m->name, &a->groups[i]);
			end_u64(f, metrics_field(&a->groups[i].sum.rings,
						 m->off));
		}
	}
}

/* Connected clients by transport: both always, so the series stay put. */
static void prog_clients(FILE *f, const struct metrics_agg *a)
{
	static const char *const transport[2] = { "socket", "ring" };
	size_t i, t;

	metrics_family(f, PPFX, "clients", "gauge",
		       "Connected clients of the user running the program.");
	for (i = 0; i < a->ngroups; i++)
		for (t = 0; t < 2; t++) {
			begin(f, "clients", &a->groups[i]);
			fprintf(f, ",transport=\"%s\"", transport[t]);
			end_u64(f, a->groups[i].clients[t]);
		}
}

static void prog_gauges(FILE *f, const struct metrics_agg *a)
{
	size_t i;

	prog_clients(f, a);
	metrics_family(f, PPFX, "pool_bytes", "gauge",
		       "Bytes of the clients' pools.");
	for (i = 0; i < a->ngroups; i++) {
		begin(f, "pool_bytes", &a->groups[i]);
		end_u64(f, a->groups[i].pool_bytes);
	}
	metrics_family(f, PPFX, "inflight_sends", "gauge",
		       "The clients' send requests in flight.");
	for (i = 0; i < a->ngroups; i++) {
		begin(f, "inflight_sends", &a->groups[i]);
		end_u64(f, a->groups[i].inflight);
	}
	metrics_family(f, PPFX, "flows", "gauge", "The clients' open flows.");
	for (i = 0; i < a->ngroups; i++) {
		begin(f, "flows", &a->groups[i]);
		end_u64(f, a->groups[i].flows);
	}
	metrics_family(f, PPFX, "weight", "gauge",
		       "The connected clients' scheduling weights, summed: "
		       "their claim when all are busy.");
	for (i = 0; i < a->ngroups; i++) {
		begin(f, "weight", &a->groups[i]);
		end_u64(f, a->groups[i].weight);
	}
}

/* The scheduler's counters: cost, and waits as a summary's sum and count. */
static void prog_sched(FILE *f, const struct metrics_agg *a)
{
	const struct metrics_group *g;
	size_t i;

	metrics_family(f, PPFX, "sched_cost_total", "counter",
		       "Work submitted, in the scheduler's cost units.");
	for (i = 0; i < a->ngroups; i++) {
		begin(f, "sched_cost_total", &a->groups[i]);
		end_u64(f, a->groups[i].sum.sched.cost);
	}
	metrics_family(f, PPFX, "queue_delay_seconds", "summary",
		       "Time requests waited between intake and submission.");
	for (i = 0; i < a->ngroups; i++) {
		g = &a->groups[i];
		begin(f, "queue_delay_seconds_sum", g);
		fputc('}', f);
		metrics_secs(f, g->sum.sched.queue_ns);
		begin(f, "queue_delay_seconds_count", g);
		end_u64(f, g->sum.sched.queued);
	}
	metrics_family(f, PPFX, "queue_delay_max_seconds", "gauge",
		       "The longest such wait of any of the clients.");
	for (i = 0; i < a->ngroups; i++) {
		begin(f, "queue_delay_max_seconds", &a->groups[i]);
		fputc('}', f);
		metrics_secs(f, a->groups[i].sum.sched.queue_max_ns);
	}
}

/*
 * metrics_prog_write - the families of every group of @a on @f, each
 * family once with all its samples.
 */
void metrics_prog_write(FILE *f, const struct metrics_agg *a)
{
	prog_gauges(f, a);
	prog_sched(f, a);
	prog_counters(f, a);
}
