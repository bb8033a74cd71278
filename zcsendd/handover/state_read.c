/* SPDX-License-Identifier: MIT */
/*
 * The hand-over state's reader (format: state.h). The state comes from
 * another process, maybe another build, so it is input like a socket's:
 * every count, length, index and id is bounded and cross-checked before
 * anything uses it, records are copied out of the buffer (never cast), and
 * a refusal says why in a line short enough for the ERROR each client then
 * gets (ZCS_ERRMSG_MAX). The limits of the state itself (HS_*_MAX) give
 * -E2BIG, another magic or version -EPROTONOSUPPORT, the rest -EBADMSG.
 */
#include <sys/stat.h>
#include <linux/io_uring.h>
#include <netinet/in.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "handover/state.h"

#define HS_PAGE			4096u
#define HS_SLOT_BYTES		(1ull << 30)	/* POOL_SLOT_BYTES */
#define HS_TABLE_SLOTS_MAX	16384u	/* a ring's buffer table */
#define HS_POOL_BYTES_MAX	(1ull << 40)
#define HS_RINGS_BYTES_MAX	(64ull << 20)
#define HS_ERRNO_MAX		4095		/* -errno values */
#define HS_SEALS \
	(F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL)

/* Which uint32_t of hs_ring's sq_off or cq_off holds the kernel's @field. */
#define SQ(field)	(offsetof(struct io_sqring_offsets, field) / 4)
#define CQ(field)	(offsetof(struct io_cqring_offsets, field) / 4)

/* A sort key: an id or a slot, and the record it came from. */
struct key {
	uint64_t k;
	uint32_t i;
	uint32_t pad;
};

/* What the records naming a client add up to, to match its own counts. */
struct tally {
	uint32_t flows;
	uint32_t outmsgs;
	uint64_t bytes;
};

/* One parse under way: the input, the state being filled, scratch. */
struct rd {
	const uint8_t *buf;
	size_t len;
	size_t off;		/* where the next records start */
	uint32_t nfds;		/* descriptors actually received */
	struct hs_header hdr;
	struct hs_state *s;
	uint8_t *fdmap;		/* a bit per descriptor: named already */
	struct key *cids;	/* client ids, sorted, for lookups */
	struct tally *tally;	/* per client, in record order */
	char *why;
	size_t whylen;
};

