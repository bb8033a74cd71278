/* SPDX-License-Identifier: MIT */
/*
 * zcsendctl metrics --listen: serve the daemon's counters at /metrics over
 * HTTP with libevent's evhttp. Status is fetched over a kept control
 * connection on the same event loop, never waited for inside a callback:
 * scrapes that come while a fetch is under way share it, and every scrape
 * is answered within METRICS_HTTP_FETCH_MS, with a 503 and a one-line
 * reason when the daemon is gone or does not answer.
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

#define METRICS_HTTP_FETCH_MS	1000	/* a scrape is answered within this */
#define METRICS_HTTP_TIMEOUT_S	10	/* read/write timeout per connection */
#define METRICS_HTTP_HEADERS_MAX 8192	/* request line and headers, bytes */
#define METRICS_HTTP_BODY_MAX	4096	/* read, then refused with 405 */
#define METRICS_HTTP_BACKLOG	64
#define METRICS_HTTP_WAITERS_MAX 256	/* scrapes waiting on one fetch */
#define REASON_MAX		256

/* Every method evhttp parses reaches us, so that we can say 405. */
#define METHODS_ALL	(EVHTTP_REQ_GET | EVHTTP_REQ_POST | \
			 EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | \
			 EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | \
			 EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | \
			 EVHTTP_REQ_PATCH)

struct exporter {
	const char *sock;		/* -s, NULL: the library's default */
	struct event_base *base;
	int down;			/* the last fetch failed */

	/* The control connection, kept between scrapes; NULL: closed. */
	struct zcs_client *c;
	struct event *io;		/* c->fd readable, while c is open */
	int ready;			/* c has had its HELLO_OK */

	/* The one fetch under way: scrapes that come meanwhile join it. */
	int fetching;
	int retry;			/* began on a kept connection */
	struct ctl_status_req rq;
	struct event *deadline;		/* METRICS_HTTP_FETCH_MS after start */
	struct evhttp_request *waiting[METRICS_HTTP_WAITERS_MAX];
	size_t nwaiting;
};

static void io_cb(evutil_socket_t fd, short what, void *arg);

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

/*
 * Send @req's reply with what its output buffer holds. evhttp 2.1 sends a
 * HEAD reply's body and no Content-Length, which misframes the next reply
 * on a kept-alive connection: HEAD gets the length of that body, not it.
 */
static void reply_send(struct evhttp_request *req, int code,
		       const char *status)
{
	struct evbuffer *body = evhttp_request_get_output_buffer(req);
	size_t len = evbuffer_get_length(body);
	char num[24];

	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		snprintf(num, sizeof(num), "%zu", len);
		evhttp_add_header(evhttp_request_get_output_headers(req),
				  "Content-Length", num);
		evbuffer_drain(body, len);
	}
	evhttp_send_reply(req, code, status, NULL);
}

static void reply_text(struct evhttp_request *req, int code,
		       const char *status, const char *text)
{
	struct evbuffer *body = evhttp_request_get_output_buffer(req);
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Type", "text/plain; charset=utf-8");
	evbuffer_add_printf(body, "%s\n", text);
	reply_send(req, code, status);
}

