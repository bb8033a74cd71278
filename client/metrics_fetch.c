/* SPDX-License-Identifier: MIT */
/*
 * zcsendctl metrics --listen: one status fetch at a time over a control
 * connection kept between fetches, on the caller's event loop, never
 * waited for: the answer, or a one-line reason, comes to a callback
 * within METRICS_HTTP_FETCH_MS. A connection that breaks is made anew.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "libzcsend_int.h"
#include "ctl_status.h"
#include "metrics_http.h"
#include "zcsendctl.h"

struct metrics_fetch {
	const char *sock;		/* -s, NULL: the library's default */
	struct event_base *base;
	metrics_fetch_cb *cb;
	void *arg;
	int down;			/* the last fetch failed */
	int64_t no_svc_pid;		/* a daemon without SERVICE, or -1 */

	/* The control connection, kept between fetches; NULL: closed. */
	struct zcs_client *c;
	struct event *io;		/* c->fd readable, while c is open */
	int ready;			/* c has had its HELLO_OK */

	int fetching;
	int retry;			/* began on a kept connection */
	struct ctl_status_req rq;
	struct event *deadline;		/* METRICS_HTTP_FETCH_MS after start */
};

static void io_cb(evutil_socket_t fd, short what, void *arg);

/* The daemon's words go into a one-line text body: controls become '?'. */
static void one_line(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

/* Say on stderr when fetches start failing and when they work again. */
static void fetch_state(struct metrics_fetch *mf, int down, const char *why)
{
	if (down && !mf->down)
		ctl_errx("metrics unavailable: %s", why);
	else if (!down && mf->down)
		ctl_errx("metrics available again");
	mf->down = down;
}

static void conn_close(struct metrics_fetch *mf)
{
	if (mf->io)
		event_free(mf->io);
	mf->io = NULL;
	if (mf->c)
		zcs_close(mf->c);
	mf->c = NULL;
	mf->ready = 0;
}

/* Connect and send HELLO without waiting. 0, or -errno with @why set. */
static int conn_open(struct metrics_fetch *mf, char *why, size_t size)
{
	char path[ZCSI_PATH_MAX];
	int err;

	err = zcsi_open_start(mf->sock, &mf->c);
	if (err) {
		mf->c = NULL;
		snprintf(why, size, "cannot connect to zcsendd at %s: %s",
			 ctl_sock_name(mf->sock, path, sizeof(path)),
			 strerror(-err));
		return err;
	}
	mf->io = event_new(mf->base, mf->c->fd, EV_READ | EV_PERSIST, io_cb,
			   mf);
	if (!mf->io || event_add(mf->io, NULL) < 0) {
		conn_close(mf);
		snprintf(why, size, "cannot watch the connection to zcsendd");
		return -ENOMEM;
	}
	return 0;
}

/* The next step on the connection: open it, or ask for status once it
 * is ready (then the answer comes to io_cb). 0, or -errno with @why. */
static int fetch_step(struct metrics_fetch *mf, char *why, size_t size)
{
	char path[ZCSI_PATH_MAX];
	int err;

	if (!mf->c)
		return conn_open(mf, why, size);
	if (!mf->ready)
		return 0;	/* HELLO is out: wait for its answer */
	err = ctl_status_start(mf->c, &mf->rq, mf->no_svc_pid);
	if (err)
		snprintf(why, size, "no status from zcsendd at %s: %s",
			 ctl_sock_name(mf->sock, path, sizeof(path)),
			 strerror(-err));
	return err;
}

/*
 * The fetch is over: hand the reply or the reason on. Any failure closes
 * the connection, which may hold half a reply; the next fetch opens a
 * new one.
 */
static void fetch_done(struct metrics_fetch *mf, int err, char *why)
{
	mf->fetching = 0;
	event_del(mf->deadline);
	if (err)
		conn_close(mf);
	else if (!mf->rq.st.have_svc)	/* it will not know it next time */
		mf->no_svc_pid = mf->rq.st.d.pid;
	one_line(why);
	fetch_state(mf, err != 0, why);
	mf->cb(mf->arg, err ? NULL : &mf->rq.st, err, why);
	ctl_status_free(&mf->rq.st);
}

/*
 * A step failed. A kept connection that breaks at once (the daemon was
 * restarted since the last fetch) is closed and opened anew, once, so
 * a restart alone never shows as a failed fetch.
 */
static void fetch_fail(struct metrics_fetch *mf, int err, char *why)
{
	if (mf->retry) {
		mf->retry = 0;
		conn_close(mf);
		ctl_status_free(&mf->rq.st);
		err = fetch_step(mf, why, METRICS_REASON_MAX);
		if (!err)
			return;
	}
	fetch_done(mf, err, why);
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct metrics_fetch *mf = arg;
	char why[METRICS_REASON_MAX], path[ZCSI_PATH_MAX];

	snprintf(why, sizeof(why), "no answer from zcsendd at %s within %d ms",
		 ctl_sock_name(mf->sock, path, sizeof(path)),
		 METRICS_HTTP_FETCH_MS);
	fetch_done(mf, -ETIMEDOUT, why);
}

/* The answer to HELLO: then ask for status. 0, or -errno with @why. */
static int hello_read(struct metrics_fetch *mf, char *why, size_t size)
{
	char reason[ZCS_ERRBUF_SIZE], path[ZCSI_PATH_MAX];
	int n;

	n = zcsi_open_step(mf->c, reason, sizeof(reason));
	if (n > 0) {
		mf->ready = 1;
		return fetch_step(mf, why, size);
	}
	if (n < 0 && reason[0])
		snprintf(why, size, "zcsendd refused the connection: %s (%s)",
			 reason, strerror(-n));
	else if (n < 0)
		snprintf(why, size, "cannot connect to zcsendd at %s: %s",
			 ctl_sock_name(mf->sock, path, sizeof(path)),
			 strerror(-n));
	return n;
}

/*
 * The daemon wrote (or hung up). Between fetches nothing is asked, so
 * anything readable is its EOF or a message out of step: close, and the
 * next fetch connects anew.
 */
static void io_cb(evutil_socket_t fd, short what, void *arg)
{
	struct metrics_fetch *mf = arg;
	char why[METRICS_REASON_MAX], path[ZCSI_PATH_MAX];
	struct zcs_hdr hdr;
	int n;

	if (!mf->fetching) {
		if (zcsi_recv(mf->c, &hdr) != 0)
			conn_close(mf);
		return;
	}
	if (!mf->ready) {
		n = hello_read(mf, why, sizeof(why));
		if (n < 0)
			fetch_fail(mf, n, why);
		return;	/* or the status request is out */
	}
	n = ctl_status_read(mf->c, &mf->rq);
	if (n > 0) {
		why[0] = '\0';
		fetch_done(mf, 0, why);
	} else if (n < 0) {
		snprintf(why, sizeof(why), "no status from zcsendd at %s: %s",
			 ctl_sock_name(mf->sock, path, sizeof(path)),
			 strerror(-n));
		fetch_fail(mf, n, why);
	}
}

/*
 * metrics_fetch_start - ask for status unless a fetch is under way; the
 * callback hears of it (possibly before this returns, on a failure).
 */
void metrics_fetch_start(struct metrics_fetch *mf)
{
	struct timeval tv = {
		.tv_sec = METRICS_HTTP_FETCH_MS / 1000,
		.tv_usec = METRICS_HTTP_FETCH_MS % 1000 * 1000,
	};
	char why[METRICS_REASON_MAX];
	int err;

	if (mf->fetching)
		return;
	mf->fetching = 1;
	mf->retry = mf->ready;
	memset(&mf->rq, 0, sizeof(mf->rq));
	if (event_add(mf->deadline, &tv) < 0) {
		snprintf(why, sizeof(why), "cannot set a timer");
		fetch_done(mf, -ENOMEM, why);
		return;
	}
	err = fetch_step(mf, why, sizeof(why));
	if (err)
		fetch_fail(mf, err, why);
}

/*
 * metrics_fetch_new - fetches of the daemon's status at @sock (NULL: the
 * default) on @base, each answered to @cb with @arg. NULL when out of
 * memory.
 */
struct metrics_fetch *metrics_fetch_new(struct event_base *base,
					const char *sock,
					metrics_fetch_cb *cb, void *arg)
{
	struct metrics_fetch *mf = calloc(1, sizeof(*mf));

	if (!mf)
		return NULL;
	mf->base = base;
	mf->sock = sock;
	mf->cb = cb;
	mf->arg = arg;
	mf->no_svc_pid = -1;
	mf->deadline = evtimer_new(base, deadline_cb, mf);
	if (!mf->deadline) {
		free(mf);
		return NULL;
	}
	return mf;
}

/* metrics_fetch_free - close the connection; no callback comes. */
void metrics_fetch_free(struct metrics_fetch *mf)
{
	if (!mf)
		return;
	conn_close(mf);
	ctl_status_free(&mf->rq.st);
	event_free(mf->deadline);
	free(mf);
}