static int say(char *why, size_t whylen, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int refuse(struct rd *r, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int vsay(char *why, size_t whylen, int err, const char *fmt,
		va_list ap) __attribute__((format(printf, 4, 0)));

static int vsay(char *why, size_t whylen, int err, const char *fmt,
		va_list ap)
{
	if (why && whylen)
		vsnprintf(why, whylen, fmt, ap);
	return err;
}

/* Write why into @why and return @err: the one way out of a refusal. */
static int say(char *why, size_t whylen, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err = vsay(why, whylen, err, fmt, ap);
	va_end(ap);
	return err;
}

static int refuse(struct rd *r, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err = vsay(r->why, r->whylen, err, fmt, ap);
	va_end(ap);
	return err;
}

static bool pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

static bool terminated(const char *s, size_t size)
{
	return memchr(s, 0, size) != NULL;
}

static bool zeros(const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n--)
		if (*b++)
			return false;
	return true;
}

static int key_cmp(const void *a, const void *b)
{
	const struct key *x = a, *y = b;

	return x->k < y->k ? -1 : x->k > y->k;
}

/* Sort @n keys; the position of a key equal to the one before, or 0. */
static uint32_t keys_dup(struct key *keys, uint32_t n)
{
	uint32_t i;

	qsort(keys, n, sizeof(*keys), key_cmp);
	for (i = 1; i < n; i++)
		if (keys[i].k == keys[i - 1].k)
			return i;
	return 0;
}

/* The record index of client @id, or -1: cids is sorted by then. */
static int client_find(const struct rd *r, uint32_t id)
{
	struct key want = { .k = id };
	const struct key *hit;

	if (!r->hdr.nclients)
		return -1;
	hit = bsearch(&want, r->cids, r->hdr.nclients, sizeof(want), key_cmp);
	return hit ? (int)hit->i : -1;
}

/*
 * A descriptor index: among those received, and named by one field of the
 * whole state only, since the next process will own and close each once.
 */
static int fd_use(struct rd *r, const char *who, uint32_t idx)
{
	uint8_t bit = (uint8_t)(1u << (idx % 8));

	if (idx == HS_NO_FD)
		return 0;
	if (idx >= r->nfds)
		return refuse(r, -EBADMSG, "%s names descriptor %u of %u",
			      who, idx, r->nfds);
	if (r->fdmap[idx / 8] & bit)
		return refuse(r, -EBADMSG, "descriptor %u named twice", idx);
	r->fdmap[idx / 8] |= bit;
	return 0;
}

/* A descriptor that is there exactly when @want says it must be. */
static int fd_want(struct rd *r, const char *who, const char *what,
		   uint32_t idx, bool want)
{
	if ((idx != HS_NO_FD) != want)
		return refuse(r, -EBADMSG, "%s: %s %s descriptor", who,
			      want ? "no" : "unexpected", what);
	return fd_use(r, who, idx);
}

/* Identity first, so that a foreign state is called that and no more. */
static int header_ident(struct rd *r)
{
	struct hs_header *h = &r->hdr;

	if (r->len > HS_BYTES_MAX)
		return refuse(r, -E2BIG, "state of %zu bytes is over the limit",
			      r->len);
	if (r->len < sizeof(*h))
		return refuse(r, -EBADMSG, "truncated: %zu of %zu bytes",
			      r->len, sizeof(*h));
	memcpy(h, r->buf, sizeof(*h));
	if (memcmp(h->magic, HS_MAGIC, sizeof(h->magic)))
		return refuse(r, -EPROTONOSUPPORT, "not a hand-over state");
	if (h->version != HS_VERSION)
		return refuse(r, -EPROTONOSUPPORT,
			      "state version %u, this daemon reads %u",
			      h->version, HS_VERSION);
	if (h->header_bytes != sizeof(*h))
		return refuse(r, -EBADMSG, "header of %u bytes, not %zu",
			      h->header_bytes, sizeof(*h));
	return 0;
}

/* The length the header claims is the length read, and the sum holds. */
static int header_size(struct rd *r)
{
	const struct hs_header *h = &r->hdr;
	unsigned long long total = h->total_bytes;

	if (total > HS_BYTES_MAX)
		return refuse(r, -E2BIG,
			      "state of %llu bytes is over the limit", total);
	if (total > r->len)
		return refuse(r, -EBADMSG, "truncated: %zu of %llu bytes",
			      r->len, total);
	if (total != r->len)
		return refuse(r, -EBADMSG,
			      "%zu bytes where the state says %llu", r->len,
			      total);
	if (hs_checksum(r->buf + sizeof(*h), r->len - sizeof(*h)) !=
	    h->checksum)
		return refuse(r, -EBADMSG, "checksum mismatch");
	return 0;
}

/*
 * Counts within bounds and the fixed records inside the state; each
 * queued reply takes at least its record and a message header, which
 * bounds their count before anything is allocated for them.
 */
static int header_counts(struct rd *r)
{
	const struct hs_header *h = &r->hdr;
	uint64_t fixed, least;

	if (h->reserved)
		return refuse(r, -EBADMSG, "header: reserved field set");
	if (r->nfds > HS_FDS_MAX)
		return refuse(r, -E2BIG, "%u descriptors, over the limit",
			      r->nfds);
	if (h->nfds != r->nfds)
		return refuse(r, -EBADMSG,
			      "the state names %u descriptors, %u came",
			      h->nfds, r->nfds);
	if (h->ndests > HS_DESTS_MAX || h->nclients > HS_CLIENTS_MAX ||
	    h->nflows > HS_FLOWS_MAX)
		return refuse(r, -E2BIG,
			      "%u destinations, %u clients, %u flows: over "
			      "the limits", h->ndests, h->nclients, h->nflows);
	fixed = sizeof(*h) + sizeof(struct hs_service) +
		(uint64_t)h->ndests * sizeof(struct hs_dest) +
		(uint64_t)h->nclients * sizeof(struct hs_client) +
		(uint64_t)h->nflows * sizeof(struct hs_flow);
	least = (uint64_t)h->noutmsgs *
		(sizeof(struct hs_outmsg) + sizeof(struct zcs_hdr));
	if (fixed > h->total_bytes || least > h->total_bytes - fixed)
		return refuse(r, -EBADMSG,
			      "records need over %llu bytes, the state %llu",
			      (unsigned long long)(fixed + least),
			      (unsigned long long)h->total_bytes);
	return 0;
}

static void *array_new(uint32_t n, size_t size)
{
	return calloc(n ? n : 1, size);
}

/* The state's arrays and the parse's scratch, all zeroed. */
static int state_alloc(struct rd *r)
{
	const struct hs_header *h = &r->hdr;
	struct hs_state *s = calloc(1, sizeof(*s));

	r->s = s;
	if (!s)
		return refuse(r, -ENOMEM, "out of memory");
	s->hdr = *h;
	s->dests = array_new(h->ndests, sizeof(*s->dests));
	s->clients = array_new(h->nclients, sizeof(*s->clients));
	s->flows = array_new(h->nflows, sizeof(*s->flows));
	s->outmsgs = array_new(h->noutmsgs, sizeof(*s->outmsgs));
	s->outdata = array_new(h->noutmsgs, sizeof(*s->outdata));
	r->fdmap = calloc(r->nfds / 8 + 1, 1);
	r->cids = array_new(h->nclients, sizeof(*r->cids));
	r->tally = array_new(h->nclients, sizeof(*r->tally));
	if (!s->dests || !s->clients || !s->flows || !s->outmsgs ||
	    !s->outdata || !r->fdmap || !r->cids || !r->tally)
		return refuse(r, -ENOMEM, "out of memory");
	return 0;
}

static size_t copy_out(void *to, const uint8_t *buf, size_t off, size_t n)
{
	memcpy(to, buf + off, n);
	return off + n;
}

/* The fixed-size records, into aligned memory; header_counts sized them. */
static int records_copy(struct rd *r)
{
	const struct hs_header *h = &r->hdr;
	struct hs_state *s = r->s;
	size_t off = sizeof(*h);

	off = copy_out(&s->svc, r->buf, off, sizeof(s->svc));
	off = copy_out(s->dests, r->buf, off,
		       (size_t)h->ndests * sizeof(*s->dests));
	off = copy_out(s->clients, r->buf, off,
		       (size_t)h->nclients * sizeof(*s->clients));
	r->off = copy_out(s->flows, r->buf, off,
			  (size_t)h->nflows * sizeof(*s->flows));
	return 0;
}

/* 4-byte words at 4-aligned offsets, all ending by @end. */
static bool words_before(const uint32_t *off, const uint8_t *idx, size_t n,
			 uint32_t end)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (off[idx[i]] % 4 || (uint64_t)off[idx[i]] + 4 > end)
			return false;
	return true;
}

