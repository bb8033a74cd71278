/* SPDX-License-Identifier: MIT */
/*
 * The daemon's STATUS reply in the Prometheus text exposition format,
 * version 0.0.4: daemon totals, per destination, then per user and
 * program (metrics_prog.c), every family with HELP and TYPE, counters
 * ending in _total, bytes and seconds as base units.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "ctl_status.h"
#include "metrics.h"

#define U(x)	((unsigned long long)(x))
#define DPFX	"zcsendd_destination_"

/*
 * "PREFIXNAME{labels of @d" for a destination sample; the caller may add
 * labels and ends it with end_*(). A destination retired by a reload may
 * share its name and address with its successor while its flows finish:
 * removed="true" keeps the two series apart.
 */
static void dest_begin(FILE *f, const char *prefix, const char *name,
		       const struct zcs_status_dest *d)
{
	char buf[sizeof(d->address)];

	fprintf(f, "%s%s{", prefix, name);
	metrics_label(f, "destination",
		      metrics_str(d->name, sizeof(d->name), buf), 0);
	metrics_label(f, "address",
		      metrics_str(d->address, sizeof(d->address), buf), 1);
	metrics_label(f, "protocol", ctl_proto_name(d->proto), 1);
	if (d->flags & ZCS_DEST_F_REMOVED)
		metrics_label(f, "removed", "true", 1);
}

static void end_u64(FILE *f, uint64_t v)
{
	fprintf(f, "} %llu\n", U(v));
}

static void daemon_info(FILE *f, const struct zcs_status_daemon *d)
{
	char buf[sizeof(d->version)];
	size_t i;

	metrics_family(f, "zcsendd_", "build_info", "gauge",
		       "The daemon's version, as a label; always 1.");
	fputs("zcsendd_build_info{", f);
	metrics_label(f, "version",
		      metrics_str(d->version, sizeof(d->version), buf), 0);
	fputs("} 1\n", f);
	metrics_family(f, "zcsendd_", "feature", "gauge",
		       "Kernel features found at start: 1 present, 0 absent.");
	for (i = 0; i < ctl_nfeatures; i++)
		fprintf(f, "zcsendd_feature{name=\"%s\"} %d\n",
			ctl_features[i].name,
			!!(d->features & ctl_features[i].bit));
	metrics_family(f, "zcsendd_", "uptime_seconds", "gauge",
		       "Time since the daemon started.");
	fprintf(f, "zcsendd_uptime_seconds %llu.%03llu\n",
		U(d->uptime_ms / 1000), U(d->uptime_ms % 1000));
}

static void daemon_gauge(FILE *f, const char *name, const char *help,
			 uint64_t v)
{
	metrics_family(f, "zcsendd_", name, "gauge", help);
	fprintf(f, "zcsendd_%s %llu\n", name, U(v));
}

/*
 * The service across hand-overs, from a daemon that answered SERVICE (an
 * older one leaves these families out): a hand-over keeps clients and
 * counters, so the service outlives the process.
 */
static void daemon_service(FILE *f, const struct ctl_status *st)
{
	const struct zcs_service *s = &st->svc;

	if (!st->have_svc)
		return;
	metrics_family(f, "zcsendd_", "service_uptime_seconds", "gauge",
		       "Time since the service started, across hand-overs.");
	fprintf(f, "zcsendd_service_uptime_seconds %llu.%03llu\n",
		U(s->service_uptime_ms / 1000), U(s->service_uptime_ms % 1000));
	metrics_family(f, "zcsendd_", "process_uptime_seconds", "gauge",
		       "Time since this daemon process started.");
	fprintf(f, "zcsendd_process_uptime_seconds %llu.%03llu\n",
		U(s->process_uptime_ms / 1000), U(s->process_uptime_ms % 1000));
	metrics_family(f, "zcsendd_", "handovers_total", "counter",
		       "Hand-overs to a new process since the service "
		       "started.");
	fprintf(f, "zcsendd_handovers_total %u\n", s->handovers);
	metrics_family(f, "zcsendd_", "handover_last_blackout_seconds",
		       "gauge", "The last hand-over's pause for clients; "
		       "0: none yet.");
	fprintf(f, "zcsendd_handover_last_blackout_seconds %llu.%06llu\n",
		U(s->last_handover_us / 1000000),
		U(s->last_handover_us % 1000000));
}

