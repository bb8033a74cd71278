/* SPDX-License-Identifier: MIT */
/*
 * Resuming one carried client: its connection under its old id (its
 * credentials read again from the socket, never from the state), its
 * pool, rings, flows with their ids, and the replies the old process had
 * queued for it, in order. What fails drops that client alone, told why.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "zcsd.h"
#include "delivery/delivery.h"
#include "handover/internal.h"
#include "handover/state.h"
#include "service/access.h"
#include "service/hello_deadline.h"

/* The connection: a connected SEQPACKET socket whose peer we read again. */
static struct client *client_adopt(struct zcsd *d, const struct hs_client *hc,
				   int fd)
{
	struct client *c = NULL;
	struct peer p;

	if (fd < 0 || sd_is_socket(fd, AF_UNIX, SOCK_SEQPACKET, -1) <= 0 ||
	    access_peer_read(fd, &p)) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	c = conn_new(d, fd, &p);
	access_peer_fini(&p);
	if (!c) {
		close(fd);
		return NULL;
	}
	d->next_client_id--;	/* conn_new took one: the old id stays */
	c->id = hc->id;
	memcpy(c->name, hc->name, sizeof(c->name));
	c->hello_done = hc->flags & HS_CLIENT_HELLO;
	c->deliver = &sockmsg_ops;
	c->weight = access_weight(d, c);
	c->st = hc->st;
	c->sched_st = hc->sched;
	if (!c->hello_done)
		hello_deadline_watch(d, c);
	return c;
}

/*
 * Its pool: still pinned where its old range could be held (an exec kept
 * the ring); else its slots in a kept ring are emptied and it is sent from
 * unpinned, as after systemd's fd store.
 */
static int client_pool(struct handover *h, struct client *c,
		       const struct hs_client *hc)
{
	const struct hs_state *st = h->adopted;
	bool kept = st->svc.ring.sq_entries && (hc->flags & HS_CLIENT_PINNED);
	bool held = h->reserved && h->reserved[hc - st->clients];
	int fd = handover_take_fd(h, hc->pool_fd), err;

	if (!(hc->flags & HS_CLIENT_POOL))
		return 0;
	if (kept && !held) {
		log_warnx("client %u: its pool's address is taken: sent from "
			  "unpinned memory until it connects again", hc->id);
		ring_slots_clear(c->d, hc->pool_first_slot, hc->pool_nslots);
	}
	err = req_init(c);
	if (err) {
		close(fd);
		return err;
	}
	err = pool_adopt(c, fd, hc, kept && held);
	if (held && err)	/* whether the pool was mapped there or not */
		munmap((void *)(uintptr_t)hc->pool_addr, hc->pool_bytes);
	if (held)
		h->reserved[hc - st->clients] = false;	/* not ours to free */
	return err;
}

static int client_rings(struct handover *h, struct client *c,
			const struct hs_client *hc)
{
	int memfd, in, out, err;

	if (!(hc->flags & HS_CLIENT_RINGS))
		return 0;
	memfd = handover_take_fd(h, hc->ring_fd);
	in = handover_take_fd(h, hc->efd_in);
	out = handover_take_fd(h, hc->efd_out);
	err = shring_adopt(c, hc, memfd, in, out);
	if (!err)
		c->deliver = &ringmsg_ops;
	return err;
}

/*
 * Its flows, under their ids. After an error (@err, or one here) the rest
 * are not carried, and give back the count their destination holds.
 */
static int client_flows(struct zcsd *d, struct client *c,
			const struct hs_client *hc, int err)
{
	struct handover *h = &d->handover;
	const struct hs_state *st = h->adopted;
	const struct hs_flow *f;
	struct dest *dst;
	uint32_t i;

	for (i = 0; i < st->hdr.nflows; i++) {
		f = &st->flows[i];
		if (f->client != hc->id)
			continue;
		dst = h->dests ? h->dests[f->dest] : NULL;
		if (!dst) {
			err = err ? err : -EBADF;
			continue;
		}
		if (err)
			dest_put(d, dst);	/* not carried after all */
		else
			err = flow_adopt(c, f->id, dst,
					 handover_take_fd(h, f->fd), f->err);
	}
	return err;
}

/* The replies the old process had queued, before anything new. */
static void client_outq(struct zcsd *d, struct client *c, uint32_t id)
{
	const struct hs_state *st = d->handover.adopted;
	uint32_t i;

	for (i = 0; i < st->hdr.noutmsgs && !c->dead; i++)
		if (st->outmsgs[i].client == id)
			conn_send(c, st->outdata[i], st->outmsgs[i].len);
}

/*
 * handover_client - resume carried client @hc. Returns true when it was
 * carried; otherwise it was told why and dropped (or its socket was not
 * one).
 */
bool handover_client(struct zcsd *d, const struct hs_client *hc)
{
	struct handover *h = &d->handover;
	struct client *c = client_adopt(d, hc, handover_take_fd(h, hc->fd));
	int err = c ? 0 : -ENOTCONN;

	if (!err)
		err = client_pool(h, c, hc);
	if (!err)
		err = client_rings(h, c, hc);
	err = client_flows(d, c, hc, err);
	if (!c)
		return false;
	if (err) {
		conn_error(c, 0, 0, err, "zcsendd restarted but could not "
			   "carry this connection: %s", strerror(-err));
		conn_kill(c, "not carried across the hand-over");
		return false;
	}
	client_outq(d, c, hc->id);
	fdstore_add_client(d, c);
	return true;
}
