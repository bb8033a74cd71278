/* SPDX-License-Identifier: MIT */
/*
 * zcsendctl metrics --listen: serve the daemon's counters at /metrics with
 * libevent's evhttp. Scrapes share the status fetch under way
 * (metrics_fetch.c) and are answered within METRICS_HTTP_FETCH_MS, with a
 * 503 and the reason when the daemon does not answer. One metrics_agg for
 * the exporter's life keeps per-program counters from going down.
 */
#include <sys/socket.h>
#include <netinet/in.h>
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

#include "ctl_status.h"
#include "metrics.h"
#include "metrics_http.h"
#include "zcsendctl.h"

#define METRICS_HTTP_TIMEOUT_S	10	/* read/write timeout per connection */
#define METRICS_HTTP_HEADERS_MAX 8192	/* request line and headers, bytes */
#define METRICS_HTTP_BODY_MAX	4096	/* read, then refused with 405 */
#define METRICS_HTTP_WAITERS_MAX 256	/* scrapes waiting on one fetch */

/* Every method evhttp parses reaches us, so that we can say 405. */
#define METHODS_ALL	(EVHTTP_REQ_GET | EVHTTP_REQ_POST | \
			 EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | \
			 EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | \
			 EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | \
			 EVHTTP_REQ_PATCH)

struct exporter {
	struct event_base *base;
	struct metrics_fetch *fetch;
	struct metrics_agg agg;		/* the clients seen, for the exporter's life */
	struct evhttp_request *waiting[METRICS_HTTP_WAITERS_MAX];
	size_t nwaiting;		/* scrapes waiting for the fetch */
};

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

/* @st as the exposition, in a malloc'd @text of @len bytes, its clients
 * grouped with those seen before. 0 or -errno. */
static int render(struct exporter *ex, const struct ctl_status *st,
		  char **text, size_t *len)
{
	FILE *f;
	int err;

	*text = NULL;
	err = metrics_agg_update(&ex->agg, st);
	if (err)
		return err;
	f = open_memstream(text, len);
	if (!f)
		return -errno;
	err = metrics_write_agg(f, st, &ex->agg);
	if (fclose(f) && !err)
		err = -EIO;
	if (err) {
		free(*text);
		*text = NULL;
	}
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

/* The fetch is over: answer everyone who waited for it. */
static void fetched_cb(void *arg, const struct ctl_status *st, int err,
		       const char *why)
{
	char reason[METRICS_REASON_MAX];
	struct exporter *ex = arg;
	char *text = NULL;
	size_t len = 0;

	if (err) {
		waiters_reply(ex, NULL, 0, 503, why);
		return;
	}
	err = render(ex, st, &text, &len);
	if (err) {
		snprintf(reason, sizeof(reason), "cannot render metrics: %s",
			 strerror(-err));
		waiters_reply(ex, NULL, 0, 500, reason);	/* ours */
		return;
	}
	waiters_reply(ex, text, len, 200, "");
	free(text);
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
	metrics_fetch_start(ex->fetch);	/* or join the one under way */
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
	struct exporter ex;
	char where[INET6_ADDRSTRLEN + 16];
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, rc;

	memset(&ex, 0, sizeof(ex));
	if (metrics_listen_parse(listen, &ss, &len)) {
		ctl_errx("--listen %s: expected ADDR:PORT or [ADDR6]:PORT with "
			 "a numeric address", listen);
		return CTL_USAGE;
	}
	/* A scraper that hangs up mid-reply must not kill us. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		ctl_err("SIGPIPE", -errno);
		return CTL_FAIL;
	}
	fd = metrics_listen_open(&ss, len);
	if (fd < 0) {
		ctl_err(listen, fd);
		return CTL_FAIL;
	}
	if (metrics_listen_name(fd, where, sizeof(where)))
		snprintf(where, sizeof(where), "%s", listen);
	ex.base = event_base_new();
	if (ex.base)
		ex.fetch = metrics_fetch_new(ex.base, sock, fetched_cb, &ex);
	if (!ex.fetch) {
		close(fd);
		if (ex.base)
			event_base_free(ex.base);
		ctl_errx("cannot make an event loop");
		return CTL_FAIL;
	}
	rc = serve(&ex, fd, where);
	metrics_fetch_free(ex.fetch);
	metrics_agg_free(&ex.agg);
	event_base_free(ex.base);
	return rc;
}
