/* SPDX-License-Identifier: MIT */
/*
 * zcsendctl metrics --listen: serve the daemon's counters at /metrics over
 * HTTP with libevent's evhttp, fetching fresh status for every scrape over
 * a kept control connection. A daemon that is gone gets a 503 with a
 * one-line reason, never an empty page, and the next scrape reconnects.
 * One process, one thread: a scrape waits for the daemon's answer (bounded
 * by METRICS_HTTP_FETCH_MS), which is all an exporter needs.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "libzcsend_int.h"
#include "ctl_status.h"
#include "metrics.h"
#include "zcsendctl.h"

#define METRICS_HTTP_FETCH_MS	5000	/* a scrape waits this long for status */
#define METRICS_HTTP_TIMEOUT_S	10	/* read/write timeout per connection */
#define METRICS_HTTP_HEADERS_MAX 8192	/* request line and headers, bytes */
#define METRICS_HTTP_BACKLOG	64
#define REASON_MAX		256

struct exporter {
	const char *sock;		/* -s, NULL: the library's default */
	struct zcs_client *c;		/* kept between scrapes; NULL: closed */
	int down;			/* the last scrape failed */
	struct event_base *base;
};

/* "ADDR:PORT" or "[ADDR6]:PORT", numeric, into @ss. 0 or -EINVAL. */
static int parse_listen(const char *s, struct sockaddr_storage *ss,
			socklen_t *len)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	char host[INET6_ADDRSTRLEN];
	const char *colon, *start = s;
	unsigned long port;
	char *end;
	size_t n;

	if (*s == '[') {
		start = s + 1;
		colon = strchr(start, ']');
		if (!colon || colon[1] != ':')
			return -EINVAL;
		n = (size_t)(colon - start);
		colon++;
	} else {
		colon = strchr(s, ':');
		if (!colon || strchr(colon + 1, ':'))
			return -EINVAL;	/* IPv6 takes brackets */
		n = (size_t)(colon - s);
	}
	if (n == 0 || n >= sizeof(host) || colon[1] < '0' || colon[1] > '9')
		return -EINVAL;
	memcpy(host, start, n);
	host[n] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || *end || port > 65535)	/* 0: any free port */
		return -EINVAL;
	memset(ss, 0, sizeof(*ss));
	if (start != s && inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*s6);
		return 0;
	}
	if (start == s && inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*len = sizeof(*s4);
		return 0;
	}
	return -EINVAL;
}

/* A listening TCP socket on @ss. The fd, or -errno. */
static int listen_open(const struct sockaddr_storage *ss, socklen_t len)
{
	int fd, on = 1, err;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return -errno;
	/* [::] means IPv6 only: an IPv4 listener is asked for by name. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0 ||
	    (ss->ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) < 0) ||
	    bind(fd, (const struct sockaddr *)ss, len) < 0 ||
	    listen(fd, METRICS_HTTP_BACKLOG) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* "ADDR:PORT" of what @fd is bound to: port 0 asks for any free one. */
static int bound_name(int fd, char *buf, size_t size)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN];

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	if (ss.ss_family == AF_INET6 &&
	    inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host)))
		snprintf(buf, size, "[%s]:%u", host, ntohs(s6->sin6_port));
	else if (ss.ss_family == AF_INET &&
		 inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host)))
		snprintf(buf, size, "%s:%u", host, ntohs(s4->sin_port));
	else
		return -EAFNOSUPPORT;
	return 0;
}

