/* SPDX-License-Identifier: MIT */
/*
 * libzcsend: connecting to zcsendd, the HELLO handshake that hands over the
 * pool memfd, and the handle's lifetime. Everything a handle needs is
 * allocated here once, so that sending and reaping never allocate.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libzcsend_int.h"

_Static_assert(ZCS_ERRBUF_SIZE == ZCS_ERRMSG_MAX, "ZCS_ERRBUF_SIZE");

#ifndef ZCSD_VERSION
#define ZCSD_VERSION "0.0.0"
#endif

/*
 * zcsi_socket_path - where the daemon listens when the caller names no
 * path: $ZCSENDD_SOCKET, else the system socket for root, else the user's
 * runtime directory. One place, so the daemon's rule is mirrored once.
 * Returns 0, -ENOENT without XDG_RUNTIME_DIR, -ENAMETOOLONG.
 */
int zcsi_socket_path(char *buf, size_t size)
{
	const char *env = secure_getenv("ZCSENDD_SOCKET");
	int n;

	if (env && *env)
		n = snprintf(buf, size, "%s", env);
	else if (geteuid() == 0)
		n = snprintf(buf, size, "/run/zcsendd/zcsendd.sock");
	else if ((env = secure_getenv("XDG_RUNTIME_DIR")) && *env)
		n = snprintf(buf, size, "%s/zcsendd.sock", env);
	else
		return -ENOENT;
	return n >= 0 && (size_t)n < size ? 0 : -ENAMETOOLONG;
}

/* *@path, or where the daemon listens by default (written into @def). */
static int path_or_default(const char **path, char *def, size_t size)
{
	int err = 0;

	if (!*path) {
		err = zcsi_socket_path(def, size);
		if (!err)
			*path = def;
	}
	return err;
}

/*
 * zcsi_fail - remember that the connection is unusable. Every later call
 * reports the first error, since the message stream is out of step.
 */
int zcsi_fail(struct zcs_client *c, int err)
{
	if (!c->err)
		c->err = err;
	return c->err;
}

/* zcsi_remote_errno - an errno value from the daemon, kept only if sane. */
int zcsi_remote_errno(int32_t err)
{
	return err < 0 && err > -4096 ? err : -EPROTO;
}

/*
 * How long connect and HELLO may take together: $ZCSEND_CONNECT_TIMEOUT_MS
 * (0 waits forever), else ZCSI_CONNECT_TIMEOUT_MS. A daemon that is stuck,
 * or a socket whose listener is not zcsendd, must not hang the caller.
 */
static int connect_timeout(void)
{
	const char *env = secure_getenv("ZCSEND_CONNECT_TIMEOUT_MS");
	unsigned long v;
	char *end;

	if (!env || *env < '0' || *env > '9')
		return ZCSI_CONNECT_TIMEOUT_MS;
	errno = 0;
	v = strtoul(env, &end, 10);
	if (errno || *end != '\0' || v > INT32_MAX)
		return ZCSI_CONNECT_TIMEOUT_MS;
	return v ? (int)v : -1;
}

/* Bound a blocking connect(): on AF_UNIX it waits for room in a full
 * backlog for up to SO_SNDTIMEO, then fails with EAGAIN. */
static int set_sndtimeo(int fd, int64_t deadline)
{
	int left = zcsi_remaining(deadline);
	struct timeval tv = { 0, 0 };

	if (left == 0)
		return -ETIMEDOUT;
	if (left > 0) {
		tv.tv_sec = left / 1000;
		tv.tv_usec = (left % 1000) * 1000 + 1;	/* never 0: forever */
	}
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return -errno;
	return 0;
}

/* Connect blocking (a non-blocking AF_UNIX connect fails on a full
 * backlog instead of waiting) until @deadline, then switch to
 * non-blocking for I/O. @path is resolved already. */
