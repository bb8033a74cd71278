/* SPDX-License-Identifier: MIT */
/*
 * Small helpers every part of the daemon uses, written once: the monotonic
 * clock in milliseconds and nanoseconds, durations as libevent's struct timeval, and the
 * smaller of two counts. Header-only: none of them is worth a call.
 */
#ifndef ZCSD_UTIL_H
#define ZCSD_UTIL_H

#include <sys/time.h>
#include <stdint.h>
#include <time.h>

/* now_ms - monotonic milliseconds: deadlines and uptime, never dates. */
static inline uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* now_ns - monotonic nanoseconds: the same clock, to time short things. */
static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* timeval_us - @us microseconds, as evtimer_add() takes a duration. */
static inline struct timeval timeval_us(uint64_t us)
{
	return (struct timeval){ .tv_sec = (time_t)(us / 1000000),
				 .tv_usec = (suseconds_t)(us % 1000000) };
}

/* timeval_ms - @ms milliseconds, as evtimer_add() takes a duration. */
static inline struct timeval timeval_ms(uint64_t ms)
{
	return timeval_us(ms * 1000);
}

static inline uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

#endif /* ZCSD_UTIL_H */