/*
 * The offsets the kernel gave: the next process maps the ring by them,
 * up to the SQ's index array and the CQ's entries, which the kernel
 * places after every control word. Reserved words are 0 (no NO_MMAP).
 */
static int ring_offsets_check(struct rd *r, const struct hs_ring *g)
{
	static const uint8_t sq[] = {
		SQ(head), SQ(tail), SQ(ring_mask), SQ(ring_entries), SQ(flags),
		SQ(dropped),
	};
	static const uint8_t cq[] = {
		CQ(head), CQ(tail), CQ(ring_mask), CQ(ring_entries),
		CQ(overflow), CQ(flags),
	};
	const uint32_t *so = g->sq_off, *co = g->cq_off;

	_Static_assert(sizeof(struct io_sqring_offsets) == sizeof(g->sq_off),
		       "sq_off");
	_Static_assert(sizeof(struct io_cqring_offsets) == sizeof(g->cq_off),
		       "cq_off");
	if (!words_before(so, sq, sizeof(sq), so[SQ(array)]) ||
	    !words_before(co, cq, sizeof(cq), co[CQ(cqes)]) ||
	    so[SQ(array)] % 4 || co[CQ(cqes)] % 8)
		return refuse(r, -EBADMSG, "ring: offsets outside the ring");
	if (!zeros(&so[SQ(resv1)], sizeof(g->sq_off) - SQ(resv1) * 4) ||
	    !zeros(&co[CQ(resv1)], sizeof(g->cq_off) - CQ(resv1) * 4))
		return refuse(r, -EBADMSG, "ring: reserved offsets set");
	return 0;
}

