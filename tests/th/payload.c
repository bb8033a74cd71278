/* SPDX-License-Identifier: MIT */
/*
 * Deterministic payloads: bytes and sizes that follow from (client, seq)
 * alone, so a receiver can check every byte without being told what was
 * sent, and records (struct th_rec) that carry their own checksum.
 */
#include <stdint.h>
#include <string.h>

#include "payload.h"

uint64_t th_fnv1a(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* splitmix64: a good 64-bit mix, one step per 8 bytes. */
static uint64_t mix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void th_fill(void *buf, size_t len, uint32_t client, uint64_t seq)
{
	uint64_t state = ((uint64_t)client << 48) ^ seq ^ 0x5a5a0000u;
	unsigned char *p = buf;
	uint64_t v;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		v = mix64(&state);
		memcpy(p + i, &v, 8);
	}
	v = mix64(&state);
	memcpy(p + i, &v, len - i);
}

size_t th_size(uint32_t client, uint64_t seq, size_t lo, size_t hi)
{
	uint64_t state = ((uint64_t)client << 40) ^ (seq * 7919u);

	return lo + (size_t)(mix64(&state) % (hi - lo + 1));
}

void th_rec_build(void *buf, size_t len, uint32_t client, uint64_t seq)
{
	struct th_rec h = {
		.magic = TH_REC_MAGIC, .client = client, .seq = seq,
		.len = (uint32_t)len,
	};
	unsigned char *p = buf;

	th_fill(p + sizeof(h), len - sizeof(h), client, seq);
	h.csum = th_fnv1a(p + sizeof(h), len - sizeof(h));
	memcpy(p, &h, sizeof(h));
}
