/* SPDX-License-Identifier: MIT */
/*
 * zcsendctl status --json: one STATUS reply as one JSON object for
 * scripts, with exact numbers; zcsendctl.1's JSON OUTPUT section names
 * every member (tests/integration/status-json-docs.sh holds them equal).
 */
#include <errno.h>
#include <stdio.h>

#include "ctl_status.h"
#include "status.h"

#define U(x)		((unsigned long long)(x))

/* A JSON string: quotes, backslashes and controls escaped, and bytes that
 * are not UTF-8 replaced, so the output always parses. */
static void json_str(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n;

	fputc('"', f);
	while (*s) {
		n = ctl_utf8_seq(s);
		if (n == 0)
			fputs("\\ufffd", f);
		else if (n > 1)
			fwrite(s, 1, n, f);
		else if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if (*s < 0x20 || *s == 0x7f)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
		s += n ? n : 1;
	}
	fputc('"', f);
}

static void json_daemon(FILE *f, const struct zcs_status_daemon *d)
{
	size_t i;

	fprintf(f, "{\n  \"version\": ");
	json_str(f, d->version);
	fprintf(f, ",\n  \"uptime_s\": %llu.%03llu,\n  \"pid\": %u,\n"
	       "  \"ring_entries\": %u,\n  \"poll_usec\": %u,\n"
	       "  \"gso_max_segments\": %u,\n  \"features\": {",
	       U(d->uptime_ms / 1000), U(d->uptime_ms % 1000), d->pid,
	       d->ring_entries, d->poll_usec, d->gso_max_segments);
	for (i = 0; i < ctl_nfeatures; i++)
		fprintf(f, "%s\"%s\": %s", i ? ", " : "", ctl_features[i].name,
		       d->features & ctl_features[i].bit ? "true" : "false");
	fprintf(f, "},\n");
}

/* The service across hand-overs, from a daemon that answered SERVICE. */
static void json_service(FILE *f, const struct ctl_status *st)
{
	const struct zcs_service *s = &st->svc;

	if (!st->have_svc)
		return;
	fprintf(f, "  \"service_uptime_s\": %llu.%03llu,\n"
		"  \"process_uptime_s\": %llu.%03llu,\n"
		"  \"handovers\": %u,\n"
		"  \"last_handover_blackout_s\": %llu.%06llu,\n"
		"  \"last_handover_clients\": %u,\n",
		U(s->service_uptime_ms / 1000), U(s->service_uptime_ms % 1000),
		U(s->process_uptime_ms / 1000), U(s->process_uptime_ms % 1000),
		s->handovers, U(s->last_handover_us / 1000000),
		U(s->last_handover_us % 1000000), s->last_clients);
}

/* The counters every object carries, as the tail of a JSON object. */
static void json_counters(FILE *f, const struct zcs_counters *c)
{
	fprintf(f, "\"sends\": %llu, \"bytes\": %llu, \"errors\": %llu, "
	       "\"zc_sends\": %llu, \"zc_copied\": %llu, "
	       "\"completions\": %llu, \"completion_msgs\": %llu, "
	       "\"datagrams\": %llu, \"gso_sends\": %llu, \"wakeups\": %llu}",
	       U(c->sends), U(c->bytes), U(c->errors), U(c->zc_sends),
	       U(c->zc_copied), U(c->completions), U(c->completion_msgs),
	       U(c->datagrams), U(c->gso_sends), U(c->wakeups));
}

/* The shared-memory ring counters, as a nested object. */
static void json_rings(FILE *f, const struct zcs_ring_counters *r)
{
	fprintf(f, "\"rings\": {\"records\": %llu, \"wakeups_in\": %llu, "
	       "\"wakeups_out\": %llu, \"poll_ns\": %llu}, ",
	       U(r->records), U(r->wakeups_in), U(r->wakeups_out),
	       U(r->poll_ns));
}

/* What the scheduler did, as a nested object; @total_cost > 0 adds the
 * share of it this is, in percent. */
static void json_sched(FILE *f, const struct zcs_sched_counters *s,
		       uint64_t total_cost)
{
	fprintf(f, "\"sched\": {\"cost\": %llu, ", U(s->cost));
	if (total_cost)
		fprintf(f, "\"share_pct\": %.3f, ",
			ctl_sched_share(s->cost, total_cost));
	fprintf(f, "\"queue_ns\": %llu, \"queued\": %llu, "
		"\"queue_mean_ns\": %llu, \"queue_max_ns\": %llu}, ",
		U(s->queue_ns), U(s->queued), U(ctl_sched_mean_ns(s)),
		U(s->queue_max_ns));
}