static void daemon_gauges(FILE *f, const struct zcs_status_daemon *d)
{
	daemon_gauge(f, "ring_entries", "Entries of the daemon's io_uring.",
		     d->ring_entries);
	metrics_family(f, "zcsendd_", "ring_poll_window_seconds", "gauge",
		       "How long the daemon polls rings after work (poll_usec).");
	fprintf(f, "zcsendd_ring_poll_window_seconds %u.%06u\n",
		d->poll_usec / 1000000, d->poll_usec % 1000000);
	daemon_gauge(f, "gso_max_segments",
		     "Most datagrams in one UDP GSO send; 0: no GSO.",
		     d->gso_max_segments);
	daemon_gauge(f, "clients", "Connected clients holding a pool.",
		     d->clients);
	daemon_gauge(f, "destinations", "Destinations, configured and ad hoc.",
		     d->dests);
	daemon_gauge(f, "flows", "Open flows.", d->flows);
	daemon_gauge(f, "inflight_sends", "Send requests in flight.",
		     d->inflight);
	daemon_gauge(f, "pool_bytes", "Bytes of all clients' pools.",
		     d->pool_bytes);
}

/* Totals since the daemon started, over all clients, gone ones included. */
static void daemon_counters(FILE *f, const struct zcs_status_daemon *d)
{
	const struct metrics_counter *m;
	size_t k;

	for (k = 0; k < metrics_ncounters; k++) {
		m = &metrics_counters[k];
		metrics_family(f, "zcsendd_", m->name, "counter", m->help);
		fprintf(f, "zcsendd_%s %llu\n", m->name,
			U(metrics_field(&d->st, m->off)));
	}
	for (k = 0; k < metrics_nring; k++) {
		m = &metrics_ring[k];
		metrics_family(f, "zcsendd_", m->name, "counter", m->help);
		fprintf(f, "zcsendd_%s", m->name);
		if (m->ns)
			metrics_secs(f, metrics_field(&d->rings, m->off));
		else
			fprintf(f, " %llu\n",
				U(metrics_field(&d->rings, m->off)));
	}
}

/* What the scheduler did, over all clients since the daemon started. */
static void daemon_sched(FILE *f, const struct zcs_sched_counters *s)
{
	metrics_family(f, "zcsendd_", "sched_cost_total", "counter",
		       "Work submitted, in the scheduler's cost units.");
	fprintf(f, "zcsendd_sched_cost_total %llu\n", U(s->cost));
	metrics_family(f, "zcsendd_", "queue_delay_seconds", "summary",
		       "Time requests waited between intake and submission.");
	fputs("zcsendd_queue_delay_seconds_sum", f);
	metrics_secs(f, s->queue_ns);
	fprintf(f, "zcsendd_queue_delay_seconds_count %llu\n", U(s->queued));
	metrics_family(f, "zcsendd_", "queue_delay_max_seconds", "gauge",
		       "The longest such wait.");
	fputs("zcsendd_queue_delay_max_seconds", f);
	metrics_secs(f, s->queue_max_ns);
}

static void dest_counters(FILE *f, const struct ctl_status *st)
{
	const struct metrics_counter *m;
	size_t i, k;

	for (k = 0; k < metrics_ncounters; k++) {
		m = &metrics_counters[k];
		metrics_family(f, DPFX, m->name, "counter", m->help);
		for (i = 0; i < st->ndests; i++) {
			dest_begin(f, DPFX, m->name, &st->dests[i]);
			end_u64(f, metrics_field(&st->dests[i].st, m->off));
		}
	}
}

