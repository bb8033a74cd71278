/* SPDX-License-Identifier: MIT */
/*
 * A streaming client: a window of sends in flight, each completion checked
 * against the send it names (exactly once, its full length), UDP paced by
 * what its receiver has read (a loopback socket buffer that overflows
 * drops silently: a "lost" record), and the gaps between completions timed
 * (a hand-over's blackout).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "payload.h"
#include "stream.h"
#include "util.h"
#include "zcsend.h"
#include "zcs_proto.h"

#define REAP_MAX	256
#define REAP_WAIT_MS	20

static void stream_error(struct th_stream *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Count an error and say it at once: which client, what. Under lock. */
static void stream_error(struct th_stream *s, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (s->errors++ < 10)
		fprintf(stderr, "stream client %u (%s %s): %s\n", s->cfg.id,
			s->cfg.transport, s->proto == ZCS_PROTO_TCP ? "tcp" :
			"udp", msg);
	if (s->errors == 1)
		snprintf(s->first_error, sizeof(s->first_error), "%s", msg);
}

int th_stream_open(struct th_stream *s, const struct th_stream_cfg *cfg)
{
	char dest[64];
	int ret;

	memset(s, 0, sizeof(*s));
	s->cfg = *cfg;
	pthread_mutex_init(&s->lock, NULL);
	if (setenv("ZCSEND_TRANSPORT", cfg->transport, 1))
		return -errno;
	ret = zcs_connect(cfg->sock, cfg->pool, &s->c);
	unsetenv("ZCSEND_TRANSPORT");
	if (ret) {
		fprintf(stderr, "stream client %u: connect over %s: %s\n",
			cfg->id, cfg->transport, strerror(-ret));
		return ret;
	}
	th_recv_dest(cfg->rv, dest, sizeof(dest));
	ret = zcs_flow_open(s->c, dest, &s->flow);
	if (ret < 0) {
		fprintf(stderr, "stream client %u: flow to %s: %s\n", cfg->id,
			dest, strerror(-ret));
		return ret;
	}
	s->proto = ret;
	return 0;
}

/* The receiver has room for one more datagram of ours (UDP only). */
static int rx_room(struct th_stream *s)
{
	struct th_recv *rv = s->cfg.rv;
	uint64_t got;

	if (s->proto != ZCS_PROTO_UDP || !s->cfg.rx_window)
		return 1;
	pthread_mutex_lock(&rv->lock);
	got = rv->records;
	pthread_mutex_unlock(&rv->lock);
	return s->sent < got + s->cfg.rx_window;
}

/* May the next send go now? */
static int can_send(struct th_stream *s)
{
	if (s->stop || s->abandon)
		return 0;
	if (s->cfg.max_sends && s->sent >= s->cfg.max_sends)
		return 0;
	if (s->sent - s->completed >= s->cfg.window ||
	    s->sent - s->oldest >= TH_STREAM_RING)
		return 0;
	return rx_room(s);
}

/* One send of record s->sent. 1 sent, 0 no room now, or -errno. */
static int send_one(struct th_stream *s)
{
	uint64_t tag = s->sent;
	size_t len = th_size(s->cfg.id, tag, s->cfg.lo, s->cfg.hi);
	unsigned slot = (unsigned)(tag % TH_STREAM_RING);
	void *buf;
	int ret;

	s->where = "zcs_alloc";
	ret = zcs_alloc(s->c, len, &buf);
	if (ret == -ENOMEM)
		return 0;	/* the pool is full: reap first */
	if (ret)
		return ret;
	th_rec_build(buf, len, s->cfg.id, tag);
	s->where = "zcs_send";
	ret = zcs_send(s->c, s->flow, buf, len, tag);
	if (ret) {
		zcs_free(s->c, buf);
		return ret == -EAGAIN ? 0 : ret;
	}
	s->tag_of[slot] = tag;
	s->buf_of[slot] = buf;
	s->live[slot] = 1;
	pthread_mutex_lock(&s->lock);
	s->sent++;
	pthread_mutex_unlock(&s->lock);
	return 1;
}

