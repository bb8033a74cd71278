/* SPDX-License-Identifier: MIT */
/*
 * The bundle: the descriptors a hand-over passes on, as SCM_RIGHTS
 * messages over a SOCK_SEQPACKET socketpair, the state's memfd first and
 * then the ones the state names, in its order. The old process writes it
 * whole before the next starts; descriptors in flight stay open after it
 * exits, so one socket carries them all, however many clients: one entry
 * in systemd's fd store, one descriptor across an exec.
 */
#include <sys/socket.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zcsd.h"
#include "handover/internal.h"
#include "handover/state.h"

#define BUNDLE_MAGIC	0x7a63484fu
#define BUNDLE_PER_MSG	250u	/* the kernel takes 253 (SCM_MAX_FD) */

struct bundle_msg {
	uint32_t magic;		/* BUNDLE_MAGIC */
	uint32_t total;		/* descriptors in the whole bundle */
	uint32_t first;		/* index of this message's first */
	uint32_t n;		/* descriptors in this message */
};

union bundle_cmsg {
	char buf[CMSG_SPACE(BUNDLE_PER_MSG * sizeof(int))];
	struct cmsghdr align;
};

static int bundle_put(int sock, const struct bundle_msg *m, const int *fds)
{
	union bundle_cmsg cmsg;
	struct iovec iov = { (void *)(uintptr_t)m, sizeof(*m) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cmsg.buf,
		.msg_controllen = CMSG_SPACE(m->n * sizeof(int)),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

	memset(&cmsg, 0, sizeof(cmsg));
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(m->n * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, m->n * sizeof(int));
	return sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

/*
 * bundle_send - @memfd and @nfds descriptors into a new socketpair; the
 * next process reads ends[1]. Returns 0 or -errno.
 */
int bundle_send(int memfd, const int *fds, uint32_t nfds, int ends[2])
{
	int one[BUNDLE_PER_MSG];
	struct bundle_msg m = { BUNDLE_MAGIC, nfds + 1, 0, 0 };
	int err;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ends))
		return -errno;
	for (err = 0; !err && m.first < m.total; m.first += m.n) {
		m.n = m.total - m.first;
		if (m.n > BUNDLE_PER_MSG)
			m.n = BUNDLE_PER_MSG;
		if (m.first == 0) {	/* the memfd leads */
			one[0] = memfd;
			if (m.n > 1)	/* a state may name none */
				memcpy(one + 1, fds, (m.n - 1) * sizeof(int));
			err = bundle_put(ends[0], &m, one);
		} else {
			err = bundle_put(ends[0], &m, fds + m.first - 1);
		}
	}
	if (err) {
		close(ends[0]);
		close(ends[1]);
	}
	return err;
}

/* The descriptors of one received message, checked against @m. */
static int bundle_take(struct msghdr *mh, const struct bundle_msg *m,
		       int *into, uint32_t room)
{
	struct cmsghdr *cm;
	uint32_t got = 0, n;

	for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (uint32_t)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		if (n > room - got) {	/* more than said: close them */
			memcpy(into + got, CMSG_DATA(cm), (room - got) *
			       sizeof(int));
			return -EBADMSG;
		}
		memcpy(into + got, CMSG_DATA(cm), n * sizeof(int));
		got += n;
	}
	return got == m->n && !(mh->msg_flags & (MSG_CTRUNC | MSG_TRUNC))
		       ? 0 : -EBADMSG;
}

static ssize_t bundle_get(int sock, struct bundle_msg *m, int *fds,
			  uint32_t room, int *err)
{
	union bundle_cmsg cmsg;
	struct iovec iov = { m, sizeof(*m) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cmsg.buf, .msg_controllen = sizeof(cmsg.buf),
	};
	ssize_t n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

	*err = 0;
	if (n < 0)
		return -errno;
	if (n != (ssize_t)sizeof(*m) || m->magic != BUNDLE_MAGIC ||
	    m->n > BUNDLE_PER_MSG)
		*err = -EBADMSG;
	if (bundle_take(&mh, m, fds, room) && !*err)
		*err = -EBADMSG;
	return n;
}

static void bundle_close(int *fds, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/*
 * bundle_recv - every descriptor of the bundle on @fd, in order, into a
 * malloc'd *@fds (*@nfds of them; the memfd first). Returns 0, or -errno
 * with @why saying what was wrong; then nothing received stays open.
 */
int bundle_recv(int fd, int **fds, uint32_t *nfds, char *why, size_t whylen)
{
	struct bundle_msg m;
	int buf[BUNDLE_PER_MSG], *all = NULL;
	uint32_t got = 0, total = 0;
	ssize_t n;
	int err = 0;

	memset(buf, -1, sizeof(buf));
	while (!err && (!all || got < total)) {
		n = bundle_get(fd, &m, buf, BUNDLE_PER_MSG, &err);
		if (n < 0) {
			snprintf(why, whylen, "%u of %u descriptors came: %s",
				 got, total, strerror((int)-n));
			err = (int)n;
			break;
		}
		if (!err && !all) {
			total = m.total;
			all = total && total <= HS_FDS_MAX + 1
				? malloc(total * sizeof(int)) : NULL;
			err = all ? 0 : -EBADMSG;
		}
		if (!err && (m.first != got || m.n > total - got))
			err = -EBADMSG;
		if (err) {
			snprintf(why, whylen, "a malformed bundle message "
				 "after %u descriptors", got);
			bundle_close(buf, BUNDLE_PER_MSG);
			break;
		}
		memcpy(all + got, buf, m.n * sizeof(int));
		memset(buf, -1, sizeof(buf));
		got += m.n;
	}
	if (err) {
		if (all)
			bundle_close(all, got);
		free(all);
		return err;
	}
	*fds = all;
	*nfds = total;
	return 0;
}