/* @st as the exposition, in a malloc'd @text of @len bytes. 0 or -errno. */
static int render(const struct ctl_status *st, char **text, size_t *len)
{
	FILE *f;
	int err;

	*text = NULL;
	f = open_memstream(text, len);
	if (!f)
		return -errno;
	err = metrics_write(f, st);
	if (fclose(f) && !err)
		err = -EIO;
	if (err) {
		free(*text);
		*text = NULL;
	}
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

static void conn_close(struct exporter *ex)
{
	if (ex->io)
		event_free(ex->io);
	ex->io = NULL;
	if (ex->c)
		zcs_close(ex->c);
	ex->c = NULL;
	ex->ready = 0;
}

/* Connect and send HELLO without waiting. 0, or -errno with @why set. */
static int conn_open(struct exporter *ex, char *why, size_t size)
{
	char path[ZCSI_PATH_MAX];
	int err;

	err = zcsi_open_start(ex->sock, &ex->c);
	if (err) {
		ex->c = NULL;
		snprintf(why, size, "cannot connect to zcsendd at %s: %s",
			 ctl_sock_name(ex->sock, path, sizeof(path)),
			 strerror(-err));
		return err;
	}
	ex->io = event_new(ex->base, ex->c->fd, EV_READ | EV_PERSIST, io_cb,
			   ex);
	if (!ex->io || event_add(ex->io, NULL) < 0) {
		conn_close(ex);
		snprintf(why, size, "cannot watch the connection to zcsendd");
		return -ENOMEM;
	}
	return 0;
}

/* The next step on the connection: open it, or ask for status once it
 * is ready (then the answer comes to io_cb). 0, or -errno with @why. */
static int fetch_step(struct exporter *ex, char *why, size_t size)
{
	char path[ZCSI_PATH_MAX];
	int err;

	if (!ex->c)
		return conn_open(ex, why, size);
	if (!ex->ready)
		return 0;	/* HELLO is out: wait for its answer */
	err = ctl_status_start(ex->c, &ex->rq);
	if (err)
		snprintf(why, size, "no status from zcsendd at %s: %s",
			 ctl_sock_name(ex->sock, path, sizeof(path)),
			 strerror(-err));
	return err;
}

/* 200 with @text to every scrape waiting; @text NULL: @code with @why. */
static void waiters_reply(struct exporter *ex, const char *text, size_t len,
			  int code, const char *why)
{
	struct evhttp_request *req;
	size_t i, n = ex->nwaiting;

	ex->nwaiting = 0;
	for (i = 0; i < n; i++) {
		req = ex->waiting[i];
		if (!text) {
			reply_text(req, code, code == 503 ?
				   "Service Unavailable" :
				   "Internal Server Error", why);
		} else if (evbuffer_add(evhttp_request_get_output_buffer(req),
					text, len) < 0) {
			reply_text(req, 500, "Internal Server Error",
				   "out of memory");
		} else {
			evhttp_add_header(
				evhttp_request_get_output_headers(req),
				"Content-Type", METRICS_CONTENT_TYPE);
			reply_send(req, 200, "OK");
		}
	}
}

/*
 * The fetch is over: answer everyone who waited for it. Any failure
 * closes the connection, which may hold half a reply; the next scrape
 * opens a new one.
 */
static void fetch_done(struct exporter *ex, int err, char *why)
{
	char *text = NULL;
	size_t len = 0;
	int code = 503;

	ex->fetching = 0;
	event_del(ex->deadline);
	if (!err) {
		err = render(&ex->rq.st, &text, &len);
		if (err)
			snprintf(why, REASON_MAX, "cannot render metrics: %s",
				 strerror(-err));
		code = 500;	/* ours, not the daemon's */
	} else {
		conn_close(ex);
	}
	ctl_status_free(&ex->rq.st);
	one_line(why);
	exporter_state(ex, err != 0, why);
	waiters_reply(ex, text, len, code, why);
	free(text);
}

/*
 * A step failed. A kept connection that breaks at once (the daemon was
 * restarted since the last scrape) is closed and opened anew, once, so
 * a restart alone never shows as a failed scrape.
 */
static void fetch_fail(struct exporter *ex, int err, char *why)
{
	if (ex->retry) {
		ex->retry = 0;
		conn_close(ex);
		ctl_status_free(&ex->rq.st);
		err = fetch_step(ex, why, REASON_MAX);
		if (!err)
			return;
	}
	fetch_done(ex, err, why);
}

static void fetch_start(struct exporter *ex)
{
	struct timeval tv = {
		.tv_sec = METRICS_HTTP_FETCH_MS / 1000,
		.tv_usec = METRICS_HTTP_FETCH_MS % 1000 * 1000,
	};
	char why[REASON_MAX];
	int err;

	ex->fetching = 1;
	ex->retry = ex->ready;
	memset(&ex->rq, 0, sizeof(ex->rq));
	if (event_add(ex->deadline, &tv) < 0) {
		snprintf(why, sizeof(why), "cannot set a timer");
		fetch_done(ex, -ENOMEM, why);
		return;
	}
	err = fetch_step(ex, why, sizeof(why));
	if (err)
		fetch_fail(ex, err, why);
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct exporter *ex = arg;
	char why[REASON_MAX], path[ZCSI_PATH_MAX];

	snprintf(why, sizeof(why), "no answer from zcsendd at %s within %d ms",
		 ctl_sock_name(ex->sock, path, sizeof(path)),
		 METRICS_HTTP_FETCH_MS);
	fetch_done(ex, -ETIMEDOUT, why);
}

/* The answer to HELLO: then ask for status. 0, or -errno with @why. */
static int hello_read(struct exporter *ex, char *why, size_t size)
{
	char reason[ZCS_ERRBUF_SIZE], path[ZCSI_PATH_MAX];
	int n;

	n = zcsi_open_step(ex->c, reason, sizeof(reason));
	if (n > 0) {
		ex->ready = 1;
		return fetch_step(ex, why, size);
	}
	if (n < 0 && reason[0])
		snprintf(why, size, "zcsendd refused the connection: %s (%s)",
			 reason, strerror(-n));
	else if (n < 0)
		snprintf(why, size, "cannot connect to zcsendd at %s: %s",
			 ctl_sock_name(ex->sock, path, sizeof(path)),
			 strerror(-n));
	return n;
}

/*
 * The daemon wrote (or hung up). Between fetches nothing is asked, so
 * anything readable is its EOF or a message out of step: close, and the
 * next scrape connects anew.
 */
static void io_cb(evutil_socket_t fd, short what, void *arg)
{
	struct exporter *ex = arg;
	char why[REASON_MAX], path[ZCSI_PATH_MAX];
	struct zcs_hdr hdr;
	int n;

	if (!ex->fetching) {
		if (zcsi_recv(ex->c, &hdr) != 0)
			conn_close(ex);
		return;
	}
	if (!ex->ready) {
		n = hello_read(ex, why, sizeof(why));
		if (n < 0)
			fetch_fail(ex, n, why);
		return;	/* or the status request is out */
	}
	n = ctl_status_read(ex->c, &ex->rq);
	if (n > 0) {
		why[0] = '\0';
		fetch_done(ex, 0, why);
	} else if (n < 0) {
		snprintf(why, sizeof(why), "no status from zcsendd at %s: %s",
			 ctl_sock_name(ex->sock, path, sizeof(path)),
			 strerror(-n));
		fetch_fail(ex, n, why);
	}
}

/* GET or HEAD /metrics: join the fetch under way, or start one. */
static void metrics_cb(struct evhttp_request *req, void *arg)
{
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	struct exporter *ex = arg;

	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
				  "Allow", "GET, HEAD");
		reply_text(req, 405, "Method Not Allowed",
			   "method not allowed: /metrics takes GET and HEAD");
		return;
	}
	if (ex->nwaiting == METRICS_HTTP_WAITERS_MAX) {
		reply_text(req, 503, "Service Unavailable",
			   "too many scrapes waiting for zcsendd");
		return;
	}
	ex->waiting[ex->nwaiting++] = req;
	if (!ex->fetching)
		fetch_start(ex);
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
	/* A small body is read and answered 405; a larger one gets 413. */
	evhttp_set_max_body_size(http, METRICS_HTTP_BODY_MAX);
	evhttp_set_timeout(http, METRICS_HTTP_TIMEOUT_S);
	evhttp_set_allowed_methods(http, METHODS_ALL);
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
	/* Scrapes still waiting belong to connections evhttp frees. */
	waiters_reply(ex, NULL, 0, 503, "zcsendctl metrics is shutting down");
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
	ex.deadline = evtimer_new(ex.base, deadline_cb, &ex);
	if (!ex.deadline) {
		close(fd);
		event_base_free(ex.base);
		ctl_errx("cannot make a timer");
		return CTL_FAIL;
	}
	rc = serve(&ex, fd, where);
	conn_close(&ex);
	ctl_status_free(&ex.rq.st);
	event_free(ex.deadline);
	event_base_free(ex.base);
	return rc;
}
