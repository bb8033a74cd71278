/* SPDX-License-Identifier: MIT */
/*
 * Client buffer pools: a memfd the daemon creates, maps and seals against
 * shrinking and growing before the client ever sees it, so no client can
 * point the daemon at memory outside the pool. Its pages are pinned as
 * fixed buffers only at the client's first SEND, after a second seal
 * (F_SEAL_FUTURE_WRITE) has stopped hole punching: from then on the pages
 * the client writes are the pages the kernel sends, by zerocopy or not.
 */
#include <sys/mman.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "zcsd.h"

/* Register (or, with @base NULL, empty) the pool's buffer slots. */
static int pool_register(struct zcsd *d, struct pool *p, void *base)
{
	struct iovec iov[16];
	__u64 tags[16];
	uint32_t i;
	int ret;

	if (p->nslots > 16)
		return -E2BIG;
	for (i = 0; i < p->nslots; i++) {
		uint64_t off = i * POOL_SLOT_BYTES;
		uint64_t left = p->size - off;

		iov[i].iov_base = base ? (char *)base + off : NULL;
		iov[i].iov_len = !base ? 0 : left < POOL_SLOT_BYTES
						   ? left : POOL_SLOT_BYTES;
		tags[i] = 0;
	}
	ret = io_uring_register_buffers_update_tag(&d->ring.uring,
						   p->first_slot, iov, tags,
						   p->nslots);
	if (ret < 0)
		return ret;
	return (uint32_t)ret == p->nslots ? 0 : -EIO;
}

/*
 * pool_grant - the size a pool asked for as @want bytes gets: whole
 * pages, no more than the per-client bound (admission.c counts it too).
 */
uint64_t pool_grant(struct zcsd *d, uint64_t want)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);

	if (want > d->cfg.pool_bytes)
		want = d->cfg.pool_bytes;
	return (want + page - 1) / page * page;
}

static int pool_check_quota(struct client *c, uint64_t size)
{
	struct zcsd *d = c->d;

	if (d->nclients >= d->cfg.max_clients)
		return -EUSERS;
	if (d->pool_bytes + size > d->cfg.pool_total_bytes)
		return -ENOMEM;
	return 0;
}

