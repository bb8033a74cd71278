/* SPDX-License-Identifier: MIT */
/*
 * Per-client arrays sized by max_inflight (request slots, a ring client's
 * error queue: 100 KiB and more each) are mapped directly, so freeing a
 * client gives their pages back to the kernel. From malloc they came off
 * the heap once glibc had raised its mmap threshold (it does at the first
 * free of such a chunk), and client churn left the heap fragmented: a
 * 300 s soak ended at 19 MiB RSS from 4 MiB with nothing held.
 */
#include <sys/mman.h>
#include <stddef.h>

#include "zcsd.h"

/* Kept in front of the array: the mapping's length, and room to align. */
struct pages_hdr {
	size_t bytes;
	max_align_t align;
};

/*
 * pages_calloc - @n zeroed elements of @size bytes in their own mapping.
 * Returns the array, or NULL (no memory, or @n * @size overflows). Free
 * it with pages_free().
 */
void *pages_calloc(size_t n, size_t size)
{
	struct pages_hdr *h;
	size_t bytes;

	if (__builtin_mul_overflow(n, size, &bytes) ||
	    __builtin_add_overflow(bytes, sizeof(*h), &bytes))
		return NULL;
	h = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (h == MAP_FAILED)
		return NULL;
	h->bytes = bytes;
	return h + 1;
}

/* pages_free - unmap what pages_calloc() returned; NULL is a no-op. */
void pages_free(void *p)
{
	struct pages_hdr *h = p;

	if (!p)
		return;
	h--;
	munmap(h, h->bytes);
}
