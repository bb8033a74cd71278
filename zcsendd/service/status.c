/* SPDX-License-Identifier: MIT */
/*
 * The STATUS reply: one message for the daemon, one per client and one per
 * destination, then STATUS_END, all with the request's cookie. Status is
 * rare and small, so it goes through the ordinary reply queue.
 */
#include <string.h>
#include <unistd.h>

#include "zcsd.h"
#include "service/status.h"

static int status_daemon(struct client *c, uint64_t cookie)
{
	struct zcsd *d = c->d;
	struct zcs_status_daemon m;

	memset(&m, 0, sizeof(m));
	strncpy(m.version, ZCSD_VERSION, sizeof(m.version) - 1);
	m.uptime_ms = now_ms() - d->start_ms;
	m.pid = (uint32_t)getpid();
	m.features = d->ring.features;
	m.dests = d->ndests;
	m.flows = d->nflows;
	conn_count(d, &m.clients, &m.inflight);
	m.ring_entries = d->ring.entries;
	m.poll_usec = d->cfg.poll_usec;
	m.gso_max_segments = d->ring.gso_max_segs;
	m.pool_bytes = d->pool_bytes;
	m.st = d->st;
	m.rings = d->rings;
	m.sched = d->sched_st;
	return conn_reply(c, ZCS_MSG_STATUS_DAEMON, cookie, &m, sizeof(m));
}

static int status_client(struct client *c, uint64_t cookie,
			 const struct client *o)
{
	struct zcs_status_client m;

	memset(&m, 0, sizeof(m));
	m.id = o->id;
	m.pid = (uint32_t)o->pid;
	m.uid = o->uid;
	m.gid = o->gid;
	m.pool_bytes = o->pool.size;
	m.inflight = o->inflight;
	m.flows = o->nflows;
	m.st = o->st;
	memcpy(m.name, o->name, sizeof(m.name));
	m.name[sizeof(m.name) - 1] = '\0';
	m.weight = o->weight;
	m.sched = o->sched_st;
	shring_status(o, &m);
	return conn_reply(c, ZCS_MSG_STATUS_CLIENT, cookie, &m, sizeof(m));
}

static int status_dest(struct client *c, uint64_t cookie,
		       const struct dest *dst)
{
	struct zcs_status_dest m;

	memset(&m, 0, sizeof(m));
	memcpy(m.name, dst->name, sizeof(m.name));
	memcpy(m.address, dst->address, sizeof(m.address));
	m.proto = dst->proto;
	m.flush = dst->policy.flush;
	m.zerocopy = dst->policy.zerocopy;
	m.batch_max = dst->policy.batch_max;
	m.batch_usec = dst->policy.batch_usec;
	m.zerocopy_min_bytes = dst->policy.zerocopy_min_bytes;
	m.flows = dst->flows;
	m.zc_active = dst->zc.active;
	m.flags = (dst->named ? ZCS_DEST_F_NAMED : 0) |
		  (dst->removed ? ZCS_DEST_F_REMOVED : 0);
	memcpy(m.zc_reason, dst->zc.reason, sizeof(m.zc_reason));
	m.udp_segment = dst->policy.udp_segment;
	m.gso_active = dst->gso.active;
	m.max_segment = dst->gso.max_segment;
	memcpy(m.gso_reason, dst->gso.reason, sizeof(m.gso_reason));
	m.st = dst->st;
	return conn_reply(c, ZCS_MSG_STATUS_DEST, cookie, &m, sizeof(m));
}

/*
 * status_reply - answer STATUS. Control-only connections (no pool) are
 * not listed as clients. Returns 0 or -errno (the client was dropped).
 */
int status_reply(struct client *c, uint64_t cookie)
{
	struct client *o;
	struct dest *dst;
	int err = status_daemon(c, cookie);

	TAILQ_FOREACH(o, &c->d->clients, entry)
		if (!err && o->pool.size)
			err = status_client(c, cookie, o);
	TAILQ_FOREACH(dst, &c->d->dests, entry)
		if (!err)
			err = status_dest(c, cookie, dst);
	if (!err)
		err = conn_reply(c, ZCS_MSG_STATUS_END, cookie, NULL, 0);
	return err;
}
