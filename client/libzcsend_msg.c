/* SPDX-License-Identifier: MIT */
/*
 * libzcsend message transport: one protocol message per SOCK_SEQPACKET
 * packet, received with its SCM_RIGHTS fds and validated before anyone
 * reads it, and written without ever blocking the completions the daemon
 * is trying to hand us (a full socket both ways must not deadlock).
 */
#include <sys/socket.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "libzcsend_int.h"

#define MAX_FDS		(ZCSI_MSG_FDS + 1)	/* room to see one too many */
#define REQ_MAX		512	/* largest request payload built on the stack */

/* Collect every fd the kernel installed, so none can leak. */
static int take_fds(struct msghdr *mh, int *fds, int max)
{
	struct cmsghdr *cm;
	int n = 0, i, k;

	for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		k = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (i = 0; i < k && n < max; i++)
			memcpy(&fds[n++], CMSG_DATA(cm) + i * sizeof(int),
			       sizeof(int));
	}
	return n;
}

static void close_fds(const int *fds, int n)
{
	while (n-- > 0)
		close(fds[n]);
}

/* The fds must match the header: with ZCS_HDR_F_FD, three for RINGS and
 * one otherwise, and only where the caller is ready to own them. */
static int fds_check(const struct zcs_hdr *hdr, const int *fds, int nfds,
		     int *out)
{
	int want = hdr->type == ZCS_MSG_RINGS ? ZCSI_MSG_FDS : 1;

	if (!(hdr->flags & ZCS_HDR_F_FD))
		return nfds ? -EBADMSG : 0;
	if (!out || nfds != want)
		return -EBADMSG;
	memcpy(out, fds, (size_t)want * sizeof(*fds));
	return 0;
}

/*
 * One recvmsg. A peer that closes with our messages still unread in its
 * queue leaves us ECONNRESET, and the kernel reports that before the
 * messages it sent us first (a refusal, typically): the error is cleared
 * once reported, so read on and let EOF say that the peer is gone.
 */
static int recv_raw(struct zcs_client *c, struct msghdr *mh)
{
	int resets = 0;
	ssize_t n;

	do
		n = recvmsg(c->fd, mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	while (n < 0 && (errno == EINTR || (errno == ECONNRESET && !resets++)));
	if (n > 0)
		return (int)n;
	if (n == 0 || errno == ECONNRESET)
		return zcsi_fail(c, -EPIPE);
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return 0;
	return zcsi_fail(c, -errno);
}

/*
 * zcsi_msg_read - receive and validate one message into c->rxbuf, without
 * blocking. @fds_out, if not NULL, has room for ZCSI_MSG_FDS and takes the fds
 * a ZCS_HDR_F_FD message carries (one, or three for RINGS).
 * Returns 1 with *@hdr filled, 0 when nothing is waiting, or -errno (the
 * connection is then marked failed: -EPIPE at EOF, -EBADMSG if truncated).
 */
int zcsi_msg_read(struct zcs_client *c, struct zcs_hdr *hdr, int *fds_out)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(MAX_FDS * sizeof(int))];
	} cbuf;
	struct iovec iov = { .iov_base = c->rxbuf, .iov_len = ZCS_MSG_MAX };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf.buf, .msg_controllen = sizeof(cbuf.buf),
	};
	int fds[MAX_FDS], nfds, n, err;

	if (c->err)
		return c->err;
	n = recv_raw(c, &mh);
	if (n <= 0)
		return n;
	nfds = take_fds(&mh, fds, MAX_FDS);
	err = mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC) ? -EBADMSG : 0;
	if (!err)
		err = zcs_msg_check(c->rxbuf, (size_t)n, hdr);
	if (!err)
		err = fds_check(hdr, fds, nfds, fds_out);
	if (err) {
		close_fds(fds, nfds);
		return zcsi_fail(c, err);
	}
	return 1;
}

/*
 * zcsi_msg_wait - zcsi_msg_read(), waiting on the socket until @deadline
 * (zcsi_deadline). For the handshake, before any completion can come.
 * Returns 1, or -errno (-ETIMEDOUT once the deadline has passed).
 */
int zcsi_msg_wait(struct zcs_client *c, struct zcs_hdr *hdr, int *fds,
		  int64_t deadline)
{
	int n, err;

	while ((n = zcsi_msg_read(c, hdr, fds)) == 0) {
		if (zcsi_remaining(deadline) == 0)
			return -ETIMEDOUT;
		err = zcsi_poll(c, POLLIN, zcsi_remaining(deadline));
		if (err < 0)
			return err;
	}
	return n;
}

