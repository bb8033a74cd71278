/* SPDX-License-Identifier: MIT */
/*
 * The next process resumes what a hand-over carried, in the order start-up
 * needs it: the ring (before anything registers), the listener and the
 * destinations (before the config is applied to them, as a reload would),
 * then every client with its pool, rings, flows and queued replies under
 * its old id. A client that cannot be carried is told why and dropped;
 * the others go on.
 */
#include <sys/stat.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zcsd.h"
#include "handover/internal.h"
#include "handover/state.h"

/* The descriptor at @idx, taken out of the list: ours now, or -1. */
int handover_take_fd(struct handover *h, uint32_t idx)
{
	int fd;

	if (idx == HS_NO_FD || idx >= h->nfds)
		return -1;
	fd = h->fds[idx];
	h->fds[idx] = -1;
	return fd;
}

/* Done with the state: close what nobody took, free the rest. */
static void resume_end(struct handover *h)
{
	uint32_t i;

	for (i = 0; i < h->nfds; i++)
		if (h->fds[i] >= 0)
			close(h->fds[i]);
	free(h->fds);
	free(h->dests);
	handover_unreserve(h);
	hs_state_free(h->adopted);
	h->fds = NULL;
	h->nfds = 0;
	h->dests = NULL;
	h->adopted = NULL;
}

/*
 * handover_ring - from ring_init(): the ring an exec kept. Returns 0, or
 * -ENOENT when none was carried (through systemd's fd store: the caller
 * sets one up and pinned pools are sent from unpinned), or -errno when
 * it could not be taken: then the whole hand-over is refused, since the
 * pinned pools are in that ring.
 */
int handover_ring(struct zcsd *d)
{
	struct handover *h = &d->handover;
	const struct hs_ring *r = &h->adopted->svc.ring;
	int fd = h->ring_fd, err;
	char why[128];

	h->ring_fd = -1;
	if (!r->sq_entries && fd < 0)
		return -ENOENT;
	err = fd < 0 ? -EBADF : ring_adopt(d, fd, r);
	if (!err)
		return 0;
	snprintf(why, sizeof(why), "its io_uring could not be taken: %s",
		 strerror(-err));
	handover_refuse(d, h->fds, h->nfds, why);
	resume_end(h);
	return err;
}

/*
 * handover_listener - before listener_open(): a listening socket passed
 * across an exec serves on, unless the config moved it elsewhere.
 */
void handover_listener(struct zcsd *d)
{
	struct handover *h = &d->handover;
	const struct hs_service *s;
	int fd;

	if (!h->adopted)
		return;
	s = &h->adopted->svc;
	fd = handover_take_fd(h, s->listen_fd);
	if (fd < 0)
		return;
	if (s->listen_owned && strcmp(s->listen_path, d->listener.path)) {
		log_info("the socket moves from %s to %s", s->listen_path,
			 d->listener.path);
		unlink(s->listen_path);
		close(fd);
		return;
	}
	/* The file's mode and group as the config now says, as a fresh
	 * bind would set them. */
	if (s->listen_owned &&
	    (chmod(s->listen_path, d->cfg.socket_mode) ||
	     (d->cfg.socket_gid >= 0 &&
	      chown(s->listen_path, (uid_t)-1, (gid_t)d->cfg.socket_gid))))
		log_warn("%s: mode and group", s->listen_path);
	d->fdstore.listen_fd = fd;
	d->fdstore.listen_owned = s->listen_owned;
}

static uint32_t flows_to(const struct hs_state *st, uint32_t dest)
{
	uint32_t i, n = 0;

	for (i = 0; i < st->hdr.nflows; i++)
		n += st->flows[i].dest == dest;
	return n;
}

/*
 * handover_dests - before dest_apply_config(): the destinations carried,
 * each counting the flows to come, so that the config then applies to
 * them as a reload would.
 */
void handover_dests(struct zcsd *d)
{
	struct handover *h = &d->handover;
	const struct hs_state *st = h->adopted;
	uint32_t i;
	int fd;

	if (!st)
		return;
	h->dests = calloc(st->hdr.ndests ? st->hdr.ndests : 1,
			  sizeof(*h->dests));
	for (i = 0; h->dests && i < st->hdr.ndests; i++) {
		fd = handover_take_fd(h, st->dests[i].udp_fd);
		h->dests[i] = dest_adopt(d, &st->dests[i], fd, flows_to(st, i));
	}
}

/* The service as the old process left it: ids, counters, its history. */
static void resume_service(struct zcsd *d, const struct hs_service *s)
{
	struct handover *h = &d->handover;

	h->service_start_ms = s->service_start_ms;
	h->count = s->handovers + 1;
	d->next_client_id = s->next_client_id - 1;	/* conn_new adds one */
	d->flow_gen = s->flow_gen;
	d->st = s->st;
	d->rings = s->rings;	/* before the rings: their poll time */
	d->sched_st = s->sched;
}

/*
 * handover_resume - after the listener is open: resume every carried
 * client, log the hand-over once (LOG_ID_HANDOVER) and let the state go.
 * Returns 1 after a hand-over, 0 without one.
 */
int handover_resume(struct zcsd *d)
{
	struct handover *h = &d->handover;
	const struct hs_state *st = h->adopted;
	uint32_t i, n = 0;

	if (!st)
		return 0;
	resume_service(d, &st->svc);
	for (i = 0; i < st->hdr.nclients; i++) {
		const struct hs_client *hc = &st->clients[i];
		bool kept = st->svc.ring.sq_entries;

		if (handover_client(d, hc))
			n++;
		else if (kept && (hc->flags & HS_CLIENT_PINNED))
			ring_slots_clear(d, hc->pool_first_slot,
					 hc->pool_nslots);
	}
	shring_wake_all(d);	/* one may sleep on what was published */
	h->last_us = (now_ns() - st->svc.begin_ns) / 1000;
	h->last_clients = n;
	log_at(LOG_INFO, &(struct log_about){ .msgid = LOG_ID_HANDOVER }, 0,
	       "hand-over %u to zcsendd %s: carried %u of %u clients, "
	       "%u flows; blackout %.1f ms", h->count, ZCSD_VERSION, n,
	       st->hdr.nclients, d->nflows, (double)h->last_us / 1000.0);
	resume_end(h);
	return 1;
}
