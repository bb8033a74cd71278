/* SPDX-License-Identifier: MIT */
/*
 * Baseline rows without io_uring: `send`, a loop of send(2) on a connected
 * UDP socket, and `msg_zerocopy`, the same with SO_ZEROCOPY and
 * MSG_ZEROCOPY, notifications reaped from the error queue (errq.c).
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

/**
 * rows_plain_payload - a page-aligned payload of @size bytes, filled once;
 * munmap() it after.
 * Return: the memory, or NULL.
 */
void *rows_plain_payload(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memset(p, 'z', size);
	return p;
}

/**
 * rows_plain_msg_zerocopy - the `msg_zerocopy` row.
 * Return: 0 or -errno.
 */
int rows_plain_msg_zerocopy(struct bench *b, const struct row_def *r,
			    struct sample *s)
{
	struct errq z = { .fd = -1 };
	int one = 1, err;
	void *buf;

	buf = rows_plain_payload(b->size);
	if (!buf)
		return -ENOMEM;
	z.fd = net_udp_open(b);
	if (z.fd < 0) {
		err = z.fd;
		goto err_buf;
	}
	if (setsockopt(z.fd, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof(one))) {
		err = -errno;
		goto err_fd;
	}
	err = errq_loop(b, &z, buf, b->size, 1, s);
err_fd:
	close(z.fd);
err_buf:
	munmap(buf, b->size);
	return err;
}

/* The plain loop: every datagram copied into an skb by send(2). */
static int send_loop(struct bench *b, int fd, const void *buf,
		     struct sample *s)
{
	struct meter m;
	ssize_t n;
	int err;

	err = meter_start(b, &m);
	while (!err && !meter_expired(&m)) {
		n = send(fd, buf, b->size, 0);
		if (n == (ssize_t)b->size) {
			s->msgs++;
			s->bytes += (uint64_t)n;
		} else if (n >= 0) {
			s->errors++;
		} else if (errno != EINTR && errno != ENOBUFS) {
			err = -errno;
		}
	}
	if (!err)
		err = meter_stop(b, &m, s);
	return err;
}

/**
 * rows_plain_send - the `send` row.
 * Return: 0 or -errno.
 */
int rows_plain_send(struct bench *b, const struct row_def *r,
		    struct sample *s)
{
	void *buf;
	int fd, err;

	buf = rows_plain_payload(b->size);
	if (!buf)
		return -ENOMEM;
	fd = net_udp_open(b);
	if (fd < 0) {
		err = fd;
	} else {
		err = send_loop(b, fd, buf, s);
		close(fd);
	}
	munmap(buf, b->size);
	return err;
}
