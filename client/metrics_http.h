/* SPDX-License-Identifier: MIT */
/*
 * zcsendctl metrics --listen, inside: the HTTP server (metrics_http.c)
 * answers scrapes with what one status fetch at a time brings
 * (metrics_fetch.c), on a socket metrics_listen.c opens.
 */
#ifndef METRICS_HTTP_H
#define METRICS_HTTP_H

#include <sys/socket.h>
#include <stddef.h>

struct event_base;
struct ctl_status;
struct metrics_fetch;

#define METRICS_HTTP_FETCH_MS	1000	/* a scrape is answered within this */
#define METRICS_REASON_MAX	256

/*
 * A fetch is over: @st is the whole reply (the callee's to read, not to
 * keep: it is freed on return), or NULL with @err (-errno) and @why, one
 * line saying what went wrong.
 */
typedef void metrics_fetch_cb(void *arg, const struct ctl_status *st,
			      int err, const char *why);

/* metrics_fetch.c */
struct metrics_fetch *metrics_fetch_new(struct event_base *base,
					const char *sock,
					metrics_fetch_cb *cb, void *arg);
void metrics_fetch_start(struct metrics_fetch *mf);
void metrics_fetch_free(struct metrics_fetch *mf);

/* metrics_listen.c */
int metrics_listen_parse(const char *s, struct sockaddr_storage *ss,
			 socklen_t *len);
int metrics_listen_open(const struct sockaddr_storage *ss, socklen_t len);
int metrics_listen_name(int fd, char *buf, size_t size);

#endif /* METRICS_HTTP_H */
