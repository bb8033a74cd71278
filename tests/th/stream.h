/* SPDX-License-Identifier: MIT */
/*
 * tests/th/stream.c: a libzcsend client streaming self-checking records
 * at full speed in a thread of its own, holding every send to "completes
 * exactly once, with its length": for tests and benchmarks that do
 * something to the daemon (a hand-over, a kill) while clients send.
 */
#ifndef ZCS_TH_STREAM_H
#define ZCS_TH_STREAM_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "recv.h"

#define TH_STREAM_RING	4096u	/* sends a stream may have between its
				 * oldest incomplete and its newest */

struct th_stream_cfg {
	const char *sock;	/* the daemon's socket */
	const char *transport;	/* "socket" or "ring" (ZCSEND_TRANSPORT) */
	struct th_recv *rv;	/* the receiver behind the flow */
	uint32_t id;		/* th_rec client number, < TH_MAX_CLIENTS */
	size_t pool;		/* pool bytes asked for */
	size_t lo, hi;		/* record sizes (th_size) */
	unsigned window;	/* sends in flight at most */
	unsigned rx_window;	/* UDP: sends ahead of the receiver at most,
				 * so that its socket buffer never drops */
	uint64_t max_sends;	/* stop sending after this many (0: no cap) */
};

struct th_stream {
	struct th_stream_cfg cfg;
	struct zcs_client *c;
	uint32_t flow;
	int proto;		/* ZCS_PROTO_TCP or ZCS_PROTO_UDP */
	pthread_t thread;
	int started;
	volatile int stop;	/* th_stream_stop: finish and drain */
	volatile int abandon;	/* stop at once, no drain (the daemon died) */
	volatile unsigned drain_ms;	/* th_stream_stop's bound on the drain */
	/* the thread's; others read them under lock */
	pthread_mutex_t lock;
	uint64_t sent, completed, bytes;
	uint64_t dups;		/* completions of a send already completed */
	uint64_t bad;		/* completions with a wrong result or tag */
	uint64_t missing;	/* sends never completed (after a drain) */
	uint64_t errors;	/* everything above, and library errors */
	char first_error[256];
	int end;		/* 0 while running, else the -errno it ended on */
	int ended;		/* the thread has returned */
	uint64_t end_ms;	/* when it ended (th_now_ms) */
	const char *where;	/* the libzcsend call it is in, for a hang */
	uint64_t last_ns;	/* the last completion (CLOCK_MONOTONIC ns) */
	uint64_t gap_max_ns;	/* the longest gap since th_stream_gap_reset */
	/* the thread's alone */
	uint64_t oldest;	/* every tag below it has completed */
	uint64_t tag_of[TH_STREAM_RING];
	void *buf_of[TH_STREAM_RING];
	uint8_t live[TH_STREAM_RING];	/* 1: tag_of[] is in flight */
};

/*
 * th_stream_open - connect (with cfg->transport forced through
 * ZCSEND_TRANSPORT, so call it before any stream thread runs) and open a
 * flow to cfg->rv. Returns 0 or -errno, with a line on stderr saying
 * which step failed.
 */
int th_stream_open(struct th_stream *s, const struct th_stream_cfg *cfg);
/* th_stream_start - start streaming in a thread. 0 or -errno. */
int th_stream_start(struct th_stream *s);
/*
 * th_stream_stop - stop sending, wait up to @drain_ms for every send
 * already made to complete (those that do not count as missing), join.
 */
void th_stream_stop(struct th_stream *s, unsigned drain_ms);
/*
 * th_stream_wait_end - wait up to @ms for the stream to end by itself
 * (an error or EOF from the library). Returns its end (-errno), or 0
 * when it still runs: it is blocked, or it never saw the daemon go.
 */
int th_stream_wait_end(struct th_stream *s, unsigned ms);
/* th_stream_close - join if needed (abandoning a blocked thread is the
 * caller's failure), zcs_close. */
void th_stream_close(struct th_stream *s);
/* th_stream_completed - completions so far. */
uint64_t th_stream_completed(struct th_stream *s);
/* The longest gap between two completions since the last reset, ns. */
uint64_t th_stream_gap(struct th_stream *s);
void th_stream_gap_reset(struct th_stream *s);
/*
 * th_stream_check - after th_stream_stop: every send completed once with
 * its length, no library error, and the receiver has every record once
 * (UDP) or in order (TCP) and, for TCP, one connection. Returns 0, or
 * -EIO having printed what went wrong (client, tag, result) to stderr.
 */
int th_stream_check(struct th_stream *s, unsigned recv_wait_ms);

#endif /* ZCS_TH_STREAM_H */
