/* SPDX-License-Identifier: MIT */
/*
 * tests/th/util.c: failing (TH_CHECK, TH_EQ) and skipping, time, waiting
 * for a readable fd, counting fds, a process's memory, and the build
 * directory.
 */
#ifndef ZCS_TH_UTIL_H
#define ZCS_TH_UTIL_H

#include <sys/types.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define TH_SKIP 77

/* Failing check: print file:line, the expression and a message. */
#define TH_CHECK(cond, ...) do {					\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__,	\
			__LINE__, #cond);				\
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
		th_fail();						\
	}								\
} while (0)

#define TH_EQ(got, want) do {						\
	long long g_ = (long long)(got), w_ = (long long)(want);	\
	if (g_ != w_) {							\
		fprintf(stderr, "%s:%d: %s == %s: got %lld, want %lld\n", \
			__FILE__, __LINE__, #got, #want, g_, w_);	\
		th_fail();						\
	}								\
} while (0)

/* Call the th_on_fail hook (the daemon part prints the log of the daemon
 * that runs, if one does) and exit 1. */
__attribute__((noreturn)) void th_fail(void);
/* Print a reason and exit 77. */
__attribute__((noreturn, format(printf, 1, 2))) void th_skip(const char *fmt,
							      ...);
/* Monotonic milliseconds. */
uint64_t th_now_ms(void);
void th_sleep_ms(unsigned ms);
/*
 * th_on_fail - have th_fail() call @fn before it exits (the daemon part
 * shows its log this way). One hook; a later call replaces it.
 */
void th_on_fail(void (*fn)(void));
/* th_wait_readable - poll @fd for input: 0, -ETIMEDOUT or -errno. */
int th_wait_readable(int fd, int timeout_ms);

/* th_fd_count - open fds of @pid (entries of /proc/PID/fd), or -1. */
int th_fd_count(pid_t pid);
/*
 * th_proc_status_kb - the number of a "@field:  N kB" line of
 * /proc/PID/status (@field without its colon, e.g. "VmRSS"), or -1.
 */
long th_proc_status_kb(pid_t pid, const char *field);

/* $BUILD or "build". */
const char *th_build_dir(void);

#endif /* ZCS_TH_UTIL_H */
