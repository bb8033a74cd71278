/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the hand-over state reader (zcsendd/handover/state_read.c):
 * a state with every kind of record parses and is copied out exactly; each
 * rule the reader enforces refuses a state broken in that one way (the
 * checksum recomputed, so the rule is what refuses) with its errno and a
 * reason; every truncation is refused; hs_state_load wants a sealed memfd.
 * `test-state --corpus DIR` writes the fuzzer's seeds. Exit 0 or 1.
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "expect.h"
#include "handover/state.h"

#define NFDS		13u	/* the good state names 0..12 */
#define OUTS_MAX	20u
#define IMG_MAX		(sizeof(struct model) + 4096)

struct out {
	struct hs_outmsg m;
	uint8_t data[ZCS_MSG_MAX + 8];	/* the message, then padding */
};

/* A state as records; serialize() lays it out and sums it. */
struct model {
	struct hs_header hdr;
	struct hs_service svc;
	struct hs_dest dests[2];
	struct hs_client clients[3];
	struct hs_flow flows[4];
	struct out outs[OUTS_MAX];
};

static struct model good, m;
static uint8_t img[IMG_MAX];
static char why[128];

static size_t put(size_t off, const void *p, size_t n)
{
	memcpy(img + off, p, n);
	return off + n;
}

/* Into img, as the writer would: total_bytes and checksum computed. */
static size_t serialize(const struct model *s)
{
	struct hs_header h = s->hdr;
	size_t off = sizeof(h), pad;
	uint32_t i;

	off = put(off, &s->svc, sizeof(s->svc));
	off = put(off, s->dests, h.ndests * sizeof(s->dests[0]));
	off = put(off, s->clients, h.nclients * sizeof(s->clients[0]));
	off = put(off, s->flows, h.nflows * sizeof(s->flows[0]));
	for (i = 0; i < h.noutmsgs && i < OUTS_MAX; i++) {
		off = put(off, &s->outs[i].m, sizeof(s->outs[i].m));
		pad = ((size_t)s->outs[i].m.len + 7) & ~(size_t)7;
		off = put(off, s->outs[i].data, pad);
	}
	h.total_bytes = off;
	h.checksum = hs_checksum(img + sizeof(h), off - sizeof(h));
	put(0, &h, sizeof(h));
	return off;
}

/* After editing img's header by hand: the sum over the rest again. */
static void resum(size_t len)
{
	struct hs_header h;

	memcpy(&h, img, sizeof(h));
	h.checksum = hs_checksum(img + sizeof(h), len - sizeof(h));
	memcpy(img, &h, sizeof(h));
}

/* Parse @len bytes of img from a copy of exactly that size (ASan). */
static int parse(size_t len, uint32_t nfds, struct hs_state **out)
{
	uint8_t *copy = malloc(len ? len : 1);
	int err;

	if (!copy)
		abort();
	memcpy(copy, img, len);
	err = hs_state_parse(copy, len, nfds, out, why, sizeof(why));
	free(copy);
	if (err && !why[0])
		fprintf(stderr, "refused (%d) without a reason\n", err);
	return err;
}

static int parse_len(size_t len, uint32_t nfds)
{
	struct hs_state *st;
	int err = parse(len, nfds, &st);

	hs_state_free(st);
	return err;
}

static int parse_model(const struct model *s, uint32_t nfds)
{
	struct hs_state *st;
	int err = parse(serialize(s), nfds, &st);

	hs_state_free(st);
	return err;
}

/* m is good, edited by the statements given; it must get @want. */
#define EXPECT_PARSE(want, ...) do {					\
	unsigned f_ = failures;						\
	m = good;							\
	__VA_ARGS__;							\
	EXPECT_EQ(parse_model(&m, m.hdr.nfds), want);			\
	if (failures != f_)						\
		fprintf(stderr, "  (%s) why: %s\n", #__VA_ARGS__, why);	\
} while (0)
/* The good state with its header edited after the fact, then summed. */
#define EXPECT_PATCHED(want, ...) do {					\
	size_t len_ = serialize(&good);					\
	struct hs_header h;						\
									\
	memcpy(&h, img, sizeof(h));					\
	__VA_ARGS__;							\
	memcpy(img, &h, sizeof(h));					\
	resum(len_);							\
	EXPECT_EQ(parse_len(len_, h.nfds), want);			\
} while (0)
#define EXPECT_WHY(s) do {						\
	EXPECT_EQ(strstr(why, s) != NULL, 1);				\
	if (!strstr(why, s))						\
		fprintf(stderr, "  why: %s\n", why);			\
} while (0)