static int ring_check(struct rd *r, const struct hs_ring *g)
{
	static const struct hs_ring none = { .fd = HS_NO_FD };

	/* It never rides the bundle (SCM_RIGHTS refuses an io_uring): an
	 * exec keeps it, or there is none (systemd's fd store). */
	if (g->fd != HS_NO_FD)
		return refuse(r, -EBADMSG, "the ring: a descriptor index");
	if (!g->sq_entries)
		return memcmp(g, &none, sizeof(none)) ?
		       refuse(r, -EBADMSG, "the ring: fields without one") : 0;
	if (!pow2(g->sq_entries) || !pow2(g->cq_entries))
		return refuse(r, -EBADMSG, "ring of %u and %u entries",
			      g->sq_entries, g->cq_entries);
	if (g->nslots > HS_TABLE_SLOTS_MAX)
		return refuse(r, -EBADMSG, "ring: a table of %u buffer slots",
			      g->nslots);
	return ring_offsets_check(r, g);
}

/* The service record; next_client_id is checked with the clients. */
static int service_check(struct rd *r)
{
	const struct hs_service *v = &r->s->svc;
	int err;

	if (v->listen_owned > 1)
		return refuse(r, -EBADMSG, "service: listen_owned is %u",
			      v->listen_owned);
	if (!terminated(v->listen_path, sizeof(v->listen_path)))
		return refuse(r, -EBADMSG,
			      "service: listen path not terminated");
	/* A socket we bound has its path; systemd's (across an exec) none. */
	if ((v->listen_path[0] != '\0') != (v->listen_owned == 1))
		return refuse(r, -EBADMSG, "service: a listen path %s",
			      v->listen_owned ? "missing" : "not ours");
	err = fd_want(r, "the listener", "socket", v->listen_fd,
		      v->listen_fd != HS_NO_FD || v->listen_owned);
	if (err)
		return err;
	return ring_check(r, &v->ring);
}

/* An IPv4 or IPv6 address of its exact size, the rest of sa zero. */
static int dest_sa_check(struct rd *r, const struct hs_dest *t,
			 const char *who)
{
	size_t want = t->sa.ss_family == AF_INET ? sizeof(struct sockaddr_in) :
		      t->sa.ss_family == AF_INET6 ?
		      sizeof(struct sockaddr_in6) : 0;

	if (!want)
		return refuse(r, -EBADMSG, "%s: address family %u", who,
			      t->sa.ss_family);
	if (t->salen != want)
		return refuse(r, -EBADMSG, "%s: address of %u bytes", who,
			      t->salen);
	if (!zeros((const uint8_t *)&t->sa + want, sizeof(t->sa) - want))
		return refuse(r, -EBADMSG, "%s: bytes after its address", who);
	return 0;
}

