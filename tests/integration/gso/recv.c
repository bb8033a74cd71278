/* SPDX-License-Identifier: MIT */
/*
 * The UDP GSO tests' receiver: a socket bound to loopback or to an
 * address in a namespace, with a receive buffer large enough for a whole
 * case, and a thread that keeps every datagram whole as it arrived.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gso.h"

#define RCVBUF		(64 << 20)

static void recv_keep(struct gso_recv *rv, const uint8_t *buf, size_t n)
{
	struct gso_dgram *d;

	pthread_mutex_lock(&rv->lock);
	if (rv->n == rv->cap) {
		rv->cap = rv->cap ? rv->cap * 2 : 256;
		rv->d = realloc(rv->d, rv->cap * sizeof(*rv->d));
		TH_CHECK(rv->d, "realloc");
	}
	d = &rv->d[rv->n++];
	d->len = (uint32_t)n;
	d->data = malloc(n ? n : 1);
	TH_CHECK(d->data, "malloc");
	memcpy(d->data, buf, n);
	pthread_mutex_unlock(&rv->lock);
}

static void *recv_main(void *arg)
{
	struct gso_recv *rv = arg;
	struct pollfd p = { .fd = rv->fd, .events = POLLIN };
	uint8_t *buf = malloc(GSO_DGRAM_MAX);
	ssize_t n;

	while (!rv->stop) {
		if (poll(&p, 1, 50) <= 0)
			continue;
		/* MSG_TRUNC: a datagram over 64 KB would show its real size. */
		while ((n = recv(rv->fd, buf, GSO_DGRAM_MAX,
				 MSG_DONTWAIT | MSG_TRUNC)) >= 0)
			recv_keep(rv, buf, (size_t)n > GSO_DGRAM_MAX ?
					   GSO_DGRAM_MAX : (size_t)n);
	}
	free(buf);
	return NULL;
}

static int recv_bind(struct gso_recv *rv, const char *addr)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	socklen_t sl = sizeof(ss);
	void *a = rv->family == AF_INET ? (void *)&in->sin_addr
					: (void *)&in6->sin6_addr;
	int big = RCVBUF;

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = (sa_family_t)rv->family;
	if (!addr)
		addr = rv->family == AF_INET ? "127.0.0.1" : "::1";
	if (inet_pton(rv->family, addr, a) != 1)
		return -EINVAL;
	snprintf(rv->addr, sizeof(rv->addr), "%s", addr);
	rv->fd = socket(rv->family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (rv->fd < 0)
		return -errno;
	/* Room for every datagram of a case, so the kernel drops none. */
	if (setsockopt(rv->fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)))
		setsockopt(rv->fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (bind(rv->fd, (struct sockaddr *)&ss, rv->family == AF_INET ?
		 sizeof(*in) : sizeof(*in6)) < 0 ||
	    getsockname(rv->fd, (struct sockaddr *)&ss, &sl) < 0) {
		int err = -errno;

		close(rv->fd);
		rv->fd = -1;
		return err;
	}
	rv->port = ntohs(rv->family == AF_INET ? in->sin_port : in6->sin6_port);
	return 0;
}

int gso_recv_start(struct gso_recv *rv, int family, const char *addr)
{
	int err;

	memset(rv, 0, sizeof(*rv));
	rv->family = family;
	pthread_mutex_init(&rv->lock, NULL);
	err = recv_bind(rv, addr);
	if (err)
		return err;
	if (pthread_create(&rv->thread, NULL, recv_main, rv)) {
		close(rv->fd);
		rv->fd = -1;
		return -EAGAIN;
	}
	return 0;
}

void gso_recv_clear(struct gso_recv *rv)
{
	size_t i;

	pthread_mutex_lock(&rv->lock);
	for (i = 0; i < rv->n; i++)
		free(rv->d[i].data);
	rv->n = 0;
	pthread_mutex_unlock(&rv->lock);
}

void gso_recv_stop(struct gso_recv *rv)
{
	if (rv->fd < 0)
		return;
	rv->stop = 1;
	pthread_join(rv->thread, NULL);
	close(rv->fd);
	rv->fd = -1;
	gso_recv_clear(rv);
	free(rv->d);
	rv->d = NULL;
	rv->cap = 0;
	pthread_mutex_destroy(&rv->lock);
}

void gso_recv_dest(const struct gso_recv *rv, char *buf, size_t size)
{
	snprintf(buf, size, rv->family == AF_INET ? "udp://%s:%u"
						  : "udp://[%s]:%u",
		 rv->addr, rv->port);
}

size_t gso_recv_count(struct gso_recv *rv)
{
	size_t n;

	pthread_mutex_lock(&rv->lock);
	n = rv->n;
	pthread_mutex_unlock(&rv->lock);
	return n;
}