static int pool_map(struct pool *p)
{
	p->memfd = memfd_create("zcsend-pool", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (p->memfd < 0)
		return -errno;
	if (ftruncate(p->memfd, (off_t)p->size))
		return -errno;
	/* Pinning for fixed buffers needs a writable mapping. */
	p->base = mmap(NULL, p->size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       p->memfd, 0);
	if (p->base == MAP_FAILED) {
		p->base = NULL;
		return -errno;
	}
	/* Not F_SEAL_SEAL yet: pool_pin() adds F_SEAL_FUTURE_WRITE. */
	if (fcntl(p->memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW))
		return -errno;
	return 0;
}

/*
 * Stop hole punching for good. F_SEAL_SHRINK|F_SEAL_GROW let a client
 * fallocate(PUNCH_HOLE) or madvise(MADV_REMOVE) its pool: pinned pages
 * then left the file while staying pinned, the client's mapping faulted
 * in new ones, and zerocopy sends read the old pages while copying sends
 * read the new (Linux 6.18). F_SEAL_FUTURE_WRITE refuses both with EPERM
 * and refuses new writable shared mappings, but leaves the client's
 * existing mapping writable, so it must come after the client has mapped
 * the pool: at its first SEND. F_SEAL_WRITE cannot be used at all: it
 * needs no writable mapping (EBUSY) and would stop the client's writes.
 * A client that sealed the seals itself without it is refused (-EPERM).
 */
static int pool_seal(struct pool *p)
{
	int seals;

	if (!fcntl(p->memfd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE | F_SEAL_SEAL))
		return 0;
	seals = fcntl(p->memfd, F_GET_SEALS);
	if (seals < 0)
		return -errno;
	return seals & (F_SEAL_FUTURE_WRITE | F_SEAL_WRITE) ? 0 : -EPERM;
}

/*
 * pool_open - create, map and seal a pool of about @want bytes, and
 * register it once to learn now, not at the first send, whether the
 * kernel will pin it (RLIMIT_MEMLOCK); the slots are emptied again until
 * pool_pin(), so nothing stays pinned that the client could still punch
 * out of the file.
 * Returns 0 or -errno (logged): -EUSERS when no client place or buffer
 * slot is left, -ENOMEM when pools are over their total or the kernel
 * refuses to pin the pages (RLIMIT_MEMLOCK).
 */
int pool_open(struct client *c, uint64_t want)
{
	struct zcsd *d = c->d;
	struct pool *p = &c->pool;
	int err;

	p->size = pool_grant(d, want);
	p->nslots = (uint32_t)((p->size + POOL_SLOT_BYTES - 1) /
			       POOL_SLOT_BYTES);
	err = pool_check_quota(c, p->size);
	if (!err)
		err = ring_slots_alloc(d, p->nslots, &p->first_slot) ? -EUSERS
								       : 0;
	if (err) {
		log_warnx("client %u (pid %d): no pool: %s", c->id,
			  (int)c->pid, strerror(-err));
		p->size = 0;
		return err;
	}
	err = pool_map(p);
	if (!err)
		err = pool_register(d, p, p->base);
	if (!err)
		err = pool_register(d, p, NULL);
	if (err) {
		log_errno(err, "client %u (pid %d): pool of %llu bytes%s", c->id,
			  (int)c->pid, (unsigned long long)p->size,
			  err == -ENOMEM ? " (RLIMIT_MEMLOCK too low?)" : "");
		pool_close(c);
		return err;
	}
	d->pool_bytes += p->size;
	d->nclients++;
	c->counted = true;
	return 0;
}

/*
 * pool_pin - before the client's first send: seal the pool against hole
 * punching (pool_seal) and register its pages as fixed buffers. The pages
 * pinned are then the file's pages for good, the ones the client's
 * mapping shows and copying sends read. Re-registering pages that are
 * already present is cheap (1 GiB: 18 ms against 1.35 s the first time,
 * measured on 6.18). Later calls return 0 at once.
 * Returns 0 or -errno (logged): -EPERM when the client sealed the seals,
 * -ENOMEM when the kernel no longer lets the pages be pinned.
 */
int pool_pin(struct client *c)
{
	struct pool *p = &c->pool;
	int err;

	if (p->pinned)
		return 0;
	err = pool_seal(p);
	if (err) {
		log_warnx("client %u (pid %d): its pool's seals were sealed "
			  "without F_SEAL_FUTURE_WRITE", c->id, (int)c->pid);
		return err;
	}
	err = pool_register(c->d, p, p->base);
	if (err) {
		log_errno(err, "client %u (pid %d): pinning its pool of %llu "
			  "bytes", c->id, (int)c->pid,
			  (unsigned long long)p->size);
		return err;
	}
	p->pinned = true;
	return 0;
}

/*
 * pool_close - undo pool_open(). Only called once no send of the client is
 * in the kernel, so emptying its slots cannot race a notification, or at
 * exit once the ring (and its buffer table) is gone.
 */
void pool_close(struct client *c)
{
	struct zcsd *d = c->d;
	struct pool *p = &c->pool;

	if (p->size && p->base && !d->ring.closed)	/* it went with it */
		pool_register(d, p, NULL);
	if (p->nslots && p->size)
		ring_slots_free(d, p->first_slot, p->nslots);
	if (p->base)
		munmap(p->base, p->size);
	if (p->memfd >= 0)
		close(p->memfd);
	if (c->counted) {
		d->pool_bytes -= p->size;
		d->nclients--;
		c->counted = false;
	}
	memset(p, 0, sizeof(*p));
	p->memfd = -1;
}
