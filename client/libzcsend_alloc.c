/* SPDX-License-Identifier: MIT */
/*
 * libzcsend pool allocator. The pool is cut into 64-byte granules tracked
 * by two bitmaps, in use and first of an allocation, so zcs_free() needs
 * only the pointer. Searching starts where the last allocation ended:
 * sends complete roughly in order, so the pool is used like a ring and a
 * free run is usually found at the cursor. So allocations made one after
 * another lie back to back, and 1472-byte datagrams (23 granules) exactly
 * so: the daemon can send a run of them as one UDP GSO send from one
 * stretch of memory, which zerocopy needs (a send may gather at most 17
 * memory fragments).
 */
#include <errno.h>
#include <stdlib.h>

#include "libzcsend_int.h"

#define NOT_FOUND	SIZE_MAX

/*
 * First granule in [@from, @hi) whose bit in @map equals @set; @hi if
 * there is none. Callers bound @hi by what they need to know, so that a
 * free or an allocation does not walk the rest of a large pool.
 */
static size_t scan(const uint64_t *map, size_t from, size_t hi, int set)
{
	size_t w = from / 64, last = (hi + 63) / 64;
	uint64_t word;

	if (from >= hi)
		return hi;
	word = set ? map[w] : ~map[w];
	word &= ~0ULL << (from % 64);
	while (!word) {
		if (++w >= last)
			return hi;
		word = set ? map[w] : ~map[w];
	}
	from = w * 64 + (size_t)__builtin_ctzll(word);
	return from < hi ? from : hi;
}

/* A free run of @n granules starting in [@lo, @start_hi). */
static size_t find_run(const struct zcsi_alloc *a, size_t lo, size_t start_hi,
		       size_t n)
{
	size_t pos = lo, free_at, used_at, need_hi;

	while (pos < start_hi) {
		free_at = scan(a->bitmap, pos, start_hi, 0);
		if (free_at >= start_hi)
			break;
		need_hi = free_at + n < a->granules ? free_at + n : a->granules;
		used_at = scan(a->bitmap, free_at, need_hi, 1);
		if (used_at - free_at >= n)
			return free_at;
		pos = used_at;
	}
	return NOT_FOUND;
}

/* Set or clear @n bits of the in-use map from @start, a word at a time. */
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
	a->starts = calloc(nwords ? nwords : 1, sizeof(*a->starts));
	if (!a->bitmap || !a->starts) {
		zcsi_alloc_fini(a);
		return -ENOMEM;
	}
	return 0;
}

void zcsi_alloc_fini(struct zcsi_alloc *a)
{
	free(a->bitmap);
	free(a->starts);
	a->bitmap = NULL;
	a->starts = NULL;
	a->granules = 0;
}

ZCS_EXPORT int zcs_alloc(struct zcs_client *c, size_t len, void **buf)
{
	struct zcsi_alloc *a = &c->alloc;
	size_t n, at;

	if (!buf || len == 0 || len > a->granules * ZCSI_GRANULE)
		return -EINVAL;
	n = (len + ZCSI_GRANULE - 1) / ZCSI_GRANULE;
	at = find_run(a, a->cursor, a->granules, n);
	if (at == NOT_FOUND)
		at = find_run(a, 0, a->cursor, n);
	if (at == NOT_FOUND)
		return -ENOMEM;
	mark(a, at, n, 1);
	a->starts[at / 64] |= 1ULL << (at % 64);
	a->cursor = at + n < a->granules ? at + n : 0;
	*buf = c->pool + at * ZCSI_GRANULE;
	return 0;
}

ZCS_EXPORT int zcs_free(struct zcs_client *c, void *buf)
{
	struct zcsi_alloc *a = &c->alloc;
	uintptr_t base = (uintptr_t)c->pool, p = (uintptr_t)buf;
	size_t g, end, next;

	if (!c->pool || p < base || (p - base) % ZCSI_GRANULE)
		return -EINVAL;
	g = (p - base) / ZCSI_GRANULE;
	if (g >= a->granules || !(a->starts[g / 64] & (1ULL << (g % 64))))
		return -EINVAL;
	end = scan(a->bitmap, g, a->granules, 0);
	next = scan(a->starts, g + 1, end, 1);
	mark(a, g, next - g, 0);
	a->starts[g / 64] &= ~(1ULL << (g % 64));
	return 0;
}
