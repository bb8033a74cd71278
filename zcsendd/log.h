/* SPDX-License-Identifier: MIT */
/*
 * Logging to stderr with sd-daemon priority prefixes, so that journald keeps
 * the levels. The only module with static state (the verbosity).
 */
#ifndef ZCSD_LOG_H
#define ZCSD_LOG_H

#include <stdarg.h>

void log_init(int verbose);
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_errno(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void fatal(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

#endif /* ZCSD_LOG_H */