static void msg_init(struct out *o, uint32_t client, uint16_t type,
		     size_t payload)
{
	struct zcs_hdr h;

	memset(o, 0, sizeof(*o));
	zcs_hdr_init(&h, type, payload, 7);
	memcpy(o->data, &h, sizeof(h));
	o->m.client = client;
	o->m.len = h.len;
}

static void ring_init(struct hs_ring *g)
{
	static const uint32_t sq[10] = { 0, 64, 256, 264, 276, 272, 8256 };
	static const uint32_t cq[10] = { 128, 192, 260, 268, 284, 320, 280 };

	g->fd = HS_NO_FD;	/* the ring never rides the bundle */
	g->sq_entries = 256;
	g->cq_entries = 512;
	g->nslots = 16;
	memcpy(g->sq_off, sq, sizeof(sq));
	memcpy(g->cq_off, cq, sizeof(cq));
}

static void dests_init(struct model *s)
{
	struct sockaddr_in in4 = { .sin_family = AF_INET,
				   .sin_port = htons(9000) };
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6,
				    .sin6_port = htons(9001),
				    .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct hs_dest *d = s->dests;

	in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	strcpy(d[0].name, "udp-sink");
	strcpy(d[0].address, "udp://127.0.0.1:9000");
	d[0].proto = ZCS_PROTO_UDP;
	d[0].named = 1;
	d[0].udp_fd = 2;
	d[0].salen = sizeof(in4);
	memcpy(&d[0].sa, &in4, sizeof(in4));
	strcpy(d[1].name, "tcp://[::1]:9001");
	strcpy(d[1].address, "tcp://[::1]:9001");
	d[1].proto = ZCS_PROTO_TCP;
	d[1].udp_fd = HS_NO_FD;
	d[1].salen = sizeof(in6);
	memcpy(&d[1].sa, &in6, sizeof(in6));
}

/* One client of each kind: HELLO only; a pinned pool; pool and rings. */
static void clients_init(struct model *s)
{
	struct hs_client *c = s->clients;
	uint32_t i;

	for (i = 0; i < 3; i++) {
		c[i].pool_fd = c[i].ring_fd = HS_NO_FD;
		c[i].efd_in = c[i].efd_out = HS_NO_FD;
		c[i].flags = HS_CLIENT_HELLO;
		snprintf(c[i].name, sizeof(c[i].name), "client-%u", i);
	}
	c[0].fd = 3;
	c[1].fd = 4;
	c[2].fd = 6;
	c[0].id = 1;
	c[0].nflows = 1;
	c[1].id = 2;
	c[1].flags |= HS_CLIENT_POOL | HS_CLIENT_PINNED;
	c[1].pool_fd = 5;
	c[1].pool_bytes = (2ull << 30) + 4096;	/* three 1 GiB slots */
	c[1].pool_nslots = 3;
	c[1].pool_addr = 0x7f0000000000ull;
	c[1].nflows = 1;
	c[2].id = 5;
	c[2].flags |= HS_CLIENT_POOL | HS_CLIENT_PINNED | HS_CLIENT_RINGS;
	c[2].pool_fd = 7;
	c[2].pool_bytes = 1 << 20;
	c[2].pool_nslots = 1;
	c[2].pool_first_slot = 3;
	c[2].pool_addr = 0x7f1000000000ull;
	c[2].ring_fd = 8;
	c[2].efd_in = 9;
	c[2].efd_out = 10;
	c[2].sq_entries = 64;
	c[2].sq_head = 0xfffffff0u;	/* indices run free */
	c[2].cq_tail = 3;
	c[2].ring_bytes = 16384;
	c[2].nflows = 2;
	c[2].st.sends = 12345;
}

