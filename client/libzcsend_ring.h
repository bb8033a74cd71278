/* SPDX-License-Identifier: MIT */
/*
 * libzcsend shared-memory rings, the pure part: producer and consumer
 * steps over a mapped ring region (PROTOCOL.md, "Rings"), with no I/O, so
 * that index wrap, full and empty rings and corrupted indices can be
 * tested on plain memory. The daemon shares this memory and so may the
 * application by accident: every index read from it is bounded.
 */
#ifndef LIBZCSEND_RING_H
#define LIBZCSEND_RING_H

#include <stdint.h>

#include "zcs_proto.h"

/* One mapped ring pair. The indices we own live here too, and only these
 * copies are trusted: the shared words are written, never read back. */
struct zcsi_ring {
	struct zcs_ring_ctl *ctl;
	struct zcs_msg_send *sq;
	const struct zcs_msg_completion *cq;
	uint32_t sq_entries;	/* powers of two, checked by zcs_rings_check */
	uint32_t cq_entries;
	uint32_t sq_tail;	/* next SEND record we write */
	uint32_t cq_head;	/* next completion we read */
};

int zcsi_ring_init(struct zcsi_ring *r, void *map, const struct zcs_rings *lay);
int zcsi_ring_sq_room(const struct zcsi_ring *r);
int zcsi_ring_push(struct zcsi_ring *r, const void *recs, unsigned n);
int zcsi_ring_cq_ready(const struct zcsi_ring *r);
int zcsi_ring_pop(struct zcsi_ring *r, struct zcs_msg_completion *out,
		  unsigned max);
int zcsi_ring_wake_needed(struct zcs_ring_ctl *ctl);
void zcsi_ring_set_waiting(struct zcs_ring_ctl *ctl);
int zcsi_ring_clear_waiting(struct zcs_ring_ctl *ctl);

#endif /* LIBZCSEND_RING_H */
