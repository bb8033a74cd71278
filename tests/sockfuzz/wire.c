/* SPDX-License-Identifier: MIT */
/*
 * sockfuzz on the wire: one packet out with any of several kinds of
 * ancillary data (well-formed or not), and replies in, which teach the
 * session its pool size and flow ids. Any fd the daemon sends is closed
 * or kept to be thrown back at it.
 */
#include <sys/socket.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "sockfuzz.h"

#define ANC_FDS_MAX	40	/* SCM_MAX_FD is 253; 16 is the daemon's room */

union fz_cbuf {
	char b[2 * CMSG_SPACE(ANC_FDS_MAX * sizeof(int)) +
	       CMSG_SPACE(sizeof(struct ucred))];
	struct cmsghdr align;
};

/* fz_anc_pick - what rides along with the next packet, if anything. */
void fz_anc_pick(struct fz_sess *s, struct fz_anc *anc)
{
	struct fz_rng *r = &s->r;

	anc->kind = (enum fz_anc_kind)(1 + fz_below(r, ANC_KINDS - 1));
	anc->nfds = fz_pct(r, 80) ? 1 + fz_below(r, 4)
				  : 1 + fz_below(r, ANC_FDS_MAX);
	if ((s->env->avoid & FZ_AVOID_FDS) && anc->kind != ANC_CREDS &&
	    anc->kind != ANC_CREDS_ODD)
		anc->kind = ANC_CREDS;
}

/* The fds to attach: the worker's spares, our socket, a kept memfd. */
static int anc_fd(struct fz_sess *s, unsigned i)
{
	unsigned k = (unsigned)(s->idx + i) % (FZ_PASS_FDS + 2);

	if (k < FZ_PASS_FDS)
		return s->env->pass_fds[k];
	if (k == FZ_PASS_FDS && s->keep_fd >= 0)
		return s->keep_fd;
	return s->fd;
}

static struct cmsghdr *put_rights(struct fz_sess *s, struct cmsghdr *c,
				  unsigned n)
{
	unsigned i;
	int fd;

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(n * sizeof(int));
	for (i = 0; i < n; i++) {
		fd = anc_fd(s, i);
		memcpy(CMSG_DATA(c) + i * sizeof(int), &fd, sizeof(int));
	}
	atomic_fetch_add(&s->env->sh->fds_sent, n);
	return (struct cmsghdr *)((char *)c + CMSG_SPACE(n * sizeof(int)));
}

static struct cmsghdr *put_creds(struct cmsghdr *c, bool odd)
{
	struct ucred u = { getpid(), getuid(), getgid() };

	if (odd) {
		u.pid = 1;
		u.uid = 65534;
		u.gid = 65534;
	}
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_CREDENTIALS;
	c->cmsg_len = CMSG_LEN(sizeof(u));
	memcpy(CMSG_DATA(c), &u, sizeof(u));
	return (struct cmsghdr *)((char *)c + CMSG_SPACE(sizeof(u)));
}

/* Lay out @anc in @cb; returns msg_controllen. */
static size_t anc_build(struct fz_sess *s, const struct fz_anc *anc,
			union fz_cbuf *cb)
{
	struct cmsghdr *c = &cb->align, *end = c;
	unsigned n = anc->nfds;

	memset(cb, 0, sizeof(*cb));
	switch (anc->kind) {
	case ANC_NONE:
		return 0;
	case ANC_RIGHTS:
		end = put_rights(s, c, n);
		break;
	case ANC_CREDS:
	case ANC_CREDS_ODD:
		end = put_creds(c, anc->kind == ANC_CREDS_ODD);
		break;
	case ANC_BOTH:
		end = put_rights(s, put_creds(c, false), n);
		break;
	case ANC_TWO_RIGHTS:
		end = put_rights(s, put_rights(s, c, n), 1);
		break;
	case ANC_SHORT:
		end = put_rights(s, c, n);
		c->cmsg_len -= 2;
		break;
	case ANC_BAD_LEN:
		end = put_rights(s, c, n);
		c->cmsg_len += 64;
		break;
	case ANC_KINDS:
		break;
	}
	return (size_t)((char *)end - cb->b);
}

static void mark_gone(struct fz_sess *s)
{
	if (!s->gone)
		atomic_fetch_add(&s->env->sh->dropped, 1);
	if (!s->gone && s->rg.got && !s->dying)
		atomic_fetch_add(&s->env->sh->ring_dropped, 1);
	s->gone = true;
}

/*
 * fz_send_pkt - @len bytes as one packet, with @anc (or NULL). A socket
 * that stays full for 100 ms gives -EAGAIN (SO_SNDTIMEO) rather than a
 * hang. Returns 0 or -errno; a closed peer marks the session gone.
 */
int fz_send_pkt(struct fz_sess *s, const void *buf, size_t len,
		const struct fz_anc *anc, bool dontwait)
{
	union fz_cbuf cb;
	struct iovec iov = { (void *)(uintptr_t)buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (anc && anc->kind != ANC_NONE && len == 0 &&
	    anc->kind != ANC_CREDS && anc->kind != ANC_CREDS_ODD) {
		if (s->env->avoid & FZ_AVOID_ZEROFD)
			anc = NULL;	/* also when a mutant was cut to 0 */
		else
			atomic_fetch_add(&s->env->sh->zero_fd, 1);
	}
	if (anc && anc->kind != ANC_NONE) {
		mh.msg_control = cb.b;
		mh.msg_controllen = anc_build(s, anc, &cb);
	}
	n = sendmsg(s->fd, &mh, MSG_NOSIGNAL | (dontwait ? MSG_DONTWAIT : 0));
	atomic_fetch_add(&s->env->sh->msgs, 1);
	if (n >= 0)
		return 0;
	if (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN)
		mark_gone(s);
	return -errno;
}

/* The fds a reply carried, in order (at most @max; any more closed). */
static unsigned fds_collect(struct msghdr *mh, int *fds, unsigned max)
{
	struct cmsghdr *c;
	unsigned got = 0;
	size_t i, n;
	int fd;

	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			if (got < max)
				fds[got++] = fd;
			else
				close(fd);
		}
	}
	return got;
}

