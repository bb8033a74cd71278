/* SPDX-License-Identifier: MIT */
/*
 * The raw protocol client: a SEQPACKET connection that speaks the wire
 * format of proto/zcs_proto.h message by message (HELLO, FLOW_OPEN and
 * FLOW_CLOSE, STATUS, SEND, COMPLETE), and packets with descriptors
 * attached, so that tests can send what libzcsend never would.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "raw.h"
#include "util.h"

/* Fill a sockaddr_un; -ENAMETOOLONG when @path does not fit. */
static int unix_addr(struct sockaddr_un *sa, const char *path)
{
	size_t len = strlen(path);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (len >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memcpy(sa->sun_path, path, len + 1);
	return 0;
}

int th_raw_connect(struct th_raw *r, const char *path)
{
	struct sockaddr_un sa;

	memset(r, 0, sizeof(*r));
	r->fd = -1;
	r->pool_fd = -1;
	if (unix_addr(&sa, path))
		return -ENAMETOOLONG;
	r->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (r->fd < 0)
		return -errno;
	if (connect(r->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = -errno;

		close(r->fd);
		r->fd = -1;
		return err;
	}
	return 0;
}

void th_raw_close(struct th_raw *r)
{
	if (r->pool)
		munmap(r->pool, r->pool_bytes);
	if (r->fd >= 0)
		close(r->fd);
	if (r->pool_fd >= 0)
		close(r->pool_fd);
	r->pool = NULL;
	r->fd = -1;
	r->pool_fd = -1;
}

int th_raw_send_bytes(struct th_raw *r, const void *buf, size_t len)
{
	ssize_t n = send(r->fd, buf, len, MSG_NOSIGNAL);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int th_raw_send_msg(struct th_raw *r, uint16_t type, uint8_t version,
		    const void *payload, size_t len)
{
	unsigned char *buf = malloc(sizeof(struct zcs_hdr) + len);
	struct zcs_hdr h;
	int ret;

	if (!buf)
		return -ENOMEM;
	zcs_hdr_init(&h, type, len, ++r->cookie);
	h.version = version;
	memcpy(buf, &h, sizeof(h));
	if (len)
		memcpy(buf + sizeof(h), payload, len);
	ret = th_raw_send_bytes(r, buf, sizeof(h) + len);
	free(buf);
	return ret;
}

/* Keep up to @max of the fds that came (in @fds, count in *@nfds); close
 * the rest. */
static void take_fds(struct msghdr *mh, int *fds, int max, int *nfds)
{
	struct cmsghdr *c;
	size_t i, n;
	int got[8];

	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (n > 8)
			n = 8;
		memcpy(got, CMSG_DATA(c), n * sizeof(int));
		for (i = 0; i < n; i++) {
			if (*nfds < max)
				fds[(*nfds)++] = got[i];
			else
				close(got[i]);
		}
	}
}

static ssize_t raw_recvmsg(struct th_raw *r, void *buf, size_t size,
			   int *fds, int max, int *nfds)
{
	union {
		char b[CMSG_SPACE(8 * sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct iovec iov = { buf, size };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cm.b, .msg_controllen = sizeof(cm.b),
	};
	ssize_t n = recvmsg(r->fd, &mh, MSG_CMSG_CLOEXEC);

	/* A daemon that closes with our messages unread in its queue leaves
	 * us ECONNRESET, reported before what it wrote us last: read on,
	 * as libzcsend does. */
	if (n < 0 && errno == ECONNRESET)
		n = recvmsg(r->fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN ? -ECONNRESET : -errno;
	take_fds(&mh, fds, max, nfds);
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
		return -EMSGSIZE;
	return n;
}

int th_raw_recv_fds(struct th_raw *r, struct zcs_hdr *h, void *payload,
		    size_t cap, int *fds, int max, int *nfds, int timeout_ms)
{
	unsigned char *buf;
	ssize_t n;
	int err;

	*nfds = 0;
	err = th_wait_readable(r->fd, timeout_ms);
	if (err)
		return err;
	buf = malloc(ZCS_MSG_MAX);
	if (!buf)
		return -ENOMEM;
	n = raw_recvmsg(r, buf, ZCS_MSG_MAX, fds, max, nfds);
	if (n == 0)
		err = -ECONNRESET;
	else if (n < 0)
		err = (int)n;
	else
		err = zcs_msg_check(buf, (size_t)n, h);
	if (!err) {
		n -= (ssize_t)sizeof(*h);
		memcpy(payload, buf + sizeof(*h), (size_t)n < cap ? (size_t)n : cap);
		err = (int)n;
	}
	free(buf);
	return err;
}

int th_raw_recv(struct th_raw *r, struct zcs_hdr *h, void *payload,
		size_t cap, int *fd, int timeout_ms)
{
	int tmp = -1, nfds = 0, n;

	n = th_raw_recv_fds(r, h, payload, cap, &tmp, fd ? 1 : 0, &nfds,
			    timeout_ms);
	if (fd)
		*fd = nfds ? tmp : -1;
	return n;
}

static int raw_map_pool(struct th_raw *r, int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if ((uint64_t)st.st_size != r->ok.pool_bytes) {
		fprintf(stderr, "memfd size %lld, granted %llu\n",
			(long long)st.st_size,
			(unsigned long long)r->ok.pool_bytes);
		return -EPROTO;
	}
	r->pool_bytes = r->ok.pool_bytes;
	if (!r->pool_bytes)
		return 0;
	r->pool = mmap(NULL, r->pool_bytes, PROT_READ | PROT_WRITE,
		       MAP_SHARED, fd, 0);
	if (r->pool == MAP_FAILED) {
		r->pool = NULL;
		return -errno;
	}
	return 0;
}

static void raw_hello_fill(struct zcs_hello *m, uint64_t pool_bytes,
			   const char *name)
{
	memset(m, 0, sizeof(*m));
	m->pool_bytes = pool_bytes;
	snprintf(m->name, sizeof(m->name), "%s", name);
}

int th_raw_hello_send(struct th_raw *r, uint8_t version, uint64_t pool_bytes,
		      const char *name)
{
	struct zcs_hello m;

	raw_hello_fill(&m, pool_bytes, name);
	return th_raw_send_msg(r, ZCS_MSG_HELLO, version, &m, sizeof(m));
}

int th_raw_hello_flags(struct th_raw *r, uint64_t pool_bytes, uint32_t flags,
		     uint32_t entries, const char *name)
{
	struct zcs_hello m;
	struct zcs_hdr h;
	int fd = -1, n, err;

	raw_hello_fill(&m, pool_bytes, name);
	m.flags = flags;
	m.ring_entries = entries;
	err = th_raw_send_msg(r, ZCS_MSG_HELLO, ZCS_PROTO_VERSION, &m,
			      sizeof(m));
	if (err)
		return err;
	n = th_raw_recv(r, &h, &r->ok, sizeof(r->ok), &fd, 5000);
	if (n < 0)
		return n;
	/* A control-only connection (pool 0) gets no memfd. */
	if (h.type == ZCS_MSG_HELLO_OK && r->ok.pool_bytes == 0 && fd < 0 &&
	    !(h.flags & ZCS_HDR_F_FD))
		return 0;
	if (h.type != ZCS_MSG_HELLO_OK || !(h.flags & ZCS_HDR_F_FD) ||
	    fd < 0) {
		fprintf(stderr, "HELLO answered by %s, flags %#x, fd %d\n",
			zcs_msg_name(h.type), h.flags, fd);
		err = -EPROTO;
	} else {
		err = raw_map_pool(r, fd);
	}
	if (!err)
		r->pool_fd = fd;
	else if (fd >= 0)
		close(fd);
	return err;
}

int th_raw_hello(struct th_raw *r, uint64_t pool_bytes, const char *name)
{
	return th_raw_hello_flags(r, pool_bytes, 0, 0, name);
}

long th_raw_flow_open(struct th_raw *r, const char *dest)
{
	union {
		struct zcs_flow_ok ok;
		struct zcs_error error;
	} u;
	struct zcs_flow_open m;
	struct zcs_hdr h;
	int n;

	memset(&m, 0, sizeof(m));
	snprintf(m.dest, sizeof(m.dest), "%s", dest);
	n = th_raw_send_msg(r, ZCS_MSG_FLOW_OPEN, ZCS_PROTO_VERSION, &m,
			    sizeof(m));
	if (n)
		return n;
	n = th_raw_recv(r, &h, &u, sizeof(u), NULL, 10000);
	if (n < 0)
		return n;
	if (h.cookie != r->cookie)
		return -EPROTO;
	if (h.type == ZCS_MSG_FLOW_OK)
		return u.ok.flow;
	if (h.type == ZCS_MSG_ERROR)
		return u.error.err < 0 ? u.error.err : -EPROTO;
	return -EPROTO;
}

int th_raw_flow_close(struct th_raw *r, uint32_t flow)
{
	union {
		struct zcs_flow_close closed;
		struct zcs_error error;
	} u;
	struct zcs_flow_close m = { .flow = flow };
	struct zcs_hdr h;
	int n;

	n = th_raw_send_msg(r, ZCS_MSG_FLOW_CLOSE, ZCS_PROTO_VERSION, &m,
			    sizeof(m));
	if (n)
		return n;
	n = th_raw_recv(r, &h, &u, sizeof(u), NULL, 10000);
	if (n < 0)
		return n;
	if (h.cookie != r->cookie)
		return -EPROTO;
	if (h.type == ZCS_MSG_FLOW_CLOSED)
		return u.closed.flow == flow ? 0 : -EPROTO;
	if (h.type == ZCS_MSG_ERROR)
		return u.error.err < 0 ? u.error.err : -EPROTO;
	return -EPROTO;
}

int th_raw_status(struct th_raw *r, struct zcs_status_daemon *out,
		  unsigned *clients, unsigned *dests)
{
	unsigned char buf[sizeof(struct zcs_status_dest) * 2];
	struct zcs_hdr h;
	int n, have = 0;

	*clients = *dests = 0;
	n = th_raw_send_msg(r, ZCS_MSG_STATUS, ZCS_PROTO_VERSION, NULL, 0);
	while (n == 0) {
		n = th_raw_recv(r, &h, buf, sizeof(buf), NULL, 5000);
		if (n < 0)
			break;
		if (h.type == ZCS_MSG_STATUS_DAEMON) {
			memcpy(out, buf, sizeof(*out));
			have = 1;
		} else if (h.type == ZCS_MSG_STATUS_CLIENT) {
			(*clients)++;
		} else if (h.type == ZCS_MSG_STATUS_DEST) {
			(*dests)++;
		} else if (h.type == ZCS_MSG_STATUS_END) {
			return have ? 0 : -EPROTO;
		} else {
			return -EPROTO;
		}
		n = 0;
	}
	return n;
}

int th_raw_send(struct th_raw *r, const struct zcs_msg_send *recs, size_t n)
{
	return th_raw_send_msg(r, ZCS_MSG_SEND, ZCS_PROTO_VERSION, recs,
			       n * sizeof(*recs));
}

int th_raw_completions(struct th_raw *r, struct zcs_msg_completion *out,
		       size_t n, int timeout_ms)
{
	struct zcs_msg_completion *recs = malloc(ZCS_MSG_MAX);
	uint64_t end = th_now_ms() + (uint64_t)timeout_ms;
	size_t got = 0, k;
	struct zcs_hdr h;
	int len = 0;

	if (!recs)
		return -ENOMEM;
	while (got < n && th_now_ms() < end) {
		len = th_raw_recv(r, &h, recs, ZCS_MSG_MAX, NULL,
				  (int)(end - th_now_ms()));
		if (len == -ETIMEDOUT)
			break;
		if (len >= 0 && h.type != ZCS_MSG_COMPLETE) {
			fprintf(stderr, "got %s waiting for completions\n",
				zcs_msg_name(h.type));
			len = -EPROTO;
		}
		if (len < 0)
			break;
		k = (size_t)len / sizeof(*recs);
		if (got + k > n) {
			len = -E2BIG;
			break;
		}
		memcpy(out + got, recs, k * sizeof(*recs));
		got += k;
	}
	free(recs);
	return len < 0 && len != -ETIMEDOUT ? len : (int)got;
}

int th_raw_status_client(struct th_raw *r, uint32_t id,
			 struct zcs_status_client *out)
{
	unsigned char buf[sizeof(struct zcs_status_dest) * 2];
	struct zcs_hdr h;
	struct zcs_status_client m;
	int n, have = 0;

	n = th_raw_send_msg(r, ZCS_MSG_STATUS, ZCS_PROTO_VERSION, NULL, 0);
	while (n == 0) {
		n = th_raw_recv(r, &h, buf, sizeof(buf), NULL, 5000);
		if (n < 0)
			break;
		if (h.type == ZCS_MSG_STATUS_END)
			return have ? 0 : -ENOENT;
		if (h.type == ZCS_MSG_STATUS_CLIENT) {
			memcpy(&m, buf, sizeof(m));
			if (m.id == id) {
				*out = m;
				have = 1;
			}
		}
		n = 0;
	}
	return n;
}

/* One packet, with descriptors attached. */
ssize_t th_send_fds(int sock, const void *buf, size_t len, const int *fds,
		    int nfds)
{
	union {
		char buf[CMSG_SPACE(TH_FDS_MAX * sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct iovec iov = { (void *)(uintptr_t)buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = len ? 1 : 0 };
	struct cmsghdr *c;
	ssize_t n;

	if (nfds < 0 || nfds > TH_FDS_MAX)
		return -EINVAL;
	memset(&cm, 0, sizeof(cm));
	if (nfds) {
		mh.msg_control = cm.buf;
		mh.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, (size_t)nfds * sizeof(int));
	}
	n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	return n < 0 ? -errno : n;
}
