/* SPDX-License-Identifier: MIT */
/*
 * Client buffer pools: a memfd the daemon creates, maps, registers as fixed
 * buffers and seals against shrinking and growing before the client ever
 * sees it, so no client can make the daemon's mapping fault or point it
 * at memory outside the pool.
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

/* Size the pool: whole pages, no more than the per-client bound. */
static uint64_t pool_grant(struct zcsd *d, uint64_t want)
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
	if (fcntl(p->memfd, F_ADD_SEALS,
		  F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL))
		return -errno;
	return 0;
}

/*
 * pool_open - create, map, seal and register a pool of about @want bytes.
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
 * pool_close - undo pool_open(). Only called once no send of the client is
 * in the kernel, so emptying its slots cannot race a notification.
 */
void pool_close(struct client *c)
{
	struct zcsd *d = c->d;
	struct pool *p = &c->pool;

	if (p->size && p->base)
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
