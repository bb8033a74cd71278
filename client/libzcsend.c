/* SPDX-License-Identifier: MIT */
/*
 * libzcsend: connecting to zcsendd, the HELLO handshake that hands over the
 * pool memfd, and the handle's lifetime. Everything a handle needs is
 * allocated here once, so that sending and reaping never allocate.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libzcsend_int.h"

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

/* Connect blocking (a non-blocking AF_UNIX connect fails on a full
 * backlog instead of waiting), then switch to non-blocking for I/O. */
static int sock_open(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char def[ZCSI_PATH_MAX];
	int fd, err;

	if (!path) {
		err = zcsi_socket_path(def, sizeof(def));
		if (err)
			return err;
		path = def;
	}
	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		goto err_close;
	if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
		goto err_close;
	return fd;

err_close:
	err = -errno;
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
	c->txbuf = malloc(ZCS_MSG_MAX);
	c->rxbuf = malloc(ZCS_MSG_MAX);
	if (!c->txbuf || !c->rxbuf) {
		zcs_close(c);
		return -ENOMEM;
	}
	*out = c;
	return 0;
}

static int hello_send(struct zcs_client *c, uint64_t pool_bytes)
{
	struct zcs_hello h;
	uint64_t cookie;

	memset(&h, 0, sizeof(h));
	h.pool_bytes = pool_bytes;
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

/* Take the HELLO_OK limits; the fd is present exactly when a pool is. */
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

static int hello_reply(struct zcs_client *c)
{
	struct zcs_error e;
	struct zcs_hdr hdr;
	int fd = -1, n, err;

	while ((n = zcsi_msg_read(c, &hdr, &fd)) == 0)
		if ((err = zcsi_poll(c, POLLIN, -1)) < 0)
			return err;
	if (n < 0)
		return n;
	switch (hdr.type) {
	case ZCS_MSG_HELLO_OK:
		err = hello_ok(c, fd);
		break;
	case ZCS_MSG_ERROR:
		memcpy(&e, zcsi_payload(c), sizeof(e));
		err = zcsi_remote_errno(e.err);
		break;
	case ZCS_MSG_VERSION:
		err = -EPROTONOSUPPORT;
		break;
	default:
		err = -EPROTO;
	}
	if (fd >= 0)
		close(fd);
	return err;
}

/*
 * zcsi_open - connect and say HELLO. @pool_bytes 0 makes a control-only
 * connection (no pool, no fd back), which is what zcsendctl status uses.
 */
int zcsi_open(const char *path, uint64_t pool_bytes, struct zcs_client **out)
{
	struct zcs_client *c;
	int err;

	err = client_alloc(&c);
	if (err)
		return err;
	c->fd = sock_open(path);
	if (c->fd < 0) {
		err = c->fd;
		goto err_client;
	}
	err = hello_send(c, pool_bytes);
	if (!err)
		err = hello_reply(c);
	if (err)
		goto err_client;
	*out = c;
	return 0;

err_client:
	zcs_close(c);
	return err;
}

ZCS_EXPORT int zcs_connect(const char *path, size_t pool_bytes,
			   struct zcs_client **out)
{
	if (!out)
		return -EINVAL;
	return zcsi_open(path, pool_bytes ? pool_bytes : ZCSI_POOL_DEFAULT, out);
}

ZCS_EXPORT void zcs_close(struct zcs_client *c)
{
	if (!c)
		return;
	zcsi_alloc_fini(&c->alloc);
	if (c->pool)
		munmap(c->pool, c->pool_bytes);
	if (c->fd >= 0)
		close(c->fd);
	free(c->cq);
	free(c->rxbuf);
	free(c->txbuf);
	free(c);
}

ZCS_EXPORT int zcs_get_fd(const struct zcs_client *c)
{
	return c->fd;
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
