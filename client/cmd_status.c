/* SPDX-License-Identifier: MIT */
/*
 * zcsendctl status: ask the daemon for its state over a control-only
 * connection (HELLO with no pool, so nothing is mapped or pinned) and
 * print it as a compact table or, with --json, as one JSON object for
 * scripts; --watch repeats the table every second. Strings come from other processes: they are escaped for both.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libzcsend_int.h"
#include "ctl_status.h"
#include "zcsendctl.h"

#define U(x)		((unsigned long long)(x))

/* A JSON string: quotes, backslashes and controls escaped, and bytes that
 * are not UTF-8 replaced, so the output always parses. */
static void json_str(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n;

	putchar('"');
	while (*s) {
		n = ctl_utf8_seq(s);
		if (n == 0)
			fputs("\\ufffd", stdout);
		else if (n > 1)
			fwrite(s, 1, n, stdout);
		else if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if (*s < 0x20 || *s == 0x7f)
			printf("\\u%04x", *s);
		else
			putchar(*s);
		s += n ? n : 1;
	}
	putchar('"');
}

static void json_daemon(const struct zcs_status_daemon *d)
{
	size_t i;

	printf("{\n  \"version\": ");
	json_str(d->version);
	printf(",\n  \"uptime_s\": %llu.%03llu,\n  \"pid\": %u,\n"
	       "  \"ring_entries\": %u,\n  \"poll_usec\": %u,\n"
	       "  \"gso_max_segments\": %u,\n  \"features\": {",
	       U(d->uptime_ms / 1000), U(d->uptime_ms % 1000), d->pid,
	       d->ring_entries, d->poll_usec, d->gso_max_segments);
	for (i = 0; i < ctl_nfeatures; i++)
		printf("%s\"%s\": %s", i ? ", " : "", ctl_features[i].name,
		       d->features & ctl_features[i].bit ? "true" : "false");
	printf("},\n");
}

/* The counters every object carries, as the tail of a JSON object. */
static void json_counters(const struct zcs_counters *c)
{
	printf("\"sends\": %llu, \"bytes\": %llu, \"errors\": %llu, "
	       "\"zc_sends\": %llu, \"zc_copied\": %llu, "
	       "\"completions\": %llu, \"completion_msgs\": %llu, "
	       "\"datagrams\": %llu, \"gso_sends\": %llu, \"wakeups\": %llu}",
	       U(c->sends), U(c->bytes), U(c->errors), U(c->zc_sends),
	       U(c->zc_copied), U(c->completions), U(c->completion_msgs),
	       U(c->datagrams), U(c->gso_sends), U(c->wakeups));
}

/* The shared-memory ring counters, as a nested object. */
static void json_rings(const struct zcs_ring_counters *r)
{
	printf("\"rings\": {\"records\": %llu, \"wakeups_in\": %llu, "
	       "\"wakeups_out\": %llu, \"poll_ns\": %llu}, ",
	       U(r->records), U(r->wakeups_in), U(r->wakeups_out),
	       U(r->poll_ns));
}

static const char *transport_name(const struct zcs_status_client *c)
{
	return c->flags & ZCS_CLIENT_F_RINGS ? "ring" : "socket";
}

static void json_clients(const struct ctl_status *st)
{
	const struct zcs_status_client *c;
	size_t i;

	printf("  \"clients\": [");
	for (i = 0; i < st->nclients; i++) {
		c = &st->clients[i];
		printf("%s\n    {\"id\": %u, \"name\": ", i ? "," : "", c->id);
		json_str(c->name);
		printf(", \"pid\": %u, \"uid\": %u, \"gid\": %u, "
		       "\"pool_bytes\": %llu, \"inflight\": %u, \"flows\": %u, ",
		       c->pid, c->uid, c->gid, U(c->pool_bytes), c->inflight,
		       c->flows);
		printf("\"transport\": \"%s\", \"ring_entries\": %u, ",
		       transport_name(c), c->ring_entries);
		json_rings(&c->rings);
		json_counters(&c->st);
	}
	printf("%s],\n", st->nclients ? "\n  " : "");
}

