/* SPDX-License-Identifier: MIT */
/*
 * --handover N: 8 clients (socket and ring, TCP and UDP, 1 GiB of pools)
 * stream to checking receivers through N UPGRADEs ~200 ms apart. Blackout:
 * the longest gap between completions any client saw around one, beside a
 * window as long without (a busy 2-CPU host has gaps of its own); errors,
 * lost, duplicated (each 0); the daemon's fds and pinned buffers, first and last.
 */
#include <sys/socket.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "th/handover.h"
#include "th/stream.h"
#include "th/util.h"
#include "zcs_proto.h"

#define HO_CLIENTS	8
#define HO_POOL		(128u << 20)
#define HO_MAX_SENDS	(16u << 20)	/* the UDP receivers' seq range */
#define HO_SPACING_MS	200
#define HO_MOVE		50	/* completions that show a client moves */
#define HO_BOUND_MS	30000

struct ho_run {
	struct th_recv rv[HO_CLIENTS];
	struct th_stream st[HO_CLIENTS];
	unsigned nrv, nst;	/* receivers started, clients opened */
	int up;			/* every client streams */
	struct th_raw admin;
	double *blackout_ms;	/* per hand-over, seen by the clients */
	double *daemon_ms;	/* per hand-over, as SERVICE says */
	double *control_ms;	/* per hand-over, a window as long without */
	struct th_handover_res first, last;
};

static const char *const ho_transport[2] = { "socket", "ring" };

/* Client @i: socket or ring by bit 1, TCP or UDP by bit 0. */
static int ho_client_up(const struct bench *b, struct ho_run *r, unsigned i)
{
	int tcp = !(i & 1), err;
	struct th_stream_cfg cfg = {
		.sock = b->sock, .transport = ho_transport[(i >> 1) & 1],
		.rv = &r->rv[i], .id = i + 1, .pool = HO_POOL, .window = 64,
		.rx_window = 1024, .max_sends = HO_MAX_SENDS,
		.lo = tcp ? 1024 : 64, .hi = tcp ? 16384 : 1472,
	};

	err = th_recv_start(&r->rv[i], AF_INET, tcp ? ZCS_PROTO_TCP :
			    ZCS_PROTO_UDP, tcp ? 4 : HO_MAX_SENDS);
	if (err) {
		fprintf(stderr, "zcsend-bench: --handover: receiver: %s\n",
			strerror(-err));
		return err;
	}
	r->nrv++;
	err = th_stream_open(&r->st[i], &cfg);
	r->nst++;	/* closed either way: zcs_close(NULL) is fine */
	return err;
}

/* Every client completes HO_MOVE more sends within the bound. */
static int ho_move(struct ho_run *r, const char *when)
{
	uint64_t base[HO_CLIENTS], end = th_now_ms() + HO_BOUND_MS;
	unsigned i;

	for (i = 0; i < HO_CLIENTS; i++)
		base[i] = th_stream_completed(&r->st[i]);
	for (i = 0; i < HO_CLIENTS; i++) {
		while (th_stream_completed(&r->st[i]) < base[i] + HO_MOVE) {
			if (th_stream_wait_end(&r->st[i], 0) ||
			    th_now_ms() >= end || bench_stop) {
				fprintf(stderr, "zcsend-bench: --handover: "
					"client %u stopped %s: %s\n", i + 1,
					when, r->st[i].errors ?
					r->st[i].first_error : "no progress");
				return bench_stop ? -EINTR : -EIO;
			}
			th_sleep_ms(1);
		}
	}
	return 0;
}

/* The longest gap between completions of any client since the reset;
 * which client saw it into @who (1-based). */
static double ho_gap_ms(struct ho_run *r, unsigned *who)
{
	uint64_t g = 0, x;
	unsigned i;

	for (i = 0; i < HO_CLIENTS; i++) {
		x = th_stream_gap(&r->st[i]);
		if (x > g) {
			g = x;
			*who = i + 1;
		}
	}
	return (double)g / 1e6;
}

static void ho_gap_reset(struct ho_run *r)
{
	unsigned i;

	for (i = 0; i < HO_CLIENTS; i++)
		th_stream_gap_reset(&r->st[i]);
}

/* The longest gap any client sees in @ms with no hand-over. */
static double ho_control(struct ho_run *r, uint64_t ms)
{
	unsigned who;

	ho_gap_reset(r);
	th_sleep_ms((unsigned)ms);
	return ho_gap_ms(r, &who);
}