/*
 * zcsi_poll - wait for @events on the socket.
 * Returns the revents (> 0), 0 on timeout or a signal (callers re-check
 * their deadline), or -errno.
 */
int zcsi_poll(struct zcs_client *c, short events, int timeout_ms)
{
	struct pollfd pfd = { .fd = c->fd, .events = events };
	int n;

	n = poll(&pfd, 1, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : zcsi_fail(c, -errno);
	return n ? pfd.revents : 0;
}

/* zcsi_deadline - the CLOCK_MONOTONIC ms at which @timeout_ms from now
 * ends; -1 (never) for a negative @timeout_ms. */
int64_t zcsi_deadline(int timeout_ms)
{
	struct timespec ts;

	if (timeout_ms < 0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + timeout_ms;
}

/* zcsi_remaining - milliseconds left until @deadline, for poll(): 0 once
 * it has passed, -1 (wait forever) for no deadline. */
int zcsi_remaining(int64_t deadline)
{
	int64_t left;

	if (deadline < 0)
		return -1;
	left = deadline - zcsi_deadline(0);
	return left > 0 ? (left < INT32_MAX ? (int)left : INT32_MAX) : 0;
}

/* The socket is full: read what the daemon sends meanwhile, so that it
 * can make progress and read from us again. */
static int write_wait(struct zcs_client *c)
{
	struct zcs_hdr hdr;
	int ev, n;

	ev = zcsi_poll(c, POLLIN | POLLOUT, -1);
	if (ev <= 0 || !(ev & (POLLIN | POLLHUP | POLLERR)))
		return ev < 0 ? ev : 0;
	n = zcsi_recv(c, &hdr);
	if (n > 0 && hdr.type != ZCS_MSG_COMPLETE)
		return zcsi_unexpected(c, &hdr);
	return n < 0 ? n : 0;
}

/*
 * zcsi_msg_write - send one whole message, waiting while the socket is
 * full. SOCK_SEQPACKET writes all or nothing, so there is no partial case.
 * Returns 0 or -errno (-EPIPE: the daemon is gone).
 */
int zcsi_msg_write(struct zcs_client *c, const void *buf, size_t len)
{
	ssize_t n;
	int err;

	for (;;) {
		if (c->err)
			return c->err;
		n = send(c->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n >= 0)
			return (size_t)n == len ? 0 : zcsi_fail(c, -EPROTO);
		if (errno == EINTR)
			continue;
		if (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN)
			return zcsi_fail(c, -EPIPE);
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return zcsi_fail(c, -errno);
		err = write_wait(c);
		if (err)
			return err;
	}
}

/*
 * zcsi_request - send a control request with a fresh cookie.
 * Returns 0 with *@cookie set (the reply echoes it), or -errno.
 */
int zcsi_request(struct zcs_client *c, uint16_t type, const void *payload,
		 size_t size, uint64_t *cookie)
{
	unsigned char buf[sizeof(struct zcs_hdr) + REQ_MAX];
	struct zcs_hdr hdr;

	if (size > REQ_MAX)
		return -EINVAL;
	*cookie = c->next_cookie++;
	zcs_hdr_init(&hdr, type, size, *cookie);
	memcpy(buf, &hdr, sizeof(hdr));
	if (size)
		memcpy(buf + sizeof(hdr), payload, size);
	return zcsi_msg_write(c, buf, sizeof(hdr) + size);
}

/*
 * zcsi_wait_reply - block until the next reply to @cookie, buffering any
 * completions that arrive first, over the socket or the rings (so that a
 * slow TCP connect does not leave the completion ring full), at most
 * until @deadline (zcsi_deadline(); -1 for none). The payload is at
 * zcsi_payload() until the next receive. Returns the reply's type, or
 * -errno: -ETIMEDOUT, -EPROTO for a reply to something else (with one
 * request at a time that cannot be).
 */
int zcsi_wait_reply(struct zcs_client *c, uint64_t cookie,
		    struct zcs_hdr *hdr, int64_t deadline)
{
	int n;

	for (;;) {
		n = zcsi_recv(c, hdr);
		if (n < 0)
			return n;
		if (n == 0) {
			if (zcsi_remaining(deadline) == 0)
				return -ETIMEDOUT;
			n = zcsi_wait_io(c, zcsi_remaining(deadline));
			if (n < 0)
				return n;
			continue;
		}
		if (hdr->type == ZCS_MSG_COMPLETE)
			continue;
		if (hdr->cookie != cookie)
			return zcsi_unexpected(c, hdr);
		return hdr->type;
	}
}

/* zcsi_payload - the payload of the last message received. */
const void *zcsi_payload(const struct zcs_client *c)
{
	return c->rxbuf + sizeof(struct zcs_hdr);
}
