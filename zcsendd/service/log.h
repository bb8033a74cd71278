/* SPDX-License-Identifier: MIT */
/*
 * Logging: to stderr with sd-daemon priority prefixes, or, when stderr is
 * the journal, to the journal with structured fields (CLIENT_PID,
 * CLIENT_UID, CLIENT_NAME, DESTINATION, ERRNO, MESSAGE_ID), so that
 * `journalctl -u zcsendd CLIENT_PID=1234` finds a client's lines. The only
 * module with static state (the verbosity, where lines go).
 */
#ifndef ZCSD_LOG_H
#define ZCSD_LOG_H

#include <sys/types.h>
#include <stdarg.h>
#include <stdbool.h>
#include <syslog.h>

/* MESSAGE_IDs of the events an operator filters on (zcsendd.8). */
#define LOG_ID_CLIENT_REFUSED	"281c2233538f4ee584a1950d51bf0854"
#define LOG_ID_CLIENT_DROPPED	"969b69042f1445b79f59ce0e029861b6"
#define LOG_ID_RELOAD_FAILED	"f25c71b50564484685744911072e9606"
#define LOG_ID_DEST_COPYING	"25384cf6b4244ee19d1b7590b775b20e"
#define LOG_ID_DRAIN_TIMEOUT	"c00c46ddba2846b4a32e937f3d6c5575"
#define LOG_ID_HANDOVER		"7a2a54e8abdc4d1baca8a9fcd2129148"
#define LOG_ID_HANDOVER_REFUSED	"57aaa4bd3dd64d0ab887a2843366c76d"
#define LOG_ID_GSO_REFUSED	"c1515ccfcbe64e16998ba4dbd06ccb68"

/* What a line is about: the journal's fields. Unset members are left out. */
struct log_about {
	const char *msgid;	/* MESSAGE_ID: LOG_ID_*, or NULL */
	bool client;		/* the CLIENT_* fields are set */
	pid_t pid;
	uid_t uid;
	const char *name;	/* CLIENT_NAME, or NULL before HELLO */
	const char *dest;	/* DESTINATION, or NULL */
};

void log_init(int verbose);
void log_at(int prio, const struct log_about *a, int err, const char *fmt,
	    ...) __attribute__((format(printf, 4, 5)));
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
