/* SPDX-License-Identifier: MIT */
/*
 * The daemon's one io_uring: set-up with the best flags the kernel takes,
 * the sparse fixed-buffer table that client pools are registered into,
 * the eventfd the kernel signals CQEs on (completion/cqe.c watches it),
 * and the SQEs: handed out, submitted. The CQEs are completion's.
 */
#include <sys/eventfd.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ops/ops.h"
#include "service/probe.h"

/*
 * Tried in order; the first the kernel accepts wins. DEFER_TASKRUN was
 * measured against the others with zcsend-bench (see the closing notes);
 * $ZCSENDD_RING_SETUP=coop or =plain starts lower down, for measuring.
 */
static const struct {
	const char *name;
	uint32_t flags;
	uint32_t feat;
} setups[] = {
	{ "defer", IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
	  IORING_SETUP_TASKRUN_FLAG,
	  ZCS_FEAT_SINGLE_ISSUER | ZCS_FEAT_DEFER_TASKRUN },
	{ "coop", IORING_SETUP_COOP_TASKRUN, 0 },
	{ "plain", 0, 0 },
};

static size_t ring_first_setup(void)
{
	const char *want = getenv("ZCSENDD_RING_SETUP");
	size_t i;

	for (i = 0; want && i < sizeof(setups) / sizeof(setups[0]); i++)
		if (!strcmp(want, setups[i].name))
			return i;
	return 0;
}

static int ring_setup(struct zcsd *d)
{
	struct io_uring_params p;
	size_t i;
	int err = -EINVAL;

	for (i = ring_first_setup(); i < sizeof(setups) / sizeof(setups[0]);
	     i++) {
		memset(&p, 0, sizeof(p));
		/*
		 * Each zerocopy send posts two CQEs; leave room for both.
		 * The config bounds ring_entries to 8192 so that the CQ stays
		 * within the kernel's 65536 (IORING_MAX_CQ_ENTRIES).
		 */
		p.flags = setups[i].flags | IORING_SETUP_CQSIZE |
			  IORING_SETUP_SUBMIT_ALL;
		p.cq_entries = d->cfg.ring_entries * 8;
		err = io_uring_queue_init_params(d->cfg.ring_entries,
						 &d->ring.uring, &p);
		if (!err) {
			d->ring.features = setups[i].feat;
			d->ring.params = p;
			d->ring.entries = p.sq_entries;
			log_debug("io_uring set up with %s flags", setups[i].name);
			return 0;
		}
		log_debug("io_uring setup flags %#x: %s", p.flags,
			  strerror(-err));
	}
	return err;
}

/* The pools' sparse buffer table: enough slots for every client. */
static int ring_buffers_init(struct zcsd *d)
{
	uint64_t per = (d->cfg.pool_bytes + POOL_SLOT_BYTES - 1) /
		       POOL_SLOT_BYTES;
	uint64_t n = per * d->cfg.max_clients;
	int err;

	if (n > 16384)	/* the kernel's limit on registered buffers */
		n = 16384;
	d->ring.slot_used = calloc(n, 1);
	if (!d->ring.slot_used)
		return -ENOMEM;
	d->ring.nslots = (uint32_t)n;
	err = io_uring_register_buffers_sparse(&d->ring.uring, d->ring.nslots);
	if (err)
		log_errno(err, "registering %u sparse buffer slots",
			  d->ring.nslots);
	return err;
}

/*
 * ring_init - set up the ring, its buffer table, the SQE arena and the
 * eventfd. Returns 0 or -errno (logged).
 */
int ring_init(struct zcsd *d)
{
	/* A hand-over's ring, or (none, or refused) one of our own. */
	int err = d->handover.adopted ? handover_ring(d) : -ENOENT;
	bool kept = !err;

	if (err) {
		err = ring_setup(d);
		if (err) {
			log_errno(err, "io_uring_queue_init");
			return err;
		}
		err = ring_buffers_init(d);
		if (err)
			goto err_ring;
	}
	io_uring_register_ring_fd(&d->ring.uring);	/* optional speed-up */
	d->ring.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (d->ring.efd < 0) {
		err = -errno;
		log_warn("eventfd");
		goto err_ring;
	}
	if (kept)	/* the old process's is gone */
		io_uring_unregister_eventfd(&d->ring.uring);
	err = io_uring_register_eventfd(&d->ring.uring, d->ring.efd);
	if (err) {
		log_errno(err, "io_uring_register_eventfd");
		goto err_efd;
	}
	/* A kept ring's table is the clients': the probes write slot 0. */
	if (!kept)
		d->ring.features |= probe_features(&d->ring.uring,
						     &d->ring.gso_max_segs);
	d->ring.arena = calloc(1, sizeof(*d->ring.arena));
	if (!d->ring.arena) {
		err = -ENOMEM;
		goto err_efd;
	}
	return 0;
err_efd:
	close(d->ring.efd);
err_ring:
	io_uring_queue_exit(&d->ring.uring);
	return err;
}