static void flows_init(struct model *s)
{
	static const struct hs_flow f[4] = {
		{ .id = 0x1001, .client = 1, .dest = 0, .fd = HS_NO_FD },
		{ .id = 0x2002, .client = 2, .dest = 1, .fd = 11 },
		{ .id = 0x3003, .client = 5, .dest = 1, .fd = 12,
		  .err = -ECONNRESET },
		{ .id = 0x4004, .client = 5, .dest = 0, .fd = HS_NO_FD },
	};

	memcpy(s->flows, f, sizeof(f));
}

/* Replies queued: an OK to client 2; an ERROR and a COMPLETE to 5. */
static void outs_init(struct model *s)
{
	struct zcs_error e = { .err = -EINVAL, .req_type = ZCS_MSG_POLICY };
	struct zcs_msg_completion comp[3] = { { .tag = 1, .result = 100 } };

	strcpy(e.msg, "no such destination");
	msg_init(&s->outs[0], 2, ZCS_MSG_OK, 0);
	msg_init(&s->outs[1], 5, ZCS_MSG_ERROR, sizeof(e));
	memcpy(s->outs[1].data + sizeof(struct zcs_hdr), &e, sizeof(e));
	msg_init(&s->outs[2], 5, ZCS_MSG_COMPLETE, sizeof(comp));
	memcpy(s->outs[2].data + sizeof(struct zcs_hdr), comp, sizeof(comp));
	s->clients[1].noutmsgs = 1;
	s->clients[1].outq_bytes = s->outs[0].m.len;
	s->clients[2].noutmsgs = 2;
	s->clients[2].outq_bytes = s->outs[1].m.len + s->outs[2].m.len;
}

static void good_init(void)
{
	struct model *s = &good;

	memset(s, 0, sizeof(*s));
	memcpy(s->hdr.magic, HS_MAGIC, sizeof(s->hdr.magic));
	s->hdr.version = HS_VERSION;
	s->hdr.header_bytes = sizeof(s->hdr);
	s->hdr.nfds = NFDS;
	s->hdr.ndests = 2;
	s->hdr.nclients = 3;
	s->hdr.nflows = 4;
	s->hdr.noutmsgs = 3;
	s->svc.service_start_ms = 1000;
	s->svc.handovers = 4;
	s->svc.next_client_id = 6;
	s->svc.flow_gen = 4;
	s->svc.listen_fd = 1;
	s->svc.listen_owned = 1;
	strcpy(s->svc.listen_path, "/run/zcsendd/zcsendd.sock");
	s->svc.st.sends = 99;
	ring_init(&s->svc.ring);
	dests_init(s);
	clients_init(s);
	flows_init(s);
	outs_init(s);
}

/* The good state parses, and every record comes out as it went in. */
static void test_good(void)
{
	struct hs_state *s = NULL;
	uint32_t i;

	EXPECT_EQ(parse(serialize(&good), NFDS, &s), 0);
	if (!s)
		return;
	EXPECT_EQ(s->hdr.nclients, 3);
	EXPECT_EQ(s->hdr.total_bytes, serialize(&good));
	EXPECT_EQ(memcmp(&s->svc, &good.svc, sizeof(s->svc)), 0);
	EXPECT_EQ(memcmp(s->dests, good.dests, sizeof(good.dests)), 0);
	EXPECT_EQ(memcmp(s->clients, good.clients, sizeof(good.clients)), 0);
	EXPECT_EQ(memcmp(s->flows, good.flows, sizeof(good.flows)), 0);
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(s->outmsgs[i].client, good.outs[i].m.client);
		EXPECT_EQ(s->outmsgs[i].len, good.outs[i].m.len);
		EXPECT_EQ(memcmp(s->outdata[i], good.outs[i].data,
				 s->outmsgs[i].len), 0);
	}
	EXPECT_EQ((uintptr_t)s->dests % _Alignof(struct hs_dest), 0);
	hs_state_free(s);
	hs_state_free(NULL);
	/* Not every client has each thing; states may be small. */
	EXPECT_PARSE(0, m.clients[1].flags &= ~HS_CLIENT_PINNED);
	/* Sealed but not pinned: carried once through systemd's store. */
	EXPECT_PARSE(0, m.clients[1].flags ^= HS_CLIENT_PINNED |
					     HS_CLIENT_SEALED);
	EXPECT_PARSE(0, m.dests[1].named = m.dests[1].removed = 1;
		     strcpy(m.dests[1].name, "udp-sink"));
	EXPECT_PARSE(0, m.svc.listen_fd = HS_NO_FD; m.svc.listen_path[0] = 0;
		     m.svc.listen_owned = 0);
	/* systemd's socket across an exec: a descriptor, no path. */
	EXPECT_PARSE(0, m.svc.listen_path[0] = 0; m.svc.listen_owned = 0);
	/* Through systemd's fd store no ring is kept: none at all. */
	EXPECT_PARSE(0, memset(&m.svc.ring, 0, sizeof(m.svc.ring));
		     m.svc.ring.fd = HS_NO_FD);
	EXPECT_PARSE(0, m.hdr.ndests = m.hdr.nclients = m.hdr.nflows = 0;
		     m.hdr.noutmsgs = 0; m.hdr.nfds = 2);
}

