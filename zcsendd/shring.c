/* SPDX-License-Identifier: MIT */
/*
 * Shared-memory rings, set-up and tear-down (PROTOCOL.md, "Rings"). After
 * HELLO_OK a client that asked gets a sealed memfd holding the control
 * words, its submission ring and its completion ring, plus two eventfds:
 * one it writes to wake us, one we write to wake it. The daemon keeps its
 * mapping and both eventfds until the reaper frees the client; a dead
 * client's ring is only ever unmapped. Moving records is shring_io.c's,
 * shring_take.c's, shring_publish.c's and shring_wake.c's.
 */
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shring.h"

/* SQ entries when the client leaves the choice to us. */
#define SHRING_ENTRIES_DEFAULT	256u

static uint32_t pow2_up(uint32_t v)
{
	uint32_t p = 1;

	while (p < v && p < (1u << 31))
		p <<= 1;
	return p;
}

/*
 * The SQ size: what was asked (or our default) as a power of two, at most
 * ZCS_RING_ENTRIES_MAX and the in-flight bound rounded up (more records
 * could never be taken at once), at least ZCS_RING_ENTRIES_MIN.
 */
static uint32_t shring_entries(const struct zcsd *d, uint32_t want)
{
	uint32_t n = pow2_up(want ? want : SHRING_ENTRIES_DEFAULT);
	uint32_t cap = pow2_up(d->cfg.max_inflight);

	if (n > ZCS_RING_ENTRIES_MAX)
		n = ZCS_RING_ENTRIES_MAX;
	if (n > cap)
		n = cap;
	return n < ZCS_RING_ENTRIES_MIN ? ZCS_RING_ENTRIES_MIN : n;
}

/* Control words at 0, then the SQ, then the CQ, in whole pages. */
void shring_layout(uint32_t sq_entries, struct zcs_rings *lay)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t end;

	memset(lay, 0, sizeof(*lay));
	lay->sq_entries = sq_entries;
	lay->cq_entries = 2 * sq_entries;
	lay->sq_off = (sizeof(struct zcs_ring_ctl) + 63) & ~63u;
	lay->cq_off = lay->sq_off +
		      (uint32_t)(sq_entries * sizeof(struct zcs_msg_send));
	lay->cq_off = (lay->cq_off + 63) & ~63u;
	end = lay->cq_off +
	      (uint64_t)lay->cq_entries * sizeof(struct zcs_msg_completion);
	lay->bytes = (end + page - 1) / page * page;
}

/* The words and rings inside @s->mem, as @lay lays them out. */
void shring_point(struct shring *s, const struct zcs_rings *lay)
{
	s->bytes = lay->bytes;
	s->ctl = s->mem;
	s->sq = (struct zcs_msg_send *)((char *)s->mem + lay->sq_off);
	s->cq = (struct zcs_msg_completion *)((char *)s->mem + lay->cq_off);
	s->sq_entries = lay->sq_entries;
	s->cq_entries = lay->cq_entries;
}

/*
 * Create, size and seal the memfd, and map it. The seals keep the size
 * for good, so the client can never make our mapping fault; hole punching
 * only gives back zero pages, which the daemon reads as any other
 * scribble. Returns the memfd or -errno.
 */
static int shring_map(struct shring *s, const struct zcs_rings *lay)
{
	int fd = memfd_create("zcsend-rings", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	int err;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)lay->bytes) ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL))
		goto err_fd;
	s->mem = mmap(NULL, lay->bytes, PROT_READ | PROT_WRITE, MAP_SHARED,
		      fd, 0);
	if (s->mem == MAP_FAILED) {
		s->mem = NULL;
		goto err_fd;
	}
	shring_point(s, lay);
	return fd;
err_fd:
	err = -errno;
	close(fd);
	return err;
}

/* Both eventfds, and the event that tells us the client wrote ours. */
static int shring_events(struct client *c, struct shring *s)
{
	s->efd_in = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->efd_in < 0)
		return -errno;
	s->efd_out = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->efd_out < 0)
		return -errno;
	s->ev = event_new(c->d->base, s->efd_in, EV_READ | EV_PERSIST,
			  shring_wake_cb, c);
	if (!s->ev || event_add(s->ev, NULL))
		return -ENOMEM;
	return 0;
}

/* Undo whatever of shring_map() and shring_events() was done. */
void shring_destroy(struct shring *s)
{
	if (s->ev)
		event_free(s->ev);
	if (s->efd_in >= 0)
		close(s->efd_in);
	if (s->efd_out >= 0)
		close(s->efd_out);
	if (s->mem)
		munmap(s->mem, s->bytes);
	if (s->memfd >= 0)
		close(s->memfd);
	pages_free(s->errq);
	free(s);
}