static int sock_open(const char *path, int64_t deadline)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, err;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	do {
		err = set_sndtimeo(fd, deadline);
		if (err)
			goto err_close;
		err = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ?
		      -errno : 0;
	} while (err == -EINTR);
	if (err == -EAGAIN)
		err = -ETIMEDOUT;
	if (!err && fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
		err = -errno;
	if (err)
		goto err_close;
	return fd;

err_close:
	close(fd);
	return err;
}

static int client_alloc(struct zcs_client **out)
{
	struct zcs_client *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->fd = -1;
	c->next_cookie = 1;
	c->spin_usec = ZCSI_SPIN_USEC;
	c->txbuf = malloc(ZCS_MSG_MAX);
	c->rxbuf = malloc(ZCS_MSG_MAX);
	if (!c->txbuf || !c->rxbuf) {
		zcs_close(c);
		return -ENOMEM;
	}
	*out = c;
	return 0;
}

static int hello_send(struct zcs_client *c, uint64_t pool_bytes, int rings)
{
	struct zcs_hello h;
	uint64_t cookie;

	memset(&h, 0, sizeof(h));
	h.pool_bytes = pool_bytes;
	h.flags = rings ? ZCS_HELLO_F_RINGS : 0;	/* entries: daemon's choice */
	snprintf(h.name, sizeof(h.name), "%s", program_invocation_short_name);
	return zcsi_request(c, ZCS_MSG_HELLO, &h, sizeof(h), &cookie);
}

/* Map the granted pool; the memfd must really be that large, or touching
 * the tail of the mapping would raise SIGBUS. */
