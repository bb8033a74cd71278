/* SPDX-License-Identifier: MIT */
/*
 * UDP segmentation offload, per destination. One GSO send carries up to
 * 64 datagrams (128 since Linux 6.10) that the stack, or a NIC with UDP
 * segmentation offload, cuts at the segment size. Each datagram must fit
 * the path MTU, and the egress device must checksum in hardware: where it
 * cannot, the kernel refuses the send with EIO. A destination then sends
 * one datagram per send; under udp_segment=auto it tries GSO again now and
 * then, as zerocopy=auto does, so that a route change is noticed.
 */
#include <netinet/in.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "zcsd.h"

#define RETRY_MS	10000	/* udp_segment=auto: try GSO again after */

/*
 * The largest datagram payload within the path MTU the connected socket
 * sees, or 0 when it cannot tell.
 */
static uint32_t path_max_segment(const struct dest *dst)
{
	bool v6 = dst->sa.ss_family == AF_INET6;
	uint32_t headers = (v6 ? 40 : 20) + 8;
	socklen_t len = sizeof(int);
	int mtu = 0;

	if (dst->udp_fd < 0 ||
	    getsockopt(dst->udp_fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP,
		       v6 ? IPV6_MTU : IP_MTU, &mtu, &len) ||
	    mtu <= (int)headers)
		return 0;
	if ((uint32_t)mtu - headers > UDP_PAYLOAD_MAX)
		return UDP_PAYLOAD_MAX;
	return (uint32_t)mtu - headers;
}

/*
 * gso_reset - judge @dst afresh: at creation. A segment size is checked
 * against the path MTU when it is known, against the UDP limit otherwise
 * (and GSO, which the kernel would refuse over the MTU, is not used).
 */
void gso_reset(struct zcsd *d, struct dest *dst)
{
	struct gsostate *g = &dst->gso;
	const char *why = "UDP GSO in force";

	*g = (struct gsostate){ .active = false };
	if (dst->proto != ZCS_PROTO_UDP) {
		why = "not UDP";
	} else if (!(d->ring.features & ZCS_FEAT_UDP_GSO)) {
		why = "kernel has no UDP_SEGMENT";
	} else if (!(g->max_segment = path_max_segment(dst))) {
		why = "path MTU unknown";
	} else {
		g->active = true;
	}
	if (dst->proto == ZCS_PROTO_UDP && !g->max_segment)
		g->max_segment = UDP_PAYLOAD_MAX;
	snprintf(g->reason, sizeof(g->reason), "%s", why);
}

/*
 * gso_path_mtu - read @dst's path MTU again: a route or device may have
 * changed since. Kept as it was when it cannot be read.
 */
void gso_path_mtu(struct dest *dst)
{
	uint32_t max = path_max_segment(dst);

	if (max)
		dst->gso.max_segment = max;
}

/*
 * gso_use - may the next send to @dst be a GSO send? After a refusal
 * under udp_segment=auto (or off, for explicit segment sizes), only once
 * RETRY_MS have passed.
 */
bool gso_use(struct dest *dst)
{
	struct gsostate *g = &dst->gso;

	if (g->active || !g->retry_ms || now_ms() < g->retry_ms)
		return g->active;
	g->active = true;
	g->retry_ms = 0;
	snprintf(g->reason, sizeof(g->reason), "trying UDP GSO again");
	return true;
}

/* gso_coalesce - may records to @dst be coalesced into GSO sends now? */
bool gso_coalesce(struct dest *dst)
{
	return dst->policy.udp_segment != ZCS_SEG_OFF && gso_use(dst);
}

/*
 * gso_refused - the kernel refused a GSO send to @dst with @err: EIO where
 * the device cannot checksum it (6.18 checksums in software instead, even
 * on a veth with checksum offload off), EINVAL or (since 6.14) EMSGSIZE
 * where the segment no longer fits the path MTU. udpseg.c has read the
 * path MTU again and sends the refused send as single datagrams; here the
 * destination stops trying for a while, unless policy insists, and says
 * so once.
 */
void gso_refused(struct dest *dst, int err)
{
	struct gsostate *g = &dst->gso;
	bool insist = dst->policy.udp_segment == ZCS_SEG_ON;
	struct log_about a = about_dest(dst, LOG_ID_GSO_REFUSED);

	if (!g->refused)
		log_at(LOG_WARNING, &a, err, "destination %s: the kernel refused "
		       "UDP segmentation; sending one datagram per send%s",
		       dst->name, insist ? " when it refuses" : "");
	g->refused = true;
	snprintf(g->reason, sizeof(g->reason), "kernel refused GSO: %s%s",
		 strerror(-err), insist ? " (on: tried every send)" : "");
	if (insist)
		return;
	g->active = false;
	g->retry_ms = now_ms() + RETRY_MS;
}
