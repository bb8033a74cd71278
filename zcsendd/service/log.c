/* SPDX-License-Identifier: MIT */
/*
 * One line per event. On a terminal: stderr, as "zcsendd: ..." for a person
 * to read. Into a file or a pipe: prefixed with the sd-daemon priority
 * ("<4>") too, for whatever collects it. When stderr is the journal:
 * the journal's native protocol, with PRIORITY and the line's structured
 * fields; a line the journal does not take goes to stderr, without our
 * name, which journald adds. errno is saved and restored so logging never
 * disturbs the caller's error path.
 */
#include <sys/stat.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* CODE_FILE and the like would name this file, not the event's. */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

/* sd_journal_sendv() drops lines silently when this is missing. */
#define JOURNAL_SOCKET	"/run/systemd/journal/socket"

#include "log.h"

static int log_verbose;
/* Decided at the first line: 0 stderr is not the journal's stream, 1 it
 * is and the journal's socket is there, 2 only the stream. */
static int log_journal = -1;
/* "<N>" before each stderr line: 0 on a terminal, else 1; -1 undecided. */
static int log_prio_prefix = -1;

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

/* Room for "CLIENT_NAME=" and the like with a value of ours. */
#define FIELD_MAX	(1024 + 32)
#define FIELDS_MAX	10

struct fields {
	struct iovec iov[FIELDS_MAX];
	char buf[FIELDS_MAX][FIELD_MAX];
	int n;
};

static void field(struct fields *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* One FIELD=value; a value cut to fit is still a valid field. */
static void field(struct fields *f, const char *fmt, ...)
{
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(f->buf[f->n], FIELD_MAX, fmt, ap);
	va_end(ap);
	if (len < 0)
		return;
	f->iov[f->n].iov_base = f->buf[f->n];
	f->iov[f->n].iov_len = len < FIELD_MAX ? (size_t)len : FIELD_MAX - 1;
	f->n++;
}

/*
 * The line and what it is about, as journal fields. sd_journal_sendv
 * frames values holding newlines (a client's name may) in the binary
 * form, so no field can forge another.
 */
static int journal_line(int prio, const struct log_about *a, int err,
			const char *line)
{
	struct fields f = { .n = 0 };

	field(&f, "MESSAGE=%s%s%s", line, err ? ": " : "",
	      err ? strerror(err) : "");
	field(&f, "PRIORITY=%d", prio);
	field(&f, "SYSLOG_IDENTIFIER=zcsendd");
	if (err)
		field(&f, "ERRNO=%d", err);
	if (a && a->msgid)
		field(&f, "MESSAGE_ID=%s", a->msgid);
	if (a && a->client) {
		field(&f, "CLIENT_PID=%ld", (long)a->pid);
		field(&f, "CLIENT_UID=%lu", (unsigned long)a->uid);
		if (a->name && a->name[0])
			field(&f, "CLIENT_NAME=%s", a->name);
	}
	if (a && a->dest)
		field(&f, "DESTINATION=%s", a->dest);
	return sd_journal_sendv(f.iov, f.n);
}

/* One line on stderr: the priority unless a person reads it on a
 * terminal, our name unless the journal adds it. */
static void stderr_line(int prio, int err, const char *line)
{
	char pfx[8] = "";

	if (log_prio_prefix < 0)
		log_prio_prefix = !isatty(STDERR_FILENO);
	if (log_prio_prefix)
		snprintf(pfx, sizeof(pfx), "<%d>", prio);
	fprintf(stderr, "%s%s%s%s%s\n", pfx, log_journal ? "" : "zcsendd: ",
		line, err ? ": " : "", err ? strerror(err) : "");
}

static void vlog(int prio, const struct log_about *a, int err,
		 const char *fmt, va_list ap)
{
	char line[1024];
	int saved = errno;

	if (log_journal < 0)
		log_journal = stderr_is_journal();
	if (log_journal == 1 && access(JOURNAL_SOCKET, F_OK))
		log_journal = 2;	/* the journal's stream, not its socket */
	vsnprintf(line, sizeof(line), fmt, ap);
	if (log_journal != 1 || journal_line(prio, a, err, line) < 0)
		stderr_line(prio, err, line);
	errno = saved;
}

/*
 * log_at - a line at syslog priority @prio (LOG_WARNING, ...), about @a
 * (NULL: nothing in particular), with @err's text appended unless 0.
 */
void log_at(int prio, const struct log_about *a, int err, const char *fmt, ...)
{
	va_list ap;

	if (prio == LOG_DEBUG && !log_verbose)
		return;
	va_start(ap, fmt);
	vlog(prio, a, err < 0 ? -err : err, fmt, ap);
	va_end(ap);
}

/* log_warn - a warning with the current errno's text appended. */
void log_warn(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, NULL, err, fmt, ap);
	va_end(ap);
}

/* log_errno - a warning with the text of a negative or positive errno. */
void log_errno(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, NULL, err < 0 ? -err : err, fmt, ap);
	va_end(ap);
}

void log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, NULL, 0, fmt, ap);
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, NULL, 0, fmt, ap);
	va_end(ap);
}

void log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, NULL, 0, fmt, ap);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, NULL, err, fmt, ap);
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, NULL, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
