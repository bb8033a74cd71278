/* SPDX-License-Identifier: MIT */
/*
 * systemd's file descriptor store (fdstore.c): the descriptors systemd
 * passed us at start, sorted by name (the control socket, a hand-over,
 * client sockets kept in the store), and the client sockets we keep there
 * while they are connected, so that a daemon that crashed and was
 * restarted can still tell each client why its connection ends.
 */
#ifndef ZCSD_FDSTORE_H
#define ZCSD_FDSTORE_H

#include <stdbool.h>
#include <stdint.h>

struct zcsd;
struct client;

/* FDNAME of a hand-over bundle (handover/bundle.c). */
#define FDSTORE_HANDOVER	"handover"
/* FDNAME prefix of a client socket kept in the store: "client-<id>". */
#define FDSTORE_CLIENT		"client-"

struct fdstore {
	uint32_t max;		/* $FDSTORE: 0 when there is no store */
	uint32_t stored;	/* client sockets in it now */
	bool full_logged;	/* said once that it is full */
	int listen_fd;		/* the control socket passed to us, or -1 */
	int listen_err;		/* -EINVAL: a wrong or second one passed */
	bool listen_owned;	/* we bound it (a hand-over's): unlink at close */
	int handover_fds[2];	/* a hand-over bundle's two ends, or -1 */
	int *orphans;		/* client sockets found without a state */
	char **orphan_names;	/* their FDNAMEs, for FDSTOREREMOVE */
	uint32_t norphans;
};

int fdstore_init(struct zcsd *d);
void fdstore_fini(struct zcsd *d);
void fdstore_add_client(struct zcsd *d, struct client *c);
void fdstore_remove_client(struct zcsd *d, struct client *c);
void fdstore_drop_handover(struct zcsd *d);
void fdstore_answer_orphans(struct zcsd *d, const char *why);
void fdstore_close_orphans(struct zcsd *d);
int fdstore_push(struct zcsd *d, const char *name, const int *fds,
		 unsigned nfds);

#endif /* ZCSD_FDSTORE_H */