/* Hand-over @k (1-based): UPGRADE, wait for SERVICE to count it and
 * every client to move again, then take the longest gap; then a window
 * as long without one. */
static int ho_one(const struct bench *b, struct ho_run *r, uint32_t k)
{
	char why[ZCS_ERRMSG_MAX];
	struct zcs_service sv;
	uint64_t t0 = th_now_ms();
	unsigned who = 0;
	int err;

	ho_gap_reset(r);
	err = th_handover_upgrade(&r->admin, why, sizeof(why), HO_BOUND_MS);
	if (err) {
		fprintf(stderr, "zcsend-bench: --handover: hand-over %u: "
			"UPGRADE answered %s%s%s\n", k, strerror(-err),
			why[0] ? ": " : "", why);
		return err;
	}
	err = th_handover_wait(&r->admin, k, &sv, HO_BOUND_MS);
	if (!err && sv.pid != (uint32_t)b->daemon_pid) {
		fprintf(stderr, "zcsend-bench: --handover: pid %u after "
			"hand-over %u, was %d\n", sv.pid, k,
			(int)b->daemon_pid);
		err = -ESRCH;
	}
	if (!err)
		err = ho_move(r, "after a hand-over");
	if (err)
		return err;
	r->blackout_ms[k - 1] = ho_gap_ms(r, &who);
	r->daemon_ms[k - 1] = (double)sv.last_handover_us / 1e3;
	r->control_ms[k - 1] = ho_control(r, th_now_ms() - t0);
	if (!b->json)
		printf("hand-over %u: blackout %.2f ms (client %u, %s %s; "
		       "the daemon's own count: %.2f ms, %u clients carried; "
		       "no hand-over: %.2f ms)\n", k, r->blackout_ms[k - 1],
		       who, ho_transport[((who - 1) >> 1) & 1],
		       (who - 1) & 1 ? "udp" : "tcp", r->daemon_ms[k - 1],
		       sv.last_clients, r->control_ms[k - 1]);
	return 0;
}

/* Clients up, streaming and moving. */
static int ho_setup(const struct bench *b, struct ho_run *r)
{
	unsigned i;
	int err = 0;

	for (i = 0; !err && i < HO_CLIENTS; i++)
		err = ho_client_up(b, r, i);
	for (i = 0; !err && i < HO_CLIENTS; i++)
		err = th_stream_start(&r->st[i]);
	r->up = !err;
	if (!err)
		err = th_handover_admin(&r->admin, b->sock);
	if (!err)
		err = ho_move(r, "before the first hand-over");
	return err;
}

/* Stop, check every send and record; count what went wrong. */
static void ho_count(struct ho_run *r, uint64_t *sends, uint64_t *errors,
		     uint64_t *lost, uint64_t *dups)
{
	unsigned i;

	for (i = 0; i < HO_CLIENTS; i++)
		th_stream_stop(&r->st[i], HO_BOUND_MS);
	for (i = 0; i < HO_CLIENTS; i++) {
		struct th_stream *s = &r->st[i];

		th_stream_check(s, HO_BOUND_MS);	/* says what is wrong */
		*sends += s->completed;
		*dups += s->dups;
		*lost += s->missing;
		*errors += s->errors - s->dups - s->missing;
		pthread_mutex_lock(&r->rv[i].lock);
		if (r->rv[i].records < s->sent)
			*lost += s->sent - r->rv[i].records;
		*errors += r->rv[i].errors;
		if (s->proto == ZCS_PROTO_TCP && r->rv[i].nconns != 1)
			(*errors)++;
		pthread_mutex_unlock(&r->rv[i].lock);
	}
}

static int ho_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* p50 and max of @v[@n] (sorted in place). */
static void ho_stats(double *v, unsigned n, double *p50, double *max)
{
	qsort(v, n, sizeof(*v), ho_cmp);
	*p50 = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	*max = v[n - 1];
}

