/* SPDX-License-Identifier: MIT */
/*
 * Log lines go to stderr, one per event, prefixed with the sd-daemon
 * priority ("<4>") so journald files them at the right level. errno is
 * saved and restored so logging never disturbs the caller's error path.
 * Under journald, which already names us, lines carry no "zcsendd: ".
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "log.h"

static int log_verbose;
/* "zcsendd: " or "" under journald; NULL until the first line. */
static const char *log_name;

void log_init(int verbose)
{
	log_verbose = verbose;
}

/*
 * stderr_is_journal - whether stderr is the stream journald gave us.
 * systemd sets JOURNAL_STREAM to "DEV:INODE" of that stream; a child that
 * inherits the variable but not the stream (stderr redirected to a file)
 * must not take it for the journal, hence the comparison.
 */
static int stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st))
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

static void vlog(const char *prio, int err, const char *fmt, va_list ap)
{
	char line[1024];
	int saved = errno;

	if (!log_name)
		log_name = stderr_is_journal() ? "" : "zcsendd: ";
	vsnprintf(line, sizeof(line), fmt, ap);
	if (err)
		fprintf(stderr, "%s%s%s: %s\n", prio, log_name, line,
			strerror(err));
	else
		fprintf(stderr, "%s%s%s\n", prio, log_name, line);
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