static void json_dest(const struct zcs_status_dest *d)
{
	printf("\n    {\"name\": ");
	json_str(d->name);
	printf(", \"address\": ");
	json_str(d->address);
	printf(", \"protocol\": \"%s\", \"named\": %s, \"removed\": %s, "
	       "\"flush\": \"%s\", \"batch_max\": %u, \"batch_usec\": %u, "
	       "\"zerocopy\": \"%s\", \"zerocopy_active\": %s, "
	       "\"zerocopy_reason\": ",
	       ctl_proto_name(d->proto),
	       d->flags & ZCS_DEST_F_NAMED ? "true" : "false",
	       d->flags & ZCS_DEST_F_REMOVED ? "true" : "false",
	       ctl_flush_name(d->flush), d->batch_max, d->batch_usec,
	       ctl_zc_name(d->zerocopy), d->zc_active ? "true" : "false");
	json_str(d->zc_reason);
	printf(", \"zerocopy_min_bytes\": %u, \"udp_segment\": \"%s\", "
	       "\"gso_active\": %s, \"gso_reason\": ",
	       d->zerocopy_min_bytes, ctl_zc_name(d->udp_segment),
	       d->gso_active ? "true" : "false");
	json_str(d->gso_reason);
	printf(", \"max_segment\": %u, \"flows\": %u, ", d->max_segment,
	       d->flows);
	json_counters(&d->st);
}

static void json_totals(const struct zcs_status_daemon *d)
{
	printf("  \"totals\": {\"clients\": %u, \"destinations\": %u, "
	       "\"flows\": %u, \"inflight\": %u, \"pool_bytes\": %llu, ",
	       d->clients, d->dests, d->flows, d->inflight, U(d->pool_bytes));
	json_rings(&d->rings);
	json_counters(&d->st);
	printf("\n}\n");
}

static void print_json(const struct ctl_status *st)
{
	size_t i;

	json_daemon(&st->d);
	json_clients(st);
	printf("  \"destinations\": [");
	for (i = 0; i < st->ndests; i++) {
		printf("%s", i ? "," : "");
		json_dest(&st->dests[i]);
	}
	printf("%s],\n", st->ndests ? "\n  " : "");
	json_totals(&st->d);
}

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

static void text_daemon(const struct zcs_status_daemon *d)
{
	uint64_t s = d->uptime_ms / 1000;
	char b1[16], b2[16];
	size_t i;

	printf("zcsendd %s  pid %u  up %llud %02llu:%02llu:%02llu  "
	       "ring %u  poll %s\nfeatures:",
	       tty_str(d->version, b1, sizeof(b1)), d->pid, U(s / 86400),
	       U(s / 3600 % 24), U(s / 60 % 60), U(s % 60), d->ring_entries,
	       usecs(d->poll_usec, b2, sizeof(b2)));
	for (i = 0; i < ctl_nfeatures; i++)
		printf(" %c%s", d->features & ctl_features[i].bit ? '+' : '-',
		       ctl_features[i].name);
	printf("\ntotals: %u clients, %u destinations, %u flows, %u in flight, "
	       "pools %s, %llu sends, %s bytes, %llu errors, %llu zc, "
	       "%llu copied\n", d->clients, d->dests, d->flows, d->inflight,
	       human(d->pool_bytes, b1, sizeof(b1)), U(d->st.sends),
	       human(d->st.bytes, b2, sizeof(b2)), U(d->st.errors),
	       U(ctl_zc(&d->st)), U(ctl_copied(&d->st)));
	printf("rings: %llu records, %llu wake-ups in, %llu out, polled %.3f s\n",
	       U(d->rings.records), U(d->rings.wakeups_in),
	       U(d->rings.wakeups_out), (double)d->rings.poll_ns / 1e9);
}

static int col_width(const char *s, int w)
{
	int n = (int)strlen(s);

	return n > w ? n : w;
}

