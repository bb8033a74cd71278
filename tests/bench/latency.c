/* SPDX-License-Identifier: MIT */
/*
 * --latency: each send is timed from the call that hands it over (the
 * SQE queued, zcs_send) to its completion as the sender sees it (the
 * notification CQE, the zcs_reap that returns it), CLOCK_MONOTONIC both.
 * Rows call lat_start/lat_end with their slot; a NULL struct lat (the
 * throughput modes) makes both a no-op, so one row function serves all.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/**
 * lat_new - room for @cap samples of sends from @nslots slots.
 * Return: the recorder or NULL without memory.
 */
struct lat *lat_new(unsigned nslots, size_t cap)
{
	struct lat *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->t0 = calloc(nslots, sizeof(*l->t0));
	l->ns = calloc(cap, sizeof(*l->ns));
	if (!l->t0 || !l->ns) {
		lat_free(l);
		return NULL;
	}
	l->nslots = nslots;
	l->cap = cap;
	return l;
}

void lat_free(struct lat *l)
{
	if (!l)
		return;
	free(l->t0);
	free(l->ns);
	free(l);
}

/* Forget the samples of the last row. */
void lat_reset(struct lat *l)
{
	if (!l)
		return;
	l->n = 0;
	memset(l->t0, 0, l->nslots * sizeof(*l->t0));
}

/* Slot @slot's send is being called now. */
void lat_start(struct lat *l, unsigned slot)
{
	if (l && slot < l->nslots)
		l->t0[slot] = now_ns();
}

/* Slot @slot's send completed now: one sample, while there is room. */
void lat_end(struct lat *l, unsigned slot)
{
	uint64_t d;

	if (!l || slot >= l->nslots || l->n >= l->cap || !l->t0[slot])
		return;
	d = now_ns() - l->t0[slot];
	l->ns[l->n++] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
	l->t0[slot] = 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile @p (0..100) of the sorted samples, in µs. */
static double pct_us(const struct lat *l, double p)
{
	size_t k = (size_t)(p / 100.0 * (double)l->n + 0.5);

	if (k)
		k--;
	if (k >= l->n)
		k = l->n - 1;
	return (double)l->ns[k] / 1e3;
}

/**
 * lat_summary - sort the row's samples and put p50, p99 and their count
 * into @s (zeros when none were taken).
 */
void lat_summary(struct lat *l, struct sample *s)
{
	s->lat_n = l ? l->n : 0;
	s->p50_us = s->p99_us = 0;
	if (!s->lat_n)
		return;
	qsort(l->ns, l->n, sizeof(*l->ns), cmp_u32);
	s->p50_us = pct_us(l, 50);
	s->p99_us = pct_us(l, 99);
}
