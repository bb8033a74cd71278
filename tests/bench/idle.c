/* SPDX-License-Identifier: MIT */
/*
 * --idle: what an idle daemon costs. b->clients connections on
 * b->transport each send one message (so a ring is set up and has been
 * used, and the daemon's post-work polling has something to stop after),
 * then do nothing for b->seconds while the daemon's utime+stime is read
 * from /proc/PID/stat at both ends of the window.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zcsend.h"
#include "zcs_proto.h"
#include "bench.h"

#define IDLE_SETTLE_SECONDS	0.5	/* after the warm-up, before the window */
#define IDLE_REAP_MS		1000

/* One quiet client: connect, one send, its completion. */
static int idle_client(struct bench *b, struct zcs_client **c)
{
	struct zcs_completion comp;
	uint32_t flow;
	void *buf;
	int n, err;

	err = rows_daemon_connect(b, b->transport, BENCH_IDLE_POOL_BYTES, c);
	if (!err) {
		err = zcs_flow_open(*c, "imm", &flow);
		err = err < 0 ? err : 0;
	}
	if (!err)
		err = zcs_alloc(*c, b->size, &buf);
	if (!err) {
		memset(buf, 'i', b->size);
		err = zcs_send(*c, flow, buf, b->size, 0);
	}
	if (err)
		return err;
	n = zcs_reap(*c, &comp, 1, IDLE_REAP_MS);
	if (n < 0)
		return n;
	return n == 1 && comp.result == (int32_t)b->size ? 0 : -EIO;
}

/* Sleep @secs, or less when interrupted. */
static void idle_sleep(double secs)
{
	struct timespec ts = {
		.tv_sec = (time_t)secs,
		.tv_nsec = (long)((secs - (double)(time_t)secs) * 1e9),
	};

	while (!bench_stop && nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* The window itself: daemon CPU and ring wake-ups at both ends. */
static int idle_window(struct bench *b, struct idle_result *r)
{
	struct zcs_ring_counters w0, w1;
	double c0, c1, t0;
	int err;

	idle_sleep(IDLE_SETTLE_SECONDS);
	err = status_rings(b, &w0);
	if (!err)
		err = daemon_cpu(b, &c0);
	if (err)
		return err;
	t0 = meter_now();
	idle_sleep(b->seconds);
	err = daemon_cpu(b, &c1);
	r->secs = meter_now() - t0;
	if (!err)
		err = status_rings(b, &w1);
	if (err)
		return err;
	if (bench_stop)
		return -EINTR;
	r->cpu_pct = 100.0 * (c1 - c0) / r->secs;
	r->wakeups_in = w1.wakeups_in - w0.wakeups_in;
	r->wakeups_out = w1.wakeups_out - w0.wakeups_out;
	return 0;
}

/* One round: the clients, checked to be on their transport, then the
 * window. */
static int idle_round(struct bench *b, struct zcs_client **cs,
		      struct idle_result *r)
{
	struct zcs_ring_counters r0, r1;
	unsigned i;
	int err;

	err = status_rings(b, &r0);
	for (i = 0; !err && i < b->clients; i++)
		err = idle_client(b, &cs[i]);
	if (!err)
		err = status_rings(b, &r1);
	if (!err)
		err = rows_daemon_check_transport("idle", b->transport,
						  r1.records - r0.records,
						  b->clients);
	return err ? err : idle_window(b, r);
}

static int cmp_pct(const void *a, const void *b)
{
	double x = ((const struct idle_result *)a)->cpu_pct;
	double y = ((const struct idle_result *)b)->cpu_pct;

	return (x > y) - (x < y);
}

/**
 * idle_run - b->rounds idle windows; @out is the round of median CPU
 * (the upper middle one for an even count).
 * Return: 0 or -errno (also in out->err).
 */
int idle_run(struct bench *b, struct idle_result *out)
{
	struct idle_result res[BENCH_ROUNDS_MAX];
	struct zcs_client *cs[BENCH_IDLE_CLIENTS_MAX];
	unsigned i, k;
	int err = 0;

	memset(out, 0, sizeof(*out));
	for (k = 0; !err && k < b->rounds; k++) {
		memset(cs, 0, sizeof(cs));
		memset(&res[k], 0, sizeof(res[k]));
		err = idle_round(b, cs, &res[k]);
		for (i = 0; i < b->clients; i++)
			if (cs[i])
				zcs_close(cs[i]);
	}
	if (!err) {
		qsort(res, b->rounds, sizeof(res[0]), cmp_pct);
		*out = res[b->rounds / 2];
	}
	out->err = err;
	return err;
}
