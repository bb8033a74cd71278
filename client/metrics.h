/* SPDX-License-Identifier: MIT */
/*
 * zcsendctl metrics: the daemon's counters in the Prometheus text
 * exposition format (metrics.c), printed once or served over HTTP by a
 * separate unprivileged process (metrics_http.c).
 */
#ifndef METRICS_H
#define METRICS_H

#include <stdio.h>

struct ctl_status;

/* The Content-Type of what metrics_write() produces. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* metrics.c */
int metrics_write(FILE *f, const struct ctl_status *st);

/* metrics_http.c */
int metrics_http_serve(const char *sock, const char *listen);

#endif /* METRICS_H */