/* The daemon's words go into a one-line text body: controls become '?'. */
static void one_line(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

/* Connect if not connected. 0, or -errno with @why set. */
static int exporter_connect(struct exporter *ex, char *why, size_t size)
{
	char reason[ZCS_ERRBUF_SIZE], path[ZCSI_PATH_MAX];
	int err;

	if (ex->c)
		return 0;
	reason[0] = '\0';
	err = zcsi_open(ex->sock, 0, &ex->c, reason, sizeof(reason));
	if (!err)
		return 0;
	ex->c = NULL;
	if (reason[0])
		snprintf(why, size, "zcsendd refused the connection: %s (%s)",
			 reason, strerror(-err));
	else
		snprintf(why, size, "cannot connect to zcsendd at %s: %s",
			 ctl_sock_name(ex->sock, path, sizeof(path)),
			 strerror(-err));
	return err;
}

/*
 * Fresh status into @st. A kept connection that fails (the daemon was
 * restarted since the last scrape) is closed and tried once more anew,
 * so a restart alone never shows as a failed scrape.
 * Returns 0, or -errno with a one-line reason in @why.
 */
static int exporter_fetch(struct exporter *ex, struct ctl_status *st,
			  char *why, size_t size)
{
	char path[ZCSI_PATH_MAX];
	int tries, kept, err = 0;

	for (tries = 0; tries < 2; tries++) {
		kept = ex->c != NULL;
		err = exporter_connect(ex, why, size);
		if (err)
			break;
		err = ctl_status_fetch(ex->c, st, METRICS_HTTP_FETCH_MS);
		if (!err)
			return 0;
		zcs_close(ex->c);	/* it may hold half a reply */
		ex->c = NULL;
		snprintf(why, size, "no status from zcsendd at %s: %s",
			 ctl_sock_name(ex->sock, path, sizeof(path)),
			 strerror(-err));
		if (!kept)
			break;
	}
	one_line(why);
	return err;
}

/* Say on stderr when scrapes start failing and when they work again. */
static void exporter_state(struct exporter *ex, int down, const char *why)
{
	if (down && !ex->down)
		ctl_errx("metrics unavailable: %s", why);
	else if (!down && ex->down)
		ctl_errx("metrics available again");
	ex->down = down;
}

static void reply_text(struct evhttp_request *req, int code,
		       const char *status, const char *text)
{
	struct evbuffer *body = evhttp_request_get_output_buffer(req);
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Type", "text/plain; charset=utf-8");
	evbuffer_add_printf(body, "%s\n", text);
	evhttp_send_reply(req, code, status, NULL);
}

/* Render @st into the reply body. 0 or -errno. */
static int render(struct evhttp_request *req, const struct ctl_status *st)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int err;

	f = open_memstream(&text, &len);
	if (!f)
		return -errno;
	err = metrics_write(f, st);
	if (fclose(f) && !err)
		err = -EIO;
	if (!err && evbuffer_add(evhttp_request_get_output_buffer(req),
				 text, len) < 0)
		err = -ENOMEM;
	free(text);
	return err;
}

/* GET or HEAD /metrics (evhttp refuses other methods with 405). */
static void metrics_cb(struct evhttp_request *req, void *arg)
{
	struct exporter *ex = arg;
	char why[REASON_MAX];
	struct ctl_status st;
	int err;

	err = exporter_fetch(ex, &st, why, sizeof(why));
	exporter_state(ex, err != 0, why);
	if (err) {
		reply_text(req, 503, "Service Unavailable", why);
		return;
	}
	err = render(req, &st);
	ctl_status_free(&st);
	if (err) {
		evbuffer_drain(evhttp_request_get_output_buffer(req), (size_t)-1);
		snprintf(why, sizeof(why), "cannot render metrics: %s",
			 strerror(-err));
		reply_text(req, 500, "Internal Server Error", why);
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req),
			  "Content-Type", METRICS_CONTENT_TYPE);
	evhttp_send_reply(req, 200, "OK", NULL);
}

static void notfound_cb(struct evhttp_request *req, void *arg)
{
	reply_text(req, 404, "Not Found", "not found: metrics are at /metrics");
}

static void accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	evconnlistener_enable(arg);
}

/*
 * accept() failed for good (out of descriptors, most likely): a listener
 * left enabled would spin on it, so rest a second. Timeouts free the
 * descriptors that idle clients hold.
 */
