/* SPDX-License-Identifier: MIT */
/*
 * --busy N: N neighbours that only compute, beside every row. Each is a
 * plain for(;;) process at normal priority, forked by the bench, counting
 * its iterations in shared memory; the meter reads their sum at both ends
 * of a row's interval, so each row shows what it cost the neighbours, and
 * a window with no row running each round gives their progress alone.
 */
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

/* One loop's counter, alone on its cache line so the loops do not slow
 * each other down through false sharing. */
struct busy_ctr {
	_Atomic uint64_t it;
	char pad[56];
};

struct busy {
	unsigned n;
	pid_t pids[BENCH_BUSY_MAX];
	struct busy_ctr *ctr;		/* n counters, MAP_SHARED */
	double alone[BENCH_ROUNDS_MAX];	/* per round: iterations/s, no row */
	unsigned nalone;
};

/* The neighbour itself: nothing but counting, forever. A relaxed atomic
 * store keeps the compiler from folding the loop away and costs no more
 * than a plain store on x86 and arm64. */
static void busy_loop(struct busy_ctr *c)
{
	uint64_t i = 0;

	for (;;)
		atomic_store_explicit(&c->it, ++i, memory_order_relaxed);
}

/* In the child: die with the bench, and let SIGINT/SIGTERM kill it. */
static void busy_child(struct busy_ctr *c, pid_t parent)
{
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
		_exit(127);
	pin_release();
	busy_loop(c);
}

/**
 * busy_start - fork b->busy_n busy loops (none when 0).
 * Return: 0 or -errno; on failure no loop is left running.
 */
int busy_start(struct bench *b)
{
	struct busy *y;
	pid_t parent = getpid();
	unsigned i;

	if (!b->busy_n)
		return 0;
	y = calloc(1, sizeof(*y));
	if (!y)
		return -ENOMEM;
	y->ctr = mmap(NULL, b->busy_n * sizeof(*y->ctr), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (y->ctr == MAP_FAILED) {
		free(y);
		return -errno;
	}
	b->busy = y;
	for (i = 0; i < b->busy_n; i++) {
		y->pids[i] = fork();
		if (y->pids[i] < 0) {
			busy_stop(b);
			return -errno;
		}
		if (y->pids[i] == 0)
			busy_child(&y->ctr[i], parent);
		y->n = i + 1;
	}
	return 0;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The median over rounds of busy_alone's figure; 0 when none was taken. */
static double alone_median(const struct busy *y)
{
	double v[BENCH_ROUNDS_MAX];
	unsigned n = y->nalone;

	if (!n)
		return 0;
	memcpy(v, y->alone, n * sizeof(v[0]));
	qsort(v, n, sizeof(v[0]), cmp_dbl);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/**
 * busy_stop - kill and reap the loops, free their counters, keeping the
 * median of the rounds' alone figures in b->busy_alone_its_s. Safe to
 * call when none run.
 */
void busy_stop(struct bench *b)
{
	struct busy *y = b->busy;
	unsigned i;

	if (!y)
		return;
	b->busy_alone_its_s = alone_median(y);
	for (i = 0; i < y->n; i++)
		kill(y->pids[i], SIGKILL);
	for (i = 0; i < y->n; i++)
		while (waitpid(y->pids[i], NULL, 0) < 0 && errno == EINTR)
			;
	munmap(y->ctr, b->busy_n * sizeof(*y->ctr));
	free(y);
	b->busy = NULL;
}

/**
 * busy_count - the loops' iterations so far, all together; 0 without
 * --busy.
 */
uint64_t busy_count(const struct busy *y)
{
	uint64_t sum = 0;
	unsigned i;

	for (i = 0; y && i < y->n; i++)
		sum += atomic_load_explicit(&y->ctr[i].it,
					    memory_order_relaxed);
	return sum;
}

/**
 * busy_alone - the reference: the loops' iterations/s over b->seconds
 * with no row running (the bench asleep), kept for the round. No-op
 * without --busy.
 * Return: 0 or -EINTR.
 */
int busy_alone(struct bench *b)
{
	struct busy *y = b->busy;
	struct timespec ts;
	uint64_t c0;
	double t0, secs;

	if (!y || y->nalone >= BENCH_ROUNDS_MAX)
		return 0;
	ts.tv_sec = (time_t)b->seconds;
	ts.tv_nsec = (long)((b->seconds - (double)ts.tv_sec) * 1e9);
	c0 = busy_count(y);
	t0 = meter_now();
	while (!bench_stop && nanosleep(&ts, &ts) && errno == EINTR)
		;
	secs = meter_now() - t0;
	if (bench_stop)
		return -EINTR;
	y->alone[y->nalone++] = (double)(busy_count(y) - c0) / secs;
	return 0;
}
