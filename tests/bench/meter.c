/* SPDX-License-Identifier: MIT */
/*
 * Timing of one row: wall clock from CLOCK_MONOTONIC, CPU time of this
 * process from getrusage(RUSAGE_SELF) plus, when a daemon runs, its own
 * utime+stime, so daemon rows are charged for the work done on their behalf.
 * --dgram also takes the ifb sink's counters at both ends of the interval,
 * --busy the busy loops' iterations.
 */
#include <sys/resource.h>
#include <errno.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define SETTLE_US	1000	/* sink counters unchanged this long: done */
#define SETTLE_TRIES	50

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

static int counting_sink(const struct bench *b)
{
	return b->mode == MODE_DGRAM && b->sink == SINK_IFB;
}

/* The sink's counters once they stop moving. A packet the sender handed
 * to the qdisc may reach ifb0 a little after the send returned, from the
 * CPU that runs the queue; it belongs to this interval, and if it came in
 * after the next row's start reading it would be counted there. The wait
 * lies outside the timed span. */
static int sink_settled(const struct bench *b, uint64_t *pkts, uint64_t *bytes)
{
	uint64_t p0, b0;
	int i, err;

	err = net_sink_counters(b, pkts, bytes);
	for (i = 0; !err && i < SETTLE_TRIES; i++) {
		p0 = *pkts;
		b0 = *bytes;
		usleep(SETTLE_US);
		err = net_sink_counters(b, pkts, bytes);
		if (!err && p0 == *pkts && b0 == *bytes)
			break;
	}
	return err;
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
	int err = 0;

	if (counting_sink(b))
		err = sink_settled(b, &m->pkts0, &m->bytes0);
	if (!err)
		err = cpu_now(b, &m->cpu0);
	m->busy0 = busy_count(b->busy);
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
 * meter_stop - end the interval: fill @s->secs, @s->cpu_s and
 * @s->busy_its (--dgram: and the sink's @s->sink_pkts, @s->sink_bytes).
 * Call it after the last outstanding send has completed, so the drain is
 * paid for.
 * Return: 0 or -errno.
 */
int meter_stop(const struct bench *b, const struct meter *m, struct sample *s)
{
	uint64_t pkts, bytes;
	double cpu;
	int err;

	s->secs = meter_now() - m->t0;
	s->busy_its = (double)(busy_count(b->busy) - m->busy0);
	err = cpu_now(b, &cpu);
	if (err)
		return err;
	s->cpu_s = cpu - m->cpu0;
	if (!counting_sink(b))
		return 0;
	err = sink_settled(b, &pkts, &bytes);
	if (err)
		return err;
	s->sink_pkts = pkts - m->pkts0;
	s->sink_bytes = bytes - m->bytes0;
	return 0;
}