/*
 * ring_cancel_all - at exit: ask the kernel to cancel every op of ours it
 * still holds (a send waiting for room behind a peer that does not read).
 * Each comes back with its CQE, and a zerocopy send with its notification,
 * the usual way. Returns 0 or -EBUSY when the SQ has no room.
 */
int ring_cancel_all(struct zcsd *d)
{
	struct io_uring_sqe *sqe = ring_sqe(d, NULL);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
	io_uring_sqe_set_data64(sqe, UD_IGNORE);
	ring_submit(d);
	return 0;
}

/*
 * ring_close - at exit: tear the io_uring down. The kernel cancels what it
 * still holds and keeps its own references to the pages of those sends
 * (registered buffers are pinned, not borrowed from our mapping), so our
 * mappings may go afterwards; but no CQE is read from here on, so what
 * the dead objects were owed never comes, and the reaper frees them
 * without it (reap.c). Idempotent.
 */
void ring_close(struct zcsd *d)
{
	if (d->ring.closed)
		return;
	io_uring_queue_exit(&d->ring.uring);
	d->ring.closed = true;
}

void ring_fini(struct zcsd *d)
{
	if (d->ring.ev)
		event_free(d->ring.ev);
	close(d->ring.efd);
	ring_close(d);
	free(d->ring.slot_used);
	free(d->ring.arena);
}

/*
 * ring_sqe - an SQE to fill, for @owner or for the daemon (NULL: the
 * caller tags it UD_IGNORE). Every SQE of a client is handed out here and
 * filled and submitted by its caller, so each owes the client one CQE
 * (c->cqes_owed); a linked one cancelled still posts it. When the SQ is
 * full the prepared ones are submitted first. Returns NULL only if the
 * kernel takes none of them; then nothing is owed.
 */
struct io_uring_sqe *ring_sqe(struct zcsd *d, struct client *owner)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&d->ring.uring);

	if (!sqe) {
		ring_submit(d);
		sqe = io_uring_get_sqe(&d->ring.uring);
	}
	if (!sqe)
		return NULL;
	d->ring.pending = true;
	if (owner)
		owner->cqes_owed++;
	return sqe;
}

/*
 * ring_submit - one io_uring_enter for everything prepared since the last
 * call, collecting completions as it goes (DEFER_TASKRUN); they are
 * handled by the next cqe_run(). A refusal (-EBUSY while the CQ
 * overflows) leaves the SQEs queued; reaping makes room and the next call
 * submits them.
 */
void ring_submit(struct zcsd *d)
{
	int ret;

	if (!d->ring.pending)
		return;
	if (d->ring.features & ZCS_FEAT_DEFER_TASKRUN)
		ret = io_uring_submit_and_get_events(&d->ring.uring);
	else
		ret = io_uring_submit(&d->ring.uring);
	if (ret < 0) {
		log_debug("io_uring_submit: %s", strerror(-ret));
		event_active(d->ring.ev, EV_READ, 0);
		return;
	}
	d->ring.pending = io_uring_sq_ready(&d->ring.uring) > 0;
}

/* ring_slots_alloc - @n adjacent free buffer slots. 0 or -ENOSPC. */
int ring_slots_alloc(struct zcsd *d, uint32_t n, uint32_t *first)
{
	uint32_t i, run = 0;

	for (i = 0; i < d->ring.nslots; i++) {
		run = d->ring.slot_used[i] ? 0 : run + 1;
		if (run == n) {
			*first = i + 1 - n;
			memset(d->ring.slot_used + *first, 1, n);
			return 0;
		}
	}
	return -ENOSPC;
}

/* ring_slots_take - slots a hand-over carried in use. 0 or -EBUSY. */
int ring_slots_take(struct zcsd *d, uint32_t first, uint32_t n)
{
	uint32_t i;

	if (first > d->ring.nslots || n > d->ring.nslots - first)
		return -ERANGE;
	for (i = first; i < first + n; i++)
		if (d->ring.slot_used[i])
			return -EBUSY;
	memset(d->ring.slot_used + first, 1, n);
	return 0;
}

/*
 * ring_slots_clear - empty slots a pool no longer uses (one a hand-over
 * kept pinned for a client it could not carry): the kernel unpins.
 */
void ring_slots_clear(struct zcsd *d, uint32_t first, uint32_t n)
{
	struct iovec iov = { 0 };
	__u64 tag = 0;
	uint32_t i;

	for (i = first; i < first + n && i < d->ring.nslots; i++)
		if (!d->ring.slot_used[i])
			io_uring_register_buffers_update_tag(&d->ring.uring, i,
							     &iov, &tag, 1);
}

void ring_slots_free(struct zcsd *d, uint32_t first, uint32_t n)
{
	memset(d->ring.slot_used + first, 0, n);
}
