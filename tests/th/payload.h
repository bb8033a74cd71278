/* SPDX-License-Identifier: MIT */
/*
 * tests/th/payload.c: deterministic payloads from (client, seq) and the
 * self-checking records that receivers verify.
 */
#ifndef ZCS_TH_PAYLOAD_H
#define ZCS_TH_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

uint64_t th_fnv1a(const void *buf, size_t len);
/* Deterministic bytes from (client, seq). */
void th_fill(void *buf, size_t len, uint32_t client, uint64_t seq);
/* Deterministic size in [lo, hi] from (client, seq). */
size_t th_size(uint32_t client, uint64_t seq, size_t lo, size_t hi);

/* Every record (TCP) and datagram (UDP) starts with this. */
struct th_rec {
	uint32_t magic;
	uint32_t client;
	uint64_t seq;
	uint32_t len;		/* whole record, this header included */
	uint32_t reserved;
	uint64_t csum;		/* th_fnv1a of the bytes after the header */
};

#define TH_REC_MAGIC 0x7a637331u	/* "zcs1" */

/* Write a record of @len bytes (>= sizeof(struct th_rec)) at @buf. */
void th_rec_build(void *buf, size_t len, uint32_t client, uint64_t seq);

#endif /* ZCS_TH_PAYLOAD_H */
