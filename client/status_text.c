/* SPDX-License-Identifier: MIT */
/*
 * zcsendctl status: one STATUS reply as compact tables for a terminal
 * (the daemon, destinations, clients with their scheduling). Strings come
 * from other processes: control bytes are shown as '?'; --json
 * (status_json.c) has the exact numbers.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctl_status.h"
#include "status.h"

#define U(x)		((unsigned long long)(x))

/* For the terminal: control bytes from other processes become '?'. */
static const char *tty_str(const char *in, char *out, size_t size)
{
	size_t i;

	for (i = 0; i + 1 < size && in[i]; i++)
		out[i] = (unsigned char)in[i] < 0x20 || in[i] == 0x7f ?
			 '?' : in[i];
	out[i] = '\0';
	return out;
}

/* 1536 -> "1.5K": tables stay narrow; --json has the exact numbers. */
static const char *human(uint64_t v, char *buf, size_t size)
{
	static const char units[] = "KMGTPE";
	double x = (double)v / 1024;
	int u = 0;

	if (v < 1024) {
		snprintf(buf, size, "%llu", U(v));
		return buf;
	}
	while (x >= 1024 && u < 5) {
		x /= 1024;
		u++;
	}
	snprintf(buf, size, "%.1f%c", x, units[u]);
	return buf;
}

/* A batch wait for a narrow column: 250us, 5ms, 10s. */
static const char *usecs(uint32_t us, char *buf, size_t size)
{
	if (us < 1000 || us % 1000)
		snprintf(buf, size, "%uus", us);
	else if (us < 1000000 || us % 1000000)
		snprintf(buf, size, "%ums", us / 1000);
	else
		snprintf(buf, size, "%us", us / 1000000);
	return buf;
}

/* A wait for a narrow column: 850ns, 12.3us, 4.56ms, 1.20s. */
static const char *nsecs(uint64_t ns, char *buf, size_t size)
{
	if (ns < 1000)
		snprintf(buf, size, "%lluns", U(ns));
	else if (ns < 1000000)
		snprintf(buf, size, "%.1fus", (double)ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, size, "%.2fms", (double)ns / 1e6);
	else
		snprintf(buf, size, "%.2fs", (double)ns / 1e9);
	return buf;
}

/* An uptime: 2d 03:04:05. */
static const char *dhms(uint64_t ms, char *buf, size_t size)
{
	uint64_t s = ms / 1000;

	snprintf(buf, size, "%llud %02llu:%02llu:%02llu", U(s / 86400),
		 U(s / 3600 % 24), U(s / 60 % 60), U(s % 60));
	return buf;
}

/* The mean wait, or "-" when nothing waited. */
static const char *mean_col(const struct zcs_sched_counters *s, char *buf,
			    size_t size)
{
	if (!s->queued)
		return "-";
	return nsecs(ctl_sched_mean_ns(s), buf, size);
}

static void text_sched(FILE *f, const struct zcs_sched_counters *s)
{
	char b1[16], b2[16];

	fprintf(f, "sched: cost %llu, %llu waits, mean %s, max %s\n",
		U(s->cost), U(s->queued), mean_col(s, b1, sizeof(b1)),
		nsecs(s->queue_max_ns, b2, sizeof(b2)));
}

static void text_daemon(FILE *f, const struct zcs_status_daemon *d)
{
	char b1[16], b2[16], up[32];
	size_t i;

	fprintf(f, "zcsendd %s  pid %u  up %s  ring %u  poll %s\nfeatures:",
	       tty_str(d->version, b1, sizeof(b1)), d->pid,
	       dhms(d->uptime_ms, up, sizeof(up)), d->ring_entries,
	       usecs(d->poll_usec, b2, sizeof(b2)));
	for (i = 0; i < ctl_nfeatures; i++)
		fprintf(f, " %c%s", d->features & ctl_features[i].bit ? '+' : '-',
		       ctl_features[i].name);
	fprintf(f, "\ntotals: %u clients, %u destinations, %u flows, %u in flight, "
	       "pools %s, %llu sends, %s bytes, %llu errors, %llu zc, "
	       "%llu copied\n", d->clients, d->dests, d->flows, d->inflight,
	       human(d->pool_bytes, b1, sizeof(b1)), U(d->st.sends),
	       human(d->st.bytes, b2, sizeof(b2)), U(d->st.errors),
	       U(ctl_zc(&d->st)), U(ctl_copied(&d->st)));
	fprintf(f, "rings: %llu records, %llu wake-ups in, %llu out, polled %.3f s\n",
	       U(d->rings.records), U(d->rings.wakeups_in),
	       U(d->rings.wakeups_out), (double)d->rings.poll_ns / 1e9);
	text_sched(f, &d->sched);
}