struct shring *shring_new(const struct zcsd *d)
{
	struct shring *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->efd_in = -1;
	s->efd_out = -1;
	s->memfd = -1;
	/* Ring records that failed hold in-flight room until published
	 * (shring_room), so max_inflight of them always fit. Own pages, as
	 * the request slots (pages.c). */
	s->errq = pages_calloc(d->cfg.max_inflight, sizeof(*s->errq));
	if (!s->errq) {
		free(s);
		return NULL;
	}
	return s;
}

/* RINGS with the memfd and both eventfds, in the protocol's order. */
static int shring_send(struct client *c, const struct shring *s, int memfd,
		       const struct zcs_rings *lay, uint64_t cookie)
{
	uint8_t msg[sizeof(struct zcs_hdr) + sizeof(*lay)];
	int fds[3] = { memfd, s->efd_in, s->efd_out };
	struct zcs_hdr h;

	zcs_hdr_init(&h, ZCS_MSG_RINGS, sizeof(*lay), cookie);
	h.flags = ZCS_HDR_F_FD;
	memcpy(msg, &h, sizeof(h));
	memcpy(msg + sizeof(h), lay, sizeof(*lay));
	return conn_send_fds(c, msg, sizeof(msg), fds, 3);
}

void shring_attach(struct client *c, struct shring *s)
{
	struct zcsd *d = c->d;

	s->poll_ns_base = d->rings.poll_ns;
	s->c = c;
	c->sr = s;
	TAILQ_INSERT_TAIL(&d->ring_clients, c, ring_entry);
	d->nrings++;
	shring_heat(c);
	log_info("client %u (%s): rings of %u entries", c->id, c->name,
		 s->sq_entries);
}

/*
 * shring_open - make @c's rings, @want SQ entries asked (0: ours), and
 * send them in RINGS with @cookie. Returns 0, or -errno: logged here; the
 * caller tells the client, unless sending killed it.
 */
int shring_open(struct client *c, uint32_t want, uint64_t cookie)
{
	struct shring *s = shring_new(c->d);
	struct zcs_rings lay;
	int memfd, err;

	if (!s) {
		log_warnx("client %u: no memory for rings", c->id);
		return -ENOMEM;
	}
	shring_layout(shring_entries(c->d, want), &lay);
	memfd = shring_map(s, &lay);
	err = memfd < 0 ? memfd : shring_events(c, s);
	if (!err && zcs_rings_check(&lay))
		err = -EINVAL;	/* our own layout: cannot happen */
	if (err) {
		log_errno(err, "client %u: rings of %u entries", c->id,
			  lay.sq_entries);
		goto err_ring;
	}
	err = shring_send(c, s, memfd, &lay, cookie);
	if (err)
		goto err_ring;	/* the client is dropped, and logged */
	s->memfd = memfd;	/* a hand-over passes it on */
	shring_attach(c, s);
	return 0;
err_ring:
	if (memfd >= 0)
		close(memfd);
	shring_destroy(s);
	return err;
}

/*
 * shring_stop - @c is being killed: no more records taken or completions
 * published, no more wake-ups watched. Its memory stays mapped until
 * shring_free(), for nothing may free what a caller still holds.
 */
void shring_stop(struct client *c)
{
	struct shring *s = c->sr;
	struct zcsd *d = c->d;

	if (!s || s->stopped)
		return;
	s->stopped = true;
	event_del(s->ev);
	s->nerr = 0;	/* nobody will read them */
	s->st.poll_ns = d->rings.poll_ns - s->poll_ns_base;
	shring_unhot(s);
	shring_undue(s);
	TAILQ_REMOVE(&d->ring_clients, c, ring_entry);
	d->nrings--;
}

/* shring_free - from conn_free() only: unmap, close both eventfds. */
void shring_free(struct client *c)
{
	if (!c->sr)
		return;
	shring_stop(c);
	shring_destroy(c->sr);
	c->sr = NULL;
}

/* shring_status - @c's ring part of STATUS_CLIENT, if it has rings. */
void shring_status(const struct client *c, struct zcs_status_client *m)
{
	const struct shring *s = c->sr;

	if (!s)
		return;
	m->flags |= ZCS_CLIENT_F_RINGS;
	m->ring_entries = s->sq_entries;
	m->rings = s->st;
	if (!s->stopped)
		m->rings.poll_ns = c->d->rings.poll_ns - s->poll_ns_base;
}

/*
 * The client woke us (it took NEED_WAKEUP and wrote our eventfd after new
 * records or after freeing completion-ring room). Reading resets the
 * eventfd; its ring is hot again, and the work itself is the loop's next
 * shring_turn(), right after this callback.
 */
void shring_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;
	uint64_t v;

	if (read(fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
		return;	/* EAGAIN: woken already */
	/* One wake-up, whatever count the client wrote. */
	shring_heat(c);
	c->sr->st.wakeups_in++;
	c->d->rings.wakeups_in++;
}