/* Why zerocopy is off where policy would have it: one line each. */
static void text_reasons(const struct ctl_status *st)
{
	const struct zcs_status_dest *d;
	char name[64], why[64];
	size_t i;

	for (i = 0; i < st->ndests; i++) {
		d = &st->dests[i];
		if (!d->zc_active && d->zerocopy != ZCS_ZC_OFF)
			printf("  %s: copying sends: %s\n",
			       tty_str(d->name, name, sizeof(name)),
			       tty_str(d->zc_reason, why, sizeof(why)));
		if (d->proto == ZCS_PROTO_UDP && !d->gso_active)
			printf("  %s: one datagram per send: %s\n",
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

static void text_dests(const struct ctl_status *st)
{
	const struct zcs_status_dest *d;
	char name[64], addr[64], flush[32], zc[16], seg[16], b1[16], b2[16];
	int wn = 11, wa = 7;
	size_t i;

	for (i = 0; i < st->ndests; i++) {
		wn = col_width(st->dests[i].name, wn);
		wa = col_width(st->dests[i].address, wa);
	}
	printf("\n%-*s  %-*s  %-5s  %-16s  %-9s  %6s  %-10s  %5s  %10s  %8s  "
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
		printf("%-*s  %-*s  %-5s  %-16s  %-9s  %6s  %-10s  %5u  %10llu  "
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
	text_reasons(st);
}

static void text_clients(const struct ctl_status *st)
{
	const struct zcs_status_client *c;
	char name[ZCS_NAME_MAX], b1[16], b2[16], ring[16];
	size_t i;

	printf("\n%6s  %-16s  %7s  %6s  %6s  %8s  %-9s  %5s  %8s  %5s  "
	       "%10s  %8s  %7s  %8s  %8s\n",
	       "CLIENT", "NAME", "PID", "UID", "GID", "POOL", "TRANSPORT",
	       "RING", "INFLIGHT", "FLOWS", "SENDS", "BYTES", "ERRORS",
	       "WAKE_IN", "WAKE_OUT");
	for (i = 0; i < st->nclients; i++) {
		c = &st->clients[i];
		if (c->flags & ZCS_CLIENT_F_RINGS)
			snprintf(ring, sizeof(ring), "%u", c->ring_entries);
		else
			snprintf(ring, sizeof(ring), "-");
		printf("%6u  %-16s  %7u  %6u  %6u  %8s  %-9s  %5s  %8u  %5u  "
		       "%10llu  %8s  %7llu  %8llu  %8llu\n", c->id,
		       tty_str(c->name, name, sizeof(name)), c->pid, c->uid,
		       c->gid, human(c->pool_bytes, b1, sizeof(b1)),
		       transport_name(c), ring, c->inflight, c->flows,
		       U(c->st.sends), human(c->st.bytes, b2, sizeof(b2)),
		       U(c->st.errors), U(c->rings.wakeups_in),
		       U(c->rings.wakeups_out));
	}
}

/* Fetch and print once. Returns a CTL_* code. */
static int status_once(const char *sock, int json, int clear)
{
	struct zcs_client *c;
	struct ctl_status st;
	int err;

	if (ctl_open(sock, &c))
		return CTL_FAIL;	/* said why */
	memset(&st, 0, sizeof(st));
	err = ctl_status_fetch(c, &st, -1);
	zcs_close(c);
	if (err) {
		char path[ZCSI_PATH_MAX], what[ZCSI_PATH_MAX + 16];

		snprintf(what, sizeof(what), "status from %s",
			 ctl_sock_name(sock, path, sizeof(path)));
		ctl_err(what, err);
	} else if (json) {
		print_json(&st);
	} else {
		if (clear)
			fputs("\033[H\033[2J", stdout);	/* home, clear */
		text_daemon(&st.d);
		text_dests(&st);
		text_clients(&st);
	}
	fflush(stdout);
	ctl_status_free(&st);
	return err ? CTL_FAIL : CTL_OK;
}

int cmd_status(int argc, char **argv, const char *sock)
{
	int i, r, json = 0, watch = 0;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = 1;
		else if (!strcmp(argv[i], "--watch"))
			watch = 1;
		else if ((r = ctl_opt(argc, argv, &i, "-s", &sock)) <= 0) {
			if (r == 0)
				ctl_errx("usage: zcsendctl status [--json] "
					 "[--watch]");
			return CTL_USAGE;
		}
	}
	if (watch && json) {
		ctl_errx("--watch is for people; script --json in a loop");
		return CTL_USAGE;
	}
	if (!watch)
		return status_once(sock, json, 0);
	/* Until interrupted, or until the daemon goes away. */
	while ((r = status_once(sock, 0, isatty(STDOUT_FILENO))) == CTL_OK)
		sleep(1);
	return r;
}