static int dest_check(struct rd *r, const struct hs_dest *t, uint32_t i)
{
	char who[24];
	int err;

	snprintf(who, sizeof(who), "destination %u", i);
	if (!terminated(t->name, sizeof(t->name)) || !t->name[0] ||
	    !terminated(t->address, sizeof(t->address)) || !t->address[0])
		return refuse(r, -EBADMSG, "%s: bad name or address", who);
	if (t->reserved2 || t->named > 1 || t->removed > 1)
		return refuse(r, -EBADMSG, "%s: reserved field set", who);
	if (t->removed && !t->named)	/* only configured ones retire */
		return refuse(r, -EBADMSG, "%s: removed but not named", who);
	if (t->proto != ZCS_PROTO_UDP && t->proto != ZCS_PROTO_TCP)
		return refuse(r, -EBADMSG, "%s: protocol %u", who, t->proto);
	err = fd_want(r, who, "UDP socket", t->udp_fd,
		      t->proto == ZCS_PROTO_UDP);
	if (err)
		return err;
	return dest_sa_check(r, t, who);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * Live destinations are found by name, so their names are unique; one a
 * reload retired (removed) may share its name with the one that took it.
 */
static int dests_check(struct rd *r)
{
	uint32_t i, n = 0, nd = r->hdr.ndests;
	const char **names;
	int err = 0;

	for (i = 0; i < nd && !err; i++)
		err = dest_check(r, &r->s->dests[i], i);
	if (err)
		return err;
	names = array_new(nd, sizeof(*names));
	if (!names)
		return refuse(r, -ENOMEM, "out of memory");
	for (i = 0; i < nd; i++)
		if (!r->s->dests[i].removed)
			names[n++] = r->s->dests[i].name;
	qsort(names, n, sizeof(*names), name_cmp);
	for (i = 1; i < n && !err; i++)
		if (!strcmp(names[i], names[i - 1]))
			err = refuse(r, -EBADMSG, "destination %s twice",
				     names[i]);
	free(names);
	return err;
}

/*
 * A pool: whole pages, as many 1 GiB table slots as it spans, inside the
 * table; pinned, where it was registered (a user address).
 */
static int client_pool_check(struct rd *r, const struct hs_client *c,
			     const char *who)
{
	bool pool = c->flags & HS_CLIENT_POOL;
	unsigned long long bytes = c->pool_bytes;
	int err = fd_want(r, who, "pool", c->pool_fd, pool);

	if (err)
		return err;
	if (!pool)
		return c->pool_first_slot || c->pool_nslots || bytes ||
		       c->pool_addr ?
		       refuse(r, -EBADMSG, "%s: pool fields without a pool",
			      who) : 0;
	if (!bytes || bytes % HS_PAGE || bytes > HS_POOL_BYTES_MAX)
		return refuse(r, -EBADMSG, "%s: a pool of %llu bytes", who,
			      bytes);
	if (c->pool_nslots != (bytes + HS_SLOT_BYTES - 1) / HS_SLOT_BYTES)
		return refuse(r, -EBADMSG, "%s: %u buffer slots for %llu bytes",
			      who, c->pool_nslots, bytes);
	/* Slots mean something only in a ring that was kept (an exec). */
	if ((c->flags & HS_CLIENT_PINNED) && r->s->svc.ring.sq_entries &&
	    (uint64_t)c->pool_first_slot + c->pool_nslots >
	    r->s->svc.ring.nslots)
		return refuse(r, -EBADMSG, "%s: buffer slots %u+%u of %u", who,
			      c->pool_first_slot, c->pool_nslots,
			      r->s->svc.ring.nslots);
	if (!(c->flags & HS_CLIENT_PINNED))
		return 0;
	if (!c->pool_addr || c->pool_addr % HS_PAGE ||
	    c->pool_addr > HS_ADDR_MAX - bytes)
		return refuse(r, -EBADMSG, "%s: pool at %#llx", who,
			      (unsigned long long)c->pool_addr);
	return 0;
}

/* The rings' memfd and doorbells, and a layout ring_bytes can hold. */
static int client_rings_check(struct rd *r, const struct hs_client *c,
			      const char *who)
{
	bool rings = c->flags & HS_CLIENT_RINGS;
	uint64_t least = sizeof(struct zcs_ring_ctl) + (uint64_t)c->sq_entries *
		(sizeof(struct zcs_msg_send) +
		 2 * sizeof(struct zcs_msg_completion));
	int err = fd_want(r, who, "ring memfd", c->ring_fd, rings);

	if (!err)
		err = fd_want(r, who, "doorbell (in)", c->efd_in, rings);
	if (!err)
		err = fd_want(r, who, "doorbell (out)", c->efd_out, rings);
	if (err)
		return err;
	if (!rings && (c->sq_entries || c->sq_head || c->cq_tail ||
		       c->ring_bytes))
		return refuse(r, -EBADMSG, "%s: ring fields without rings",
			      who);
	if (!rings)
		return 0;
	if (!pow2(c->sq_entries) || c->sq_entries < ZCS_RING_ENTRIES_MIN ||
	    c->sq_entries > ZCS_RING_ENTRIES_MAX)
		return refuse(r, -EBADMSG, "%s: rings of %u entries", who,
			      c->sq_entries);
	if (c->ring_bytes < least || c->ring_bytes % HS_PAGE ||
	    c->ring_bytes > HS_RINGS_BYTES_MAX)
		return refuse(r, -EBADMSG, "%s: rings of %llu bytes", who,
			      (unsigned long long)c->ring_bytes);
	return 0;
}

static int client_check(struct rd *r, const struct hs_client *c)
{
	uint32_t f = c->flags;
	char who[24];
	int err;

	snprintf(who, sizeof(who), "client %u", c->id);
	if (!c->id)
		return refuse(r, -EBADMSG, "a client with id 0");
	if (f & ~HS_CLIENT_ALL)
		return refuse(r, -EBADMSG, "%s: flags %#x", who, f);
	if ((f & (HS_CLIENT_PINNED | HS_CLIENT_RINGS | HS_CLIENT_SEALED)) &&
	    !(f & HS_CLIENT_POOL))
		return refuse(r, -EBADMSG, "%s: pinned or rings without a pool",
			      who);
	if ((f & HS_CLIENT_PINNED) && (f & HS_CLIENT_SEALED))
		return refuse(r, -EBADMSG, "%s: pinned and not pinned", who);
	if ((f & HS_CLIENT_RINGS) && !(f & HS_CLIENT_HELLO))
		return refuse(r, -EBADMSG, "%s: rings before HELLO", who);
	if (c->reserved)
		return refuse(r, -EBADMSG, "%s: reserved field set", who);
	if (!terminated(c->name, sizeof(c->name)))
		return refuse(r, -EBADMSG, "%s: name not terminated", who);
	err = fd_want(r, who, "control socket", c->fd, true);
	if (!err)
		err = client_pool_check(r, c, who);
	if (!err)
		err = client_rings_check(r, c, who);
	return err;
}

/* Pinned pools hold their table slots: no two ranges may overlap. */
static int slots_check(struct rd *r)
{
	const struct hs_client *cl = r->s->clients, *a, *b;
	struct key *k = array_new(r->hdr.nclients, sizeof(*k));
	uint32_t i, n = 0;
	int err = 0;

	if (!k)
		return refuse(r, -ENOMEM, "out of memory");
	for (i = 0; i < r->hdr.nclients; i++)
		if (cl[i].flags & HS_CLIENT_PINNED)
			k[n++] = (struct key){ cl[i].pool_first_slot, i, 0 };
	qsort(k, n, sizeof(*k), key_cmp);
	for (i = 1; i < n && !err; i++) {
		a = &cl[k[i - 1].i];
		b = &cl[k[i].i];
		if ((uint64_t)a->pool_first_slot + a->pool_nslots >
		    b->pool_first_slot)
			err = refuse(r, -EBADMSG, "clients %u and %u share "
				     "buffer slots", a->id, b->id);
	}
	free(k);
	return err;
}

/* Each client, then ids unique and below the next one given, then slots. */
static int clients_check(struct rd *r)
{
	uint32_t i, dup, n = r->hdr.nclients;
	int err;

	for (i = 0; i < n; i++) {
		err = client_check(r, &r->s->clients[i]);
		if (err)
			return err;
		r->cids[i] = (struct key){ r->s->clients[i].id, i, 0 };
	}
	dup = keys_dup(r->cids, n);
	if (dup)
		return refuse(r, -EBADMSG, "client id %llu twice",
			      (unsigned long long)r->cids[dup].k);
	if (n && r->cids[n - 1].k >= r->s->svc.next_client_id)
		return refuse(r, -EBADMSG,
			      "client %llu at or past the next id %u",
			      (unsigned long long)r->cids[n - 1].k,
			      r->s->svc.next_client_id);
	return slots_check(r);
}

static int flow_check(struct rd *r, const struct hs_flow *f)
{
	char who[24];
	int c, err;

	snprintf(who, sizeof(who), "flow %u", f->id);
	if (!f->id)
		return refuse(r, -EBADMSG, "a flow with id 0");
	if (f->reserved)
		return refuse(r, -EBADMSG, "%s: reserved field set", who);
	if (f->err > 0 || f->err < -HS_ERRNO_MAX)
		return refuse(r, -EBADMSG, "%s: error %d", who, f->err);
	c = client_find(r, f->client);
	if (c < 0)
		return refuse(r, -EBADMSG, "%s: no client %u", who, f->client);
	if (f->dest >= r->hdr.ndests)
		return refuse(r, -EBADMSG, "%s: no destination %u", who,
			      f->dest);
	err = fd_want(r, who, "TCP socket", f->fd,
		      r->s->dests[f->dest].proto == ZCS_PROTO_TCP);
	if (err)
		return err;
	r->tally[c].flows++;
	return 0;
}

/* Each flow, then their ids unique: sends name them. */
static int flows_check(struct rd *r)
{
	uint32_t i, dup, n = r->hdr.nflows;
	struct key *k;
	int err;

	for (i = 0; i < n; i++) {
		err = flow_check(r, &r->s->flows[i]);
		if (err)
			return err;
	}
	k = array_new(n, sizeof(*k));
	if (!k)
		return refuse(r, -ENOMEM, "out of memory");
	for (i = 0; i < n; i++)
		k[i] = (struct key){ r->s->flows[i].id, i, 0 };
	dup = keys_dup(k, n);
	err = dup ? refuse(r, -EBADMSG, "flow id %llu twice",
			   (unsigned long long)k[dup].k) : 0;
	free(k);
	return err;
}

/*
 * One queued reply: its record, then the message padded to 8 with zeros.
 * The message is checked as the client's library will check it.
 */
static int outmsg_read(struct rd *r, uint32_t i)
{
	struct hs_outmsg *m = &r->s->outmsgs[i];
	size_t left = r->len - r->off, pad;
	struct zcs_hdr h;
	int c, err;

	if (left < sizeof(*m))
		return refuse(r, -EBADMSG, "queued reply %u truncated", i);
	r->off = copy_out(m, r->buf, r->off, sizeof(*m));
	left -= sizeof(*m);
	if (m->len < sizeof(struct zcs_hdr) || m->len > ZCS_MSG_MAX)
		return refuse(r, -EBADMSG, "queued reply %u of %u bytes", i,
			      m->len);
	pad = ((size_t)m->len + 7) & ~(size_t)7;
	if (left < pad)
		return refuse(r, -EBADMSG, "queued reply %u truncated", i);
	c = client_find(r, m->client);
	if (c < 0)
		return refuse(r, -EBADMSG, "queued reply %u: no client %u", i,
			      m->client);
	r->s->outdata[i] = malloc(m->len);
	if (!r->s->outdata[i])
		return refuse(r, -ENOMEM, "out of memory");
	memcpy(r->s->outdata[i], r->buf + r->off, m->len);
	if (!zeros(r->buf + r->off + m->len, pad - m->len))
		return refuse(r, -EBADMSG, "queued reply %u: padding set", i);
	r->off += pad;
	err = zcs_msg_check(r->s->outdata[i], m->len, &h);
	if (err)
		return refuse(r, -EBADMSG,
			      "queued reply %u: not a message (%s)", i,
			      strerror(-err));
	r->tally[c].outmsgs++;
	r->tally[c].bytes += m->len;
	return 0;
}

static int outmsgs_read(struct rd *r)
{
	uint32_t i;
	int err;

	for (i = 0; i < r->hdr.noutmsgs; i++) {
		err = outmsg_read(r, i);
		if (err)
			return err;
	}
	if (r->off != r->len)
		return refuse(r, -EBADMSG, "%zu bytes after the last record",
			      r->len - r->off);
	return 0;
}

/* Each client's own counts agree with the records that name it. */
static int tallies_check(struct rd *r)
{
	const struct hs_client *c;
	const struct tally *t;
	uint32_t i;

	for (i = 0; i < r->hdr.nclients; i++) {
		c = &r->s->clients[i];
		t = &r->tally[i];
		if (c->outq_bytes > HS_OUTQ_BYTES_MAX ||
		    t->bytes > HS_OUTQ_BYTES_MAX)
			return refuse(r, -E2BIG, "client %u: queued replies "
				      "over the limit", c->id);
		if (c->nflows != t->flows)
			return refuse(r, -EBADMSG, "client %u: %u flows, %u "
				      "records", c->id, c->nflows, t->flows);
		if (c->noutmsgs != t->outmsgs || c->outq_bytes != t->bytes)
			return refuse(r, -EBADMSG, "client %u: %u replies "
				      "of %u bytes, %u records of %llu", c->id,
				      c->noutmsgs, c->outq_bytes, t->outmsgs,
				      (unsigned long long)t->bytes);
	}
	return 0;
}

/* In order: each step may rely on what the ones before it checked. */
static int (*const steps[])(struct rd *r) = {
	header_ident, header_size, header_counts, state_alloc, records_copy,
	service_check, dests_check, clients_check, flows_check, outmsgs_read,
	tallies_check,
};

/*
 * hs_checksum - FNV-1a, 64 bits, over @len bytes at @buf: what the writer
 * stores in hs_header.checksum over every byte after the header. It finds
 * corruption, not forgery; the checks after it assume nothing of it.
 */
uint64_t hs_checksum(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t h = 0xcbf29ce484222325ull;

	while (len--) {
		h ^= *p++;
		h *= 0x100000001b3ull;
	}
	return h;
}

/*
 * hs_state_parse - validate a whole state of @len bytes at @buf, which
 * came with @nfds descriptors, and copy it out. Pure: no I/O.
 * Returns 0 with *@out a new state (hs_state_free), or a negative errno
 * with @why (when @whylen) a short reason: -EPROTONOSUPPORT for another
 * magic or version, -E2BIG over a limit, -ENOMEM, -EBADMSG for the rest.
 */
int hs_state_parse(const uint8_t *buf, size_t len, uint32_t nfds,
		   struct hs_state **out, char *why, size_t whylen)
{
	struct rd r = {
		.buf = buf, .len = len, .nfds = nfds, .why = why,
		.whylen = whylen,
	};
	size_t i;
	int err = 0;

	*out = NULL;
	if (why && whylen)
		why[0] = '\0';
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]) && !err; i++)
		err = steps[i](&r);
	free(r.fdmap);
	free(r.cids);
	free(r.tally);
	if (err) {
		hs_state_free(r.s);
		return err;
	}
	*out = r.s;
	return 0;
}

