/* SPDX-License-Identifier: MIT */
/*
 * The daemon's side of a client's shared-memory rings, for shring.c and
 * shring_io.c only. The ring memory is the client's to scribble on: the
 * daemon keeps its own copies of the indices it writes, reads each word
 * the client writes once per use with C11 atomics, and bounds it
 * (proto/zcs_ring.h).
 */
#ifndef ZCSD_SHRING_H
#define ZCSD_SHRING_H

#include "zcsd.h"

struct shring {
	void *mem;		/* the whole memfd, mapped shared */
	uint64_t bytes;
	struct zcs_ring_ctl *ctl;
	struct zcs_msg_send *sq;
	struct zcs_msg_completion *cq;
	uint32_t sq_entries;	/* powers of two */
	uint32_t cq_entries;
	uint32_t sq_head;	/* ours: the shared copy is never read back */
	uint32_t cq_tail;	/* ours, likewise */
	uint32_t cq_mark;	/* cq_head when the unread timer was armed */
	int efd_in;		/* the client writes it to wake us */
	int efd_out;		/* we write it to wake the client */
	struct event *ev;	/* efd_in readable */
	bool due;		/* completions wait: errq or flows' batches */
	bool stopped;		/* the client was killed */
	struct zcs_msg_completion *errq;	/* failed ring records */
	uint32_t nerr;
	uint64_t poll_ns_base;	/* d->rings.poll_ns when made */
	struct zcs_ring_counters st;
};

#endif /* ZCSD_SHRING_H */