/* Check one completion against the send it names. Under lock. */
static void complete_one(struct th_stream *s, const struct zcs_completion *cp)
{
	unsigned slot = (unsigned)(cp->tag % TH_STREAM_RING);
	size_t want;

	if (cp->tag >= s->sent) {
		s->bad++;
		stream_error(s, "tag %llu completed (result %d) but never sent"
			     " (%llu sent)", (unsigned long long)cp->tag,
			     cp->result, (unsigned long long)s->sent);
		return;
	}
	if (!s->live[slot] || s->tag_of[slot] != cp->tag) {
		s->dups++;
		stream_error(s, "tag %llu completed twice (result %d)",
			     (unsigned long long)cp->tag, cp->result);
		return;
	}
	want = th_size(s->cfg.id, cp->tag, s->cfg.lo, s->cfg.hi);
	if (cp->result < 0 || (size_t)cp->result != want) {
		s->bad++;
		stream_error(s, "tag %llu: result %d (%s), want %zu",
			     (unsigned long long)cp->tag, cp->result,
			     cp->result < 0 ? strerror(-cp->result) : "short",
			     want);
	}
	s->live[slot] = 0;
	zcs_free(s->c, s->buf_of[slot]);
	s->completed++;
	s->bytes += want;
}

/* Note the gap before this batch of completions; move oldest on. */
static void completions(struct th_stream *s, const struct zcs_completion *cp,
			int n)
{
	uint64_t t = now_ns();
	int i;

	pthread_mutex_lock(&s->lock);
	if (s->last_ns && t - s->last_ns > s->gap_max_ns)
		s->gap_max_ns = t - s->last_ns;
	s->last_ns = t;
	for (i = 0; i < n; i++)
		complete_one(s, &cp[i]);
	while (s->oldest < s->sent &&
	       !s->live[s->oldest % TH_STREAM_RING])
		s->oldest++;
	pthread_mutex_unlock(&s->lock);
}

/* Reap what came within @ms. 0, or the library's -errno. */
static int reap(struct th_stream *s, int ms)
{
	struct zcs_completion cp[REAP_MAX];
	int n;

	s->where = "zcs_reap";
	n = zcs_reap(s->c, cp, REAP_MAX, ms);
	if (n < 0)
		return n;
	if (n)
		completions(s, cp, n);
	return 0;
}

/* Record how the stream ended; a library error is an error. */
static void stream_end(struct th_stream *s, int ret, const char *what)
{
	pthread_mutex_lock(&s->lock);
	s->end = ret ? ret : -ECANCELED;
	s->end_ms = th_now_ms();
	if (ret)
		stream_error(s, "%s: %s (%llu sent, %llu completed)", what,
			     strerror(-ret), (unsigned long long)s->sent,
			     (unsigned long long)s->completed);
	pthread_mutex_unlock(&s->lock);
}

/* After stop: wait for what is in flight, counting what never comes. */
static void drain(struct th_stream *s, unsigned ms)
{
	uint64_t end = th_now_ms() + ms;
	int ret = 0;

	while (!ret && !s->abandon && s->completed < s->sent &&
	       th_now_ms() < end)
		ret = reap(s, REAP_WAIT_MS);
	pthread_mutex_lock(&s->lock);
	s->missing = s->sent - s->completed;
	if (s->missing)
		stream_error(s, "%llu sends never completed (oldest tag %llu)",
			     (unsigned long long)s->missing,
			     (unsigned long long)s->oldest);
	pthread_mutex_unlock(&s->lock);
	stream_end(s, ret, "reap while draining");
}

/* A tenth of a millisecond: short beside any gap worth measuring. */
static void idle_wait(void)
{
	struct timespec ts = { 0, 100000 };

	nanosleep(&ts, NULL);
}

