/* SPDX-License-Identifier: MIT */
/*
 * An exec keeps the io_uring, whose buffer table names each pinned pool's
 * pages by the address the old image had it at; the new image must map
 * the pool there again. Anything the new image maps first may land on
 * such a range (1 GiB of pools met that within a few hand-overs), so the
 * ranges are held (PROT_NONE, no memory) as soon as the state is read,
 * before the ring, the rings or the request slots are mapped; a pool then
 * replaces its hold. A range already taken is not held: that pool is sent
 * from unpinned (handover/resume_client.c).
 */
#include <sys/mman.h>
#include <stdlib.h>

#include "zcsd.h"
#include "handover/internal.h"
#include "handover/state.h"

static bool reserve_one(const struct hs_client *c)
{
	void *want = (void *)(uintptr_t)c->pool_addr;
	void *got = mmap(want, c->pool_bytes, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
			 MAP_FIXED_NOREPLACE, -1, 0);

	if (got == MAP_FAILED)
		return false;
	if (got != want) {	/* a kernel that took it as a hint */
		munmap(got, c->pool_bytes);
		return false;
	}
	return true;
}

/* handover_reserve - hold every pinned pool's old range. */
void handover_reserve(struct handover *h)
{
	const struct hs_state *st = h->adopted;
	uint32_t i;

	h->reserved = calloc(st->hdr.nclients ? st->hdr.nclients : 1,
			     sizeof(*h->reserved));
	for (i = 0; h->reserved && i < st->hdr.nclients; i++)
		if (st->clients[i].flags & HS_CLIENT_PINNED)
			h->reserved[i] = reserve_one(&st->clients[i]);
}

/* handover_unreserve - let go of the holds no pool took. */
void handover_unreserve(struct handover *h)
{
	const struct hs_state *st = h->adopted;
	uint32_t i;

	for (i = 0; h->reserved && st && i < st->hdr.nclients; i++)
		if (h->reserved[i])
			munmap((void *)(uintptr_t)st->clients[i].pool_addr,
			       st->clients[i].pool_bytes);
	free(h->reserved);
	h->reserved = NULL;
}
