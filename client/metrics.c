/* SPDX-License-Identifier: MIT */
/*
 * The daemon's STATUS reply in the Prometheus text exposition format,
 * version 0.0.4: daemon totals, then per destination and per client, every
 * family with HELP and TYPE, counters ending in _total, bytes and seconds
 * as base units. Label values come from other programs (client names,
 * destination names): they are escaped and made valid UTF-8.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "ctl_status.h"
#include "metrics.h"

#define U(x)	((unsigned long long)(x))

/* A counter every object carries (struct zcs_counters), by field. */
struct counter_def {
	const char *name;	/* after the family's prefix */
	const char *help;
	size_t off;
};

#define CNT(name, field, help) \
	{ name, help, offsetof(struct zcs_counters, field) }

static const struct counter_def counters[] = {
	CNT("sends_total", sends, "Send requests completed."),
	CNT("sent_bytes_total", bytes, "Bytes the kernel took."),
	CNT("send_errors_total", errors, "Send requests that failed."),
	CNT("zerocopy_sends_total", zc_sends,
	    "Send requests that succeeded as zerocopy sends."),
	CNT("zerocopy_copied_sends_total", zc_copied,
	    "Zerocopy sends the kernel copied anyway."),
	CNT("completions_total", completions,
	    "Completion records written to clients, by socket or ring."),
	CNT("completion_messages_total", completion_msgs,
	    "COMPLETE messages written to socket clients."),
	CNT("datagrams_total", datagrams, "UDP datagrams sent."),
	CNT("gso_sends_total", gso_sends,
	    "Sends cut into several UDP datagrams by the kernel (UDP GSO)."),
	CNT("wakeups_total", wakeups,
	    "Times a sleeping ring client was woken for completions."),
};

#define NCOUNTERS (sizeof(counters) / sizeof(counters[0]))

/* The shared-memory ring counters (struct zcs_ring_counters). */
static const struct {
	const char *name;
	const char *help;
	size_t off;
	int ns;			/* nanoseconds, printed as seconds */
} ring_counters[] = {
	{ "ring_records_total", "SEND records taken from shared-memory rings.",
	  offsetof(struct zcs_ring_counters, records), 0 },
	{ "ring_wakeups_in_total", "Times a ring client woke the daemon.",
	  offsetof(struct zcs_ring_counters, wakeups_in), 0 },
	{ "ring_wakeups_out_total", "Times the daemon woke a ring client.",
	  offsetof(struct zcs_ring_counters, wakeups_out), 0 },
	{ "ring_poll_seconds_total", "Time the daemon spent polling rings.",
	  offsetof(struct zcs_ring_counters, poll_ns), 1 },
};

#define NRING (sizeof(ring_counters) / sizeof(ring_counters[0]))

static uint64_t field(const void *base, size_t off)
{
	uint64_t v;

	memcpy(&v, (const char *)base + off, sizeof(v));
	return v;
}

static void family(FILE *f, const char *prefix, const char *name,
		   const char *type, const char *help)
{
	fprintf(f, "# HELP %s%s %s\n# TYPE %s%s %s\n", prefix, name, help,
		prefix, name, type);
}

/*
 * One label, its value escaped as the format says (backslash, double quote,
 * line feed). Other control bytes, which the daemon does not send, become
 * '?', and bytes that are not UTF-8 U+FFFD, so every line parses.
 */
static void label(FILE *f, const char *key, const char *val, int comma)
{
	const unsigned char *s = (const unsigned char *)val;
	size_t n;

	fprintf(f, "%s%s=\"", comma ? "," : "", key);
	while (*s) {
		n = ctl_utf8_seq(s);
		if (n == 0)
			fputs("\xef\xbf\xbd", f);
		else if (n > 1)
			fwrite(s, 1, n, f);
		else if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s < 0x20 || *s == 0x7f ? '?' : *s, f);
		s += n ? n : 1;
	}
	fputc('"', f);
}

/* A bounded copy of a fixed-size string field: the daemon ends them with
 * a NUL, but nothing here relies on it. */
static const char *str(const char *field_, size_t size, char *buf)
{
	memcpy(buf, field_, size);
	buf[size - 1] = '\0';
	return buf;
}

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
	label(f, "destination", str(d->name, sizeof(d->name), buf), 0);
	label(f, "address", str(d->address, sizeof(d->address), buf), 1);
	label(f, "protocol", ctl_proto_name(d->proto), 1);
	if (d->flags & ZCS_DEST_F_REMOVED)
		label(f, "removed", "true", 1);
}

