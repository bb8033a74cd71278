/* SPDX-License-Identifier: MIT */
/*
 * libzcsend pool allocator. The pool is cut into 256-byte granules tracked
 * by a bitmap; the first granule of an allocation records its length, so
 * zcs_free() needs only the pointer. Searching starts where the last
 * allocation ended: sends complete roughly in order, so the pool is used
 * like a ring and a free run is usually found at the cursor.
 */
#include <errno.h>
#include <stdlib.h>

#include "libzcsend_int.h"

#define NOT_FOUND	SIZE_MAX

/* First granule at or after @from whose bit equals @set; a->granules if
 * there is none. Bits past the last granule are 0 and must not count. */
static size_t next_bit(const struct zcsi_alloc *a, size_t from, int set)
{
	size_t w = from / 64, nwords = (a->granules + 63) / 64;
	uint64_t word;

	if (from >= a->granules)
		return a->granules;
	word = set ? a->bitmap[w] : ~a->bitmap[w];
	word &= ~0ULL << (from % 64);
	while (!word) {
		if (++w >= nwords)
			return a->granules;
		word = set ? a->bitmap[w] : ~a->bitmap[w];
	}
	from = w * 64 + (size_t)__builtin_ctzll(word);
	return from < a->granules ? from : a->granules;
}

/* A free run of @n granules starting in [@lo, @start_hi). */
static size_t find_run(const struct zcsi_alloc *a, size_t lo, size_t start_hi,
		       size_t n)
{
	size_t pos = lo, free_at, used_at;

	while (pos < start_hi) {
		free_at = next_bit(a, pos, 0);
		if (free_at >= start_hi)
			break;
		used_at = next_bit(a, free_at, 1);
		if (used_at - free_at >= n)
			return free_at;
		pos = used_at;
	}
	return NOT_FOUND;
}

/* Set or clear @n bits from @start, a word at a time. */
static void mark(struct zcsi_alloc *a, size_t start, size_t n, int on)
{
	size_t bit, k;
	uint64_t mask;

	while (n) {
		bit = start % 64;
		k = 64 - bit < n ? 64 - bit : n;
		mask = (k == 64 ? ~0ULL : (1ULL << k) - 1) << bit;
		if (on)
			a->bitmap[start / 64] |= mask;
		else
			a->bitmap[start / 64] &= ~mask;
		start += k;
		n -= k;
	}
}

/*
 * zcsi_alloc_init - allocator state for a pool of @pool_bytes; a tail
 * shorter than a granule stays unused. Returns 0 or -ENOMEM.
 */
int zcsi_alloc_init(struct zcsi_alloc *a, size_t pool_bytes)
{
	size_t nwords;

	a->granules = pool_bytes / ZCSI_GRANULE;
	a->cursor = 0;
	nwords = (a->granules + 63) / 64;
	a->bitmap = calloc(nwords ? nwords : 1, sizeof(*a->bitmap));
	a->len = calloc(a->granules ? a->granules : 1, sizeof(*a->len));
	if (!a->bitmap || !a->len) {
		zcsi_alloc_fini(a);
		return -ENOMEM;
	}
	return 0;
}

void zcsi_alloc_fini(struct zcsi_alloc *a)
{
	free(a->bitmap);
	free(a->len);
	a->bitmap = NULL;
	a->len = NULL;
	a->granules = 0;
}

ZCS_EXPORT int zcs_alloc(struct zcs_client *c, size_t len, void **buf)
{
	struct zcsi_alloc *a = &c->alloc;
	size_t n, at;

	if (!buf || len == 0 || len > a->granules * ZCSI_GRANULE)
		return -EINVAL;
	n = (len + ZCSI_GRANULE - 1) / ZCSI_GRANULE;
	if (n > UINT32_MAX)
		return -EINVAL;
	at = find_run(a, a->cursor, a->granules, n);
	if (at == NOT_FOUND)
		at = find_run(a, 0, a->cursor, n);
	if (at == NOT_FOUND)
		return -ENOMEM;
	mark(a, at, n, 1);
	a->len[at] = (uint32_t)n;
	a->cursor = at + n < a->granules ? at + n : 0;
	*buf = c->pool + at * ZCSI_GRANULE;
	return 0;
}

ZCS_EXPORT int zcs_free(struct zcs_client *c, void *buf)
{
	struct zcsi_alloc *a = &c->alloc;
	uintptr_t base = (uintptr_t)c->pool, p = (uintptr_t)buf;
	size_t g;

	if (!c->pool || p < base || (p - base) % ZCSI_GRANULE)
		return -EINVAL;
	g = (p - base) / ZCSI_GRANULE;
	if (g >= a->granules || !a->len[g])
		return -EINVAL;
	mark(a, g, a->len[g], 0);
	a->len[g] = 0;
	return 0;
}
