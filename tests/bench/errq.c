/* SPDX-License-Identifier: MIT */
/*
 * MSG_ZEROCOPY bookkeeping for the in-process rows that use it: sends with
 * MSG_ZEROCOPY on a socket with SO_ZEROCOPY, notifications reaped from the
 * error queue as the kernel's msg_zerocopy selftest does (ENOBUFS: reap and
 * retry; at the end, wait for every outstanding notification before the
 * clock stops, since until then the kernel still holds the pages).
 */
#include <sys/socket.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <linux/errqueue.h>

#include "bench.h"

#define ZC_REAP_EVERY	32	/* outstanding notifications before reaping */
#define ZC_POLL_MS	100
#define ZC_READ_MAX	4096	/* error-queue reads per reap, a bound */

/* Account one error-queue message: a range [ee_info, ee_data] of ids. */
static int errq_account(struct errq *z, struct msghdr *msg)
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
static int errq_read_all(struct errq *z)
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
		err = errq_account(z, &msg);
		if (err)
			return err;
	}
	if (n < ZC_READ_MAX && errno != EAGAIN && errno != EINTR)
		return -errno;
	return n;
}

/* Reap notifications; when none is waiting, poll up to @wait_ms for one
 * (a pending error queue shows as POLLERR). */
static int errq_reap(struct errq *z, int wait_ms)
{
	struct pollfd pfd = { .fd = z->fd, .events = 0 };
	int n;

	n = errq_read_all(z);
	if (n != 0 || wait_ms == 0)
		return n < 0 ? n : 0;
	if (poll(&pfd, 1, wait_ms) < 0 && errno != EINTR)
		return -errno;
	n = errq_read_all(z);
	return n < 0 ? n : 0;
}

/**
 * errq_drain - after the interval: every send's notification, within
 * BENCH_DRAIN_SECONDS.
 * Return: 0 or -errno (-ETIMEDOUT).
 */
int errq_drain(struct errq *z)
{
	double bound = meter_now() + BENCH_DRAIN_SECONDS;
	int err;

	while (z->done < z->sent) {
		if (meter_now() > bound)
			return -ETIMEDOUT;
		err = errq_reap(z, ZC_POLL_MS);
		if (err)
			return err;
	}
	return 0;
}

/**
 * errq_send - one send(2) of @len bytes with MSG_ZEROCOPY; ENOBUFS (optmem
 * full of notifications) reaps instead and says retry. Every
 * ZC_REAP_EVERY sends, waiting notifications are read.
 * Return: 1 when the send went, 0 to retry, or -errno.
 */
int errq_send(struct errq *z, const void *buf, size_t len)
{
	ssize_t n = send(z->fd, buf, len, MSG_ZEROCOPY);
	int err;

	if (n < 0) {
		if (errno == ENOBUFS)
			return errq_reap(z, ZC_POLL_MS);
		return errno == EINTR ? 0 : -errno;
	}
	z->sent++;
	if (z->sent - z->done < ZC_REAP_EVERY)
		return 1;
	err = errq_reap(z, 0);
	return err ? err : 1;
}

/**
 * errq_loop - the timed loop of a MSG_ZEROCOPY row: @len bytes at @buf
 * per send until the interval ends, every notification reaped before the
 * clock stops. Each send carries @dgrams datagrams (1, or a GSO send's).
 * Return: 0 or -errno.
 */
int errq_loop(struct bench *b, struct errq *z, const void *buf, size_t len,
	      unsigned dgrams, struct sample *s)
{
	struct meter m;
	int n, err;

	err = meter_start(b, &m);
	while (!err && !meter_expired(&m)) {
		n = errq_send(z, buf, len);
		if (n < 0)
			err = n;
	}
	if (!err)
		err = errq_drain(z);
	if (!err)
		err = meter_stop(b, &m, s);
	s->msgs = z->sent * dgrams;
	s->bytes = z->sent * len;
	s->zc_sends = z->sent;
	s->zc_copied = z->copied;
	return err;
}