static void json_clients(FILE *f, const struct ctl_status *st)
{
	uint64_t cost = ctl_sched_cost_sum(st);
	const struct zcs_status_client *c;
	size_t i;

	fprintf(f, "  \"clients\": [");
	for (i = 0; i < st->nclients; i++) {
		c = &st->clients[i];
		fprintf(f, "%s\n    {\"id\": %u, \"name\": ", i ? "," : "", c->id);
		json_str(f, c->name);
		fprintf(f, ", \"pid\": %u, \"uid\": %u, \"gid\": %u, "
		       "\"pool_bytes\": %llu, \"inflight\": %u, \"flows\": %u, ",
		       c->pid, c->uid, c->gid, U(c->pool_bytes), c->inflight,
		       c->flows);
		fprintf(f, "\"transport\": \"%s\", \"ring_entries\": %u, ",
		       ctl_transport_name(c), c->ring_entries);
		fprintf(f, "\"weight\": %u, ", c->weight);
		json_sched(f, &c->sched, cost ? cost : 1);
		json_rings(f, &c->rings);
		json_counters(f, &c->st);
	}
	fprintf(f, "%s],\n", st->nclients ? "\n  " : "");
}

static void json_dest(FILE *f, const struct zcs_status_dest *d)
{
	fprintf(f, "\n    {\"name\": ");
	json_str(f, d->name);
	fprintf(f, ", \"address\": ");
	json_str(f, d->address);
	fprintf(f, ", \"protocol\": \"%s\", \"named\": %s, \"removed\": %s, "
	       "\"flush\": \"%s\", \"batch_max\": %u, \"batch_usec\": %u, "
	       "\"zerocopy\": \"%s\", \"zerocopy_active\": %s, "
	       "\"zerocopy_reason\": ",
	       ctl_proto_name(d->proto),
	       d->flags & ZCS_DEST_F_NAMED ? "true" : "false",
	       d->flags & ZCS_DEST_F_REMOVED ? "true" : "false",
	       ctl_flush_name(d->flush), d->batch_max, d->batch_usec,
	       ctl_zc_name(d->zerocopy), d->zc_active ? "true" : "false");
	json_str(f, d->zc_reason);
	fprintf(f, ", \"zerocopy_min_bytes\": %u, \"udp_segment\": \"%s\", "
	       "\"gso_active\": %s, \"gso_reason\": ",
	       d->zerocopy_min_bytes, ctl_zc_name(d->udp_segment),
	       d->gso_active ? "true" : "false");
	json_str(f, d->gso_reason);
	fprintf(f, ", \"max_segment\": %u, \"flows\": %u, ", d->max_segment,
	       d->flows);
	json_counters(f, &d->st);
}

static void json_totals(FILE *f, const struct zcs_status_daemon *d)
{
	fprintf(f, "  \"totals\": {\"clients\": %u, \"destinations\": %u, "
	       "\"flows\": %u, \"inflight\": %u, \"pool_bytes\": %llu, ",
	       d->clients, d->dests, d->flows, d->inflight, U(d->pool_bytes));
	json_sched(f, &d->sched, 0);
	json_rings(f, &d->rings);
	json_counters(f, &d->st);
	fprintf(f, "\n}\n");
}

/*
 * status_json_write - @st as one JSON object on @f; strings from other
 * processes are escaped and made valid UTF-8, so it always parses.
 * Returns 0, or -EIO when @f failed.
 */
int status_json_write(FILE *f, const struct ctl_status *st)
{
	size_t i;

	json_daemon(f, &st->d);
	json_service(f, st);
	json_clients(f, st);
	fprintf(f, "  \"destinations\": [");
	for (i = 0; i < st->ndests; i++) {
		fprintf(f, "%s", i ? "," : "");
		json_dest(f, &st->dests[i]);
	}
	fprintf(f, "%s],\n", st->ndests ? "\n  " : "");
	json_totals(f, &st->d);
	return fflush(f) || ferror(f) ? -EIO : 0;
}