/* The whole file into @buf, whatever the file offset. */
static int read_all(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = pread(fd, buf + got, len - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EBADMSG;
		got += (size_t)n;
	}
	return 0;
}

/*
 * hs_state_load - read and validate the state in @memfd, which came with
 * @nfds descriptors. The memfd must be sealed against any change, so that
 * what was checked is what the writer left, and within HS_BYTES_MAX.
 * Returns 0 with *@out a new state, or a negative errno with @why as
 * hs_state_parse() gives it; -EPERM when not sealed, -E2BIG when too big.
 */
int hs_state_load(int memfd, uint32_t nfds, struct hs_state **out,
		  char *why, size_t whylen)
{
	struct stat st;
	uint8_t *buf;
	int seals, err;

	*out = NULL;
	if (fstat(memfd, &st)) {
		err = -errno;
		return say(why, whylen, err, "state memfd: %s", strerror(-err));
	}
	if (!S_ISREG(st.st_mode))
		return say(why, whylen, -EBADMSG, "state is not a memfd");
	if (st.st_size > (off_t)HS_BYTES_MAX)
		return say(why, whylen, -E2BIG,
			   "state of %lld bytes is over the limit",
			   (long long)st.st_size);
	seals = fcntl(memfd, F_GET_SEALS);
	if (seals < 0 || (seals & HS_SEALS) != HS_SEALS)
		return say(why, whylen, -EPERM, "state memfd not sealed");
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf)
		return say(why, whylen, -ENOMEM, "out of memory");
	err = read_all(memfd, buf, (size_t)st.st_size);
	if (err)
		err = say(why, whylen, err, "state memfd: %s", strerror(-err));
	else
		err = hs_state_parse(buf, (size_t)st.st_size, nfds, out, why,
				     whylen);
	free(buf);
	return err;
}

/* hs_state_free - a state from hs_state_parse or hs_state_load; NULL too. */
void hs_state_free(struct hs_state *s)
{
	uint32_t i;

	if (!s)
		return;
	for (i = 0; s->outdata && i < s->hdr.noutmsgs; i++)
		free(s->outdata[i]);
	free(s->outdata);
	free(s->outmsgs);
	free(s->flows);
	free(s->clients);
	free(s->dests);
	free(s);
}
