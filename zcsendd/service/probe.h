/* SPDX-License-Identifier: MIT */
/*
 * Kernel feature probes (probe.c): run by ring.c on the daemon's new ring;
 * the results live in struct ring (features, gso_max_segs), which the
 * send path reads.
 */
#ifndef ZCSD_PROBE_H
#define ZCSD_PROBE_H

#include <stdint.h>

struct io_uring;

uint32_t probe_features(struct io_uring *ring, uint32_t *gso_max_segs);
void probe_log(uint32_t features, uint32_t gso_max_segs);

#endif /* ZCSD_PROBE_H */
