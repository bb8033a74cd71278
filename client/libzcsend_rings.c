/* SPDX-License-Identifier: MIT */
/*
 * libzcsend ring setup: which transport ZCSEND_TRANSPORT asks for, the
 * RINGS reply that follows HELLO_OK with the ring memfd and two eventfds
 * (the client one joins zcs_get_fd()'s epoll fd, libzcsend_wake.c). Every fd
 * received is closed on every failure path.
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libzcsend_int.h"

/*
 * zcsi_transport - $ZCSEND_TRANSPORT: unset or empty asks for rings and
 * accepts the socket; "socket" or "ring" forces one. Anything else is a
 * mistake the caller must hear about, with the reason in c->errmsg.
 * Returns 0 with *@out set, or -EINVAL.
 */
int zcsi_transport(struct zcs_client *c, enum zcsi_transport *out)
{
	const char *env = secure_getenv("ZCSEND_TRANSPORT");

	if (!env || !*env)
		*out = ZCSI_TRANSPORT_AUTO;
	else if (!strcmp(env, "socket"))
		*out = ZCSI_TRANSPORT_SOCKET;
	else if (!strcmp(env, "ring"))
		*out = ZCSI_TRANSPORT_RING;
	else {
		snprintf(c->errmsg, sizeof(c->errmsg), ZCSI_OWN_REASON
			 "ZCSEND_TRANSPORT=%.32s is neither socket nor ring "
			 "(unset: either)", env);
		return -EINVAL;
	}
	return 0;
}

static struct zcsi_rings *rings_new(void)
{
	struct zcsi_rings *rs = calloc(1, sizeof(*rs));

	if (!rs)
		return NULL;
	rs->evfd_daemon = rs->evfd_client = -1;
	zcs_spare_init(&rs->spare);
	return rs;
}

/* zcsi_rings_free - unmap and close everything; NULL is ignored. */
void zcsi_rings_free(struct zcsi_rings *rs)
{
	if (!rs)
		return;
	if (rs->map)
		munmap(rs->map, rs->map_bytes);
	if (rs->evfd_client >= 0)
		close(rs->evfd_client);
	if (rs->evfd_daemon >= 0)
		close(rs->evfd_daemon);
	free(rs);
}

/* Map the ring memfd, which must be exactly as long as the layout says:
 * shorter would SIGBUS on touch, longer means we misread the reply. */
static int rings_map(struct zcsi_rings *rs, int memfd,
		     const struct zcs_rings *lay)
{
	struct stat st;
	void *p;

	if ((size_t)lay->bytes != lay->bytes || fstat(memfd, &st) < 0 ||
	    st.st_size < 0 || (uint64_t)st.st_size != lay->bytes)
		return -EBADMSG;
	p = mmap(NULL, (size_t)lay->bytes, PROT_READ | PROT_WRITE, MAP_SHARED,
		 memfd, 0);
	if (p == MAP_FAILED)
		return -errno;
	rs->map = p;
	rs->map_bytes = (size_t)lay->bytes;
	return zcsi_ring_init(&rs->r, p, lay);
}

/* Our eventfd is read only to reset it, so make that non-blocking. */
static int evfd_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

/* Take the RINGS reply: fds in PROTOCOL.md's order; the memfd is only
 * needed until it is mapped. On failure every fd is closed. */
static int rings_take(struct zcs_client *c, const int *fds)
{
	struct zcs_rings lay;
	struct zcsi_rings *rs;
	int err;

	memcpy(&lay, zcsi_payload(c), sizeof(lay));
	rs = rings_new();
	if (!rs) {
		close(fds[0]);
		close(fds[1]);
		close(fds[2]);
		return -ENOMEM;
	}
	rs->evfd_daemon = fds[1];
	rs->evfd_client = fds[2];
	err = zcs_rings_check(&lay);
	if (!err)
		err = rings_map(rs, fds[0], &lay);
	close(fds[0]);
	if (!err)
		err = evfd_nonblock(rs->evfd_client);
	if (err) {
		zcsi_rings_free(rs);
		return err;
	}
	c->rings = rs;
	return 0;
}

/* The daemon would not make rings: its reason is kept for a caller that
 * insisted on them; others go on over the socket. */
static int rings_refused(struct zcs_client *c, int forced)
{
	struct zcs_error e;

	memcpy(&e, zcsi_payload(c), sizeof(e));
	if (e.req_type != ZCS_MSG_HELLO)
		return -EPROTO;
	if (!forced)
		return 0;
	memcpy(c->errmsg, e.msg, sizeof(c->errmsg));
	c->errmsg[sizeof(c->errmsg) - 1] = '\0';
	return zcsi_remote_errno(e.err);
}

/*
 * zcsi_rings_recv - after HELLO_OK for a HELLO with ZCS_HELLO_F_RINGS,
 * read the daemon's RINGS (map it, enter ring mode) or its ERROR for
 * HELLO (stay on the socket, unless @forced). Bounded by @deadline.
 * Returns 0 or -errno.
 */
int zcsi_rings_recv(struct zcs_client *c, int64_t deadline, int forced)
{
	int fds[ZCSI_MSG_FDS];
	struct zcs_hdr hdr;
	int n;

	n = zcsi_msg_wait(c, &hdr, fds, deadline);
	if (n < 0)
		return n;
	if (hdr.type == ZCS_MSG_RINGS)
		return rings_take(c, fds);
	if (hdr.flags & ZCS_HDR_F_FD)
		close(fds[0]);	/* a second HELLO_OK: the only other fd type */
	if (hdr.type == ZCS_MSG_ERROR)
		return rings_refused(c, forced);
	return -EPROTO;
}
