/* SPDX-License-Identifier: MIT */
/*
 * The unit tests' one check: compare two integers, count it, and on a
 * mismatch report file:line, the expression and both values. A test
 * prints checks and failures at the end and exits 1 on any failure.
 */
#ifndef TEST_EXPECT_H
#define TEST_EXPECT_H

#include <stdio.h>

static unsigned checks, failures;

#define EXPECT_EQ(expr, want) do {					\
	long long got_ = (long long)(expr);				\
	long long want_ = (long long)(want);				\
	checks++;							\
	if (got_ != want_) {						\
		failures++;						\
		fprintf(stderr, "%s:%d: %s == %s: got %lld, want %lld\n", \
			__FILE__, __LINE__, #expr, #want, got_, want_);	\
	}								\
} while (0)

#endif /* TEST_EXPECT_H */
