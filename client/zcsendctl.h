/* SPDX-License-Identifier: MIT */
/*
 * zcsendctl private header: the subcommands and the few helpers they share
 * for argument parsing and error messages (zcsendctl.c).
 */
#ifndef ZCSENDCTL_H
#define ZCSENDCTL_H

#include <stddef.h>
#include <stdint.h>

/* Exit codes: the shell contract of every subcommand. */
#define CTL_OK		0
#define CTL_FAIL	1
#define CTL_USAGE	2

/*
 * A subcommand: @argv[0] is its name, @sock the -s value given before it
 * (NULL for the default path). Returns a CTL_* exit code.
 */
int cmd_send(int argc, char **argv, const char *sock);
int cmd_status(int argc, char **argv, const char *sock);
int cmd_metrics(int argc, char **argv, const char *sock);
int cmd_reload(int argc, char **argv, const char *sock);
int cmd_policy(int argc, char **argv, const char *sock);
int cmd_upgrade(int argc, char **argv, const char *sock);

struct zcs_client;

/* zcsendctl.c */
void ctl_err(const char *what, int err);
void ctl_connect_err(const char *sock, int err, const char *reason);
void ctl_no_dest(const char *what, const char *dest);
int ctl_open(const char *sock, struct zcs_client **c);
const char *ctl_sock_name(const char *sock, char *buf, size_t size);
void ctl_errx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int ctl_opt(int argc, char **argv, int *i, const char *name,
	    const char **val);
int ctl_parse_u64(const char *s, uint64_t max, uint64_t *out);

#endif /* ZCSENDCTL_H */
