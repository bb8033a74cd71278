/* SPDX-License-Identifier: MIT */
/*
 * The daemon's side of a client's shared-memory rings, for the shring*.c
 * files only. The ring memory is the client's to scribble on: the daemon
 * keeps its own copies of the indices it writes, reads each word the
 * client writes once per use with C11 atomics, and bounds it
 * (proto/zcs_ring.h). Only hot rings (d->ring_hot) are read each turn and
 * only rings with completions waiting (d->ring_due) are written, so a
 * turn costs what the active clients cost, whatever number sit idle.
 */
#ifndef ZCSD_SHRING_H
#define ZCSD_SHRING_H

#include "zcsd.h"
#include "zcs_ring.h"

struct shring {
	struct client *c;
	void *mem;		/* the whole memfd, mapped shared */
	int memfd;		/* kept for a hand-over (handover/) */
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
	bool hot;		/* on d->ring_hot: read each turn */
	bool on_due;		/* on d->ring_due */
	bool due;		/* completions wait: errq or flows' batches */
	bool stopped;		/* the client was killed */
	TAILQ_ENTRY(shring) hot_entry;
	TAILQ_ENTRY(shring) due_entry;
	uint64_t active_ns;	/* last record, or last beat of the client */
	struct zcs_ring_pulse pulse;	/* the client's beat */
	struct zcs_msg_completion *errq;	/* failed ring records */
	uint32_t nerr;
	uint64_t poll_ns_base;	/* d->rings.poll_ns when made */
	struct zcs_ring_counters st;
};

/* shring.c: set-up and tear-down, shared with shring_adopt.c */
void shring_layout(uint32_t sq_entries, struct zcs_rings *lay);
void shring_point(struct shring *s, const struct zcs_rings *lay);
struct shring *shring_new(const struct zcsd *d);
void shring_attach(struct client *c, struct shring *s);
void shring_destroy(struct shring *s);
void shring_wake_cb(evutil_socket_t fd, short what, void *arg);

/* shring_take.c */
uint32_t shring_take(struct client *c, uint64_t now_ns);
void shring_heat(struct client *c);
void shring_unhot(struct shring *s);
bool shring_has_records(struct client *c);
bool shring_has_work(struct client *c);
bool shring_cool(struct client *c);
void shring_violation(struct client *c, const char *what, uint32_t got,
		      uint32_t ours);

/* shring_publish.c */
uint32_t shring_publish(struct client *c);
bool shring_cq_has_room(struct client *c);
void shring_undue(struct shring *s);

/* shring_wake.c */
void shring_notify(struct client *c, bool urgent);

#endif /* ZCSD_SHRING_H */
