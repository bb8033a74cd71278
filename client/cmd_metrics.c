/* SPDX-License-Identifier: MIT */
/*
 * zcsendctl metrics: the daemon's counters in the Prometheus text format,
 * printed once (for a textfile collector, or to look), or with --listen
 * served at /metrics over HTTP by this process, which stays a client of
 * the daemon: zcsendd itself never opens a network listener.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "libzcsend_int.h"
#include "ctl_status.h"
#include "metrics.h"
#include "zcsendctl.h"

/* A daemon that takes longer than this to answer STATUS is hung. */
#define METRICS_TIMEOUT_MS	10000

static int metrics_once(const char *sock)
{
	char path[ZCSI_PATH_MAX], what[ZCSI_PATH_MAX + 16];
	struct zcs_client *c;
	struct ctl_status st;
	int err;

	if (ctl_open(sock, &c))
		return CTL_FAIL;	/* said why */
	err = ctl_status_fetch(c, &st, METRICS_TIMEOUT_MS);
	zcs_close(c);
	if (err) {
		snprintf(what, sizeof(what), "status from %s",
			 ctl_sock_name(sock, path, sizeof(path)));
		ctl_err(what, err);
		return CTL_FAIL;
	}
	err = metrics_write(stdout, &st);
	ctl_status_free(&st);
	if (err) {
		ctl_err("writing metrics", err);
		return CTL_FAIL;
	}
	return CTL_OK;
}

int cmd_metrics(int argc, char **argv, const char *sock)
{
	const char *listen = NULL;
	int i, r;

	for (i = 1; i < argc; i++) {
		if ((r = ctl_opt(argc, argv, &i, "--listen", &listen)) < 0)
			return CTL_USAGE;
		if (r == 0 && (r = ctl_opt(argc, argv, &i, "-s", &sock)) <= 0) {
			if (r == 0)
				ctl_errx("usage: zcsendctl metrics "
					 "[--listen ADDR:PORT]");
			return CTL_USAGE;
		}
	}
	if (listen)
		return metrics_http_serve(sock, listen);
	return metrics_once(sock);
}