/* Send while there is room, then reap; until stopped or an error. */
static void *stream_main(void *arg)
{
	struct th_stream *s = arg;
	int ret = 0;

	while (!s->stop && !s->abandon) {
		while (can_send(s) && (ret = send_one(s)) > 0)
			;
		if (ret < 0) {
			stream_end(s, ret, s->where);
			break;
		}
		if (s->sent == s->completed) {
			/* Held by the receiver (or the cap) with nothing
			 * in flight: zcs_reap would return at once, and a
			 * spin here takes the CPU the receiver needs. */
			idle_wait();
			continue;
		}
		ret = reap(s, REAP_WAIT_MS);
		if (ret) {
			stream_end(s, ret, "zcs_reap");
			break;
		}
	}
	if (!ret && !s->abandon)
		drain(s, s->drain_ms);
	s->where = "returned";
	pthread_mutex_lock(&s->lock);
	s->ended = 1;
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

int th_stream_start(struct th_stream *s)
{
	s->last_ns = now_ns();
	if (pthread_create(&s->thread, NULL, stream_main, s))
		return -EAGAIN;
	s->started = 1;
	return 0;
}

void th_stream_stop(struct th_stream *s, unsigned drain_ms)
{
	if (!s->started)
		return;
	s->drain_ms = drain_ms;
	s->stop = 1;
	pthread_join(s->thread, NULL);
	s->started = 0;
}

int th_stream_wait_end(struct th_stream *s, unsigned ms)
{
	uint64_t end = th_now_ms() + ms;
	int ended, ret;

	for (;;) {
		pthread_mutex_lock(&s->lock);
		ended = s->ended;
		ret = s->end;
		pthread_mutex_unlock(&s->lock);
		if (ended || th_now_ms() >= end)
			return ended ? (ret ? ret : -ECANCELED) : 0;
		th_sleep_ms(5);
	}
}

void th_stream_close(struct th_stream *s)
{
	if (s->started) {
		s->abandon = 1;
		pthread_join(s->thread, NULL);
		s->started = 0;
	}
	zcs_close(s->c);
	s->c = NULL;
}

uint64_t th_stream_completed(struct th_stream *s)
{
	uint64_t n;

	pthread_mutex_lock(&s->lock);
	n = s->completed;
	pthread_mutex_unlock(&s->lock);
	return n;
}

uint64_t th_stream_gap(struct th_stream *s)
{
	uint64_t g, t = now_ns();

	pthread_mutex_lock(&s->lock);
	g = s->gap_max_ns;
	/* A gap still open counts too: the stream may be waiting now. */
	if (s->last_ns && t - s->last_ns > g)
		g = t - s->last_ns;
	pthread_mutex_unlock(&s->lock);
	return g;
}

void th_stream_gap_reset(struct th_stream *s)
{
	pthread_mutex_lock(&s->lock);
	s->gap_max_ns = 0;
	pthread_mutex_unlock(&s->lock);
}

/* The receiver's side: every record there, once, in order, on one
 * connection for TCP. */
static int check_receiver(struct th_stream *s, unsigned wait_ms)
{
	struct th_recv *rv = s->cfg.rv;
	const char *kind = s->proto == ZCS_PROTO_TCP ? "tcp" : "udp";
	int ret = th_recv_wait(rv, s->sent, (int)wait_ms), bad = 0;

	pthread_mutex_lock(&rv->lock);
	if (ret || rv->errors || rv->records != s->sent) {
		fprintf(stderr, "stream client %u (%s %s): receiver has %llu "
			"of %llu records, %llu errors%s%s\n", s->cfg.id,
			s->cfg.transport, kind,
			(unsigned long long)rv->records,
			(unsigned long long)s->sent,
			(unsigned long long)rv->errors,
			rv->errors ? ", first: " : "", rv->first_error);
		bad = 1;
	}
	if (s->proto == ZCS_PROTO_TCP && rv->nconns != 1) {
		fprintf(stderr, "stream client %u (%s tcp): the receiver "
			"accepted %d connections, want 1\n", s->cfg.id,
			s->cfg.transport, rv->nconns);
		bad = 1;
	}
	pthread_mutex_unlock(&rv->lock);
	return bad ? -EIO : 0;
}

int th_stream_check(struct th_stream *s, unsigned recv_wait_ms)
{
	int bad = 0;

	pthread_mutex_lock(&s->lock);
	if (s->errors) {
		fprintf(stderr, "stream client %u (%s): %llu errors (%llu "
			"duplicated, %llu bad, %llu missing); first: %s\n",
			s->cfg.id, s->cfg.transport,
			(unsigned long long)s->errors,
			(unsigned long long)s->dups, (unsigned long long)s->bad,
			(unsigned long long)s->missing, s->first_error);
		bad = 1;
	}
	pthread_mutex_unlock(&s->lock);
	if (check_receiver(s, recv_wait_ms))
		bad = 1;
	return bad ? -EIO : 0;
}