static void test_header(void)
{
	EXPECT_PARSE(-EPROTONOSUPPORT, m.hdr.magic[0] = 'Z');
	EXPECT_PARSE(-EPROTONOSUPPORT, m.hdr.version = 7);
	EXPECT_WHY("state version 7, this daemon reads 1");
	EXPECT_PARSE(-EBADMSG, m.hdr.header_bytes = 48);
	EXPECT_PARSE(-EBADMSG, m.hdr.reserved = 1);
	EXPECT_PATCHED(-E2BIG, h.ndests = HS_DESTS_MAX + 1);
	EXPECT_PATCHED(-E2BIG, h.nclients = HS_CLIENTS_MAX + 1);
	EXPECT_PATCHED(-E2BIG, h.nflows = HS_FLOWS_MAX + 1);
	/* Counts that do not add up to the bytes there are. */
	EXPECT_PATCHED(-EBADMSG, h.nclients = 4);
	EXPECT_PATCHED(-EBADMSG, h.nflows = 3);
	EXPECT_PATCHED(-EBADMSG, h.nflows = 100);
	EXPECT_WHY("records need over");
	EXPECT_PATCHED(-EBADMSG, h.noutmsgs = 2);
	EXPECT_WHY("bytes after the last record");
	EXPECT_PATCHED(-EBADMSG, h.noutmsgs = 4);
	EXPECT_PATCHED(-EBADMSG, h.noutmsgs = UINT32_MAX);
	EXPECT_PATCHED(0, (void)h);
	/* Descriptors: as many came as the state names, within bounds. */
	m = good;
	EXPECT_EQ(parse_model(&m, NFDS - 1), -EBADMSG);
	EXPECT_WHY("the state names 13 descriptors, 12 came");
	m.hdr.nfds = HS_FDS_MAX + 1;
	EXPECT_EQ(parse_model(&m, HS_FDS_MAX + 1), -E2BIG);
}

/* The length read, total_bytes and the sum; a state cut anywhere. */
static void test_size(void)
{
	size_t len = serialize(&good), i;
	struct hs_state *s = NULL;
	uint8_t *big;

	img[len - 1] ^= 1;
	EXPECT_EQ(parse_len(len, NFDS), -EBADMSG);
	EXPECT_WHY("checksum mismatch");
	img[len - 1] ^= 1;
	img[sizeof(struct hs_header)] ^= 0x80;
	EXPECT_EQ(parse_len(len, NFDS), -EBADMSG);
	EXPECT_PATCHED(-E2BIG, h.total_bytes = HS_BYTES_MAX + 1ull);
	EXPECT_PATCHED(-EBADMSG, h.total_bytes -= 8);
	EXPECT_WHY("where the state says");
	EXPECT_PATCHED(-EBADMSG, h.total_bytes += 8);
	EXPECT_WHY("truncated");
	for (i = 0; i < len; i++) {
		serialize(&good);
		EXPECT_EQ(parse_len(i, NFDS), -EBADMSG);
	}
	EXPECT_EQ(parse_len(1200, NFDS), -EBADMSG);
	EXPECT_WHY("truncated: 1200 of");
	EXPECT_EQ(parse_len(20, NFDS), -EBADMSG);
	EXPECT_WHY("truncated: 20 of 56 bytes");
	big = calloc(1, HS_BYTES_MAX + 1ul);
	if (!big)
		abort();
	memcpy(big, img, len);
	EXPECT_EQ(hs_state_parse(big, HS_BYTES_MAX + 1ul, NFDS, &s, why,
				 sizeof(why)), -E2BIG);
	EXPECT_EQ(s == NULL, 1);
	free(big);
}

