/* SPDX-License-Identifier: MIT */
/*
 * zcsendctl status: ask the daemon for its state over a control-only
 * connection (HELLO with no pool, so nothing is mapped or pinned) and
 * print it as compact tables (status_text.c) or, with --json, as one
 * JSON object for scripts (status_json.c); --watch repeats the tables
 * every second.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libzcsend_int.h"
#include "ctl_status.h"
#include "status.h"
#include "zcsendctl.h"

/* Fetch and print once. Returns a CTL_* code. */
static int status_once(const char *sock, int json, int clear)
{
	struct zcs_client *c;
	struct ctl_status st;
	int err;

	if (ctl_open(sock, &c))
		return CTL_FAIL;	/* said why */
	memset(&st, 0, sizeof(st));
	err = ctl_status_fetch(c, &st, -1);
	zcs_close(c);
	if (err) {
		char path[ZCSI_PATH_MAX], what[ZCSI_PATH_MAX + 16];

		snprintf(what, sizeof(what), "status from %s",
			 ctl_sock_name(sock, path, sizeof(path)));
		ctl_err(what, err);
	} else if (json) {
		status_json_write(stdout, &st);
	} else {
		if (clear)
			fputs("\033[H\033[2J", stdout);	/* home, clear */
		status_text_write(stdout, &st);
	}
	fflush(stdout);
	ctl_status_free(&st);
	return err ? CTL_FAIL : CTL_OK;
}

int cmd_status(int argc, char **argv, const char *sock)
{
	int i, r, json = 0, watch = 0;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = 1;
		else if (!strcmp(argv[i], "--watch"))
			watch = 1;
		else if ((r = ctl_opt(argc, argv, &i, "-s", &sock)) <= 0) {
			if (r == 0)
				ctl_errx("usage: zcsendctl status [--json] "
					 "[--watch]");
			return CTL_USAGE;
		}
	}
	if (watch && json) {
		ctl_errx("--watch is for people; script --json in a loop");
		return CTL_USAGE;
	}
	if (!watch)
		return status_once(sock, json, 0);
	/* Until interrupted, or until the daemon goes away. */
	while ((r = status_once(sock, 0, isatty(STDOUT_FILENO))) == CTL_OK)
		sleep(1);
	return r;
}