static int pool_map(struct zcs_client *c, int fd, uint64_t bytes)
{
	struct stat st;
	void *p;

	if ((size_t)bytes != bytes || fstat(fd, &st) < 0 || st.st_size < 0 ||
	    (uint64_t)st.st_size < bytes)
		return -EBADMSG;
	p = mmap(NULL, (size_t)bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	c->pool = p;
	c->pool_bytes = (size_t)bytes;
	return zcsi_alloc_init(&c->alloc, c->pool_bytes);
}

/* Take the HELLO_OK limits; the fd is present exactly when a pool is. A
 * failed pool_map leaves the fd to the caller, which closes it. */
static int hello_ok(struct zcs_client *c, int fd)
{
	struct zcs_hello_ok ok;
	unsigned cap;

	memcpy(&ok, zcsi_payload(c), sizeof(ok));
	if ((ok.pool_bytes > 0) != (fd >= 0))
		return -EBADMSG;
	c->client_id = ok.client_id;
	c->features = ok.features;
	c->max_flows = ok.max_flows;
	c->max_send_bytes = ok.max_send_bytes < ZCS_SEND_LEN_MAX ?
			    ok.max_send_bytes : ZCS_SEND_LEN_MAX;
	c->max_inflight = ok.max_inflight < ZCSI_INFLIGHT_CAP ?
			  ok.max_inflight : ZCSI_INFLIGHT_CAP;
	cap = c->max_inflight ? c->max_inflight : 1;
	c->cq = calloc(cap, sizeof(*c->cq));
	if (!c->cq)
		return -ENOMEM;
	return fd >= 0 ? pool_map(c, fd, ok.pool_bytes) : 0;
}

/* The daemon's refusal: its errno, and its reason kept for the caller. */
static int hello_refused(struct zcs_client *c)
{
	struct zcs_error e;

	memcpy(&e, zcsi_payload(c), sizeof(e));
	memcpy(c->errmsg, e.msg, sizeof(c->errmsg));
	c->errmsg[sizeof(c->errmsg) - 1] = '\0';
	return zcsi_remote_errno(e.err);
}

/*
 * The answer to HELLO, received into @hdr with its fds. Any ERROR is that
 * answer, whatever its cookie: a daemon may refuse a peer at accept,
 * before it has read the HELLO (cookie 0 then).
 */
static int hello_take(struct zcs_client *c, const struct zcs_hdr *hdr,
		      int *fds)
{
	int err;

	switch (hdr->type) {
	case ZCS_MSG_HELLO_OK:
		err = hello_ok(c, fds[0]);
		break;
	case ZCS_MSG_ERROR:
		err = hello_refused(c);
		break;
	case ZCS_MSG_VERSION:
		err = -EPROTONOSUPPORT;
		break;
	default:
		err = -EPROTO;
	}
	if (hdr->flags & ZCS_HDR_F_FD)
		close(fds[0]);	/* only HELLO_OK can carry one here */
	return err;
}

/* Wait for the answer to HELLO until @deadline. */
static int hello_reply(struct zcs_client *c, int64_t deadline)
{
	int fds[ZCSI_MSG_FDS] = { -1 };
	struct zcs_hdr hdr;
	int n;

	n = zcsi_msg_wait(c, &hdr, fds, deadline);
	if (n < 0)
		return n;
	return hello_take(c, &hdr, fds);
}

/*
 * Connect and say HELLO within the connect timeout. A HELLO that cannot
 * be written because the daemon already closed is no answer yet: the
 * daemon may have said why before it closed, so read that first. Rings
 * are asked for with a pool only, and their reply follows HELLO_OK.
 */
static int handshake(struct zcs_client *c, const char *path,
		     uint64_t pool_bytes, enum zcsi_transport tr)
{
	int64_t deadline = zcsi_deadline(connect_timeout());
	int rings = pool_bytes && tr != ZCSI_TRANSPORT_SOCKET;
	char def[ZCSI_PATH_MAX];
	int err;

	err = path_or_default(&path, def, sizeof(def));
	if (err)
		return err;
	c->fd = sock_open(path, deadline);
	if (c->fd < 0)
		return c->fd;
	err = hello_send(c, pool_bytes, rings);
	if (err == -EPIPE)
		c->err = 0;	/* read what is left; EOF says -EPIPE again */
	else if (err)
		return err;
	err = hello_reply(c, deadline);
	if (!err && rings)
		err = zcsi_rings_recv(c, deadline, tr == ZCSI_TRANSPORT_RING);
	/* The event-loop fd: over the socket too, for completions that a
	 * reap holds back (libzcsend_wake.c). */
	if (!err && pool_bytes)
		err = zcsi_wake_open(c, c->rings ? c->rings->evfd_client : -1);
	return err;
}

/*
 * zcsi_open - connect and say HELLO. @pool_bytes 0 makes a control-only
 * connection (no pool, no fd back, no rings), which is what zcsendctl
 * status uses; with a pool, $ZCSEND_TRANSPORT picks the transport.
 * @errbuf, if not NULL, gets the daemon's reason when it refused us (or
 * ours for a bad ZCSEND_TRANSPORT), and "" on success or any other failure.
 */
int zcsi_open(const char *path, uint64_t pool_bytes, struct zcs_client **out,
	      char *errbuf, size_t errbuf_size)
{
	enum zcsi_transport tr = ZCSI_TRANSPORT_SOCKET;
	struct zcs_client *c;
	int err;

	if (errbuf && errbuf_size)
		errbuf[0] = '\0';
	err = client_alloc(&c);
	if (err)
		return err;
	err = pool_bytes ? zcsi_transport(c, &tr) : 0;
	if (!err)
		err = handshake(c, path, pool_bytes, tr);
	if (err)
		goto err_client;
	*out = c;
	return 0;

err_client:
	if (errbuf && errbuf_size)
		snprintf(errbuf, errbuf_size, "%s", c->errmsg);
	zcs_close(c);
	return err;
}

/* A non-blocking connect: on AF_UNIX it completes at once or fails, with
 * -EAGAIN when the listener's backlog is full. @path is resolved. */
static int sock_open_nb(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, err;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/*
 * zcsi_open_start - a control-only zcsi_open() that never blocks, for a
 * caller with its own event loop and its own deadline: connect and send
 * HELLO, then call zcsi_open_step() each time c->fd is readable.
 * Returns 0 with *@out set, or -errno (-EAGAIN: the daemon's backlog is
 * full, which a blocking connect would have waited out).
 */
int zcsi_open_start(const char *path, struct zcs_client **out)
{
	char def[ZCSI_PATH_MAX];
	struct zcs_client *c;
	int err;

	err = path_or_default(&path, def, sizeof(def));
	if (err)
		return err;
	err = client_alloc(&c);
	if (err)
		return err;
	c->fd = sock_open_nb(path);
	err = c->fd < 0 ? c->fd : hello_send(c, 0, 0);
	if (err == -EPIPE) {
		c->err = 0;	/* the daemon may have said why: read that */
		err = 0;
	}
	if (err) {
		zcs_close(c);
		return err;
	}
	*out = c;
	return 0;
}

/*
 * zcsi_open_step - take the answer to zcsi_open_start()'s HELLO if it has
 * come, without blocking. Returns 1 once @c is ready for requests, 0 while
 * no answer has come, or -errno; @errbuf then gets the daemon's reason
 * when it refused us, "" otherwise. Close @c after an error.
 */
int zcsi_open_step(struct zcs_client *c, char *errbuf, size_t errbuf_size)
{
	int fds[ZCSI_MSG_FDS] = { -1 };
	struct zcs_hdr hdr;
	int n;

	if (errbuf && errbuf_size)
		errbuf[0] = '\0';
	n = zcsi_msg_read(c, &hdr, fds);
	if (n > 0) {
		n = hello_take(c, &hdr, fds);
		if (!n)
			return 1;
	}
	if (n < 0 && errbuf && errbuf_size)
		snprintf(errbuf, errbuf_size, "%s", c->errmsg);
	return n;
}

ZCS_EXPORT int zcs_connect_err(const char *path, size_t pool_bytes,
			       struct zcs_client **out, char *errbuf,
			       size_t errbuf_size)
{
	if (errbuf && errbuf_size)
		errbuf[0] = '\0';
	if (!out)
		return -EINVAL;
	return zcsi_open(path, pool_bytes ? pool_bytes : ZCSI_POOL_DEFAULT, out,
			 errbuf, errbuf_size);
}

ZCS_EXPORT int zcs_connect(const char *path, size_t pool_bytes,
			   struct zcs_client **out)
{
	return zcs_connect_err(path, pool_bytes, out, NULL, 0);
}

ZCS_EXPORT void zcs_close(struct zcs_client *c)
{
	if (!c)
		return;
	zcsi_wake_close(c->wake);
	zcsi_rings_free(c->rings);
	zcsi_alloc_fini(&c->alloc);
	if (c->pool)
		munmap(c->pool, c->pool_bytes);
	if (c->fd >= 0)
		close(c->fd);
	free(c->cq);
	free(c->rxbuf);
	free(c->txbuf);
	free(c->flows);
	free(c);
}

ZCS_EXPORT int zcs_set_spin_usec(struct zcs_client *c, unsigned usec)
{
	if (usec > ZCSI_SPIN_USEC_MAX)
		return -EINVAL;
	c->spin_usec = usec;
	return 0;
}

ZCS_EXPORT void *zcs_pool_base(const struct zcs_client *c)
{
	return c->pool;
}

ZCS_EXPORT size_t zcs_pool_size(const struct zcs_client *c)
{
	return c->pool_bytes;
}

ZCS_EXPORT unsigned zcs_inflight(const struct zcs_client *c)
{
	return c->queued + c->sent + c->cq_count;
}

ZCS_EXPORT unsigned zcs_max_inflight(const struct zcs_client *c)
{
	return c->max_inflight;
}

ZCS_EXPORT const char *zcs_version(void)
{
	return ZCSD_VERSION;
}