static void test_service(void)
{
	EXPECT_PARSE(-EBADMSG, m.svc.listen_owned = 2);
	EXPECT_PARSE(-EBADMSG, m.svc.listen_owned = 0);
	EXPECT_PARSE(-EBADMSG, memset(m.svc.listen_path, 'a',
				      sizeof(m.svc.listen_path)));
	EXPECT_PARSE(-EBADMSG, m.svc.listen_path[0] = 0);
	EXPECT_PARSE(-EBADMSG, m.svc.listen_fd = HS_NO_FD);
	EXPECT_PARSE(-EBADMSG, m.svc.listen_fd = NFDS);
	EXPECT_WHY("names descriptor 13 of 13");
	EXPECT_PARSE(-EBADMSG, m.svc.listen_fd = 3);
	EXPECT_WHY("descriptor 3 named twice");
	EXPECT_PARSE(-EBADMSG, m.svc.ring.fd = 0);
	EXPECT_PARSE(-EBADMSG, memset(&m.svc.ring, 0, sizeof(m.svc.ring));
		     m.svc.ring.fd = HS_NO_FD; m.svc.ring.nslots = 16);
	EXPECT_PARSE(-EBADMSG, m.svc.ring.sq_entries = 0);
	EXPECT_PARSE(-EBADMSG, m.svc.ring.sq_entries = 3);
	EXPECT_PARSE(-EBADMSG, m.svc.ring.cq_entries = 0);
	EXPECT_PARSE(-EBADMSG, m.svc.ring.cq_entries = 768);
	EXPECT_PARSE(-EBADMSG, m.svc.ring.nslots = 16385);
	EXPECT_PARSE(0, m.svc.ring.nslots = 16384);
	EXPECT_PARSE(-EBADMSG, m.svc.ring.sq_off[0] = 8256);
	EXPECT_PARSE(-EBADMSG, m.svc.ring.sq_off[1] = 66);
	EXPECT_PARSE(-EBADMSG, m.svc.ring.cq_off[4] = 320);
	EXPECT_PARSE(-EBADMSG, m.svc.ring.sq_off[7] = 1);
	EXPECT_PARSE(-EBADMSG, m.svc.ring.cq_off[9] = 1);
	/* Every client id is below the next one to give. */
	EXPECT_PARSE(-EBADMSG, m.svc.next_client_id = 5);
	EXPECT_PARSE(-EBADMSG, m.svc.next_client_id = 0);
}

static void test_dests(void)
{
	struct sockaddr_in in4 = { .sin_family = AF_INET };

	EXPECT_PARSE(-EBADMSG, memset(m.dests[0].name, 'n', 64));
	EXPECT_PARSE(-EBADMSG, memset(m.dests[1].address, 'a', 64));
	EXPECT_PARSE(-EBADMSG, m.dests[0].name[0] = 0);
	EXPECT_PARSE(-EBADMSG, m.dests[0].reserved2 = 1);
	EXPECT_PARSE(-EBADMSG, m.dests[0].named = 2);
	EXPECT_PARSE(-EBADMSG, m.dests[1].removed = 1);
	EXPECT_PARSE(-EBADMSG, m.dests[0].proto = 1);
	EXPECT_PARSE(-EBADMSG, m.dests[0].udp_fd = HS_NO_FD);
	EXPECT_PARSE(-EBADMSG, m.dests[1].udp_fd = 2);
	EXPECT_PARSE(-EBADMSG, m.dests[0].udp_fd = 3);
	EXPECT_PARSE(-EBADMSG, m.dests[0].sa.ss_family = AF_UNIX);
	EXPECT_PARSE(-EBADMSG, m.dests[0].salen = sizeof(struct sockaddr_in6));
	EXPECT_PARSE(-EBADMSG, m.dests[1].salen = sizeof(in4));
	EXPECT_PARSE(-EBADMSG,
		     ((uint8_t *)&m.dests[0].sa)[sizeof(in4)] = 1);
	EXPECT_PARSE(-EBADMSG, strcpy(m.dests[1].name, "udp-sink"));
	EXPECT_WHY("destination udp-sink twice");
}

