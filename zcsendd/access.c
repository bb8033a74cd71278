/* SPDX-License-Identifier: MIT */
/*
 * Who may connect and who may administer, from the peer's credentials
 * (SO_PEERCRED, and SO_PEERGROUPS for supplementary groups). Root and the
 * daemon's own user always may; others only as the config allows.
 */
#include <sys/socket.h>
#include <errno.h>

#include "zcsd.h"

static bool id_listed(const struct id_list *l, uint32_t id)
{
	uint32_t i;

	for (i = 0; i < l->n; i++)
		if (l->id[i] == id)
			return true;
	return false;
}

static bool in_group(const struct client *c, gid_t gid)
{
	uint32_t i;

	if (c->gid == gid)
		return true;
	for (i = 0; i < c->ngroups; i++)
		if (c->groups[i] == gid)
			return true;
	return false;
}

/*
 * access_read_groups - the peer's supplementary groups. Returns 0 or
 * -errno; a peer in more groups than we keep is judged on its primary
 * group alone (the kernel fills nothing when the buffer is short).
 */
int access_read_groups(struct client *c)
{
	socklen_t len = sizeof(c->groups);

	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERGROUPS, c->groups, &len)) {
		c->ngroups = 0;
		return errno == ERANGE ? 0 : -errno;
	}
	c->ngroups = len / sizeof(gid_t);
	return 0;
}

static bool is_self(const struct zcsd *d, const struct client *c)
{
	return c->uid == 0 || c->uid == d->uid;
}

/* access_may_connect - allowed_users, allowed_groups, root and us. */
bool access_may_connect(const struct zcsd *d, const struct client *c)
{
	uint32_t i;

	if (is_self(d, c) || id_listed(&d->cfg.allow_users, c->uid))
		return true;
	for (i = 0; i < d->cfg.allow_groups.n; i++)
		if (in_group(c, d->cfg.allow_groups.id[i]))
			return true;
	return false;
}

/* access_is_admin - may change policy and reload: root, us, admin_group. */
bool access_is_admin(const struct zcsd *d, const struct client *c)
{
	if (is_self(d, c))
		return true;
	return d->cfg.admin_gid >= 0 && in_group(c, (gid_t)d->cfg.admin_gid);
}
