/* SPDX-License-Identifier: MIT */
/*
 * tests/th/rings.c: the client side of the shared-memory rings
 * (PROTOCOL.md, "Rings") over a raw connection.
 */
#ifndef ZCS_TH_RINGS_H
#define ZCS_TH_RINGS_H

#include <stddef.h>
#include <stdint.h>

#include "raw.h"
#include "zcs_proto.h"

struct th_rings {
	struct zcs_rings lay;
	void *mem;		/* the ring memfd, mapped shared */
	struct zcs_ring_ctl *ctl;
	struct zcs_msg_send *sq;
	struct zcs_msg_completion *cq;
	int daemon_efd;		/* we write it to wake the daemon */
	int client_efd;		/* the daemon writes it to wake us */
	uint32_t sq_tail;	/* ours */
	uint32_t cq_head;	/* ours */
	uint64_t wakeups;	/* times we woke the daemon */
	uint64_t woken;		/* times the daemon woke us */
};

/*
 * th_raw_hello_rings - HELLO with ZCS_HELLO_F_RINGS asking @entries SQ
 * entries (0: the daemon's choice): HELLO_OK (the pool mapped as by
 * th_raw_hello), then RINGS with its three fds; checks the ring memfd's
 * size and maps it (the memfd itself is closed).
 * Returns 0; the ERROR's -errno when the daemon made no rings (the
 * connection goes on without); or -errno (-EPROTO for a wrong reply).
 */
int th_raw_hello_rings(struct th_raw *r, uint64_t pool_bytes,
		       uint32_t entries, const char *name,
		       struct th_rings *rg);
void th_rings_close(struct th_rings *rg);
/*
 * th_rings_submit - write up to @n records at the SQ tail, publish them,
 * and wake the daemon if it sleeps. Returns how many fit.
 */
uint32_t th_rings_submit(struct th_rings *rg, const struct zcs_msg_send *recs,
			 uint32_t n);
/* Take up to @max completions (waking the daemon if it sleeps). */
uint32_t th_rings_reap(struct th_rings *rg, struct zcs_msg_completion *out,
		       uint32_t max);
/*
 * th_rings_wait - sleep on the client eventfd until completions show:
 * set WAITING, fence, look again, then poll up to @timeout_ms.
 * Returns 0 when completions are there, or -ETIMEDOUT.
 */
int th_rings_wait(struct th_rings *rg, int timeout_ms);
/* Collect @n completions within @timeout_ms; returns how many came. */
int th_rings_completions(struct th_rings *rg, struct zcs_msg_completion *out,
			 size_t n, int timeout_ms);

#endif /* ZCS_TH_RINGS_H */
