/* SPDX-License-Identifier: MIT */
/*
 * The io_uring across a hand-over by exec. Pinned pools cannot be
 * registered again by a new image: F_SEAL_FUTURE_WRITE (pool.c) refuses
 * the writable mapping pinning needs. But the ring itself survives
 * execve() when its descriptor does (an io_uring cannot ride SCM_RIGHTS:
 * the kernel refuses it since 6.7), and exec keeps the task, so the new
 * image maps it again and is still its one submitter: the buffer table
 * and the pinned pages go on as they were. Through systemd's fd store the
 * ring cannot go; pools pinned then are sent from unpinned (pool.c).
 */
#include <sys/syscall.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zcsd.h"
#include "handover/state.h"

static void ring_params_save(const struct io_uring_params *p,
			     struct hs_ring *out)
{
	out->sq_entries = p->sq_entries;
	out->cq_entries = p->cq_entries;
	out->flags = p->flags;
	out->features = p->features;
	memcpy(out->sq_off, &p->sq_off, sizeof(out->sq_off));
	memcpy(out->cq_off, &p->cq_off, sizeof(out->cq_off));
}

/* ring_save - what the next image needs to map our ring again. */
void ring_save(const struct zcsd *d, struct hs_ring *out)
{
	ring_params_save(&d->ring.params, out);
	out->fd = HS_NO_FD;	/* it goes beside the bundle */
	out->zcs_features = d->ring.features;
	out->nslots = d->ring.nslots;
	out->gso_max_segs = d->ring.gso_max_segs;
}

/*
 * ring_keep - just before the exec: the ring's descriptor survives it
 * (and the registered copy of it goes: the new image registers its own).
 * Returns the descriptor, or -errno.
 */
int ring_keep(struct zcsd *d)
{
	int fd = d->ring.uring.ring_fd;

	io_uring_unregister_ring_fd(&d->ring.uring);
	return fcntl(fd, F_SETFD, 0) ? -errno : fd;
}

/*
 * The offsets of a ring set up as @hr was, from a throwaway ring: a
 * state's offsets are believed only when they are the kernel's.
 */
static int ring_offsets_check(const struct hs_ring *hr)
{
	struct io_uring_params p = {
		.flags = hr->flags,
		.cq_entries = hr->cq_entries,
	};
	struct hs_ring mine;
	struct io_uring tmp;
	int err;

	err = io_uring_queue_init_params(hr->sq_entries, &tmp, &p);
	if (err)
		return err;
	io_uring_queue_exit(&tmp);
	ring_params_save(&p, &mine);
	if (p.sq_entries != hr->sq_entries || p.cq_entries != hr->cq_entries ||
	    memcmp(mine.sq_off, hr->sq_off, sizeof(mine.sq_off)) ||
	    memcmp(mine.cq_off, hr->cq_off, sizeof(mine.cq_off)))
		return -EBADMSG;
	return 0;
}

/*
 * liburing keeps the SQ's tail it hands out in our memory, not the ring's:
 * a new image starts it at 0 while the kernel's is where the old image
 * left it, and flushing 0 would move the kernel's tail backwards.
 */
static void ring_resync(struct io_uring *u, const struct hs_ring *hr)
{
	unsigned tail = io_uring_smp_load_acquire(u->sq.ktail);

	u->sq.sqe_head = tail;
	u->sq.sqe_tail = tail;
	u->features = hr->features;
	u->flags = hr->flags;
}

/*
 * ring_adopt - the ring an exec kept (@fd, ours whatever the outcome,
 * described by @hr): map it again and take its buffer table as ours.
 * Returns 0 or -errno.
 */
int ring_adopt(struct zcsd *d, int fd, const struct hs_ring *hr)
{
	struct io_uring_params *p = &d->ring.params;
	int err = fd_check_anon(fd, "[io_uring]") ? ring_offsets_check(hr)
					      : -EBADF;

	if (!err) {
		memset(p, 0, sizeof(*p));
		p->sq_entries = hr->sq_entries;
		p->cq_entries = hr->cq_entries;
		p->flags = hr->flags;
		p->features = hr->features;
		memcpy(&p->sq_off, hr->sq_off, sizeof(p->sq_off));
		memcpy(&p->cq_off, hr->cq_off, sizeof(p->cq_off));
		err = io_uring_queue_mmap(fd, p, &d->ring.uring);
	}
	if (err) {
		close(fd);
		return err;
	}
	ring_resync(&d->ring.uring, hr);
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	d->ring.slot_used = calloc(hr->nslots ? hr->nslots : 1, 1);
	if (!d->ring.slot_used) {
		io_uring_queue_exit(&d->ring.uring);	/* closes @fd */
		return -ENOMEM;
	}
	d->ring.features = hr->zcs_features;	/* probed at the first start */
	d->ring.gso_max_segs = hr->gso_max_segs;
	d->ring.entries = hr->sq_entries;
	d->ring.nslots = hr->nslots;
	return 0;
}
