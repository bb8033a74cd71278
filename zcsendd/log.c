/* SPDX-License-Identifier: MIT */
/*
 * Log lines go to stderr, one per event, prefixed with the sd-daemon
 * priority ("<4>") so journald files them at the right level. errno is
 * saved and restored so logging never disturbs the caller's error path.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-daemon.h>

#include "log.h"

static int log_verbose;

void log_init(int verbose)
{
	log_verbose = verbose;
}

static void vlog(const char *prio, int err, const char *fmt, va_list ap)
{
	char line[1024];
	int saved = errno;

	vsnprintf(line, sizeof(line), fmt, ap);
	if (err)
		fprintf(stderr, "%szcsendd: %s: %s\n", prio, line, strerror(err));
	else
		fprintf(stderr, "%szcsendd: %s\n", prio, line);
	errno = saved;
}

/* log_warn - a warning with the current errno's text appended. */
void log_warn(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(SD_WARNING, err, fmt, ap);
	va_end(ap);
}

/* log_errno - a warning with the text of a negative or positive errno. */
void log_errno(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(SD_WARNING, err < 0 ? -err : err, fmt, ap);
	va_end(ap);
}

void log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(SD_WARNING, 0, fmt, ap);
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(SD_INFO, 0, fmt, ap);
	va_end(ap);
}

void log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	vlog(SD_DEBUG, 0, fmt, ap);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(SD_ERR, err, fmt, ap);
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(SD_ERR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
