/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the hand-over state reader (handover/state_read.c).
 * Each input is parsed as it is, which fuzzes the header checks, and then,
 * when it is a header long, with total_bytes and the checksum fixed up and
 * as many descriptors as it names, which takes the fuzzer past the sum to
 * the records. A refusal must give a reason and one of the promised errnos;
 * a state accepted must keep the promises the daemon builds on, checked
 * here again a simpler way. Broken promises are __builtin_trap().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "handover/state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

/* Each descriptor index the state names: received, and named once. */
static void fd_mark(uint8_t *seen, uint32_t nfds, uint32_t idx)
{
	if (idx == HS_NO_FD)
		return;
	CHECK(idx < nfds);
	CHECK(!seen[idx]);
	seen[idx] = 1;
}

static void check_fds(const struct hs_state *s)
{
	uint32_t n = s->hdr.nfds, i;
	uint8_t *seen = calloc(n ? n : 1, 1);

	CHECK(seen);
	CHECK(s->svc.ring.fd == HS_NO_FD);	/* never in the bundle */
	fd_mark(seen, n, s->svc.listen_fd);
	for (i = 0; i < s->hdr.ndests; i++)
		fd_mark(seen, n, s->dests[i].udp_fd);
	for (i = 0; i < s->hdr.nclients; i++) {
		fd_mark(seen, n, s->clients[i].fd);
		fd_mark(seen, n, s->clients[i].pool_fd);
		fd_mark(seen, n, s->clients[i].ring_fd);
		fd_mark(seen, n, s->clients[i].efd_in);
		fd_mark(seen, n, s->clients[i].efd_out);
	}
	for (i = 0; i < s->hdr.nflows; i++)
		fd_mark(seen, n, s->flows[i].fd);
	free(seen);
}

/* The records that name client @c: as many as it says. */
static void check_client(const struct hs_state *s, const struct hs_client *c)
{
	uint32_t flows = 0, outs = 0, i;
	uint64_t bytes = 0;

	CHECK(c->id && c->id < s->svc.next_client_id);
	CHECK(memchr(c->name, 0, sizeof(c->name)));
	CHECK(c->fd != HS_NO_FD);
	/* Slots are a kept ring's (an exec); without one they mean nothing. */
	if ((c->flags & HS_CLIENT_PINNED) && s->svc.ring.sq_entries)
		CHECK((uint64_t)c->pool_first_slot + c->pool_nslots <=
		      s->svc.ring.nslots);
	if (c->flags & HS_CLIENT_PINNED)
		CHECK(c->pool_addr + c->pool_bytes <= HS_ADDR_MAX);
	for (i = 0; i < s->hdr.nflows; i++)
		flows += s->flows[i].client == c->id;
	for (i = 0; i < s->hdr.noutmsgs; i++) {
		if (s->outmsgs[i].client != c->id)
			continue;
		outs++;
		bytes += s->outmsgs[i].len;
	}
	CHECK(flows == c->nflows && outs == c->noutmsgs &&
	      bytes == c->outq_bytes && bytes <= HS_OUTQ_BYTES_MAX);
}

static void check_accepted(const struct hs_state *s, size_t size)
{
	struct zcs_hdr h;
	uint32_t i;

	CHECK(s->hdr.total_bytes == size);
	CHECK(s->hdr.ndests <= HS_DESTS_MAX && s->hdr.nclients <=
	      HS_CLIENTS_MAX && s->hdr.nflows <= HS_FLOWS_MAX);
	check_fds(s);
	for (i = 0; i < s->hdr.nclients; i++)
		check_client(s, &s->clients[i]);
	for (i = 0; i < s->hdr.nflows; i++)
		CHECK(s->flows[i].id && s->flows[i].dest < s->hdr.ndests);
	for (i = 0; i < s->hdr.ndests; i++)
		CHECK(memchr(s->dests[i].name, 0, sizeof(s->dests[i].name)));
	for (i = 0; i < s->hdr.noutmsgs; i++)
		CHECK(zcs_msg_check(s->outdata[i], s->outmsgs[i].len, &h) ==
		      0 && h.len == s->outmsgs[i].len);
}

static void parse(const uint8_t *buf, size_t size, uint32_t nfds)
{
	static struct hs_state poison;
	struct hs_state *s = &poison;	/* the reader must reset it */
	char why[ZCS_ERRMSG_MAX];
	int err;

	err = hs_state_parse(buf, size, nfds, &s, why, sizeof(why));
	if (err) {
		CHECK(!s && why[0]);
		CHECK(err == -EBADMSG || err == -E2BIG ||
		      err == -EPROTONOSUPPORT || err == -ENOMEM);
		return;
	}
	CHECK(s);
	check_accepted(s, size);
	hs_state_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hs_header h = { .nfds = 0 };
	uint8_t *buf;

	if (size > HS_BYTES_MAX)
		return 0;
	/* Exactly @size bytes, so that ASan sees a read past the end. */
	buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	if (size >= sizeof(h))
		memcpy(&h, buf, sizeof(h));
	parse(buf, size, h.nfds);
	if (size >= sizeof(h)) {
		h.total_bytes = size;
		h.checksum = hs_checksum(buf + sizeof(h), size - sizeof(h));
		memcpy(buf, &h, sizeof(h));
		parse(buf, size, h.nfds);
	}
	free(buf);
	return 0;
}
