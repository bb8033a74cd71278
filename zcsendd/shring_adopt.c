/* SPDX-License-Identifier: MIT */
/*
 * A client's rings across a hand-over: what the old process writes of them
 * (the indices it keeps, its counters, the memfd and both eventfds), and
 * the next process taking them back after checking each descriptor is
 * what the state says: a memfd sealed at the layout's size, two eventfds.
 */
#include <sys/mman.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "shring.h"
#include "handover/state.h"

/*
 * shring_save - @c's rings for a hand-over: the indices we keep and the
 * counters into @hc, the memfd and eventfds (in that order) into @fds.
 */
void shring_save(const struct client *c, struct hs_client *hc, int fds[3])
{
	const struct shring *s = c->sr;

	hc->sq_entries = s->sq_entries;
	hc->sq_head = s->sq_head;
	hc->cq_tail = s->cq_tail;
	hc->ring_bytes = s->bytes;
	hc->rings = s->st;
	fds[0] = s->memfd;
	fds[1] = s->efd_in;
	fds[2] = s->efd_out;
}

/* The carried memfd: sized as its layout says, and sealed for good. */
static int shring_remap(struct shring *s, int memfd,
			const struct zcs_rings *lay)
{
	if (!fd_check_memfd(memfd, lay->bytes,
			    F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL))
		return -EBADF;
	s->mem = mmap(NULL, lay->bytes, PROT_READ | PROT_WRITE, MAP_SHARED,
		      memfd, 0);
	if (s->mem == MAP_FAILED) {
		s->mem = NULL;
		return -errno;
	}
	s->memfd = memfd;
	shring_point(s, lay);
	return 0;
}

/*
 * shring_adopt - @c's rings as a hand-over carried them (@hc, and their
 * memfd and eventfds, which are ours from here on, whatever the outcome).
 * Returns 0 or -errno: -EBADF for a descriptor that is not what it should.
 */
int shring_adopt(struct client *c, const struct hs_client *hc, int memfd,
		 int efd_in, int efd_out)
{
	struct shring *s = shring_new(c->d);
	struct zcs_rings lay;
	int err = -ENOMEM;

	if (s) {
		s->efd_in = efd_in;
		s->efd_out = efd_out;
		shring_layout(hc->sq_entries, &lay);
		err = lay.bytes == hc->ring_bytes ? 0 : -EBADMSG;
	}
	if (!err && (!fd_check_anon(efd_in, "[eventfd]") ||
		     !fd_check_anon(efd_out, "[eventfd]")))
		err = -EBADF;
	if (!err)
		err = shring_remap(s, memfd, &lay);
	if (!err) {
		s->ev = event_new(c->d->base, efd_in, EV_READ | EV_PERSIST,
				  shring_wake_cb, c);
		err = s->ev && !event_add(s->ev, NULL) ? 0 : -ENOMEM;
	}
	if (err && !s) {
		close(memfd);
		close(efd_in);
		close(efd_out);
	} else if (err) {
		if (s->memfd < 0)	/* not mapped: not the ring's yet */
			close(memfd);
		shring_destroy(s);	/* closes the eventfds */
	}
	if (err)
		return err;
	s->sq_head = hc->sq_head;
	s->cq_tail = hc->cq_tail;
	s->st = hc->rings;
	shring_attach(c, s);
	s->poll_ns_base -= hc->rings.poll_ns;
	return 0;
}
