/* SPDX-License-Identifier: MIT */
/*
 * The in-process io_uring rows (`uring_zc_nrN`): what one program owning
 * its own ring gets, the bound zcsendd is measured against. N slots of a
 * registered buffer are kept in flight with SEND_ZC from fixed buffers; a
 * slot is free again only at its notification CQE (IORING_CQE_F_NOTIF).
 * `uring_gso_zc` (--dgram) does the same on a socket with UDP_SEGMENT.
 */
#include <sys/mman.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <liburing.h>

#include "bench.h"

/* Newer than liburing 2.3's header; the 6.x kernel knows them. */
#ifndef IORING_SEND_ZC_REPORT_USAGE
#define IORING_SEND_ZC_REPORT_USAGE	(1U << 3)
#endif
#ifndef IORING_NOTIF_USAGE_ZC_COPIED
#define IORING_NOTIF_USAGE_ZC_COPIED	(1U << 31)
#endif

/* One row's ring, socket and buffer slots. */
struct uring_row {
	struct io_uring ring;
	int fd;
	unsigned char *mem;	/* nr slots of size bytes: fixed buffer 0 */
	size_t size;
	unsigned nr;
	unsigned inflight;	/* slots whose send has not fully finished */
	int stopping;		/* interval over: no more sends */
	int32_t *res;		/* per slot: the result CQE's res */
	struct sample *s;
	struct lat *lat;	/* --latency, else NULL */
};

/* SINGLE_ISSUER|DEFER_TASKRUN keep completion work in our own task; an
 * older kernel refuses them, and plain flags still measure the path. */
static int ring_open(struct uring_row *u)
{
	unsigned entries = 8;
	int err;

	while (entries < 2 * u->nr)
		entries *= 2;
	err = io_uring_queue_init(entries, &u->ring,
				  IORING_SETUP_SINGLE_ISSUER |
				  IORING_SETUP_DEFER_TASKRUN);
	if (err)
		err = io_uring_queue_init(entries, &u->ring, 0);
	return err;
}

/* The slots, filled once and registered as one fixed buffer. */
static int mem_open(struct uring_row *u)
{
	struct iovec iov;
	int err;

	iov.iov_len = (size_t)u->nr * u->size;
	iov.iov_base = mmap(NULL, iov.iov_len, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (iov.iov_base == MAP_FAILED)
		return -errno;
	memset(iov.iov_base, 'u', iov.iov_len);
	u->mem = iov.iov_base;
	err = io_uring_register_buffers(&u->ring, &iov, 1);
	if (err) {
		munmap(u->mem, iov.iov_len);
		u->mem = NULL;
	}
	return err;
}

static int queue_send(struct uring_row *u, unsigned slot)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);

	if (!sqe)
		return -EBUSY;	/* cannot happen: the SQ holds nr entries */
	io_uring_prep_send_zc_fixed(sqe, u->fd, u->mem + slot * u->size,
				    u->size, 0, IORING_SEND_ZC_REPORT_USAGE, 0);
	sqe->user_data = slot;
	u->inflight++;
	lat_start(u->lat, slot);
	return 0;
}

/* A slot's send is over: count it and, within the interval, reuse it. */
static int slot_done(struct uring_row *u, unsigned slot)
{
	u->inflight--;
	lat_end(u->lat, slot);
	if (u->res[slot] == (int32_t)u->size) {
		u->s->msgs++;
		u->s->bytes += u->size;
	} else {
		u->s->errors++;
	}
	return u->stopping ? 0 : queue_send(u, slot);
}

/* A result CQE with F_MORE is followed by a notification; only that one
 * (or a result without F_MORE) ends the send. */
static int handle_cqe(struct uring_row *u, const struct io_uring_cqe *cqe)
{
	uint64_t slot = cqe->user_data;

	if (slot >= u->nr)
		return -EPROTO;
	if (cqe->flags & IORING_CQE_F_NOTIF) {
		u->s->zc_sends++;
		if ((uint32_t)cqe->res & IORING_NOTIF_USAGE_ZC_COPIED)
			u->s->zc_copied++;
		return slot_done(u, (unsigned)slot);
	}
	u->res[slot] = cqe->res;
	if (cqe->flags & IORING_CQE_F_MORE)
		return 0;
	return slot_done(u, (unsigned)slot);
}

static int reap_all(struct uring_row *u)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;
	int err = 0;

	io_uring_for_each_cqe(&u->ring, head, cqe) {
		if (!err)
			err = handle_cqe(u, cqe);
		n++;
	}
	io_uring_cq_advance(&u->ring, n);
	return err;
}

static int uring_loop(struct bench *b, struct uring_row *u)
{
	double bound = 0;
	struct meter m;
	unsigned i;
	int ret;

	ret = meter_start(b, &m);
	for (i = 0; !ret && i < u->nr; i++)
		ret = queue_send(u, i);
	while (!ret && u->inflight) {
		if (!u->stopping && meter_expired(&m)) {
			u->stopping = 1;
			bound = meter_now() + BENCH_DRAIN_SECONDS;
		}
		if (u->stopping && meter_now() > bound)
			return -ETIMEDOUT;
		ret = io_uring_submit_and_wait(&u->ring, 1);
		if (ret >= 0 || ret == -EINTR)
			ret = reap_all(u);
	}
	return ret ? ret : meter_stop(b, &m, u->s);
}

/* Ring, registered slots and socket for @u, the loop, and teardown. */
static int uring_run(struct bench *b, struct uring_row *u, int gso)
{
	int err;

	u->res = calloc(u->nr, sizeof(*u->res));
	if (!u->res)
		return -ENOMEM;
	err = ring_open(u);
	if (err)
		goto err_res;
	err = mem_open(u);
	if (err)
		goto err_ring;
	u->fd = gso ? rows_dgram_gso_open(b) : net_udp_open(b);
	if (u->fd < 0) {
		err = u->fd;
		goto err_mem;
	}
	err = uring_loop(b, u);
	close(u->fd);
err_mem:
	io_uring_unregister_buffers(&u->ring);
	munmap(u->mem, (size_t)u->nr * u->size);
err_ring:
	io_uring_queue_exit(&u->ring);
err_res:
	free(u->res);
	return err;
}

/**
 * rows_uring_zc - the `uring_zc_nrN` rows: N SEND_ZC in flight.
 * Return: 0 or -errno.
 */
int rows_uring_zc(struct bench *b, const struct row_def *r, struct sample *s)
{
	struct uring_row u = { .fd = -1, .size = b->size, .nr = r->nr, .s = s,
				.lat = b->lat };

	return uring_run(b, &u, 0);
}

/**
 * rows_uring_gso_zc - the `uring_gso_zc` row of --dgram: N SEND_ZC in
 * flight, each of b->gso_segs datagrams, on a socket with UDP_SEGMENT set,
 * so the kernel cuts every zerocopy send into datagrams. Its msgs count
 * sends, not datagrams: the sink counts those.
 * Return: 0 or -errno.
 */
int rows_uring_gso_zc(struct bench *b, const struct row_def *r,
		      struct sample *s)
{
	struct uring_row u = { .fd = -1, .nr = r->nr, .s = s, .lat = b->lat,
				.size = (size_t)b->gso_segs * b->size };

	return uring_run(b, &u, 1);
}