static void client_begin(FILE *f, const char *prefix, const char *name,
			 const struct zcs_status_client *c)
{
	char buf[sizeof(c->name)];

	fprintf(f, "%s%s{client_id=\"%u\"", prefix, name, c->id);
	label(f, "name", str(c->name, sizeof(c->name), buf), 1);
	fprintf(f, ",pid=\"%u\",uid=\"%u\"", c->pid, c->uid);
}

static void end_u64(FILE *f, uint64_t v)
{
	fprintf(f, "} %llu\n", U(v));
}

/* Nanoseconds as seconds, exactly. */
static void put_ns(FILE *f, uint64_t ns)
{
	fprintf(f, " %llu.%09llu\n", U(ns / 1000000000u),
		U(ns % 1000000000u));
}

static void daemon_info(FILE *f, const struct zcs_status_daemon *d)
{
	char buf[sizeof(d->version)];
	size_t i;

	family(f, "zcsendd_", "build_info", "gauge",
	       "The daemon's version, as a label; always 1.");
	fputs("zcsendd_build_info{", f);
	label(f, "version", str(d->version, sizeof(d->version), buf), 0);
	fputs("} 1\n", f);
	family(f, "zcsendd_", "feature", "gauge",
	       "Kernel features found at start: 1 present, 0 absent.");
	for (i = 0; i < ctl_nfeatures; i++)
		fprintf(f, "zcsendd_feature{name=\"%s\"} %d\n",
			ctl_features[i].name,
			!!(d->features & ctl_features[i].bit));
	family(f, "zcsendd_", "uptime_seconds", "gauge",
	       "Time since the daemon started.");
	fprintf(f, "zcsendd_uptime_seconds %llu.%03llu\n",
		U(d->uptime_ms / 1000), U(d->uptime_ms % 1000));
}

static void daemon_gauge(FILE *f, const char *name, const char *help,
			 uint64_t v)
{
	family(f, "zcsendd_", name, "gauge", help);
	fprintf(f, "zcsendd_%s %llu\n", name, U(v));
}

