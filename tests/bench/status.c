/* SPDX-License-Identifier: MIT */
/*
 * The daemon's own word on which transport a row used: a control-only
 * connection (HELLO with no pool, nothing mapped) asks STATUS and keeps
 * the daemon-wide ring counters. A row forced onto the ring must make
 * them grow, a row forced onto the socket must not: a library or daemon
 * that quietly ignores ZCSEND_TRANSPORT cannot pass for the other path.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zcs_proto.h"
#include "bench.h"

#define STATUS_WAIT_MS	5000	/* per reply message */

/* One message of @type with @payload; the header's cookie is 1. */
static int ctl_send(int fd, uint16_t type, const void *payload, size_t len)
{
	unsigned char buf[sizeof(struct zcs_hdr) + sizeof(struct zcs_hello)];
	struct zcs_hdr h;
	ssize_t n;

	if (len > sizeof(struct zcs_hello))
		return -EINVAL;
	zcs_hdr_init(&h, type, len, 1);
	memcpy(buf, &h, sizeof(h));
	if (len)
		memcpy(buf + sizeof(h), payload, len);
	n = send(fd, buf, sizeof(h) + len, MSG_NOSIGNAL);
	if (n < 0)
		return -errno;
	return (size_t)n == sizeof(h) + len ? 0 : -EIO;
}

/* One checked message into @buf (ZCS_MSG_MAX bytes); no descriptors are
 * expected on a control-only connection, so none is accepted. */
static int ctl_recv(int fd, unsigned char *buf, struct zcs_hdr *h)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;
	int r;

	r = poll(&p, 1, STATUS_WAIT_MS);
	if (r <= 0)
		return r < 0 ? -errno : -ETIMEDOUT;
	n = recv(fd, buf, ZCS_MSG_MAX, MSG_TRUNC);
	if (n <= 0)
		return n < 0 ? -errno : -ECONNRESET;
	if ((size_t)n > ZCS_MSG_MAX)
		return -EMSGSIZE;
	return zcs_msg_check(buf, (size_t)n, h);
}

static int ctl_connect(const struct bench *b)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, err;

	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", b->sock);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static int ctl_hello(int fd, unsigned char *buf)
{
	struct zcs_hello m;
	struct zcs_hdr h;
	int err;

	memset(&m, 0, sizeof(m));
	snprintf(m.name, sizeof(m.name), "%s", "zcsend-bench-status");
	err = ctl_send(fd, ZCS_MSG_HELLO, &m, sizeof(m));
	if (!err)
		err = ctl_recv(fd, buf, &h);
	if (err)
		return err;
	return h.type == ZCS_MSG_HELLO_OK ? 0 : -EPROTO;
}

/* STATUS_DAEMON's ring and send counters (@st may be NULL); the rest of
 * the reply is read and dropped up to STATUS_END. */
static int ctl_status(int fd, unsigned char *buf, struct zcs_ring_counters *out,
		      struct zcs_counters *st)
{
	struct zcs_status_daemon d;
	struct zcs_hdr h;
	int err, have = 0;

	err = ctl_send(fd, ZCS_MSG_STATUS, NULL, 0);
	while (!err) {
		err = ctl_recv(fd, buf, &h);
		if (err)
			break;
		if (h.type == ZCS_MSG_STATUS_END)
			return have ? 0 : -EPROTO;
		if (h.type == ZCS_MSG_STATUS_DAEMON) {
			memcpy(&d, buf + sizeof(h), sizeof(d));
			*out = d.rings;
			if (st)
				*st = d.st;
			have = 1;
		} else if (h.type != ZCS_MSG_STATUS_CLIENT &&
			   h.type != ZCS_MSG_STATUS_DEST) {
			err = -EPROTO;
		}
	}
	return err;
}

/**
 * status_daemon - the daemon-wide ring counters and, when @st is not NULL,
 * send counters (--dgram: datagrams and GSO sends), from STATUS over a
 * fresh control-only connection to the bench's daemon.
 * Return: 0 or -errno.
 */
int status_daemon(const struct bench *b, struct zcs_ring_counters *rings,
		  struct zcs_counters *st)
{
	unsigned char *buf;
	int fd, err;

	fd = ctl_connect(b);
	if (fd < 0)
		return fd;
	buf = malloc(ZCS_MSG_MAX);
	err = buf ? ctl_hello(fd, buf) : -ENOMEM;
	if (!err)
		err = ctl_status(fd, buf, rings, st);
	free(buf);
	close(fd);
	return err;
}

/**
 * status_rings - the daemon-wide ring counters only.
 * Return: 0 or -errno.
 */
int status_rings(const struct bench *b, struct zcs_ring_counters *out)
{
	return status_daemon(b, out, NULL);
}
