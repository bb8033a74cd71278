/* SPDX-License-Identifier: MIT */
/*
 * The end of a soak: every TCP stream whole and in order, every UDP
 * datagram intact and seen once (a loss is allowed only where the kernel
 * counted a drop), the daemon back to its baseline within SOAK_SETTLE_MS,
 * and the figures printed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "soak.h"

static void check_tcp(struct soak *s, struct steady *st)
{
	struct th_recv *rv = st->rv;
	char what[512];

	th_recv_wait(rv, st->sent, 30000);
	th_recv_stop(rv);
	snprintf(what, sizeof(what), "tcp client %u: %" PRIu64 " of %" PRIu64
		 " records, next seq %" PRIu64 ", %" PRIu64 " errors%s%s",
		 st->id, rv->records, st->sent, rv->next_seq[st->id],
		 rv->errors, rv->errors ? ": " : "", rv->first_error);
	soak_expect(s, rv->errors == 0 && rv->records == st->sent &&
		    rv->next_seq[st->id] == st->sent, what);
}

/* Datagrams of one UDP client that the receiver never saw. */
static uint64_t udp_missing(const struct th_recv *rv, const struct steady *st)
{
	uint64_t n, seq, missing = 0;

	for (n = 0; n < st->sent; n++) {
		seq = st->udp_index + (uint64_t)st->udp_stride * n;
		missing += seq >= rv->seen_max || rv->seen[seq] != 1;
	}
	return missing;
}

static void check_udp(struct soak *s)
{
	struct th_recv *rv = &s->udp_rv;
	char what[512];
	unsigned i;

	th_recv_wait(rv, s->udp_sent, 10000);
	s->udp_drops = proc_udp_drops(rv->port);
	th_recv_stop(rv);
	for (i = 0; i < s->nclients; i++)
		if (s->st[i].proto == ZCS_PROTO_UDP)
			s->udp_missing += udp_missing(rv, &s->st[i]);
	snprintf(what, sizeof(what), "udp: %" PRIu64 " of %" PRIu64
		 " datagrams missing, kernel drops %" PRIu64 ", %" PRIu64
		 " errors%s%s", s->udp_missing, s->udp_sent, s->udp_drops,
		 rv->errors, rv->errors ? ": " : "", rv->first_error);
	soak_expect(s, rv->errors == 0 && s->udp_missing <= s->udp_drops,
		    what);
}

/* soak_check_streams - what the receivers got, after the clients ended. */
void soak_check_streams(struct soak *s)
{
	unsigned i;

	for (i = 0; i < s->nclients; i++)
		if (s->st[i].proto == ZCS_PROTO_TCP)
			check_tcp(s, &s->st[i]);
	check_udp(s);
}

static int at_baseline(struct soak *s)
{
	int idle = soak_idle(s);

	s->fds_after = th_fd_count(s->d.pid);
	s->rss_after = th_proc_status_kb(s->d.pid, "VmRSS");
	return idle && s->fds_after == s->fds_before &&
	       (s->asan || s->rss_after <= s->rss_before + s->rss_slack);
}

/* soak_settle - wait (bounded) for the daemon to let go of everything. */
void soak_settle(struct soak *s)
{
	uint64_t start = th_now_ms();
	char what[512];
	long hwm;

	while (!at_baseline(s) && th_now_ms() < start + SOAK_SETTLE_MS)
		th_sleep_ms(250);
	s->settle_ms = th_now_ms() - start;
	hwm = th_proc_status_kb(s->d.pid, "VmHWM");
	if (hwm > s->rss_peak)
		s->rss_peak = hwm;
	snprintf(what, sizeof(what), "daemon not idle: %u clients (%u "
		 "listed), %u flows, %u in flight, %llu pool bytes",
		 s->last.clients, s->last_clients, s->last.flows,
		 s->last.inflight, (unsigned long long)s->last.pool_bytes);
	soak_expect(s, soak_idle(s), what);
	snprintf(what, sizeof(what), "daemon fds %d, %d before",
		 s->fds_after, s->fds_before);
	soak_expect(s, s->fds_after == s->fds_before, what);
	snprintf(what, sizeof(what), "daemon RSS %ld KiB, %ld before (+%ld "
		 "allowed)", s->rss_after, s->rss_before, s->rss_slack);
	if (s->asan)
		printf("daemon runs under ASan: RSS not checked (freed memory "
		       "stays in quarantine)\n");
	else
		soak_expect(s, s->rss_after <= s->rss_before + s->rss_slack,
			    what);
}

static void report_steady(const struct soak *s)
{
	uint64_t sends = 0, bytes = 0, zc = 0;
	unsigned i;

	for (i = 0; i < s->nclients; i++) {
		const struct steady *st = &s->st[i];

		printf("  client %u %s: %" PRIu64 " sends, %" PRIu64 " MiB, %"
		       PRIu64 " zerocopy, up to %u in flight\n", st->id,
		       st->proto == ZCS_PROTO_TCP ? "tcp" : "udp", st->sent,
		       st->bytes >> 20, st->zc, st->max_inflight);
		sends += st->sent;
		bytes += st->bytes;
		zc += st->zc;
	}
	printf("steady: %" PRIu64 " sends, %" PRIu64 " MiB (%.1f MiB/s), %"
	       PRIu64 " zerocopy; udp %" PRIu64 " missing, %" PRIu64
	       " kernel drops\n", sends, bytes >> 20,
	       (double)bytes / 1048576.0 / ((double)s->run_ms / 1000.0), zc,
	       s->udp_missing, s->udp_drops);
}

/* soak_report - the figures, whatever the verdict. */
void soak_report(const struct soak *s)
{
	const struct churn_stats *c = &s->cst;

	printf("duration: %.1f s, %u steady clients\n",
	       (double)s->run_ms / 1000.0, s->nclients);
	report_steady(s);
	printf("churn: %" PRIu64 " clients started, %" PRIu64 " killed, %"
	       PRIu64 " finished, %" PRIu64 " failed (raw-hello %" PRIu64
	       ", connect %" PRIu64 ", flow-idle %" PRIu64 ", sends %" PRIu64
	       ", slow-flood %" PRIu64 "); sinks: %" PRIu64 " conns, %"
	       PRIu64 " MiB\n", c->started, c->killed, c->finished, c->failed,
	       c->kinds[CHURN_RAW_HELLO], c->kinds[CHURN_CONNECT],
	       c->kinds[CHURN_FLOW_IDLE], c->kinds[CHURN_SENDS],
	       c->kinds[CHURN_SLOW_FLOOD], c->sink_conns, c->sink_bytes >> 20);
	printf("daemon: fds %d before, %d after; RSS %ld KiB before, %ld "
	       "after, %ld peak; pool bytes after %llu; settled in %.1f s\n",
	       s->fds_before, s->fds_after, s->rss_before, s->rss_after,
	       s->rss_peak, (unsigned long long)s->last.pool_bytes,
	       (double)s->settle_ms / 1000.0);
}
