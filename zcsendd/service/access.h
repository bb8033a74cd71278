/* SPDX-License-Identifier: MIT */
/*
 * Who may connect, who may administer and with what weight (access.c): a
 * peer's credentials as read at accept, and the checks the listener,
 * admission, dispatch and reload make.
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
void access_answer(int fd, const struct peer *p, int err, const char *text);
void access_refuse(int fd, const struct peer *p);
bool access_is_admin(const struct zcsd *d, const struct client *c);
bool access_peer_is_admin(const struct zcsd *d, const struct peer *p);
uint32_t access_weight(const struct zcsd *d, const struct client *c);
uint32_t access_weights_apply(struct zcsd *d);

#endif /* ZCSD_ACCESS_H */
