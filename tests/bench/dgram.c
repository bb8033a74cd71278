/* SPDX-License-Identifier: MIT */
/*
 * --dgram: MTU-sized datagrams (issue 11). The rows, run round by round on
 * both variants of the ifb sink: whole (ifb takes a GSO packet as it is,
 * as a NIC with UDP segmentation offload does) and software (gso_max_segs
 * 1: the kernel segments first, as for a NIC without it). Datagrams, bytes
 * and so CPU s/GB are taken from the sink's counters, not the sender's, so
 * a row cannot count what the kernel dropped or what never left.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

/* Per packet, ifb0 counts the payload plus one set of headers: Ethernet
 * (ifb is an ether_setup device) 14, IPv4 20, UDP 8. A GSO packet taken
 * whole carries one set for all its datagrams (see net_sink_counters). */
#define DGRAM_HDR_BYTES	(14u + 20u + 8u)

/* The rows of --dgram. Daemon rows use rings (the library's default) on
 * the `gso` destination (udp_segment = on). The GSO rows keep 256 sends
 * (16 MiB) in flight both in-process and through the daemon: measured
 * here, the in-process ring is as fast at 8, while the daemon needs more
 * to hide the hop between processes, and the same depth keeps the
 * comparison plain. Coalescing gets 512 records (the depth did not
 * change how many the daemon coalesced per GSO send). */
const struct row_def dgram_rows[] = {
	{ "send", rows_plain_send, 1, NULL, NULL },
	{ "sendmmsg", rows_dgram_sendmmsg, 1, NULL, NULL },
	{ "udp_gso", rows_dgram_udp_gso, 1, NULL, NULL },
	{ "udp_gso_zc", rows_dgram_udp_gso_zc, 1, NULL, NULL },
	{ "uring_gso_zc", rows_uring_gso_zc, 256, NULL, NULL },
	{ "zcsendd_gso", rows_daemon_gso, 256, "gso", "ring" },
	{ "zcsendd_coalesce", rows_daemon_coalesce, 512, "gso", "ring" },
};
const unsigned dgram_nrows = sizeof(dgram_rows) / sizeof(dgram_rows[0]);

/**
 * dgram_gso_segs - datagrams of @size bytes per GSO send: as many as fit
 * one UDP datagram's 65,507 bytes, at most 64 (44 of 1,472 bytes).
 */
unsigned dgram_gso_segs(size_t size)
{
	size_t n = BENCH_GSO_BYTES_MAX / size;

	return n > BENCH_GSO_SEGS_MAX ? BENCH_GSO_SEGS_MAX : (unsigned)n;
}

/* The sink's payload bytes: what it counted less a set of headers for
 * each packet it counted. */
static uint64_t sink_payload(const struct sample *s)
{
	uint64_t hdr = s->sink_pkts * DGRAM_HDR_BYTES;

	return s->sink_bytes > hdr ? s->sink_bytes - hdr : 0;
}

/* On the software sink every packet is one datagram, so the two ways of
 * counting must agree; if they do not, ifb0 saw other traffic or the
 * header arithmetic is wrong, and the table would say so silently. */
static void check_sink(const char *row, const struct sample *s,
		       uint64_t dgrams)
{
	uint64_t pkts = s->sink_pkts;
	uint64_t diff = pkts > dgrams ? pkts - dgrams : dgrams - pkts;

	if (diff * 1000 <= dgrams)
		return;
	fprintf(stderr, "zcsend-bench: row %s: the sink counted %llu packets "
		"but its bytes make %llu datagrams\n", row,
		(unsigned long long)pkts, (unsigned long long)dgrams);
}

/**
 * dgram_result - one round of a --dgram row, from the sink's counters:
 * datagrams/s, payload MB/s, CPU s/GB of payload, the share of the bytes
 * sent that reached the sink, and for daemon rows the datagrams per GSO
 * send the daemon reports. @sw: measured on the software-segmenting sink.
 * The ratio to `send` is filled in later.
 */
void dgram_result(const struct bench *b, const char *row, int sw,
		  const struct sample *s, struct row_result *r)
{
	uint64_t payload = sink_payload(s);
	uint64_t dgrams = payload / b->size;

	if (sw && !s->err)
		check_sink(row, s, dgrams);
	r->dgrams_s = (double)dgrams / s->secs;
	r->msgs_s = r->dgrams_s;
	r->mb_s = (double)payload / s->secs / 1e6;
	r->cpu_s_per_gb = payload ? s->cpu_s / ((double)payload / 1e9) : 0;
	r->sink_pct = s->bytes ? 100.0 * (double)payload / (double)s->bytes : 0;
	r->dgrams_per_gso = s->d_gso_sends ?
		(double)s->d_datagrams / (double)s->d_gso_sends : 0;
	r->zc_copied_pct = s->zc_sends ?
		100.0 * (double)s->zc_copied / (double)s->zc_sends : 0;
	r->err = s->err;
}