static void test_clients(void)
{
	EXPECT_PARSE(-EBADMSG, m.clients[0].id = 0);
	EXPECT_PARSE(-EBADMSG, m.clients[2].id = 2);
	EXPECT_WHY("client id 2 twice");
	EXPECT_PARSE(-EBADMSG, m.clients[0].flags = 0x10 | HS_CLIENT_HELLO);
	EXPECT_PARSE(-EBADMSG, m.clients[0].flags |= HS_CLIENT_PINNED);
	EXPECT_PARSE(-EBADMSG, m.clients[0].flags |= HS_CLIENT_SEALED);
	EXPECT_PARSE(-EBADMSG, m.clients[1].flags |= HS_CLIENT_SEALED);
	EXPECT_PARSE(-EBADMSG, m.clients[0].flags |= HS_CLIENT_RINGS);
	EXPECT_PARSE(-EBADMSG, m.clients[2].flags &= ~HS_CLIENT_HELLO);
	EXPECT_PARSE(-EBADMSG, m.clients[0].reserved = 1);
	EXPECT_PARSE(-EBADMSG, memset(m.clients[0].name, 'x', ZCS_NAME_MAX));
	EXPECT_PARSE(-EBADMSG, m.clients[0].fd = HS_NO_FD);
	EXPECT_PARSE(-EBADMSG, m.clients[0].fd = 17);
	EXPECT_WHY("client 1 names descriptor 17 of 13");
	EXPECT_PARSE(-EBADMSG, m.clients[0].fd = 4);
	EXPECT_WHY("descriptor 4 named twice");
	/* Counts against the records naming the client. */
	EXPECT_PARSE(-EBADMSG, m.clients[0].nflows = 2);
	EXPECT_PARSE(-EBADMSG, m.clients[2].nflows = 1);
	EXPECT_PARSE(-EBADMSG, m.clients[1].noutmsgs = 0);
	EXPECT_PARSE(-EBADMSG, m.clients[2].outq_bytes += 8);
	EXPECT_PARSE(-E2BIG, m.clients[2].outq_bytes = HS_OUTQ_BYTES_MAX + 1);
}

static void test_pools(void)
{
	struct hs_client *c = m.clients;

	EXPECT_PARSE(-EBADMSG, c[1].pool_fd = HS_NO_FD);
	EXPECT_PARSE(-EBADMSG, c[0].pool_fd = 11);
	EXPECT_PARSE(-EBADMSG, c[0].pool_bytes = 4096);
	EXPECT_PARSE(-EBADMSG, c[0].pool_nslots = 1);
	EXPECT_PARSE(-EBADMSG, c[1].pool_bytes = 0);
	EXPECT_PARSE(-EBADMSG, c[1].pool_bytes += 1);
	EXPECT_PARSE(-EBADMSG, c[1].pool_bytes = (1ull << 40) + 4096;
		     c[1].pool_nslots = 1025; m.svc.ring.nslots = 2048);
	EXPECT_PARSE(0, c[1].pool_bytes = 1ull << 40;
		     c[1].pool_nslots = 1024; m.svc.ring.nslots = 2048;
		     c[2].pool_first_slot = 1024);
	EXPECT_PARSE(-EBADMSG, c[1].pool_nslots = 2);
	EXPECT_PARSE(-EBADMSG, c[1].pool_nslots = 4);
	EXPECT_PARSE(-EBADMSG, c[2].pool_first_slot = 16);
	EXPECT_PARSE(-EBADMSG, c[2].pool_first_slot = UINT32_MAX);
	EXPECT_PARSE(-EBADMSG, c[2].pool_first_slot = 2);
	EXPECT_WHY("share buffer slots");
	EXPECT_PARSE(0, c[2].pool_first_slot = 2;
		     c[1].flags &= ~HS_CLIENT_PINNED);
	EXPECT_PARSE(-EBADMSG, c[1].pool_addr = 0);
	EXPECT_PARSE(-EBADMSG, c[1].pool_addr += 8);
	EXPECT_PARSE(-EBADMSG, c[1].pool_addr = HS_ADDR_MAX - 4096);
	EXPECT_PARSE(0, c[1].pool_addr = HS_ADDR_MAX - c[1].pool_bytes);
	EXPECT_PARSE(-EBADMSG, c[1].pool_addr = UINT64_MAX - 4095);
}