/*
 * The service across hand-overs, from a daemon that answered SERVICE: its
 * age beside this process's, and what the last hand-over cost clients.
 */
static void text_service(FILE *f, const struct ctl_status *st)
{
	const struct zcs_service *s = &st->svc;
	char b1[32], b2[32], b3[16];

	if (!st->have_svc)
		return;
	fprintf(f, "service: up %s, process up %s, %u hand-over%s",
		dhms(s->service_uptime_ms, b1, sizeof(b1)),
		dhms(s->process_uptime_ms, b2, sizeof(b2)), s->handovers,
		s->handovers == 1 ? "" : "s");
	if (s->handovers)
		fprintf(f, ", last blackout %s carrying %u client%s",
			nsecs(s->last_handover_us * 1000, b3, sizeof(b3)),
			s->last_clients, s->last_clients == 1 ? "" : "s");
	fputc('\n', f);
}

static int col_width(const char *s, int w)
{
	int n = (int)strlen(s);

	return n > w ? n : w;
}

/* Why zerocopy is off where policy would have it: one line each. */
static void text_reasons(FILE *f, const struct ctl_status *st)
{
	const struct zcs_status_dest *d;
	char name[64], why[64];
	size_t i;

	for (i = 0; i < st->ndests; i++) {
		d = &st->dests[i];
		if (!d->zc_active && d->zerocopy != ZCS_ZC_OFF)
			fprintf(f, "  %s: copying sends: %s\n",
			       tty_str(d->name, name, sizeof(name)),
			       tty_str(d->zc_reason, why, sizeof(why)));
		if (d->proto == ZCS_PROTO_UDP && !d->gso_active)
			fprintf(f, "  %s: one datagram per send: %s\n",
			       tty_str(d->name, name, sizeof(name)),
			       tty_str(d->gso_reason, why, sizeof(why)));
	}
}

/* The UDP segmentation column: policy, and what is in force. */
static const char *seg_col(const struct zcs_status_dest *d, char *buf,
			   size_t size)
{
	if (d->proto != ZCS_PROTO_UDP)
		return "-";
	snprintf(buf, size, "%s:%s", ctl_zc_name(d->udp_segment),
		 d->gso_active ? "gso" : "dgram");
	return buf;
}

static void text_dests(FILE *f, const struct ctl_status *st)
{
	const struct zcs_status_dest *d;
	char name[64], addr[64], flush[32], zc[16], seg[16], b1[16], b2[16];
	int wn = 11, wa = 7;
	size_t i;

	for (i = 0; i < st->ndests; i++) {
		wn = col_width(st->dests[i].name, wn);
		wa = col_width(st->dests[i].address, wa);
	}
	fprintf(f, "\n%-*s  %-*s  %-5s  %-16s  %-9s  %6s  %-10s  %5s  %10s  %8s  "
	       "%7s  %10s  %7s  %10s  %8s  %8s\n", wn, "DESTINATION", wa,
	       "ADDRESS", "PROTO", "FLUSH", "ZC", "ZC_MIN", "UDP_SEG", "FLOWS",
	       "SENDS", "BYTES", "ERRORS", "ZC", "COPIED", "DATAGRAMS",
	       "GSO_SENDS", "WAKEUPS");
	for (i = 0; i < st->ndests; i++) {
		d = &st->dests[i];
		if (d->flush == ZCS_FLUSH_BATCH)
			snprintf(flush, sizeof(flush), "batch %u/%s",
				 d->batch_max, usecs(d->batch_usec, b1,
						     sizeof(b1)));
		else
			snprintf(flush, sizeof(flush), "%s", ctl_flush_name(d->flush));
		snprintf(zc, sizeof(zc), "%s%s", ctl_zc_name(d->zerocopy),
			 d->zerocopy != ZCS_ZC_AUTO ? ""
			 : d->zc_active ? ":zc" : ":copy");
		fprintf(f, "%-*s  %-*s  %-5s  %-16s  %-9s  %6s  %-10s  %5u  %10llu  "
		       "%8s  %7llu  %10llu  %7llu  %10llu  %8llu  %8llu%s\n",
		       wn, tty_str(d->name, name, sizeof(name)),
		       wa, tty_str(d->address, addr, sizeof(addr)),
		       ctl_proto_name(d->proto), flush, zc,
		       human(d->zerocopy_min_bytes, b1, sizeof(b1)),
		       seg_col(d, seg, sizeof(seg)), d->flows,
		       U(d->st.sends), human(d->st.bytes, b2, sizeof(b2)),
		       U(d->st.errors), U(ctl_zc(&d->st)), U(ctl_copied(&d->st)),
		       U(d->st.datagrams), U(d->st.gso_sends),
		       U(d->st.wakeups),
		       d->flags & ZCS_DEST_F_REMOVED ? "  (removed)" : "");
	}
	text_reasons(f, st);
}

