/* SPDX-License-Identifier: MIT */
/*
 * The client side of the shared-memory rings (PROTOCOL.md, "Rings"):
 * HELLO asking for rings and mapping what RINGS sends, then producing
 * send records on the SQ and consuming completions from the CQ, with the
 * wake-up flags and eventfds. The index arithmetic, bounds and flag
 * steps are proto/zcs_ring.h's, as in the daemon and libzcsend.
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "rings.h"
#include "util.h"
#include "zcs_ring.h"

static int rings_map(struct th_rings *rg, const int *fds)
{
	struct stat st;

	rg->daemon_efd = fds[1];
	rg->client_efd = fds[2];
	if (fstat(fds[0], &st) < 0)
		return -errno;
	if ((uint64_t)st.st_size != rg->lay.bytes) {
		fprintf(stderr, "ring memfd size %lld, RINGS says %llu\n",
			(long long)st.st_size,
			(unsigned long long)rg->lay.bytes);
		return -EPROTO;
	}
	rg->mem = mmap(NULL, rg->lay.bytes, PROT_READ | PROT_WRITE,
		       MAP_SHARED, fds[0], 0);
	if (rg->mem == MAP_FAILED) {
		rg->mem = NULL;
		return -errno;
	}
	rg->ctl = rg->mem;
	rg->sq = (struct zcs_msg_send *)((char *)rg->mem + rg->lay.sq_off);
	rg->cq = (struct zcs_msg_completion *)((char *)rg->mem +
					       rg->lay.cq_off);
	return 0;
}

/* RINGS and its three fds, or the ERROR that says why not. */
static int rings_recv(struct th_raw *r, struct th_rings *rg)
{
	union {
		struct zcs_rings lay;
		struct zcs_error error;
	} u;
	struct zcs_hdr h;
	int fds[3], nfds = 0, n, i, err = -EPROTO;

	n = th_raw_recv_fds(r, &h, &u, sizeof(u), fds, 3, &nfds, 5000);
	if (n < 0)
		return n;
	if (h.type == ZCS_MSG_ERROR && !nfds)
		return u.error.req_type == ZCS_MSG_HELLO && u.error.err < 0
			       ? u.error.err : -EPROTO;
	if (h.type == ZCS_MSG_RINGS && nfds == 3) {
		rg->lay = u.lay;
		err = rings_map(rg, fds);
		close(fds[0]);
		if (!err)
			return 0;
		nfds = 1;	/* the eventfds go with th_rings_close */
	}
	fprintf(stderr, "rings: got %s with %d fds\n", zcs_msg_name(h.type),
		nfds);
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	return err;
}

int th_raw_hello_rings(struct th_raw *r, uint64_t pool_bytes,
		       uint32_t entries, const char *name, struct th_rings *rg)
{
	int err;

	memset(rg, 0, sizeof(*rg));
	rg->daemon_efd = -1;
	rg->client_efd = -1;
	err = th_raw_hello_flags(r, pool_bytes, ZCS_HELLO_F_RINGS, entries,
				 name);
	return err ? err : rings_recv(r, rg);
}

void th_rings_close(struct th_rings *rg)
{
	if (rg->mem)
		munmap(rg->mem, rg->lay.bytes);
	if (rg->daemon_efd >= 0)
		close(rg->daemon_efd);
	if (rg->client_efd >= 0)
		close(rg->client_efd);
	rg->mem = NULL;
	rg->daemon_efd = rg->client_efd = -1;
}

/* After new records or freed CQ room: wake the daemon if it sleeps. */
static void rings_wake_daemon(struct th_rings *rg)
{
	uint64_t one = 1;

	if (zcs_ring_wake_needed(&rg->ctl->daemon_flags,
				 ZCS_RING_NEED_WAKEUP) &&
	    write(rg->daemon_efd, &one, sizeof(one)) == sizeof(one))
		rg->wakeups++;
}

uint32_t th_rings_submit(struct th_rings *rg, const struct zcs_msg_send *recs,
			 uint32_t n)
{
	int room = zcs_ring_room(&rg->ctl->sq_head, rg->sq_tail,
				 rg->lay.sq_entries, NULL);
	uint32_t i;

	if (room < 0)	/* a daemon that broke the ring: take nothing */
		room = 0;
	if (n > (uint32_t)room)
		n = (uint32_t)room;
	for (i = 0; i < n; i++)
		rg->sq[zcs_ring_slot(rg->sq_tail + i, rg->lay.sq_entries)] =
			recs[i];
	if (!n)
		return 0;
	rg->sq_tail += n;
	zcs_ring_store(&rg->ctl->sq_tail, rg->sq_tail);
	rings_wake_daemon(rg);
	return n;
}

uint32_t th_rings_reap(struct th_rings *rg, struct zcs_msg_completion *out,
		       uint32_t max)
{
	int ready = zcs_ring_ready(&rg->ctl->cq_tail, rg->cq_head,
				   rg->lay.cq_entries, NULL);
	uint32_t n, i;

	if (ready < 0) {
		fprintf(stderr, "rings: the daemon's CQ tail is out of bounds\n");
		return 0;
	}
	n = (uint32_t)ready < max ? (uint32_t)ready : max;
	for (i = 0; i < n; i++)
		out[i] = rg->cq[zcs_ring_slot(rg->cq_head + i,
					      rg->lay.cq_entries)];
	if (!n)
		return 0;
	rg->cq_head += n;
	zcs_ring_store(&rg->ctl->cq_head, rg->cq_head);
	rings_wake_daemon(rg);
	return n;
}

static int rings_cq_ready(struct th_rings *rg)
{
	return zcs_ring_load(&rg->ctl->cq_tail) != rg->cq_head;
}

int th_rings_wait(struct th_rings *rg, int timeout_ms)
{
	struct zcs_ring_word *flags = &rg->ctl->client_flags;
	struct pollfd p = { .fd = rg->client_efd, .events = POLLIN };
	uint64_t v;
	int n;

	if (rings_cq_ready(rg))
		return 0;
	zcs_ring_sleep_arm(flags, ZCS_RING_WAITING);
	if (rings_cq_ready(rg)) {
		zcs_ring_flag_take(flags, ZCS_RING_WAITING);
		return 0;
	}
	do {
		n = poll(&p, 1, timeout_ms);
	} while (n < 0 && errno == EINTR);
	if (n > 0 && read(rg->client_efd, &v, sizeof(v)) == sizeof(v))
		rg->woken++;
	zcs_ring_flag_take(flags, ZCS_RING_WAITING);
	return rings_cq_ready(rg) ? 0 : -ETIMEDOUT;
}

int th_rings_completions(struct th_rings *rg, struct zcs_msg_completion *out,
			 size_t n, int timeout_ms)
{
	uint64_t end = th_now_ms() + (uint64_t)timeout_ms;
	size_t got = 0;

	while (got < n) {
		got += th_rings_reap(rg, out + got, (uint32_t)(n - got));
		if (got == n || th_now_ms() >= end)
			break;
		th_rings_wait(rg, (int)(end - th_now_ms()));
	}
	return (int)got;
}