static void test_rings(void)
{
	struct hs_client *c = m.clients;

	EXPECT_PARSE(-EBADMSG, c[2].ring_fd = HS_NO_FD);
	EXPECT_PARSE(-EBADMSG, c[2].efd_in = HS_NO_FD);
	EXPECT_PARSE(-EBADMSG, c[2].efd_out = HS_NO_FD);
	EXPECT_PARSE(-EBADMSG, c[1].efd_out = 11);
	EXPECT_PARSE(-EBADMSG, c[1].sq_entries = 64);
	EXPECT_PARSE(-EBADMSG, c[1].sq_head = 1);
	EXPECT_PARSE(-EBADMSG, c[1].ring_bytes = 4096);
	EXPECT_PARSE(-EBADMSG, c[2].sq_entries = 48);
	EXPECT_PARSE(-EBADMSG, c[2].sq_entries = ZCS_RING_ENTRIES_MIN / 2);
	EXPECT_PARSE(-EBADMSG, c[2].sq_entries = ZCS_RING_ENTRIES_MAX * 2;
		     c[2].ring_bytes = 1 << 20);
	EXPECT_PARSE(0, c[2].sq_entries = ZCS_RING_ENTRIES_MAX;
		     c[2].ring_bytes = 1 << 20);
	EXPECT_PARSE(-EBADMSG, c[2].ring_bytes = 0);
	EXPECT_PARSE(-EBADMSG, c[2].ring_bytes = 4096);	/* too small */
	EXPECT_PARSE(-EBADMSG, c[2].ring_bytes = 16384 + 512);
	EXPECT_PARSE(-EBADMSG, c[2].ring_bytes = (64 << 20) + 4096);
}

static void test_flows(void)
{
	struct hs_flow *f = m.flows;

	EXPECT_PARSE(-EBADMSG, f[0].id = 0);
	EXPECT_PARSE(-EBADMSG, f[3].id = 0x1001);
	EXPECT_WHY("flow id 4097 twice");
	EXPECT_PARSE(-EBADMSG, f[0].client = 3);
	EXPECT_PARSE(-EBADMSG, f[0].dest = 2);
	EXPECT_PARSE(-EBADMSG, f[1].fd = HS_NO_FD);
	EXPECT_PARSE(-EBADMSG, f[0].fd = 11);
	EXPECT_PARSE(-EBADMSG, f[2].fd = 11);
	EXPECT_PARSE(-EBADMSG, f[0].err = 1);
	EXPECT_PARSE(-EBADMSG, f[2].err = -4096);
	EXPECT_PARSE(0, f[2].err = -4095);
	EXPECT_PARSE(-EBADMSG, f[0].reserved = 1);
}

/* Queued replies: owned, bounded, valid messages, padded with zeros. */
static void test_outmsgs(void)
{
	struct zcs_hdr *h = (struct zcs_hdr *)(void *)m.outs[0].data;

	EXPECT_PARSE(-EBADMSG, m.outs[0].m.client = 3);
	EXPECT_PARSE(-EBADMSG, m.outs[0].m.len = 15);
	EXPECT_PARSE(-EBADMSG, m.outs[2].m.len = ZCS_MSG_MAX + 8);
	EXPECT_PARSE(-EBADMSG, h->version = ZCS_PROTO_VERSION + 1);
	EXPECT_PARSE(-EBADMSG, h->type = 9999);
	EXPECT_PARSE(-EBADMSG, h->len = 24);	/* h.len != the record's */
	EXPECT_PARSE(-EBADMSG, memset(m.outs[1].data + sizeof(*h) + 8, 'x',
				      ZCS_ERRMSG_MAX));
	EXPECT_PARSE(-EBADMSG, m.outs[0].m.len = 17;
		     m.clients[1].outq_bytes = 17; m.outs[0].data[20] = 1);
	EXPECT_WHY("padding set");
}

