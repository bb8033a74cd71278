/* SPDX-License-Identifier: MIT */
/*
 * The zcsendd rows: a libzcsend client, opened once per row and round,
 * keeps N sends in flight from N pool buffers filled once, and re-sends
 * each buffer as soon as its completion says the kernel let go of it:
 * exactly how a real zerocopy client reuses its memory.
 */
#include <sys/resource.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zcsend.h"
#include "bench.h"

#define DRAIN_WAIT_MS	1000	/* one zcs_reap wait while draining */

/* One row's client and its buffers. */
struct zrow {
	struct zcs_client *c;
	uint32_t flow;
	unsigned nr;
	size_t size;
	void **bufs;		/* nr buffers in the pool; tag = index */
	unsigned *idle;		/* stack of buffer indices free to send */
	unsigned nidle;
	struct zcs_completion *comps;
	struct sample *s;
};

static int zrow_alloc(struct zrow *z)
{
	unsigned i;
	int err;

	z->bufs = calloc(z->nr, sizeof(*z->bufs));
	z->idle = calloc(z->nr, sizeof(*z->idle));
	z->comps = calloc(z->nr, sizeof(*z->comps));
	if (!z->bufs || !z->idle || !z->comps)
		return -ENOMEM;
	for (i = 0; i < z->nr; i++) {
		err = zcs_alloc(z->c, z->size, &z->bufs[i]);
		if (err)
			return err;
		memset(z->bufs[i], 'd', z->size);
		z->idle[z->nidle++] = i;
	}
	return 0;
}

/* The pool is pinned memory: say why a refusal is likely. */
static void memlock_hint(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_MEMLOCK, &rl) || rl.rlim_cur == RLIM_INFINITY)
		return;
	fprintf(stderr, "zcsend-bench: zcsendd refused a %u MiB pool; "
		"RLIMIT_MEMLOCK is %llu KiB (run as root or raise ulimit -l)\n",
		BENCH_POOL_BYTES >> 20, (unsigned long long)rl.rlim_cur >> 10);
}

/* Connect, open the flow to @dest, take and fill the buffers. */
static int zrow_open(struct bench *b, struct zrow *z, const char *dest)
{
	int err;

	err = zcs_connect(b->sock, BENCH_POOL_BYTES, &z->c);
	if (err == -ENOMEM)
		memlock_hint();
	if (err)
		return err;
	err = zcs_flow_open(z->c, dest, &z->flow);
	if (err < 0)
		return err;
	return zrow_alloc(z);
}

/* The pool goes with the client: no zcs_free needed. */
static void zrow_close(struct zrow *z)
{
	zcs_close(z->c);
	free(z->bufs);
	free(z->idle);
	free(z->comps);
}

/* Queue every idle buffer; they leave in one message at zcs_reap. */
static int zrow_send_idle(struct zrow *z)
{
	unsigned i;
	int err;

	while (z->nidle) {
		i = z->idle[z->nidle - 1];
		err = zcs_send(z->c, z->flow, z->bufs[i], z->size, i);
		if (err == -EAGAIN)
			return 0;	/* daemon's limit: reap first */
		if (err)
			return err;
		z->nidle--;
	}
	return 0;
}

static int zrow_take(struct zrow *z, const struct zcs_completion *cp)
{
	if (cp->tag >= z->nr)
		return -EPROTO;
	if (cp->result == (int32_t)z->size) {
		z->s->msgs++;
		z->s->bytes += z->size;
	} else {
		z->s->errors++;
	}
	if (cp->flags & ZCS_COMP_F_ZC) {
		z->s->zc_sends++;
		if (cp->flags & ZCS_COMP_F_COPIED)
			z->s->zc_copied++;
	}
	z->idle[z->nidle++] = (unsigned)cp->tag;
	return 0;
}

static int zrow_reap(struct zrow *z, int timeout_ms)
{
	int n, i, err;

	n = zcs_reap(z->c, z->comps, z->nr, timeout_ms);
	for (i = 0; i < n; i++) {
		err = zrow_take(z, &z->comps[i]);
		if (err)
			return err;
	}
	return n < 0 ? n : 0;
}

/* After the interval: every completion, within a bound. */
static int zrow_drain(struct zrow *z)
{
	double bound = meter_now() + BENCH_DRAIN_SECONDS;
	int err;

	while (zcs_inflight(z->c)) {
		if (meter_now() > bound)
			return -ETIMEDOUT;
		err = zrow_reap(z, DRAIN_WAIT_MS);
		if (err)
			return err;
	}
	return 0;
}

static int zrow_loop(struct bench *b, struct zrow *z)
{
	struct meter m;
	int err;

	err = meter_start(b, &m);
	while (!err && !meter_expired(&m)) {
		err = zrow_send_idle(z);
		if (!err)
			err = zrow_reap(z, zcs_inflight(z->c) >= z->nr ? -1 : 0);
	}
	if (!err)
		err = zrow_drain(z);
	return err ? err : meter_stop(b, &m, z->s);
}

/**
 * rows_daemon_zcs - the `zcsendd_*` rows, through the daemon's
 * destination r->dest with r->nr sends in flight.
 * Return: 0 or -errno.
 */
int rows_daemon_zcs(struct bench *b, const struct row_def *r,
		    struct sample *s)
{
	struct zrow z = { .nr = r->nr, .size = b->size, .s = s };
	int err;

	err = zrow_open(b, &z, r->dest);
	if (!err)
		err = zrow_loop(b, &z);
	zrow_close(&z);
	return err;
}
