/* SPDX-License-Identifier: MIT */
/*
 * Client buffer pools: a memfd the daemon creates, maps and seals against
 * shrinking and growing before the client ever sees it, so no client can
 * point the daemon at memory outside the pool. Its pages are pinned as
 * fixed buffers only at the client's first SEND, after a second seal
 * (F_SEAL_FUTURE_WRITE) has stopped hole punching: from then on the pages
 * the client writes are the pages the kernel sends, by zerocopy or not.
 *
 * Until then the pool costs the daemon no memory: pinning faults in every
 * page (into the daemon's page tables, so its RSS), and there is no way to
 * register or reserve a range without its pages, so a pool is not even
 * tried at HELLO. What pinning can refuse, and when we learn it:
 * - RLIMIT_MEMLOCK (without CAP_IPC_LOCK the kernel counts pinned pages
 *   against it, per user): pool_open() refuses at once a pool that cannot
 *   fit beside the pools pinned now; pinned later, others may have taken
 *   the room, so the first SEND can still fail (as it could before).
 * - Memory (the pages are allocated as they are pinned: memcg or tmpfs
 *   bounds, the host's memory): only pinning can tell.
 * Either comes as ERROR -ENOMEM naming the first SEND, and the client is
 * dropped; buffer-table slots and the pool quotas are taken at HELLO.
 */
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>

#include "zcsd.h"
#include "handover/state.h"

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

/* Does the kernel count our pinned pages against RLIMIT_MEMLOCK? */
static bool pool_memlock_counts(void)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct caps[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &h, caps))
		return false;	/* cannot tell: leave it to the first SEND */
	return !(caps[CAP_TO_INDEX(CAP_IPC_LOCK)].effective &
		 CAP_TO_MASK(CAP_IPC_LOCK));
}

/*
 * The check registering a pool at HELLO once made, without its cost: the
 * kernel refuses to pin past RLIMIT_MEMLOCK what the user has pinned,
 * and that is at least the pools we pinned. So what fails here would
 * have failed there; what passes may still fail at the first SEND.
 */
static int pool_check_memlock(const struct zcsd *d, uint64_t size)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_MEMLOCK, &rl) || rl.rlim_cur == RLIM_INFINITY ||
	    d->pool_pinned + size <= rl.rlim_cur || !pool_memlock_counts())
		return 0;
	return -ENOMEM;
}

