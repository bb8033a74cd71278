/* SPDX-License-Identifier: MIT */
/*
 * Timing of one row: wall clock from CLOCK_MONOTONIC, CPU time of this
 * process from getrusage(RUSAGE_SELF) plus, when a daemon runs, its own
 * utime+stime, so daemon rows are charged for the work done on their behalf.
 */
#include <sys/resource.h>
#include <errno.h>
#include <time.h>

#include "bench.h"

static double tv_secs(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

/* CPU seconds used so far by this process and the daemon together. */
static int cpu_now(const struct bench *b, double *secs)
{
	struct rusage ru;
	double dcpu = 0;
	int err;

	if (getrusage(RUSAGE_SELF, &ru))
		return -errno;
	if (b->daemon_pid > 0) {
		err = daemon_cpu(b, &dcpu);
		if (err)
			return err;
	}
	*secs = tv_secs(&ru.ru_utime) + tv_secs(&ru.ru_stime) + dcpu;
	return 0;
}

/**
 * meter_now - monotonic seconds, for deadlines and bounds.
 */
double meter_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/**
 * meter_start - begin a timed interval of b->seconds.
 * Return: 0 or -errno (the daemon's /proc entry unreadable).
 */
int meter_start(const struct bench *b, struct meter *m)
{
	int err = cpu_now(b, &m->cpu0);

	m->t0 = meter_now();
	m->deadline = m->t0 + b->seconds;
	return err;
}

/**
 * meter_expired - 1 once the interval is over or the run was interrupted.
 */
int meter_expired(const struct meter *m)
{
	return bench_stop || meter_now() >= m->deadline;
}

/**
 * meter_stop - end the interval: fill @s->secs and @s->cpu_s. Call it after
 * the last outstanding send has completed, so the drain is paid for.
 * Return: 0 or -errno.
 */
int meter_stop(const struct bench *b, const struct meter *m, struct sample *s)
{
	double cpu;
	int err;

	s->secs = meter_now() - m->t0;
	err = cpu_now(b, &cpu);
	if (err)
		return err;
	s->cpu_s = cpu - m->cpu0;
	return 0;
}
