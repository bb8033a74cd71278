/* SPDX-License-Identifier: MIT */
/*
 * Who may connect, who may administer and with what scheduler weight,
 * from the peer's credentials (SO_PEERCRED, and SO_PEERGROUPS for
 * supplementary groups), read once at accept. Root and the daemon's own
 * user always may; others only as the config allows. A refused peer is
 * answered and closed at accept.
 */
#include <sys/socket.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zcsd.h"
#include "service/access.h"

/* The kernel's NGROUPS_MAX: no peer is in more groups than this. */
#define PEER_GROUPS_MAX	65536u
/* Enough for most peers in one call; a longer list takes one more. */
#define PEER_GROUPS_FIRST 32u

static bool id_listed(const struct id_list *l, uint32_t id)
{
	uint32_t i;

	for (i = 0; i < l->n; i++)
		if (l->id[i] == id)
			return true;
	return false;
}

static bool in_group(gid_t gid, const gid_t *groups, uint32_t n, gid_t want)
{
	uint32_t i;

	if (gid == want)
		return true;
	for (i = 0; i < n; i++)
		if (groups[i] == want)
			return true;
	return false;
}

/*
 * The peer's supplementary groups, however many. With a short buffer
 * SO_PEERGROUPS fails with ERANGE and sets the length it needs; the list
 * was fixed at connect, so one retry at that size is enough.
 */
static int peer_read_groups(int fd, struct peer *p)
{
	socklen_t len = PEER_GROUPS_FIRST * sizeof(gid_t), have;
	gid_t *g = NULL, *ng;
	int tries, err = -E2BIG;

	for (tries = 0; tries < 2; tries++) {
		have = len;
		ng = realloc(g, have ? have : sizeof(gid_t));
		if (!ng) {
			free(g);
			return -ENOMEM;
		}
		g = ng;
		if (!getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len)) {
			p->groups = g;
			p->ngroups = len / sizeof(gid_t);
			return 0;
		}
		if (errno != ERANGE) {
			err = -errno;
			break;
		}
		if (len <= have || len > PEER_GROUPS_MAX * sizeof(gid_t))
			break;
	}
	free(g);
	return err;
}

/*
 * access_peer_read - the credentials of the peer on @fd into @p.
 * Returns 0 or -errno (logged). When only the group list cannot be read,
 * the peer is judged on its uid and primary group, and 0 is returned.
 * Release with access_peer_fini().
 */
int access_peer_read(int fd, struct peer *p)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int err;

	memset(p, 0, sizeof(*p));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len)) {
		err = -errno;
		log_warn("SO_PEERCRED");
		return err;
	}
	p->pid = cred.pid;
	p->uid = cred.uid;
	p->gid = cred.gid;
	err = peer_read_groups(fd, p);
	if (err)
		log_errno(err, "SO_PEERGROUPS of pid %d", (int)p->pid);
	return 0;
}

/* access_peer_fini - free what access_peer_read() allocated. */
void access_peer_fini(struct peer *p)
{
	free(p->groups);
	p->groups = NULL;
	p->ngroups = 0;
}

static bool is_self(const struct zcsd *d, uid_t uid)
{
	return uid == 0 || uid == d->uid;
}

/* access_may_connect - allowed_users, allowed_groups, root and us. */
bool access_may_connect(const struct zcsd *d, const struct peer *p)
{
	uint32_t i;

	if (is_self(d, p->uid) || id_listed(&d->cfg.allow_users, p->uid))
		return true;
	for (i = 0; i < d->cfg.allow_groups.n; i++)
		if (in_group(p->gid, p->groups, p->ngroups,
			     d->cfg.allow_groups.id[i]))
			return true;
	return false;
}

/*
 * access_answer - tell a peer refused at accept why, before the caller
 * closes @fd: one ERROR answering HELLO (cookie 0, @err, @text), whether
 * or not the peer has sent its HELLO yet, so a client finds the reason
 * waiting. A fresh socket has room for it; if not, the peer learns from
 * the close alone.
 */
void access_answer(int fd, const struct peer *p, int err, const char *text)
{
	int ret = conn_error_raw(fd, ZCS_MSG_HELLO, err, text);

	if (ret)
		log_debug("refused pid %d: cannot tell it: %s", (int)p->pid,
			  strerror(-ret));
}

/* access_refuse - answer and log a peer that may not connect at all. */
void access_refuse(int fd, const struct peer *p)
{
	char text[ZCS_ERRMSG_MAX];

	snprintf(text, sizeof(text), "uid %u may not use this daemon (not "
		 "in allowed_users or allowed_groups)", (unsigned)p->uid);
	log_at(LOG_WARNING, &(struct log_about){
			.msgid = LOG_ID_CLIENT_REFUSED, .client = true,
			.pid = p->pid, .uid = p->uid }, 0,
	       "refusing client pid %d uid %u: not an allowed user or group",
	       (int)p->pid, (unsigned)p->uid);
	access_answer(fd, p, -EACCES, text);
}

static bool admin_ids(const struct zcsd *d, uid_t uid, gid_t gid,
		      const gid_t *groups, uint32_t ngroups)
{
	if (is_self(d, uid))
		return true;
	return d->cfg.admin_gid >= 0 &&
	       in_group(gid, groups, ngroups, (gid_t)d->cfg.admin_gid);
}

/* access_is_admin - may change policy and reload: root, us, admin_group. */
bool access_is_admin(const struct zcsd *d, const struct client *c)
{
	return admin_ids(d, c->uid, c->gid, c->groups, c->ngroups);
}

/* access_peer_is_admin - access_is_admin() for a peer not yet a client. */
bool access_peer_is_admin(const struct zcsd *d, const struct peer *p)
{
	return admin_ids(d, p->uid, p->gid, p->groups, p->ngroups);
}

/*
 * access_weight - @c's share of the scheduler: its user's weight in
 * [weights], else the largest of its groups' (primary or supplementary),
 * else 1. A user's own entry wins even when a group's is larger, so that
 * an admin can turn one user of a heavy group down.
 */
uint32_t access_weight(const struct zcsd *d, const struct client *c)
{
	const struct zcsd_weight *w;
	uint32_t i, best = 0;

	for (i = 0; i < d->cfg.nweights; i++) {
		w = &d->cfg.weights[i];
		if (!w->group && w->id == c->uid)
			return w->weight;
		if (w->group && w->weight > best &&
		    in_group(c->gid, c->groups, c->ngroups, (gid_t)w->id))
			best = w->weight;
	}
	return best ? best : 1;
}

/*
 * access_weights_apply - after a reload, every live client's weight from
 * the new [weights]. The scheduler (sched/) reads c->weight when it
 * shares out work and keeps no copy, so the new weights count from its
 * next decision on, for work already queued too.
 * Returns how many clients' weights changed.
 */
uint32_t access_weights_apply(struct zcsd *d)
{
	struct client *c;
	uint32_t w, changed = 0;

	TAILQ_FOREACH(c, &d->clients, entry) {
		if (c->dead)
			continue;
		w = access_weight(d, c);
		changed += w != c->weight;
		c->weight = w;
	}
	return changed;
}
