/* SPDX-License-Identifier: MIT */
/*
 * Destinations: where flows send, each with its policy and counters. UDP
 * flows to one destination share its connected socket; TCP flows each
 * have their own connection (flow.c). Configured destinations follow the
 * config through reloads; ad-hoc ones outlive their flows so status keeps
 * their counters, until room is needed.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "zcsd.h"
#include "handover/state.h"

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

/* A live destination by name, or by its canonical address. */
static struct dest *dest_lookup(struct zcsd *d, const char *name,
				const char *address)
{
	struct dest *dst;

	TAILQ_FOREACH(dst, &d->dests, entry) {
		if (dst->removed)
			continue;
		if (name && !strcmp(dst->name, name))
			return dst;
		if (address && !strcmp(dst->address, address))
			return dst;
	}
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

/* Make room for one more: forget the oldest ad-hoc one without flows. */
static int dest_make_room(struct zcsd *d)
{
	struct dest *dst;

	if (d->ndests < d->cfg.max_dests)
		return 0;
	TAILQ_FOREACH(dst, &d->dests, entry) {
		if (dst->flows == 0 && !dst->named) {
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
	zcauto_reset(d, dst);
	gso_reset(d, dst);
	TAILQ_INSERT_TAIL(&d->dests, dst, entry);
	d->ndests++;
	*out = dst;
	return 0;
}

/*
 * Parse a udp:// or tcp:// address and write its canonical text, the key
 * destinations are found by. Returns 0 or -EINVAL.
 */
static int dest_canonical(const char *spec, uint16_t *proto,
			  struct sockaddr_storage *sa, socklen_t *salen,
			  char address[CONFIG_ADDR_MAX])
{
	if (addr_parse(spec, proto, sa, salen))
		return -EINVAL;
	addr_format(*proto, (struct sockaddr *)sa, address, CONFIG_ADDR_MAX);
	return 0;
}

/* Is an ad-hoc address one that clients may name? */
static int dest_adhoc_allowed(struct zcsd *d,
			      const struct sockaddr_storage *sa)
{
	uint32_t i;

	if (!d->cfg.allow_adhoc)
		return -EPERM;
	if (!d->cfg.n_adhoc_nets)
		return 0;
	for (i = 0; i < d->cfg.n_adhoc_nets; i++)
		if (addr_net_match(&d->cfg.adhoc_nets[i],
				   (const struct sockaddr *)sa))
			return 0;
	return -EPERM;
}

/* The destination at an address: a named one with that address, an
 * ad-hoc one met before, or a new ad-hoc one if the config allows. */
static int dest_by_address(struct zcsd *d, const char *spec,
			   struct dest **out)
{
	struct sockaddr_storage sa;
	char address[CONFIG_ADDR_MAX];
	socklen_t salen;
	uint16_t proto;
	int err;

	if (dest_canonical(spec, &proto, &sa, &salen, address))
		return -EINVAL;
	*out = dest_lookup(d, NULL, address);
	if (*out && (*out)->named)
		return 0;
	err = dest_adhoc_allowed(d, &sa);
	if (err || *out)
		return err;
	return dest_new(d, proto, &sa, salen, address, out);
}

/*
 * dest_get - the destination a flow names (a configured name, or
 * udp:// tcp:// address), with one more flow counted on it. Returns 0 or
 * -errno: -ENOENT for an unknown or removed name, -EINVAL for a malformed
 * address, -EPERM when ad-hoc destinations (or that network) are not
 * allowed, -ENOSPC when full.
 */
int dest_get(struct zcsd *d, const char *spec, struct dest **out)
{
	int err = 0;

	if (strstr(spec, "://")) {
		err = dest_by_address(d, spec, out);
	} else {
		*out = dest_lookup(d, spec, NULL);
		if (!*out || !(*out)->named)
			err = -ENOENT;
	}
	if (!err)
		(*out)->flows++;
	return err;
}

/* dest_find_any - a live destination by name or address, for policy. */
struct dest *dest_find_any(struct zcsd *d, const char *spec)
{
	struct sockaddr_storage sa;
	char address[CONFIG_ADDR_MAX];
	socklen_t salen;
	uint16_t proto;

	if (!dest_canonical(spec, &proto, &sa, &salen, address))
		return dest_lookup(d, NULL, address);
	return dest_lookup(d, spec, NULL);
}

/* A removed destination goes with its last flow. Returns true if freed. */
static bool dest_reap(struct zcsd *d, struct dest *dst)
{
	if (!dst->removed || dst->flows)
		return false;
	log_info("destination %s removed", dst->name);
	dest_free(d, dst);
	return true;
}

/* dest_put - a flow is gone. */
void dest_put(struct zcsd *d, struct dest *dst)
{
	dst->flows--;
	dest_reap(d, dst);
}

/* Retire a destination: no new flows; freed when its last flow closes. */
static void dest_retire(struct zcsd *d, struct dest *dst)
{
	dst->removed = true;
	if (!dest_reap(d, dst))
		log_info("destination %s removed; %u flows finish first",
			 dst->name, dst->flows);
}

/*
 * dest_set_policy - a new policy, in place: flows and sends go on. The
 * zerocopy judgement restarts only when the zerocopy mode changes.
 */
void dest_set_policy(struct zcsd *d, struct dest *dst,
		     const struct zcsd_policy *p)
{
	bool mode_changed = p->zerocopy != dst->policy.zerocopy;

	dst->policy = *p;
	if (mode_changed)
		zcauto_reset(d, dst);
}

/* Bring one configured destination in line with its config entry. */
static int dest_apply_one(struct zcsd *d, const struct zcsd_dest_conf *dc)
{
	struct sockaddr_storage sa;
	struct dest *dst = dest_lookup(d, dc->name, NULL);
	char address[CONFIG_ADDR_MAX];
	socklen_t salen;
	uint16_t proto;
	int err;

	/* The config parser checked the address already. */
	if (dest_canonical(dc->address, &proto, &sa, &salen, address))
		return -EINVAL;
	if (dst && strcmp(dst->address, address)) {
		dest_retire(d, dst);	/* moved: a new one takes the name */
		dst = NULL;
	}
	if (!dst) {
		dst = dest_lookup(d, NULL, address);	/* was ad-hoc? */
		if (dst && dst->named)
			dst = NULL;	/* another name, same address */
	}
	if (!dst) {
		err = dest_new(d, proto, &sa, salen, address, &dst);
		if (err)
			return err;
	}
	dst->named = true;
	snprintf(dst->name, sizeof(dst->name), "%s", dc->name);
	dest_set_policy(d, dst, &dc->policy);
	return 0;
}

/*
 * dest_apply_config - make the destinations match d->cfg: configured ones
 * appear or change in place, ones no longer configured are retired, and
 * ad-hoc ones take the new [defaults]. Returns 0 or the first -errno.
 */
int dest_apply_config(struct zcsd *d)
{
	struct dest *dst, *next;
	uint32_t i;
	int err, ret = 0;

	for (dst = TAILQ_FIRST(&d->dests); dst; dst = next) {
		next = TAILQ_NEXT(dst, entry);
		if (dst->named && !dst->removed &&
		    !config_dest(&d->cfg, dst->name))
			dest_retire(d, dst);
	}
	for (i = 0; i < d->cfg.ndests; i++) {
		err = dest_apply_one(d, &d->cfg.dests[i]);
		if (err) {
			log_errno(err, "destination %s", d->cfg.dests[i].name);
			ret = ret ? ret : err;
		}
	}
	TAILQ_FOREACH(dst, &d->dests, entry) {
		if (!dst->named)
			dest_set_policy(d, dst, &d->cfg.defaults);
	}
	return ret;
}

/* A carried UDP socket: a datagram socket connected where @hd says. */
static int dest_adopt_check(const struct hs_dest *hd, int fd)
{
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);

	if (sd_is_socket(fd, hd->sa.ss_family, SOCK_DGRAM, -1) <= 0 ||
	    getpeername(fd, (struct sockaddr *)&peer, &len) ||
	    len != hd->salen || memcmp(&peer, &hd->sa, len))
		return -EBADF;
	return 0;
}

/*
 * dest_adopt - a destination a hand-over carried, with its UDP socket @fd
 * (ours from here on, whatever the outcome) and @flows flows to come.
 * dest_apply_config() then treats it as a reload would: the config's
 * policy, or retired when no longer configured. Returns it, or NULL.
 */
struct dest *dest_adopt(struct zcsd *d, const struct hs_dest *hd, int fd,
			uint32_t flows)
{
	struct dest *dst = calloc(1, sizeof(*dst));

	if (!dst || (hd->proto == ZCS_PROTO_UDP && dest_adopt_check(hd, fd))) {
		if (fd >= 0)
			close(fd);
		free(dst);
		return NULL;
	}
	dst->proto = hd->proto;
	memcpy(&dst->sa, &hd->sa, sizeof(dst->sa));
	dst->salen = hd->salen;
	dst->udp_fd = fd;
	dst->policy = d->cfg.defaults;
	dst->named = hd->named;
	dst->removed = hd->removed;
	dst->flows = flows;
	dst->st = hd->st;
	snprintf(dst->address, sizeof(dst->address), "%s", hd->address);
	snprintf(dst->name, sizeof(dst->name), "%s", hd->name);
	zcauto_reset(d, dst);
	gso_reset(d, dst);
	TAILQ_INSERT_TAIL(&d->dests, dst, entry);
	d->ndests++;
	return dst;
}

void dest_free_all(struct zcsd *d)
{
	struct dest *dst;

	while ((dst = TAILQ_FIRST(&d->dests)))
		dest_free(d, dst);
}