/* Close the fds nobody took (-1), keeping one sometimes to pass back. */
static void fds_release(struct fz_sess *s, const int *fds, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		if (fds[i] < 0)
			continue;
		if (s->keep_fd < 0 && fz_pct(&s->r, 20))
			s->keep_fd = fds[i];
		else
			close(fds[i]);
	}
}

static void flow_add(struct fz_sess *s, const struct zcs_flow_ok *ok)
{
	struct fz_shared *sh = s->env->sh;
	uint32_t k = atomic_fetch_add(&sh->id_next, 1) % FZ_SHARED_IDS;

	atomic_store(&sh->ids[k], ok->flow);
	atomic_fetch_add(&sh->flow_ok, 1);
	if (s->nflows < FZ_FLOWS_MAX) {
		s->flows[s->nflows] = ok->flow;
		s->fproto[s->nflows++] = ok->proto;
	}
}

static void flow_forget(struct fz_sess *s, uint32_t id)
{
	unsigned i;

	for (i = 0; i < s->nflows; i++) {
		if (s->flows[i] != id)
			continue;
		s->flows[i] = s->flows[--s->nflows];
		s->fproto[i] = s->fproto[s->nflows];
		s->closed_flow = id;
		return;
	}
}

/* Learn from one reply of @n bytes; RINGS may take its @fds. */
static void reply_take(struct fz_sess *s, const uint8_t *buf, size_t n,
		       int *fds, unsigned nfds)
{
	struct zcs_hdr h;
	union {
		struct zcs_hello_ok hello;
		struct zcs_flow_ok flow;
		struct zcs_flow_close close;
		struct zcs_error err;
	} u;

	atomic_fetch_add(&s->env->sh->replies, 1);
	if (n < sizeof(h))
		return;
	memcpy(&h, buf, sizeof(h));
	memset(&u, 0, sizeof(u));
	memcpy(&u, buf + sizeof(h),
	       n - sizeof(h) < sizeof(u) ? n - sizeof(h) : sizeof(u));
	switch (h.type) {
	case ZCS_MSG_HELLO_OK:
		s->ready = true;
		s->pool = u.hello.pool_bytes;
		atomic_fetch_add(&s->env->sh->hello_ok, 1);
		break;
	case ZCS_MSG_FLOW_OK:
		flow_add(s, &u.flow);
		s->flow_replies++;
		break;
	case ZCS_MSG_FLOW_CLOSED:
		flow_forget(s, u.close.flow);
		break;
	case ZCS_MSG_RINGS:
		s->rings_answered |= fz_ring_take(s, buf + sizeof(h),
						  n - sizeof(h), fds, nfds);
		break;
	case ZCS_MSG_ERROR:
		if (u.err.req_type == ZCS_MSG_FLOW_OPEN)
			s->flow_replies++;
		if (u.err.req_type == ZCS_MSG_HELLO && s->rings && s->ready &&
		    !s->rings_answered) {
			s->rings_answered = true;
			atomic_fetch_add(&s->env->sh->ring_refused, 1);
		}
		break;
	case ZCS_MSG_COMPLETE:
		atomic_fetch_add(&s->env->sh->completions,
				 (n - sizeof(h)) /
					 sizeof(struct zcs_msg_completion));
		break;
	}
}

/* Read one reply if one is there. 1, 0 (none), or -errno. */
static int recv_one(struct fz_sess *s)
{
	static uint8_t buf[ZCS_MSG_MAX];
	union {
		char b[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cm.b,
			     .msg_controllen = sizeof(cm.b) };
	ssize_t n = recvmsg(s->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	int fds[4];
	unsigned nfds;

	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		mark_gone(s);
		return -errno;
	}
	nfds = fds_collect(&mh, fds, 4);
	if (n > 0)
		reply_take(s, buf, (size_t)n, fds, nfds);
	fds_release(s, fds, nfds);
	if (n == 0) {
		mark_gone(s);
		return -EPIPE;
	}
	return 1;
}

/*
 * fz_drain - read the replies waiting now, first waiting up to @wait_ms
 * for one to come. Returns how many were read, or -errno once the daemon
 * has closed the connection.
 */
int fz_drain(struct fz_sess *s, int wait_ms)
{
	struct pollfd p = { .fd = s->fd, .events = POLLIN };
	int n = 0, k;

	if (s->gone || s->fd < 0)
		return -EPIPE;
	if (wait_ms > 0 && poll(&p, 1, wait_ms) <= 0)
		return 0;
	while ((k = recv_one(s)) > 0 && n < 4096)
		n++;
	return k < 0 ? k : n;
}

/*
 * fz_wait_flow - wait up to @wait_ms for the answer to a FLOW_OPEN: until
 * more than @before such answers were seen. 0, -ETIMEDOUT or -errno.
 */
int fz_wait_flow(struct fz_sess *s, unsigned before, int wait_ms)
{
	uint64_t end = fz_now_ms() + (uint64_t)wait_ms;
	int n;

	while (s->flow_replies <= before) {
		uint64_t now = fz_now_ms();

		if (now >= end || now >= s->deadline_ms)
			return -ETIMEDOUT;
		n = fz_drain(s, (int)(end - now));
		if (n < 0)
			return n;
	}
	return 0;
}