static void daemon_gauges(FILE *f, const struct zcs_status_daemon *d)
{
	daemon_gauge(f, "ring_entries", "Entries of the daemon's io_uring.",
		     d->ring_entries);
	family(f, "zcsendd_", "ring_poll_window_seconds", "gauge",
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
	size_t k;

	for (k = 0; k < NCOUNTERS; k++) {
		family(f, "zcsendd_", counters[k].name, "counter",
		       counters[k].help);
		fprintf(f, "zcsendd_%s %llu\n", counters[k].name,
			U(field(&d->st, counters[k].off)));
	}
	for (k = 0; k < NRING; k++) {
		family(f, "zcsendd_", ring_counters[k].name, "counter",
		       ring_counters[k].help);
		fprintf(f, "zcsendd_%s", ring_counters[k].name);
		if (ring_counters[k].ns)
			put_ns(f, field(&d->rings, ring_counters[k].off));
		else
			fprintf(f, " %llu\n",
				U(field(&d->rings, ring_counters[k].off)));
	}
}

#define DPFX "zcsendd_destination_"

static void dest_counters(FILE *f, const struct ctl_status *st)
{
	size_t i, k;

	for (k = 0; k < NCOUNTERS; k++) {
		family(f, DPFX, counters[k].name, "counter", counters[k].help);
		for (i = 0; i < st->ndests; i++) {
			dest_begin(f, DPFX, counters[k].name, &st->dests[i]);
			end_u64(f, field(&st->dests[i].st, counters[k].off));
		}
	}
}

static void dest_policy(FILE *f, const struct ctl_status *st)
{
	const struct zcs_status_dest *d;
	size_t i;

	family(f, DPFX, "policy_info", "gauge",
	       "A destination's policy, as labels; always 1.");
	for (i = 0; i < st->ndests; i++) {
		d = &st->dests[i];
		dest_begin(f, DPFX, "policy_info", d);
		label(f, "flush", ctl_flush_name(d->flush), 1);
		label(f, "zerocopy", ctl_zc_name(d->zerocopy), 1);
		label(f, "udp_segment", ctl_zc_name(d->udp_segment), 1);
		label(f, "configured", d->flags & ZCS_DEST_F_NAMED ?
		      "true" : "false", 1);
		end_u64(f, 1);
	}
	family(f, DPFX, "batch_max", "gauge",
	       "Most completion records in one batch (flush=batch).");
	for (i = 0; i < st->ndests; i++) {
		dest_begin(f, DPFX, "batch_max", &st->dests[i]);
		end_u64(f, st->dests[i].batch_max);
	}
	family(f, DPFX, "batch_wait_seconds", "gauge",
	       "Longest a completion waits for its batch (flush=batch).");
	for (i = 0; i < st->ndests; i++) {
		d = &st->dests[i];
		dest_begin(f, DPFX, "batch_wait_seconds", d);
		fprintf(f, "} %u.%06u\n", d->batch_usec / 1000000,
			d->batch_usec % 1000000);
	}
	family(f, DPFX, "zerocopy_min_bytes", "gauge",
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

	family(f, DPFX, "flows", "gauge", "Open flows to the destination.");
	for (i = 0; i < st->ndests; i++) {
		dest_begin(f, DPFX, "flows", &st->dests[i]);
		end_u64(f, st->dests[i].flows);
	}
	family(f, DPFX, "zerocopy_active", "gauge",
	       "1 while sends of zerocopy size go as zerocopy sends.");
	for (i = 0; i < st->ndests; i++) {
		dest_begin(f, DPFX, "zerocopy_active", &st->dests[i]);
		end_u64(f, !!st->dests[i].zc_active);
	}
	family(f, DPFX, "gso_active", "gauge",
	       "UDP: 1 while runs of datagrams go as UDP GSO sends.");
	for (i = 0; i < st->ndests; i++) {
		d = &st->dests[i];
		if (d->proto != ZCS_PROTO_UDP)
			continue;
		dest_begin(f, DPFX, "gso_active", d);
		end_u64(f, !!d->gso_active);
	}
	family(f, DPFX, "max_segment_bytes", "gauge",
	       "UDP: the largest datagram within the path MTU.");
	for (i = 0; i < st->ndests; i++) {
		d = &st->dests[i];
		if (d->proto != ZCS_PROTO_UDP)
			continue;
		dest_begin(f, DPFX, "max_segment_bytes", d);
		end_u64(f, d->max_segment);
	}
}

#define CPFX "zcsendd_client_"

static void client_counters(FILE *f, const struct ctl_status *st)
{
	const struct zcs_status_client *c;
	size_t i, k;

	for (k = 0; k < NCOUNTERS; k++) {
		family(f, CPFX, counters[k].name, "counter", counters[k].help);
		for (i = 0; i < st->nclients; i++) {
			client_begin(f, CPFX, counters[k].name, &st->clients[i]);
			end_u64(f, field(&st->clients[i].st, counters[k].off));
		}
	}
	for (k = 0; k < NRING; k++) {
		family(f, CPFX, ring_counters[k].name, "counter",
		       ring_counters[k].help);
		for (i = 0; i < st->nclients; i++) {
			c = &st->clients[i];
			client_begin(f, CPFX, ring_counters[k].name, c);
			fputc('}', f);
			if (ring_counters[k].ns)
				put_ns(f, field(&c->rings, ring_counters[k].off));
			else
				fprintf(f, " %llu\n", U(field(&c->rings,
						ring_counters[k].off)));
		}
	}
}

static void client_gauges(FILE *f, const struct ctl_status *st)
{
	const struct zcs_status_client *c;
	size_t i;

	family(f, CPFX, "info", "gauge",
	       "A client's group and transport, as labels; always 1.");
	for (i = 0; i < st->nclients; i++) {
		c = &st->clients[i];
		client_begin(f, CPFX, "info", c);
		fprintf(f, ",gid=\"%u\",transport=\"%s\"} 1\n", c->gid,
			c->flags & ZCS_CLIENT_F_RINGS ? "ring" : "socket");
	}
	family(f, CPFX, "pool_bytes", "gauge", "Bytes of the client's pool.");
	for (i = 0; i < st->nclients; i++) {
		client_begin(f, CPFX, "pool_bytes", &st->clients[i]);
		end_u64(f, st->clients[i].pool_bytes);
	}
	family(f, CPFX, "inflight_sends", "gauge",
	       "The client's send requests in flight.");
	for (i = 0; i < st->nclients; i++) {
		client_begin(f, CPFX, "inflight_sends", &st->clients[i]);
		end_u64(f, st->clients[i].inflight);
	}
	family(f, CPFX, "flows", "gauge", "The client's open flows.");
	for (i = 0; i < st->nclients; i++) {
		client_begin(f, CPFX, "flows", &st->clients[i]);
		end_u64(f, st->clients[i].flows);
	}
}

/*
 * metrics_write - @st as one Prometheus text exposition (0.0.4) on @f.
 * Each family appears once, all its samples together, as the format
 * requires. Returns 0, or -EIO when @f failed.
 */
int metrics_write(FILE *f, const struct ctl_status *st)
{
	daemon_info(f, &st->d);
	daemon_gauges(f, &st->d);
	daemon_counters(f, &st->d);
	dest_policy(f, st);
	dest_state(f, st);
	dest_counters(f, st);
	client_gauges(f, st);
	client_counters(f, st);
	return fflush(f) || ferror(f) ? -EIO : 0;
}
