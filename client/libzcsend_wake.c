/* SPDX-License-Identifier: MIT */
/*
 * libzcsend event-loop descriptor, both transports: zcs_get_fd() hands out
 * an epoll fd watching the control socket and an eventfd. A reap that
 * returns fewer completions than the library holds leaves the socket (or
 * the ring) empty, so the library writes the eventfd itself while it holds
 * completions back: the fd is then readable exactly as long as zcs_reap()
 * has something to give, and every such write is a new edge for epoll.
 */
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "libzcsend_int.h"

static int epoll_watch(int epfd, int fd, uint32_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = tag };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

/*
 * zcsi_wake_open - make the descriptor of zcs_get_fd(): an epoll fd over
 * the socket and @evfd, the ring's client eventfd (which the daemon also
 * writes, and stays the rings' to close), or -1 over the socket for an
 * eventfd of our own. Returns 0 or -errno.
 */
int zcsi_wake_open(struct zcs_client *c, int evfd)
{
	struct zcsi_wake *w = calloc(1, sizeof(*w));
	int err;

	if (!w)
		return -ENOMEM;
	w->evfd = evfd;
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (w->epfd < 0)
		goto err_errno;
	if (evfd < 0) {
		w->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (w->evfd < 0)
			goto err_errno;
		w->own_evfd = 1;
	}
	err = epoll_watch(w->epfd, c->fd, ZCSI_EP_SOCKET);
	if (!err)
		err = epoll_watch(w->epfd, w->evfd, ZCSI_EP_EVENTFD);
	if (err)
		goto err_wake;
	c->wake = w;
	return 0;

err_errno:
	err = -errno;
err_wake:
	zcsi_wake_close(w);
	return err;
}

/* zcsi_wake_close - close what zcsi_wake_open() made; NULL is ignored. */
void zcsi_wake_close(struct zcsi_wake *w)
{
	if (!w)
		return;
	if (w->epfd >= 0)
		close(w->epfd);
	if (w->own_evfd)
		close(w->evfd);
	free(w);
}

/*
 * zcsi_evfd_write - add one to an eventfd. Even when it is readable
 * already, a write wakes epoll waiters again (edge-triggered ones too).
 * Returns 0 or -errno; a full counter (EAGAIN) has a wake-up pending.
 */
int zcsi_evfd_write(int fd)
{
	uint64_t one = 1;
	ssize_t n;

	do
		n = write(fd, &one, sizeof(one));
	while (n < 0 && errno == EINTR);
	return n == sizeof(one) || errno == EAGAIN ? 0 : -errno;
}

/*
 * zcsi_wake_park - before a call returns to a caller that may sleep on
 * zcs_get_fd(). With rings, zcsi_ring_park(). Over the socket: with
 * completions held back, make the fd readable, by a fresh write (a new
 * edge) after a reap that handed some out (@reaped) or when more were
 * buffered since our last write; with none held, take our write back so
 * that a level-triggered loop goes quiet. Costs no system call when
 * nothing is held and nothing was written. Returns 0 or -errno.
 */
int zcsi_wake_park(struct zcs_client *c, int reaped)
{
	struct zcsi_wake *w = c->wake;
	uint64_t v;
	int err;

	if (c->rings)
		return zcsi_ring_park(c);
	if (!w || !w->exported)
		return 0;
	if (!c->cq_count) {
		if (w->held) {
			w->held = 0;
			while (read(w->evfd, &v, sizeof(v)) < 0 &&
			       errno == EINTR)
				;
		}
		return 0;
	}
	if (!reaped && c->cq_count <= w->held)
		return 0;
	err = zcsi_evfd_write(w->evfd);
	if (err)
		return zcsi_fail(c, err);
	w->held = c->cq_count;
	return 0;
}

/*
 * The event-loop fd (zcs_get_fd()). From the first call on, the library
 * keeps it readable while completions wait: over the socket with writes
 * of its own (zcsi_wake_park), with rings by asking the daemon for a
 * wake-up (zcsi_ring_park). A control-only handle has no pool and no
 * completions, and gets the socket itself.
 */
ZCS_EXPORT int zcs_get_fd(const struct zcs_client *c)
{
	struct zcsi_wake *w = c->wake;

	if (!w)
		return c->fd;
	/* Completions held back before anyone could wait: say so now.
	 * Errors are left for the next call to find: this one cannot fail. */
	if (c->rings)
		zcsi_ring_export(c->rings, c->cq_count);
	else if (!w->exported && c->cq_count && !zcsi_evfd_write(w->evfd))
		w->held = c->cq_count;
	w->exported = 1;
	return w->epfd;
}
