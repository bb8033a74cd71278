/* SPDX-License-Identifier: MIT */
/*
 * Baseline rows without io_uring: `send`, a loop of send(2) on a connected
 * UDP socket, and `msg_zerocopy`, the same with SO_ZEROCOPY and
 * MSG_ZEROCOPY, notifications reaped from the error queue as the kernel's
 * msg_zerocopy selftest does (ENOBUFS: reap and retry; at the end, wait
 * for every outstanding notification before the clock stops).
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/errqueue.h>

#include "bench.h"

#define ZC_REAP_EVERY	32	/* outstanding notifications before reaping */
#define ZC_POLL_MS	100
#define ZC_READ_MAX	4096	/* error-queue reads per reap, a bound */

/* Notification bookkeeping of one MSG_ZEROCOPY socket. */
struct zc_state {
	int fd;
	uint64_t sent;		/* successful sends = notification ids used */
	uint64_t done;		/* ids covered by notifications so far */
	uint64_t copied;	/* ... of which the kernel reported copying */
};

/* A page-aligned payload, filled once. Returns NULL on failure. */
static void *payload_new(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memset(p, 'z', size);
	return p;
}

/* Account one error-queue message: a range [ee_info, ee_data] of ids. */
static int zc_account(struct zc_state *z, struct msghdr *msg)
{
	struct sock_extended_err ee;
	struct cmsghdr *cm;

	for (cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
		if (cm->cmsg_level != SOL_IP || cm->cmsg_type != IP_RECVERR)
			continue;
		memcpy(&ee, CMSG_DATA(cm), sizeof(ee));
		if (ee.ee_origin != SO_EE_ORIGIN_ZEROCOPY || ee.ee_errno)
			continue;	/* not a zerocopy notification */
		if (ee.ee_data < ee.ee_info)
			return -EPROTO;
		z->done += (uint64_t)ee.ee_data - ee.ee_info + 1;
		if (ee.ee_code & SO_EE_CODE_ZEROCOPY_COPIED)
			z->copied += (uint64_t)ee.ee_data - ee.ee_info + 1;
	}
	return 0;
}

/* Read every notification waiting now. Returns how many were read. */
static int zc_read_all(struct zc_state *z)
{
	char control[128];
	struct msghdr msg;
	int n, err;

	for (n = 0; n < ZC_READ_MAX; n++) {
		memset(&msg, 0, sizeof(msg));
		msg.msg_control = control;
		msg.msg_controllen = sizeof(control);
		if (recvmsg(z->fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
			break;
		err = zc_account(z, &msg);
		if (err)
			return err;
	}
	if (n < ZC_READ_MAX && errno != EAGAIN && errno != EINTR)
		return -errno;
	return n;
}

/* Reap notifications; when none is waiting, poll up to @wait_ms for one
 * (a pending error queue shows as POLLERR). */
static int zc_reap(struct zc_state *z, int wait_ms)
{
	struct pollfd pfd = { .fd = z->fd, .events = 0 };
	int n;

	n = zc_read_all(z);
	if (n != 0 || wait_ms == 0)
		return n < 0 ? n : 0;
	if (poll(&pfd, 1, wait_ms) < 0 && errno != EINTR)
		return -errno;
	n = zc_read_all(z);
	return n < 0 ? n : 0;
}

/* After the interval: every send's notification, within a bound. */
static int zc_drain(struct zc_state *z)
{
	double bound = meter_now() + BENCH_DRAIN_SECONDS;
	int err;

	while (z->done < z->sent) {
		if (meter_now() > bound)
			return -ETIMEDOUT;
		err = zc_reap(z, ZC_POLL_MS);
		if (err)
			return err;
	}
	return 0;
}

/* One MSG_ZEROCOPY send; ENOBUFS (optmem full) reaps and says retry. */
static int zc_send_one(struct zc_state *z, const void *buf, size_t size)
{
	ssize_t n = send(z->fd, buf, size, MSG_ZEROCOPY);
	int err;

	if (n < 0) {
		if (errno == ENOBUFS)
			return zc_reap(z, ZC_POLL_MS);
		return errno == EINTR ? 0 : -errno;
	}
	z->sent++;
	if (z->sent - z->done < ZC_REAP_EVERY)
		return 1;
	err = zc_reap(z, 0);
	return err ? err : 1;
}

static int zc_loop(struct bench *b, struct zc_state *z, const void *buf,
		   struct sample *s)
{
	struct meter m;
	int n, err;

	err = meter_start(b, &m);
	while (!err && !meter_expired(&m)) {
		n = zc_send_one(z, buf, b->size);
		if (n < 0)
			err = n;
	}
	if (!err)
		err = zc_drain(z);
	if (!err)
		err = meter_stop(b, &m, s);
	s->msgs = z->sent;
	s->bytes = z->sent * b->size;
	s->zc_sends = z->sent;
	s->zc_copied = z->copied;
	return err;
}

/**
 * rows_plain_msg_zerocopy - the `msg_zerocopy` row.
 * Return: 0 or -errno.
 */
int rows_plain_msg_zerocopy(struct bench *b, const struct row_def *r,
			    struct sample *s)
{
	struct zc_state z = { .fd = -1 };
	int one = 1, err;
	void *buf;

	buf = payload_new(b->size);
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
	err = zc_loop(b, &z, buf, s);
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

	buf = payload_new(b->size);
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
