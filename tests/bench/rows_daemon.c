/* SPDX-License-Identifier: MIT */
/*
 * The zcsendd rows: a libzcsend client, opened once per row and round,
 * keeps N sends in flight from N pool buffers filled once, and re-sends
 * each buffer as soon as its completion says the kernel let go of it:
 * exactly how a real zerocopy client reuses its memory. The row's
 * transport (socket or ring) is forced through ZCSEND_TRANSPORT for its
 * connection only, and the daemon's ring counters must agree afterwards.
 * --dgram adds `zcsendd_gso` (zcs_send_segmented: each buffer leaves as
 * MTU-sized datagrams) and `zcsendd_coalesce` (plain 1,472-byte records
 * the daemon may coalesce), and keeps the daemon's datagram counters.
 */
#include <sys/resource.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zcsend.h"
#include "zcs_proto.h"
#include "bench.h"

#define DRAIN_WAIT_MS	1000	/* one zcs_reap wait while draining */

/* One row's client and its buffers. */
struct zrow {
	struct zcs_client *c;
	uint32_t flow;
	unsigned nr;
	size_t size;
	size_t segment;		/* zcs_send_segmented's, 0: zcs_send */
	int alloc_each;		/* zcs_alloc per send, zcs_free per completion */
	void **bufs;		/* nr buffers in the pool; tag = index */
	unsigned *idle;		/* stack of buffer indices free to send */
	unsigned nidle;
	struct zcs_completion *comps;
	struct sample *s;
	struct lat *lat;	/* --latency, else NULL */
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
	/* Allocating per send: the pool keeps the bytes written above. */
	for (i = 0; z->alloc_each && i < z->nr; i++) {
		err = zcs_free(z->c, z->bufs[i]);
		if (err)
			return err;
		z->bufs[i] = NULL;
	}
	return 0;
}

/* Buffer @i for the next send: taken from the pool now if allocating per
 * send. Returns 0, -ENOMEM (reap first) or -errno. */
static int zrow_buf(struct zrow *z, unsigned i)
{
	return z->alloc_each ? zcs_alloc(z->c, z->size, &z->bufs[i]) : 0;
}

