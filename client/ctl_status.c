/* SPDX-License-Identifier: MIT */
/*
 * zcsendctl: fetch the daemon's state with one STATUS request over a
 * control-only connection, for `status` and `metrics`, and the names both
 * give the protocol's enums and feature bits. Everything in a reply comes
 * from another process: tables are bounded, strings checked where printed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libzcsend_int.h"
#include "ctl_status.h"

#define ENTRIES_MAX	65536u	/* per table: bounds what a daemon can make us hold */

const struct ctl_feature ctl_features[] = {
	{ ZCS_FEAT_SEND_ZC, "send_zc" },
	{ ZCS_FEAT_SENDMSG_ZC, "sendmsg_zc" },
	{ ZCS_FEAT_REPORT_USAGE, "report_usage" },
	{ ZCS_FEAT_DEFER_TASKRUN, "defer_taskrun" },
	{ ZCS_FEAT_SINGLE_ISSUER, "single_issuer" },
	{ ZCS_FEAT_UDP_GSO, "udp_gso" },
	{ ZCS_FEAT_SENDMSG_ZC_FIXED, "sendmsg_zc_fixed" },
};

const size_t ctl_nfeatures = sizeof(ctl_features) / sizeof(ctl_features[0]);

/* Room for one more entry in @arr, doubling as it fills. */
static int grow(void **arr, size_t n, size_t size)
{
	void *p;

	if (n >= ENTRIES_MAX)
		return -E2BIG;
	if (n & (n - 1))
		return 0;	/* not a power of two: room is left */
	p = realloc(*arr, (n ? n * 2 : 1) * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	return 0;
}

/* One reply message; 1 at STATUS_END, 0 for more, -errno. */
static int status_take(struct zcs_client *c, struct ctl_status *st, int type,
		       int *have_daemon)
{
	const void *p = zcsi_payload(c);
	struct zcs_error e;
	int err = 0;

	if (type != ZCS_MSG_STATUS_DAEMON && type != ZCS_MSG_ERROR &&
	    !*have_daemon)
		return -EPROTO;	/* the daemon record comes first */
	switch (type) {
	case ZCS_MSG_STATUS_DAEMON:
		memcpy(&st->d, p, sizeof(st->d));
		*have_daemon = 1;
		return 0;
	case ZCS_MSG_STATUS_CLIENT:
		err = grow((void **)&st->clients, st->nclients, sizeof(*st->clients));
		if (!err)
			memcpy(&st->clients[st->nclients++], p, sizeof(*st->clients));
		return err;
	case ZCS_MSG_STATUS_DEST:
		err = grow((void **)&st->dests, st->ndests, sizeof(*st->dests));
		if (!err)
			memcpy(&st->dests[st->ndests++], p, sizeof(*st->dests));
		return err;
	case ZCS_MSG_STATUS_END:
		return 1;
	case ZCS_MSG_ERROR:
		memcpy(&e, p, sizeof(e));
		return zcsi_remote_errno(e.err);
	}
	return -EPROTO;
}

/*
 * After STATUS_END: ask SERVICE, last, since a daemon from before it
 * answers an ERROR with cookie 0 and closes the connection. 1 when there
 * is nothing to ask (that daemon, known by its pid), 0, or -errno.
 */
static int service_ask(struct zcs_client *c, struct ctl_status_req *rq)
{
	if (rq->no_svc_pid == (int64_t)rq->st.d.pid)
		return 1;
	rq->asked_svc = 1;
	return zcsi_request(c, ZCS_MSG_SERVICE, NULL, 0, &rq->svc_cookie);
}

/* The answer to SERVICE: 1 when it came (or was refused), else -errno. */
static int service_take(struct zcs_client *c, struct ctl_status_req *rq,
			const struct zcs_hdr *hdr)
{
	struct ctl_status *st = &rq->st;

	if (hdr->type == ZCS_MSG_SERVICE_INFO &&
	    hdr->cookie == rq->svc_cookie) {
		memcpy(&st->svc, zcsi_payload(c), sizeof(st->svc));
		st->have_svc = 1;
		st->svc_seen_ms = (uint64_t)zcsi_deadline(0);
		return 1;
	}
	if (hdr->type == ZCS_MSG_ERROR &&
	    (hdr->cookie == rq->svc_cookie || hdr->cookie == 0))
		return 1;	/* a daemon from before SERVICE: none */
	return zcsi_unexpected(c, hdr);
}

/*
 * ctl_status_start - send one STATUS request on @c and return without
 * waiting: ctl_status_read() collects the reply into @rq->st, emptied
 * here, and asks SERVICE after it unless the daemon is @no_svc_pid (one
 * that did not know it; -1: none). Returns 0 or -errno.
 */
int ctl_status_start(struct zcs_client *c, struct ctl_status_req *rq,
		     int64_t no_svc_pid)
{
	memset(rq, 0, sizeof(*rq));
	rq->no_svc_pid = no_svc_pid;
	return zcsi_request(c, ZCS_MSG_STATUS, NULL, 0, &rq->cookie);
}

/*
 * ctl_status_read - take every reply message of @rq waiting on @c, without
 * blocking: STATUS, then SERVICE. Returns 1 once the reply is whole
 * (@rq->st is the caller's to free; without SERVICE from a daemon that
 * did not know it, and then the daemon has closed @c), 0 while more is to
 * come, or -errno; after an error free @rq->st and close the connection,
 * which may hold half a reply.
 */
int ctl_status_read(struct zcs_client *c, struct ctl_status_req *rq)
{
	struct zcs_hdr hdr;
	int n;

	for (;;) {
		n = zcsi_recv(c, &hdr);
		if (n <= 0)
			return n;
		if (hdr.type == ZCS_MSG_COMPLETE)
			continue;	/* a control-only client has none */
		if (rq->asked_svc)
			return service_take(c, rq, &hdr);
		if (hdr.cookie != rq->cookie)
			return zcsi_unexpected(c, &hdr);
		n = status_take(c, &rq->st, hdr.type, &rq->have_daemon);
		if (n > 0)
			n = service_ask(c, rq);
		if (n)
			return n;
	}
}

/*
 * ctl_status_fetch - one STATUS request on @c, the whole reply into @st
 * (overwritten; free it with ctl_status_free()), within @timeout_ms
 * (negative: no limit). Returns 0, or -errno with @st empty; after an
 * error the connection may hold half a reply: close it.
 */
int ctl_status_fetch(struct zcs_client *c, struct ctl_status *st,
		     int timeout_ms)
{
	int64_t deadline = zcsi_deadline(timeout_ms);
	struct ctl_status_req rq;
	int err;

	err = ctl_status_start(c, &rq, -1);
	while (!err) {
		err = ctl_status_read(c, &rq);
		if (err)
			break;
		if (zcsi_remaining(deadline) == 0)
			err = -ETIMEDOUT;
		else
			err = zcsi_wait_io(c, zcsi_remaining(deadline));
		if (err > 0)
			err = 0;	/* woken: read again */
	}
	if (err < 0) {
		ctl_status_free(&rq.st);
		memset(st, 0, sizeof(*st));
		return err;
	}
	*st = rq.st;
	return 0;
}

/* ctl_status_free - what ctl_status_fetch() allocated; @st is left empty. */
void ctl_status_free(struct ctl_status *st)
{
	free(st->clients);
	free(st->dests);
	memset(st, 0, sizeof(*st));
}

const char *ctl_proto_name(uint16_t proto)
{
	return proto == ZCS_PROTO_UDP ? "udp" :
	       proto == ZCS_PROTO_TCP ? "tcp" : "unknown";
}

const char *ctl_flush_name(uint8_t flush)
{
	return flush == ZCS_FLUSH_IMMEDIATE ? "immediate" :
	       flush == ZCS_FLUSH_BATCH ? "batch" : "unknown";
}

/* zerocopy and udp_segment share their values (ZCS_ZC_*, ZCS_SEG_*). */
const char *ctl_zc_name(uint8_t zc)
{
	return zc == ZCS_ZC_OFF ? "off" : zc == ZCS_ZC_ON ? "on" :
	       zc == ZCS_ZC_AUTO ? "auto" : "unknown";
}

/*
 * ctl_zc, ctl_copied - the one split of the sends that `status` and
 * `send`'s summary both show: sends = errors + zc + copied, where zc went
 * from the pool without a copy (a zerocopy send the kernel did not report
 * copying) and copied did not (a copying send, or a zerocopy send the
 * kernel copied anyway). A daemon's numbers that do not add up give 0
 * rather than a wrapped count.
 */
uint64_t ctl_zc(const struct zcs_counters *st)
{
	return st->zc_sends > st->zc_copied ? st->zc_sends - st->zc_copied : 0;
}

uint64_t ctl_copied(const struct zcs_counters *st)
{
	uint64_t done = st->sends > st->errors ? st->sends - st->errors : 0;
	uint64_t zc = ctl_zc(st);

	return done > zc ? done - zc : 0;
}

/* ctl_transport_name - how @c talks to the daemon: "ring" or "socket". */
const char *ctl_transport_name(const struct zcs_status_client *c)
{
	return c->flags & ZCS_CLIENT_F_RINGS ? "ring" : "socket";
}

/*
 * ctl_sched_cost_sum - the cost the listed clients of @st submitted: what
 * status gives each one's share of. Saturates rather than wraps.
 */
uint64_t ctl_sched_cost_sum(const struct ctl_status *st)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < st->nclients; i++)
		if (__builtin_add_overflow(sum, st->clients[i].sched.cost, &sum))
			return UINT64_MAX;
	return sum;
}

/* ctl_sched_mean_ns - the mean wait of @s, 0 when nothing waited. */
uint64_t ctl_sched_mean_ns(const struct zcs_sched_counters *s)
{
	return s->queued ? s->queue_ns / s->queued : 0;
}

/* ctl_sched_share - @cost as a percentage of @total (0 for a @total of
 * 0; a daemon's @cost above @total gives 100, not more). */
double ctl_sched_share(uint64_t cost, uint64_t total)
{
	if (!total)
		return 0;
	return cost >= total ? 100.0 : 100.0 * (double)cost / (double)total;
}

/*
 * ctl_utf8_seq - length of the valid UTF-8 sequence at @s (NUL-terminated),
 * 0 if it is not one: overlong forms, surrogates and code points past
 * U+10FFFF are not.
 */
size_t ctl_utf8_seq(const unsigned char *s)
{
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (i = 1; i < n; i++)	/* stops at the NUL: 0 is no continuation */
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))
		return 0;	/* overlong, surrogate, or past U+10FFFF */
	return n;
}