/* The report: text, or one JSON object with --json. */
static void ho_report(const struct bench *b, struct ho_run *r,
		      const uint64_t *c)
{
	double p50, max, dp50, dmax, cp50, cmax;
	unsigned n = b->handovers;

	ho_stats(r->blackout_ms, n, &p50, &max);
	ho_stats(r->daemon_ms, n, &dp50, &dmax);
	ho_stats(r->control_ms, n, &cp50, &cmax);
	if (b->json) {
		printf("{\"handovers\": %u, \"clients\": %d, \"pool_bytes\": "
		       "%u, \"blackout_ms\": {\"p50\": %.3f, \"max\": %.3f}, "
		       "\"daemon_ms\": {\"p50\": %.3f, \"max\": %.3f}, "
		       "\"control_ms\": {\"p50\": %.3f, \"max\": %.3f}, "
		       "\"sends\": %llu, "
		       "\"errors\": %llu, \"lost\": %llu, \"duplicated\": "
		       "%llu, \"fds\": [%d, %d], \"pinned_kb\": [%ld, %ld]}\n",
		       n, HO_CLIENTS, HO_POOL, p50, max, dp50, dmax, cp50,
		       cmax, (unsigned long long)c[0],
		       (unsigned long long)c[1], (unsigned long long)c[2],
		       (unsigned long long)c[3], r->first.fds, r->last.fds,
		       r->first.pinned_kb, r->last.pinned_kb);
		return;
	}
	printf("%u hand-overs, %d clients (socket and ring, TCP and UDP), "
	       "pools %d x %u MiB\n", n, HO_CLIENTS, HO_CLIENTS, HO_POOL >> 20);
	printf("blackout (longest gap between completions, any client): "
	       "p50 %.2f ms, max %.2f ms\n", p50, max);
	printf("the daemon's own count: p50 %.2f ms, max %.2f ms\n", dp50,
	       dmax);
	printf("the same windows without a hand-over: p50 %.2f ms, max "
	       "%.2f ms\n", cp50, cmax);
	printf("sends %llu: errors %llu, lost %llu, duplicated %llu\n",
	       (unsigned long long)c[0], (unsigned long long)c[1],
	       (unsigned long long)c[2], (unsigned long long)c[3]);
	printf("daemon after hand-over 1: %d fds, pinned %ld kB; after %u: "
	       "%d fds, pinned %ld kB\n", r->first.fds, r->first.pinned_kb, n,
	       r->last.fds, r->last.pinned_kb);
}

/* The hand-overs, spaced; fds and pinned buffers after the first and last. */
static int ho_loop(const struct bench *b, struct ho_run *r)
{
	uint32_t k;
	int err = 0;

	for (k = 1; !err && k <= b->handovers && !bench_stop; k++) {
		err = ho_one(b, r, k);
		if (k == 1)
			th_handover_res_read(b->daemon_pid, &r->first);
		if (k == b->handovers)
			th_handover_res_read(b->daemon_pid, &r->last);
		th_sleep_ms(HO_SPACING_MS);
	}
	return err ? err : bench_stop ? -EINTR : 0;
}

static void ho_free(struct ho_run *r)
{
	unsigned i;

	for (i = 0; i < r->nst; i++)
		th_stream_close(&r->st[i]);
	for (i = 0; i < r->nrv; i++)
		th_recv_free(&r->rv[i]);
	if (r->admin.fd >= 0)
		th_raw_close(&r->admin);
	free(r->blackout_ms);
	free(r->daemon_ms);
	free(r->control_ms);
	free(r);
}

/**
 * handover_run - the --handover mode, with the daemon already started:
 * measure and report. Returns 0, or -errno when a hand-over failed or
 * any send was wrong, lost or duplicated (-EIO).
 */
int handover_run(struct bench *b)
{
	struct ho_run *r = calloc(1, sizeof(*r));
	uint64_t c[4] = { 0 };	/* sends, errors, lost, duplicated */
	int err = -ENOMEM;

	if (r) {
		r->blackout_ms = calloc(b->handovers, sizeof(double));
		r->daemon_ms = calloc(b->handovers, sizeof(double));
		r->control_ms = calloc(b->handovers, sizeof(double));
		r->admin.fd = -1;
	}
	if (r && r->blackout_ms && r->daemon_ms && r->control_ms)
		err = ho_setup(b, r);
	if (!err)
		err = ho_loop(b, r);
	if (r && r->up)
		ho_count(r, &c[0], &c[1], &c[2], &c[3]);
	if (!err)
		ho_report(b, r, c);
	if (!err && (c[1] || c[2] || c[3] || r->first.fds != r->last.fds ||
		     r->first.pinned_kb != r->last.pinned_kb))
		err = -EIO;
	if (r)
		ho_free(r);
	return err;
}