static void zrow_unbuf(struct zrow *z, unsigned i)
{
	if (z->alloc_each && z->bufs[i]) {
		zcs_free(z->c, z->bufs[i]);
		z->bufs[i] = NULL;
	}
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

/* --spin-usec: zcs_set_spin_usec() is looked up at run time, so the bench
 * builds and runs against a library without rings too. */
static int set_spin(const struct bench *b, struct zcs_client *c)
{
	int (*fn)(struct zcs_client *, unsigned);

	if (b->spin_usec < 0)
		return 0;
	*(void **)&fn = dlsym(RTLD_DEFAULT, "zcs_set_spin_usec");
	if (!fn) {
		fprintf(stderr, "zcsend-bench: --spin-usec: libzcsend has no "
			"zcs_set_spin_usec\n");
		return -ENOSYS;
	}
	return fn(c, (unsigned)b->spin_usec);
}

/**
 * rows_daemon_connect - zcs_connect with ZCSEND_TRANSPORT set to
 * @transport (NULL: left as it is) for this call only; the caller's own
 * value, or its absence, is put back after. --spin-usec is applied.
 * Return: 0 or -errno.
 */
int rows_daemon_connect(const struct bench *b, const char *transport,
			size_t pool_bytes, struct zcs_client **c)
{
	const char *cur = getenv("ZCSEND_TRANSPORT");
	char *saved = cur ? strdup(cur) : NULL;
	int err;

	if (cur && !saved)
		return -ENOMEM;
	if (transport && setenv("ZCSEND_TRANSPORT", transport, 1)) {
		free(saved);
		return -errno;
	}
	err = zcs_connect(b->sock, pool_bytes, c);
	if (!err) {
		err = set_spin(b, *c);
		if (err) {
			zcs_close(*c);
			*c = NULL;
		}
	}
	if (transport && saved)
		setenv("ZCSEND_TRANSPORT", saved, 1);
	else if (transport)
		unsetenv("ZCSEND_TRANSPORT");
	free(saved);
	return err;
}

/* Connect, open the flow to @dest, take and fill the buffers. */
static int zrow_open(struct bench *b, struct zrow *z, const struct row_def *r)
{
	int err;

	err = rows_daemon_connect(b, r->transport, BENCH_POOL_BYTES, &z->c);
	if (err == -ENOMEM)
		memlock_hint();
	if (err)
		return err;
	err = zcs_flow_open(z->c, r->dest, &z->flow);
	if (err < 0)
		return err;
	return zrow_alloc(z);
}

/* The pool goes with the client: no zcs_free needed. */
static void zrow_close(struct zrow *z)
{
	if (z->c)
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
		err = zrow_buf(z, i);
		if (err == -ENOMEM)
			return 0;	/* pool full: reap first */
		if (err)
			return err;
		lat_start(z->lat, i);
		if (z->segment)
			err = zcs_send_segmented(z->c, z->flow, z->bufs[i],
						 z->size, z->segment, i);
		else
			err = zcs_send(z->c, z->flow, z->bufs[i], z->size, i);
		if (err)
			zrow_unbuf(z, i);
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
	lat_end(z->lat, (unsigned)cp->tag);
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
	zrow_unbuf(z, (unsigned)cp->tag);
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
 * rows_daemon_check_transport - @records SEND records were taken from
 * rings while a connection forced onto @transport sent @msgs: fail when
 * the daemon saw the other transport, note a ring row that sent part of
 * its records over the socket.
 * Return: 0 or -ENOPROTOOPT.
 */
int rows_daemon_check_transport(const char *what, const char *transport,
				uint64_t records, uint64_t msgs)
{
	int ring = transport && !strcmp(transport, "ring");

	if (ring && records && records < msgs)
		fprintf(stderr, "zcsend-bench: %s: only %llu of %llu sends "
			"came through the ring\n", what,
			(unsigned long long)records, (unsigned long long)msgs);
	if (!transport || (ring ? records > 0 || !msgs : records == 0))
		return 0;
	fprintf(stderr, "zcsend-bench: %s: ZCSEND_TRANSPORT=%s, but the "
		"daemon took %llu of %llu sends from a ring%s\n", what,
		transport, (unsigned long long)records,
		(unsigned long long)msgs, ring ? " (library or daemon "
		"without rings?)" : "");
	return -ENOPROTOOPT;
}

static int zrow_measure(struct bench *b, const struct row_def *r,
			struct zrow *z)
{
	struct zcs_ring_counters r0, r1;
	struct zcs_counters st0, st1;
	int err;

	err = status_daemon(b, &r0, &st0);
	if (!err)
		err = zrow_open(b, z, r);
	if (!err)
		err = zrow_loop(b, z);
	if (!err)
		err = status_daemon(b, &r1, &st1);
	if (err)
		return err;
	z->s->ring_records = r1.records - r0.records;
	z->s->d_datagrams = st1.datagrams - st0.datagrams;
	z->s->d_gso_sends = st1.gso_sends - st0.gso_sends;
	return rows_daemon_check_transport(r->name, r->transport,
					   z->s->ring_records,
					   z->s->msgs + z->s->errors);
}

/* Measure the row @z, then close its client whatever the outcome. */
static int zrow_run(struct bench *b, const struct row_def *r, struct zrow *z)
{
	int err = zrow_measure(b, r, z);

	zrow_close(z);
	return err;
}

/**
 * rows_daemon_zcs - the `zcsendd_*` rows, through the daemon's
 * destination r->dest with r->nr sends in flight, over r->transport.
 * Return: 0 or -errno.
 */
int rows_daemon_zcs(struct bench *b, const struct row_def *r,
		    struct sample *s)
{
	struct zrow z = { .nr = r->nr, .size = b->size, .s = s,
			  .lat = b->lat };

	return zrow_run(b, r, &z);
}

/**
 * rows_daemon_coalesce - the `zcsendd_coalesce` row of --dgram: r->nr
 * plain records in flight, each in memory taken with zcs_alloc when it is
 * queued and given back when it completes, as a program sending
 * datagrams one by one would; the daemon may coalesce them.
 * Return: 0 or -errno.
 */
int rows_daemon_coalesce(struct bench *b, const struct row_def *r,
			 struct sample *s)
{
	struct zrow z = { .nr = r->nr, .size = b->size, .s = s,
			  .lat = b->lat, .alloc_each = 1 };

	return zrow_run(b, r, &z);
}

/**
 * rows_daemon_gso - the `zcsendd_gso` row of --dgram: r->nr ranges of
 * b->gso_segs datagrams in flight, each queued with zcs_send_segmented.
 * Its msgs count ranges, not datagrams: the sink counts those.
 * Return: 0 or -errno.
 */
int rows_daemon_gso(struct bench *b, const struct row_def *r,
		    struct sample *s)
{
	struct zrow z = { .nr = r->nr, .s = s, .lat = b->lat,
			  .size = (size_t)b->gso_segs * b->size,
			  .segment = b->size };

	return zrow_run(b, r, &z);
}
