/* SPDX-License-Identifier: MIT */
/*
 * Writing the hand-over state (state.h) for the next process, once intake
 * has stopped and the kernel has returned every op: the service, every
 * destination, every live client with its pool, rings, open flows and the
 * replies queued for it, and the list of descriptors they name, in the
 * order the bundle carries them. The state goes into a sealed memfd.
 */
#include <sys/mman.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zcsd.h"
#include "handover/state.h"
#include "handover/internal.h"

/* A growing buffer, the descriptors it names, and its records counted. */
struct hs_out {
	uint8_t *buf;
	size_t len, cap;
	int *fds;
	uint32_t nfds, fdcap;
	uint32_t ndests, nclients, nflows, noutmsgs;
	int err;
};

static void *out_grow(void *p, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : 64;

	while (n < need)
		n *= 2;
	p = realloc(p, n * size);
	if (p)
		*cap = n;
	return p;
}

static void out_put(struct hs_out *o, const void *p, size_t n)
{
	void *b;

	if (o->err)
		return;
	if (o->len + n > o->cap) {
		b = out_grow(o->buf, &o->cap, o->len + n, 1);
		if (!b) {
			o->err = -ENOMEM;
			return;
		}
		o->buf = b;
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

/* The index @fd will have among the descriptors, or HS_NO_FD. */
static uint32_t out_fd(struct hs_out *o, int fd)
{
	size_t cap = o->fdcap;
	int *f;

	if (fd < 0 || o->err)
		return HS_NO_FD;
	if (o->nfds == o->fdcap) {
		f = out_grow(o->fds, &cap, (size_t)o->nfds + 1, sizeof(int));
		if (!f) {
			o->err = -ENOMEM;
			return HS_NO_FD;
		}
		o->fds = f;
		o->fdcap = (uint32_t)cap;
	}
	o->fds[o->nfds] = fd;
	return o->nfds++;
}

static uint32_t dest_index(const struct zcsd *d, const struct dest *dst)
{
	const struct dest *x;
	uint32_t i = 0;

	TAILQ_FOREACH(x, &d->dests, entry) {
		if (x == dst)
			break;
		i++;
	}
	return i;
}

static void write_service(struct zcsd *d, struct hs_out *o)
{
	struct hs_service s;

	memset(&s, 0, sizeof(s));
	s.service_start_ms = d->handover.service_start_ms;
	s.begin_ns = d->handover.begin_ns;
	s.handovers = d->handover.count;
	s.last_clients = d->handover.last_clients;
	s.last_us = d->handover.last_us;
	s.next_client_id = d->next_client_id + 1;	/* the next to give */
	s.flow_gen = d->flow_gen;
	s.listen_fd = HS_NO_FD;
	if (d->handover.mode == HANDOVER_EXEC && d->listener.fd >= 0) {
		s.listen_fd = out_fd(o, d->listener.fd);
		s.listen_owned = d->listener.unlink_at_close;
		if (s.listen_owned)
			memcpy(s.listen_path, d->listener.path,
			       sizeof(s.listen_path) - 1);
	}
	s.ring.fd = HS_NO_FD;
	if (d->handover.mode == HANDOVER_EXEC)	/* it survives the exec */
		ring_save(d, &s.ring);
	s.st = d->st;
	s.rings = d->rings;
	s.sched = d->sched_st;
	out_put(o, &s, sizeof(s));
}

static void write_dests(struct zcsd *d, struct hs_out *o)
{
	const struct dest *dst;
	struct hs_dest h;

	TAILQ_FOREACH(dst, &d->dests, entry) {
		memset(&h, 0, sizeof(h));
		memcpy(h.name, dst->name, sizeof(h.name) - 1);
		memcpy(h.address, dst->address, sizeof(h.address) - 1);
		h.proto = dst->proto;
		h.named = dst->named;
		h.removed = dst->removed;
		h.udp_fd = out_fd(o, dst->udp_fd);
		h.salen = dst->salen;
		memcpy(&h.sa, &dst->sa, dst->salen);
		h.st = dst->st;
		out_put(o, &h, sizeof(h));
		o->ndests++;
	}
}

/* The client's pool and rings into @h. */
static void write_pool(struct hs_out *o, const struct client *c,
		       struct hs_client *h)
{
	const struct pool *p = &c->pool;
	int fds[3];

	h->pool_fd = HS_NO_FD;
	h->ring_fd = h->efd_in = h->efd_out = HS_NO_FD;
	if (!p->size)
		return;
	h->flags |= HS_CLIENT_POOL | (p->pinned ? HS_CLIENT_PINNED : 0) |
		    (p->readonly ? HS_CLIENT_SEALED : 0);
	h->pool_fd = out_fd(o, p->memfd);
	/* A readonly pool holds no slot, but would need as many. */
	h->pool_nslots = (uint32_t)((p->size + POOL_SLOT_BYTES - 1) /
				    POOL_SLOT_BYTES);
	h->pool_bytes = p->size;
	if (p->pinned) {
		h->pool_first_slot = p->first_slot;
		h->pool_addr = (uint64_t)(uintptr_t)p->base;
	}
	if (!c->sr)
		return;
	h->flags |= HS_CLIENT_RINGS;
	shring_save(c, h, fds);
	h->ring_fd = out_fd(o, fds[0]);
	h->efd_in = out_fd(o, fds[1]);
	h->efd_out = out_fd(o, fds[2]);
}

static void write_client(struct hs_out *o, const struct client *c)
{
	const struct outmsg *m;
	const struct flow *f;
	struct hs_client h;

	memset(&h, 0, sizeof(h));
	h.id = c->id;
	h.fd = out_fd(o, c->fd);
	h.flags = c->hello_done ? HS_CLIENT_HELLO : 0;
	memcpy(h.name, c->name, sizeof(h.name) - 1);
	write_pool(o, c, &h);
	TAILQ_FOREACH(f, &c->flows, entry)
		h.nflows += f->state == FLOW_OPEN;
	STAILQ_FOREACH(m, &c->outq, entry)
		h.noutmsgs++;
	h.outq_bytes = c->outq_bytes;
	h.st = c->st;
	h.sched = c->sched_st;
	out_put(o, &h, sizeof(h));
	o->nclients++;
}

static void write_flows(struct zcsd *d, struct hs_out *o,
			const struct client *c)
{
	const struct flow *f;
	struct hs_flow h;

	TAILQ_FOREACH(f, &c->flows, entry) {
		if (f->state != FLOW_OPEN)
			continue;
		memset(&h, 0, sizeof(h));
		h.id = f->id;
		h.client = c->id;
		h.dest = dest_index(d, f->dest);
		h.fd = f->dest->proto == ZCS_PROTO_TCP ? out_fd(o, f->fd)
						       : HS_NO_FD;
		h.err = f->err;
		out_put(o, &h, sizeof(h));
		o->nflows++;
	}
}

static void write_outq(struct hs_out *o, const struct client *c)
{
	static const uint8_t pad[8];
	const struct outmsg *m;
	struct hs_outmsg h;

	STAILQ_FOREACH(m, &c->outq, entry) {
		h.client = c->id;
		h.len = m->len;
		out_put(o, &h, sizeof(h));
		out_put(o, m->data, m->len);
		out_put(o, pad, (8 - m->len % 8) % 8);
		o->noutmsgs++;
	}
}

/* The header, with the records written as counted, and the checksum. */
static void write_header(struct hs_out *o)
{
	struct hs_header h;

	memset(&h, 0, sizeof(h));
	memcpy(h.magic, HS_MAGIC, sizeof(h.magic));
	h.version = HS_VERSION;
	h.header_bytes = sizeof(h);
	h.total_bytes = o->len;
	h.nfds = o->nfds;
	h.ndests = o->ndests;
	h.nclients = o->nclients;
	h.nflows = o->nflows;
	h.noutmsgs = o->noutmsgs;
	h.checksum = hs_checksum(o->buf + sizeof(h), o->len - sizeof(h));
	memcpy(o->buf, &h, sizeof(h));
}

static void write_all(struct zcsd *d, struct hs_out *o)
{
	static const struct hs_header blank;
	const struct client *c;

	out_put(o, &blank, sizeof(blank));	/* written last */
	write_service(d, o);
	write_dests(d, o);
	TAILQ_FOREACH(c, &d->clients, entry)
		if (!c->dead)
			write_client(o, c);
	TAILQ_FOREACH(c, &d->clients, entry)
		if (!c->dead)
			write_flows(d, o, c);
	TAILQ_FOREACH(c, &d->clients, entry)
		if (!c->dead)
			write_outq(o, c);
	if (!o->err)
		write_header(o);
}

/* The state into a memfd sealed for good. Returns it or -errno. */
static int write_memfd(const uint8_t *buf, size_t len)
{
	int fd = memfd_create("zcsendd-handover",
			      MFD_CLOEXEC | MFD_ALLOW_SEALING);
	size_t done = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	while (done < len) {
		n = pwrite(fd, buf + done, len - done, (off_t)done);
		if (n <= 0)
			goto err;
		done += (size_t)n;
	}
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
		  F_SEAL_WRITE | F_SEAL_SEAL))
		goto err;
	return fd;
err:
	n = -errno;
	close(fd);
	return n ? (int)n : -EIO;
}

/*
 * hs_state_write - the state of @d as a sealed memfd in *@memfd and the
 * descriptors it names in *@fds (*@nfds of them, malloc'd; the caller
 * frees the array, the descriptors stay the objects'). Returns 0 or
 * -errno.
 */
int hs_state_write(struct zcsd *d, int *memfd, int **fds, uint32_t *nfds)
{
	struct hs_out o = { 0 };

	write_all(d, &o);
	if (!o.err)
		handover_test_hook_state(o.buf, &o.len);
	*memfd = o.err ? o.err : write_memfd(o.buf, o.len);
	free(o.buf);
	if (*memfd < 0) {
		free(o.fds);
		return *memfd;
	}
	*fds = o.fds;
	*nfds = o.nfds;
	return 0;
}