/* A client's weight, share of the listed clients' cost and waits. */
static void text_client_sched(FILE *f, const struct zcs_status_client *c,
			      uint64_t total)
{
	char share[16], b1[16], b2[16];

	if (total)
		snprintf(share, sizeof(share), "%.1f%%",
			 ctl_sched_share(c->sched.cost, total));
	else
		snprintf(share, sizeof(share), "-");
	fprintf(f, "  %6u  %6s  %8s  %8s\n", c->weight, share,
		mean_col(&c->sched, b1, sizeof(b1)),
		nsecs(c->sched.queue_max_ns, b2, sizeof(b2)));
}

static void text_clients(FILE *f, const struct ctl_status *st)
{
	uint64_t total = ctl_sched_cost_sum(st);
	const struct zcs_status_client *c;
	char name[ZCS_NAME_MAX], b1[16], b2[16], ring[16];
	size_t i;

	fprintf(f, "\n%6s  %-16s  %7s  %6s  %6s  %8s  %-9s  %5s  %8s  %5s  "
	       "%10s  %8s  %7s  %8s  %8s  %6s  %6s  %8s  %8s\n",
	       "CLIENT", "NAME", "PID", "UID", "GID", "POOL", "TRANSPORT",
	       "RING", "INFLIGHT", "FLOWS", "SENDS", "BYTES", "ERRORS",
	       "WAKE_IN", "WAKE_OUT", "WEIGHT", "SHARE", "QDELAY", "QMAX");
	for (i = 0; i < st->nclients; i++) {
		c = &st->clients[i];
		if (c->flags & ZCS_CLIENT_F_RINGS)
			snprintf(ring, sizeof(ring), "%u", c->ring_entries);
		else
			snprintf(ring, sizeof(ring), "-");
		fprintf(f, "%6u  %-16s  %7u  %6u  %6u  %8s  %-9s  %5s  %8u  %5u  "
		       "%10llu  %8s  %7llu  %8llu  %8llu", c->id,
		       tty_str(c->name, name, sizeof(name)), c->pid, c->uid,
		       c->gid, human(c->pool_bytes, b1, sizeof(b1)),
		       ctl_transport_name(c), ring, c->inflight, c->flows,
		       U(c->st.sends), human(c->st.bytes, b2, sizeof(b2)),
		       U(c->st.errors), U(c->rings.wakeups_in),
		       U(c->rings.wakeups_out));
		text_client_sched(f, c, total);
	}
}

/*
 * status_text_write - @st for a terminal on @f: the daemon, a table of
 * destinations, a table of clients. Returns 0, or -EIO when @f failed.
 */
int status_text_write(FILE *f, const struct ctl_status *st)
{
	text_daemon(f, &st->d);
	text_service(f, st);
	text_dests(f, st);
	text_clients(f, st);
	return fflush(f) || ferror(f) ? -EIO : 0;
}