/* Replies of one client past HS_OUTQ_BYTES_MAX: at it, then one over. */
static void test_outq_bound(void)
{
	uint32_t i, n = HS_OUTQ_BYTES_MAX / ZCS_MSG_MAX;

	m = good;
	for (i = 0; i <= n; i++)
		msg_init(&m.outs[i], 1, ZCS_MSG_COMPLETE,
			 ZCS_MSG_MAX - sizeof(struct zcs_hdr));
	m.hdr.noutmsgs = n;
	m.clients[0].noutmsgs = n;
	m.clients[0].outq_bytes = n * ZCS_MSG_MAX;
	m.clients[1].noutmsgs = m.clients[2].noutmsgs = 0;
	m.clients[1].outq_bytes = m.clients[2].outq_bytes = 0;
	EXPECT_EQ(parse_model(&m, NFDS), 0);
	m.hdr.noutmsgs = n + 1;
	m.clients[0].noutmsgs = n + 1;
	EXPECT_EQ(parse_model(&m, NFDS), -E2BIG);
}

static int memfd_with(size_t len, unsigned int seals)
{
	int fd = memfd_create("hs-test", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0 || write(fd, img, len) != (ssize_t)len ||
	    (seals && fcntl(fd, F_ADD_SEALS, seals)))
		abort();
	return fd;
}

static void test_load(void)
{
	unsigned int all = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE |
			   F_SEAL_SEAL;
	size_t len = serialize(&good);
	struct hs_state *s = NULL;
	int fd, pfd[2];

	fd = memfd_with(len, 0);
	EXPECT_EQ(hs_state_load(fd, NFDS, &s, why, sizeof(why)), -EPERM);
	EXPECT_WHY("not sealed");
	close(fd);
	fd = memfd_with(len, all & ~F_SEAL_SEAL);
	EXPECT_EQ(hs_state_load(fd, NFDS, &s, why, sizeof(why)), -EPERM);
	close(fd);
	fd = memfd_with(len, 0);
	if (ftruncate(fd, HS_BYTES_MAX + 1l) || fcntl(fd, F_ADD_SEALS, all))
		abort();
	EXPECT_EQ(hs_state_load(fd, NFDS, &s, why, sizeof(why)), -E2BIG);
	EXPECT_WHY("is over the limit");
	close(fd);
	fd = memfd_with(len, all);
	EXPECT_EQ(hs_state_load(fd, NFDS - 1, &s, why, sizeof(why)), -EBADMSG);
	EXPECT_EQ(s == NULL, 1);
	EXPECT_EQ(hs_state_load(fd, NFDS, &s, why, sizeof(why)), 0);
	EXPECT_EQ(s && s->clients[2].pool_bytes == 1 << 20, 1);
	hs_state_free(s);
	close(fd);
	if (pipe(pfd))
		abort();
	EXPECT_EQ(hs_state_load(pfd[0], NFDS, &s, why, sizeof(why)), -EBADMSG);
	close(pfd[0]);
	close(pfd[1]);
}

static void seed(const char *dir, const char *name, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f || fwrite(img, 1, len, f) != len || fclose(f))
		abort();
}

/* The fuzzer's seeds: states that parse, so it starts past the checks. */
static int write_corpus(const char *dir)
{
	seed(dir, "good", serialize(&good));
	m = good;
	m.clients[1].flags &= ~HS_CLIENT_PINNED;
	m.dests[1].named = m.dests[1].removed = 1;
	strcpy(m.dests[1].name, "udp-sink");
	seed(dir, "unpinned-retired", serialize(&m));
	m = good;
	m.hdr.ndests = m.hdr.nclients = m.hdr.nflows = m.hdr.noutmsgs = 0;
	m.hdr.nfds = 2;
	seed(dir, "empty", serialize(&m));
	return parse_model(&good, NFDS) ? EXIT_FAILURE : EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
	good_init();
	if (argc == 3 && !strcmp(argv[1], "--corpus"))
		return write_corpus(argv[2]);
	test_good();
	test_header();
	test_size();
	test_service();
	test_dests();
	test_clients();
	test_pools();
	test_rings();
	test_flows();
	test_outmsgs();
	test_outq_bound();
	test_load();
	printf("test-state: %u checks, %u failed\n", checks, failures);
	return failures ? EXIT_FAILURE : EXIT_SUCCESS;
}
