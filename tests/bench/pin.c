/* SPDX-License-Identifier: MIT */
/*
 * --pin: the daemon on the first CPU, the bench and the clients it forks
 * on the last, so that the two sides never share a core and runs compare
 * (the issue's --clients-idle table was taken so). --busy loops are
 * neighbours, not clients: they get every CPU back.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

/* Every CPU this process could run on before pinning. */
static cpu_set_t pin_all;
static int pin_saved;

static int pin_one(pid_t pid, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(pid, sizeof(set), &set) ? -errno : 0;
}

/* The first and last CPU of @set; -ENODEV with fewer than two. */
static int pin_ends(const cpu_set_t *set, int *first, int *last)
{
	int i;

	*first = *last = -1;
	for (i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, set)) {
			if (*first < 0)
				*first = i;
			*last = i;
		}
	return *first >= 0 && *first != *last ? 0 : -ENODEV;
}

/**
 * pin_start - --pin: the daemon on the first CPU we may use, this process
 * (and what it forks from now on) on the last. No-op without --pin.
 * Return: 0, -ENODEV with one CPU, or -errno.
 */
int pin_start(const struct bench *b)
{
	int first, last, err;

	if (!b->pin)
		return 0;
	if (sched_getaffinity(0, sizeof(pin_all), &pin_all))
		return -errno;
	err = pin_ends(&pin_all, &first, &last);
	if (!err && b->daemon_pid > 0)
		err = pin_one(b->daemon_pid, first);
	if (!err)
		err = pin_one(0, last);
	if (err)
		fprintf(stderr, "zcsend-bench: --pin: %s\n", strerror(-err));
	pin_saved = !err;
	return err;
}

/**
 * pin_release - in a forked neighbour (--busy): every CPU again.
 */
void pin_release(void)
{
	if (pin_saved)
		sched_setaffinity(0, sizeof(pin_all), &pin_all);
}