static void accept_error_cb(struct evconnlistener *lev, void *arg)
{
	struct timeval tv = { 1, 0 };

	ctl_err("accept", -EVUTIL_SOCKET_ERROR());
	evconnlistener_disable(lev);
	if (event_base_once(evconnlistener_get_base(lev), -1, EV_TIMEOUT,
			    accept_resume_cb, lev, &tv) < 0)
		event_base_loopbreak(evconnlistener_get_base(lev));
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	event_base_loopbreak(arg);
}

/* evhttp with bounds on what one request may make us hold or wait for. */
static struct evhttp *http_new(struct exporter *ex, int fd)
{
	struct evconnlistener *lev;
	struct evhttp *http;

	http = evhttp_new(ex->base);
	if (!http)
		return NULL;
	evhttp_set_max_headers_size(http, METRICS_HTTP_HEADERS_MAX);
	evhttp_set_max_body_size(http, 0);	/* GET has none */
	evhttp_set_timeout(http, METRICS_HTTP_TIMEOUT_S);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	if (evhttp_set_cb(http, "/metrics", metrics_cb, ex) < 0)
		goto err_http;
	evhttp_set_gencb(http, notfound_cb, ex);
	/* The listener takes @fd, already listening (backlog 0: leave it). */
	lev = evconnlistener_new(ex->base, NULL, NULL,
				 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
				 0, fd);
	if (!lev)
		goto err_http;
	if (!evhttp_bind_listener(http, lev)) {
		evconnlistener_free(lev);
		goto err_http;
	}
	evconnlistener_set_error_cb(lev, accept_error_cb);
	return http;

err_http:
	evhttp_free(http);
	return NULL;
}

/* Until SIGTERM or SIGINT. Returns a CTL_* code. */
static int serve(struct exporter *ex, int fd, const char *where)
{
	struct event *sigterm, *sigint;
	struct evhttp *http;
	int rc = CTL_FAIL;

	http = http_new(ex, fd);
	if (!http) {
		close(fd);
		ctl_errx("cannot set up the HTTP server on %s", where);
		return CTL_FAIL;
	}
	sigterm = evsignal_new(ex->base, SIGTERM, signal_cb, ex->base);
	sigint = evsignal_new(ex->base, SIGINT, signal_cb, ex->base);
	if (!sigterm || !sigint || event_add(sigterm, NULL) < 0 ||
	    event_add(sigint, NULL) < 0) {
		ctl_errx("cannot watch for signals");
		goto out;
	}
	fprintf(stderr, "zcsendctl: serving metrics at http://%s/metrics\n",
		where);
	if (event_base_dispatch(ex->base) < 0)
		ctl_errx("event loop failed");
	else
		rc = CTL_OK;
out:
	if (sigterm)
		event_free(sigterm);
	if (sigint)
		event_free(sigint);
	evhttp_free(http);	/* and the listener with it */
	return rc;
}

/*
 * metrics_http_serve - serve /metrics on @listen ("ADDR:PORT" or
 * "[ADDR6]:PORT") for the daemon at @sock until SIGTERM or SIGINT.
 * Returns a CTL_* exit code, after saying why on failure.
 */
int metrics_http_serve(const char *sock, const char *listen)
{
	struct exporter ex = { .sock = sock };
	char where[INET6_ADDRSTRLEN + 16];
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, rc;

	if (parse_listen(listen, &ss, &len)) {
		ctl_errx("--listen %s: expected ADDR:PORT or [ADDR6]:PORT with "
			 "a numeric address", listen);
		return CTL_USAGE;
	}
	/* A scraper that hangs up mid-reply must not kill us. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		ctl_err("SIGPIPE", -errno);
		return CTL_FAIL;
	}
	fd = listen_open(&ss, len);
	if (fd < 0) {
		ctl_err(listen, fd);
		return CTL_FAIL;
	}
	if (bound_name(fd, where, sizeof(where)))
		snprintf(where, sizeof(where), "%s", listen);
	ex.base = event_base_new();
	if (!ex.base) {
		close(fd);
		ctl_errx("cannot make an event loop");
		return CTL_FAIL;
	}
	rc = serve(&ex, fd, where);
	if (ex.c)
		zcs_close(ex.c);
	event_base_free(ex.base);
	return rc;
}
