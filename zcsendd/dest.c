/* SPDX-License-Identifier: MIT */
/*
 * Destinations: where flows send, each with its policy and counters. UDP
 * flows to one destination share its connected socket; TCP flows each
 * have their own connection (flow.c). Ad-hoc destinations outlive their
 * flows so status keeps their counters, until room is needed.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zcsd.h"

/*
 * A connected UDP socket. IP_RECVERR turns a full device queue into
 * -ENOBUFS instead of a silent drop.
 */
static int dest_udp_socket(struct dest *dst)
{
	int one = 1, fd, err;
	int level = dst->sa.ss_family == AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IP;
	int opt = dst->sa.ss_family == AF_INET6 ? IPV6_RECVERR : IP_RECVERR;

	fd = socket(dst->sa.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, level, opt, &one, sizeof(one)) ||
	    connect(fd, (struct sockaddr *)&dst->sa, dst->salen)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static struct dest *dest_find(struct zcsd *d, const char *address)
{
	struct dest *dst;

	TAILQ_FOREACH(dst, &d->dests, entry)
		if (!strcmp(dst->address, address))
			return dst;
	return NULL;
}

static void dest_free(struct zcsd *d, struct dest *dst)
{
	TAILQ_REMOVE(&d->dests, dst, entry);
	d->ndests--;
	if (dst->udp_fd >= 0)
		close(dst->udp_fd);
	free(dst);
}

/* Make room for one more: forget the oldest destination without flows. */
static int dest_make_room(struct zcsd *d)
{
	struct dest *dst;

	if (d->ndests < d->cfg.max_dests)
		return 0;
	TAILQ_FOREACH(dst, &d->dests, entry) {
		if (dst->flows == 0) {
			dest_free(d, dst);
			return 0;
		}
	}
	return -ENOSPC;
}

static int dest_new(struct zcsd *d, uint16_t proto,
		    const struct sockaddr_storage *sa, socklen_t salen,
		    const char *address, struct dest **out)
{
	struct dest *dst;
	int err = dest_make_room(d);

	if (err)
		return err;
	dst = calloc(1, sizeof(*dst));
	if (!dst)
		return -ENOMEM;
	dst->proto = proto;
	dst->sa = *sa;
	dst->salen = salen;
	dst->udp_fd = -1;
	dst->policy = d->cfg.defaults;
	snprintf(dst->address, sizeof(dst->address), "%s", address);
	snprintf(dst->name, sizeof(dst->name), "%s", address);
	if (proto == ZCS_PROTO_UDP) {
		dst->udp_fd = dest_udp_socket(dst);
		if (dst->udp_fd < 0) {
			err = dst->udp_fd;
			free(dst);
			return err;
		}
	}
	TAILQ_INSERT_TAIL(&d->dests, dst, entry);
	d->ndests++;
	*out = dst;
	return 0;
}

/*
 * dest_get - the destination a flow names, created on first use, with one
 * more flow counted on it. Returns 0 or -errno: -EINVAL for a malformed
 * address, -EPERM when ad-hoc destinations are off, -ENOSPC when full.
 */
int dest_get(struct zcsd *d, const char *spec, struct dest **out)
{
	struct sockaddr_storage sa;
	char address[64];
	socklen_t salen;
	uint16_t proto;
	int err;

	if (addr_parse(spec, &proto, &sa, &salen))
		return -EINVAL;
	if (!d->cfg.allow_adhoc)
		return -EPERM;
	addr_format(proto, (struct sockaddr *)&sa, address, sizeof(address));
	*out = dest_find(d, address);
	if (!*out) {
		err = dest_new(d, proto, &sa, salen, address, out);
		if (err)
			return err;
	}
	(*out)->flows++;
	return 0;
}

/* dest_put - a flow is gone; the destination stays for its counters. */
void dest_put(struct zcsd *d, struct dest *dst)
{
	dst->flows--;
}

void dest_free_all(struct zcsd *d)
{
	struct dest *dst;

	while ((dst = TAILQ_FIRST(&d->dests)))
		dest_free(d, dst);
}