static void dest_policy(FILE *f, const struct ctl_status *st)
{
	const struct zcs_status_dest *d;
	size_t i;

	metrics_family(f, DPFX, "policy_info", "gauge",
	       "A destination's policy, as labels; always 1.");
	for (i = 0; i < st->ndests; i++) {
		d = &st->dests[i];
		dest_begin(f, DPFX, "policy_info", d);
		metrics_label(f, "flush", ctl_flush_name(d->flush), 1);
		metrics_label(f, "zerocopy", ctl_zc_name(d->zerocopy), 1);
		metrics_label(f, "udp_segment", ctl_zc_name(d->udp_segment), 1);
		metrics_label(f, "configured", d->flags & ZCS_DEST_F_NAMED ?
		      "true" : "false", 1);
		end_u64(f, 1);
	}
	metrics_family(f, DPFX, "batch_max", "gauge",
	       "Most completion records in one batch (flush=batch).");
	for (i = 0; i < st->ndests; i++) {
		dest_begin(f, DPFX, "batch_max", &st->dests[i]);
		end_u64(f, st->dests[i].batch_max);
	}
	metrics_family(f, DPFX, "batch_wait_seconds", "gauge",
	       "Longest a completion waits for its batch (flush=batch).");
	for (i = 0; i < st->ndests; i++) {
		d = &st->dests[i];
		dest_begin(f, DPFX, "batch_wait_seconds", d);
		fprintf(f, "} %u.%06u\n", d->batch_usec / 1000000,
			d->batch_usec % 1000000);
	}
	metrics_family(f, DPFX, "zerocopy_min_bytes", "gauge",
	       "Smaller sends are copying sends.");
	for (i = 0; i < st->ndests; i++) {
		dest_begin(f, DPFX, "zerocopy_min_bytes", &st->dests[i]);
		end_u64(f, st->dests[i].zerocopy_min_bytes);
	}
}

/* What is in force now; the reasons are in `zcsendctl status` (they carry
 * changing numbers, which as labels would make new series). */
static void dest_state(FILE *f, const struct ctl_status *st)
{
	const struct zcs_status_dest *d;
	size_t i;

	metrics_family(f, DPFX, "flows", "gauge", "Open flows to the destination.");
	for (i = 0; i < st->ndests; i++) {
		dest_begin(f, DPFX, "flows", &st->dests[i]);
		end_u64(f, st->dests[i].flows);
	}
	metrics_family(f, DPFX, "zerocopy_active", "gauge",
	       "1 while sends of zerocopy size go as zerocopy sends.");
	for (i = 0; i < st->ndests; i++) {
		dest_begin(f, DPFX, "zerocopy_active", &st->dests[i]);
		end_u64(f, !!st->dests[i].zc_active);
	}
	metrics_family(f, DPFX, "gso_active", "gauge",
	       "UDP: 1 while runs of datagrams go as UDP GSO sends.");
	for (i = 0; i < st->ndests; i++) {
		d = &st->dests[i];
		if (d->proto != ZCS_PROTO_UDP)
			continue;
		dest_begin(f, DPFX, "gso_active", d);
		end_u64(f, !!d->gso_active);
	}
	metrics_family(f, DPFX, "max_segment_bytes", "gauge",
	       "UDP: the largest datagram within the path MTU.");
	for (i = 0; i < st->ndests; i++) {
		d = &st->dests[i];
		if (d->proto != ZCS_PROTO_UDP)
			continue;
		dest_begin(f, DPFX, "max_segment_bytes", d);
		end_u64(f, d->max_segment);
	}
}

/*
 * metrics_write_agg - @st as one Prometheus text exposition (0.0.4) on
 * @f, its clients as @agg grouped them (updated with @st). Each family
 * appears once, all its samples together, as the format requires.
 * Returns 0, or -EIO when @f failed.
 */
int metrics_write_agg(FILE *f, const struct ctl_status *st,
		      const struct metrics_agg *agg)
{
	daemon_info(f, &st->d);
	daemon_service(f, st);
	daemon_gauges(f, &st->d);
	daemon_counters(f, &st->d);
	daemon_sched(f, &st->d.sched);
	dest_policy(f, st);
	dest_state(f, st);
	dest_counters(f, st);
	metrics_prog_write(f, agg);
	return fflush(f) || ferror(f) ? -EIO : 0;
}

/*
 * metrics_write - @st alone as one exposition on @f: its clients grouped
 * with no memory of earlier ones, so a group's counters drop when one
 * of its clients leaves. Returns 0, -ENOMEM, or -EIO when @f failed.
 */
int metrics_write(FILE *f, const struct ctl_status *st)
{
	struct metrics_agg agg;
	int err;

	memset(&agg, 0, sizeof(agg));
	err = metrics_agg_update(&agg, st);
	if (!err)
		err = metrics_write_agg(f, st, &agg);
	metrics_agg_free(&agg);
	return err;
}
