/* SPDX-License-Identifier: MIT */
/*
 * The in-process rows of --dgram beyond `send`: what a program sending
 * MTU-sized datagrams gets by itself. `sendmmsg` hands the kernel 64
 * datagrams per call; `udp_gso` one UDP_SEGMENT send of b->gso_segs
 * datagrams per call, copied; `udp_gso_zc` the same with MSG_ZEROCOPY,
 * notifications reaped from the error queue (errq.c). Sender-side counts
 * are kept only to cross-check the sink's, which the table reports.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/udp.h>

#include "bench.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT	103	/* linux/udp.h, Linux 4.18 */
#endif

#define MMSG_BATCH	64	/* datagrams per sendmmsg call */

/**
 * rows_dgram_gso_open - a UDP socket connected to the sink whose sends
 * are cut into datagrams of b->size bytes (UDP_SEGMENT).
 * Return: the fd or -errno.
 */
int rows_dgram_gso_open(const struct bench *b)
{
	int fd, seg = (int)b->size, err;

	fd = net_udp_open(b);
	if (fd < 0)
		return fd;
	if (setsockopt(fd, SOL_UDP, UDP_SEGMENT, &seg, sizeof(seg))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* A send's outcome into @s: @n bytes went as @n / b->size datagrams.
 * ENOBUFS (a full queue) and EINTR are not failures, just no progress. */
static int account(const struct bench *b, ssize_t n, size_t want,
		   struct sample *s)
{
	if (n < 0)
		return errno == ENOBUFS || errno == EINTR ? 0 : -errno;
	if ((size_t)n != want) {
		s->errors++;
		return 0;
	}
	s->msgs += want / b->size;
	s->bytes += want;
	return 0;
}

static int mmsg_loop(struct bench *b, int fd, struct mmsghdr *v,
		     struct sample *s)
{
	struct meter m;
	int n, err;

	err = meter_start(b, &m);
	while (!err && !meter_expired(&m)) {
		n = sendmmsg(fd, v, MMSG_BATCH, 0);
		if (n > 0)
			err = account(b, (ssize_t)n * (ssize_t)b->size,
				      (size_t)n * b->size, s);
		else if (n < 0)
			err = account(b, -1, 0, s);
	}
	return err ? err : meter_stop(b, &m, s);
}

/**
 * rows_dgram_sendmmsg - the `sendmmsg` row: 64 datagrams per call, each
 * copied into its own skb.
 * Return: 0 or -errno.
 */
int rows_dgram_sendmmsg(struct bench *b, const struct row_def *r,
			struct sample *s)
{
	struct mmsghdr v[MMSG_BATCH];
	struct iovec iov;
	unsigned i;
	int fd, err;

	iov.iov_base = rows_plain_payload(b->size);
	if (!iov.iov_base)
		return -ENOMEM;
	iov.iov_len = b->size;
	memset(v, 0, sizeof(v));
	for (i = 0; i < MMSG_BATCH; i++) {
		v[i].msg_hdr.msg_iov = &iov;
		v[i].msg_hdr.msg_iovlen = 1;
	}
	fd = net_udp_open(b);
	if (fd < 0) {
		err = fd;
	} else {
		err = mmsg_loop(b, fd, v, s);
		close(fd);
	}
	munmap(iov.iov_base, b->size);
	return err;
}

static int gso_loop(struct bench *b, int fd, const void *buf, size_t len,
		    struct sample *s)
{
	struct meter m;
	int err;

	err = meter_start(b, &m);
	while (!err && !meter_expired(&m))
		err = account(b, send(fd, buf, len, 0), len, s);
	return err ? err : meter_stop(b, &m, s);
}

/**
 * rows_dgram_udp_gso - the `udp_gso` row: one copying UDP_SEGMENT send of
 * b->gso_segs datagrams per call.
 * Return: 0 or -errno.
 */
int rows_dgram_udp_gso(struct bench *b, const struct row_def *r,
		       struct sample *s)
{
	size_t len = (size_t)b->gso_segs * b->size;
	void *buf;
	int fd, err;

	buf = rows_plain_payload(len);
	if (!buf)
		return -ENOMEM;
	fd = rows_dgram_gso_open(b);
	if (fd < 0) {
		err = fd;
	} else {
		err = gso_loop(b, fd, buf, len, s);
		close(fd);
	}
	munmap(buf, len);
	return err;
}

/**
 * rows_dgram_udp_gso_zc - the `udp_gso_zc` row: UDP_SEGMENT sends with
 * MSG_ZEROCOPY from one buffer, which is never written while the kernel
 * holds it.
 * Return: 0 or -errno.
 */
int rows_dgram_udp_gso_zc(struct bench *b, const struct row_def *r,
			  struct sample *s)
{
	size_t len = (size_t)b->gso_segs * b->size;
	struct errq z = { .fd = -1 };
	int one = 1, err;
	void *buf;

	buf = rows_plain_payload(len);
	if (!buf)
		return -ENOMEM;
	z.fd = rows_dgram_gso_open(b);
	if (z.fd < 0) {
		err = z.fd;
		goto err_buf;
	}
	if (setsockopt(z.fd, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof(one)))
		err = -errno;
	else
		err = errq_loop(b, &z, buf, len, b->gso_segs, s);
	close(z.fd);
err_buf:
	munmap(buf, len);
	return err;
}
