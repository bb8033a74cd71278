/* SPDX-License-Identifier: MIT */
/*
 * Who may connect and who may administer (access.c): a peer's credentials
 * as read at accept, and the checks the listener and dispatch make.
 */
#ifndef ZCSD_ACCESS_H
#define ZCSD_ACCESS_H

#include <sys/types.h>
#include <stdbool.h>
#include <stdint.h>

struct zcsd;
struct client;

/* A peer's credentials, read at accept; conn_new() copies them. */
struct peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	uint32_t ngroups;
	gid_t *groups;		/* supplementary, SO_PEERGROUPS; malloc'd */
};

int access_peer_read(int fd, struct peer *p);
void access_peer_fini(struct peer *p);
bool access_may_connect(const struct zcsd *d, const struct peer *p);
void access_refuse(int fd, const struct peer *p);
bool access_is_admin(const struct zcsd *d, const struct client *c);

#endif /* ZCSD_ACCESS_H */