static int pool_check_quota(struct client *c, uint64_t size)
{
	struct zcsd *d = c->d;

	if (d->nclients >= d->cfg.max_clients)
		return -EUSERS;
	if (d->pool_bytes + size > d->cfg.pool_total_bytes)
		return -ENOMEM;
	return pool_check_memlock(d, size);
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
 * pool_open - create, map and seal a pool of about @want bytes, and take
 * its quota and buffer-table slots. Nothing is registered or touched: an
 * idle client's pool holds no page of the daemon's (the file's header
 * says what that moves to the first SEND).
 * Returns 0 or -errno (logged): -EUSERS when no client place or buffer
 * slot is left, -ENOMEM when pools are over their total or the pool
 * cannot fit in RLIMIT_MEMLOCK beside the pools pinned now.
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
		log_warnx("client %u (pid %d): no pool: %s%s", c->id,
			  (int)c->pid, strerror(-err),
			  err == -ENOMEM ? " (pool_total_bytes or "
			  "RLIMIT_MEMLOCK)" : "");
		p->size = 0;
		return err;
	}
	err = pool_map(p);
	if (err) {
		log_errno(err, "client %u (pid %d): pool of %llu bytes", c->id,
			  (int)c->pid, (unsigned long long)p->size);
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
 * mapping shows and copying sends read. This is where the pool's pages
 * are faulted in (into the daemon's RSS: pages the client never wrote
 * are allocated here), and where the client's request slots are made
 * ready (req_arm), so a client that never sends costs neither. Pinning
 * a 4 MiB pool of pages nobody wrote took 3-25 ms on a 2-vCPU VM (6.18),
 * a stall every HELLO paid before and only a first SEND pays now. Later
 * calls return 0 at once.
 * Returns 0 or -errno (logged): -EPERM when the client sealed the seals,
 * -ENOMEM when the kernel will not pin the pages (RLIMIT_MEMLOCK, or no
 * memory for them).
 */
int pool_pin(struct client *c)
{
	struct pool *p = &c->pool;
	int err;

	if (p->pinned || p->readonly) {
		req_arm(c);	/* a readonly one is sent from unpinned */
		return 0;
	}
	err = pool_seal(p);
	if (err) {
		log_warnx("client %u (pid %d): its pool's seals were sealed "
			  "without F_SEAL_FUTURE_WRITE", c->id, (int)c->pid);
		return err;
	}
	err = pool_register(c->d, p, p->base);
	if (err) {
		log_errno(err, "client %u (pid %d): pinning its pool of %llu "
			  "bytes%s", c->id, (int)c->pid,
			  (unsigned long long)p->size,
			  err == -ENOMEM ? " (RLIMIT_MEMLOCK too low, or out "
			  "of memory?)" : "");
		return err;
	}
	p->pinned = true;
	c->d->pool_pinned += p->size;
	/* Pinning filled our page tables for the whole pool; the pages stay
	 * pinned without them, and tearing 1 GiB of them down is what made
	 * an exec (a hand-over) 80 ms instead of 10. */
	madvise(p->base, p->size, MADV_DONTNEED);
	req_arm(c);
	return 0;
}

/* A carried pool's memfd: its size, and sealed against shrinking. */
static int pool_adopt_check(int memfd, uint64_t size, bool sealed)
{
	int need = F_SEAL_SHRINK | F_SEAL_GROW |
		   (sealed ? F_SEAL_FUTURE_WRITE : 0);

	return fd_check_memfd(memfd, size, need) ? 0 : -EBADF;
}

/*
 * Map a carried pool. One still pinned (its ring kept across an exec) goes
 * where the old image had it: the buffer table names its pages by that
 * address. A sealed one is read-only: F_SEAL_FUTURE_WRITE allows nothing
 * else, and we only ever read a pool.
 */
static int pool_adopt_map(struct pool *p, uint64_t addr, bool sealed)
{
	void *want = p->pinned ? (void *)(uintptr_t)addr : NULL;
	int prot = sealed ? PROT_READ : PROT_READ | PROT_WRITE;
	/* Over the range handover_reserve() holds for it: ours to replace. */
	int flags = MAP_SHARED | (p->pinned ? MAP_FIXED : 0);

	p->base = mmap(want, p->size, prot, flags, p->memfd, 0);
	if (p->base == MAP_FAILED) {
		p->base = NULL;
		return -errno;
	}
	return 0;
}

/* The buffer slots: the kept ring's, or new ones for a pool to pin later. */
static int pool_adopt_slots(struct client *c, const struct hs_client *hc)
{
	struct pool *p = &c->pool;
	int err = 0;

	if (p->pinned)
		err = ring_slots_take(c->d, hc->pool_first_slot, p->nslots);
	else if (!p->readonly)
		err = ring_slots_alloc(c->d, p->nslots, &p->first_slot);
	if (err)
		p->nslots = 0;	/* none are ours: pool_close frees none */
	else if (p->pinned)
		p->first_slot = hc->pool_first_slot;
	return err;
}

/*
 * pool_adopt - @c's pool as a hand-over carried it (@hc), on @memfd (ours
 * from here on, whatever the outcome). Pinned before, it stays pinned
 * when the ring was kept and its old range held for it (@keep_pinned);
 * otherwise it cannot be pinned again (F_SEAL_FUTURE_WRITE) and is sent
 * from unpinned, as readonly. Carried pools stay even where the new
 * limits are lower, as a reload keeps them.
 * Returns 0 or -errno (the caller tells the client).
 */
int pool_adopt(struct client *c, int memfd, const struct hs_client *hc,
	       bool keep_pinned)
{
	struct zcsd *d = c->d;
	struct pool *p = &c->pool;
	bool sealed = hc->flags & (HS_CLIENT_PINNED | HS_CLIENT_SEALED);
	int err;

	p->memfd = memfd;
	p->size = hc->pool_bytes;
	p->pinned = (hc->flags & HS_CLIENT_PINNED) && keep_pinned;
	p->readonly = sealed && !p->pinned;
	p->nslots = p->readonly ? 0 : hc->pool_nslots;
	err = pool_adopt_check(memfd, p->size, sealed);
	if (!err)
		err = pool_adopt_slots(c, hc);
	if (!err)
		err = pool_adopt_map(p, hc->pool_addr, sealed);
	d->pool_pinned += p->pinned ? p->size : 0;
	d->pool_bytes += p->size;
	d->nclients++;
	c->counted = true;
	if (err)
		pool_close(c);
	else if (sealed)
		req_arm(c);
	log_debug("client %u: pool of %llu bytes at %p (%s): %s", c->id,
		  (unsigned long long)p->size, p->base, p->pinned ? "pinned"
		  : p->readonly ? "read-only" : "to pin", strerror(-err));
	return err;
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

	if (p->pinned) {
		if (!d->ring.closed)	/* else it went with the ring */
			pool_register(d, p, NULL);
		d->pool_pinned -= p->size;
	}
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
