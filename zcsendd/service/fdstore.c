/* SPDX-License-Identifier: MIT */
/* Placeholder until the fd store lands (issue 19). */
#include <errno.h>

#include "zcsd.h"

int fdstore_init(struct zcsd *d) { d->fdstore.listen_fd = -1; d->fdstore.handover_fds[0] = d->fdstore.handover_fds[1] = -1; return 0; }
void fdstore_fini(struct zcsd *d) { (void)d; }
void fdstore_add_client(struct zcsd *d, struct client *c) { (void)d; (void)c; }
void fdstore_remove_client(struct zcsd *d, struct client *c) { (void)d; (void)c; }
void fdstore_drop_handover(struct zcsd *d) { (void)d; }
void fdstore_answer_orphans(struct zcsd *d, const char *why) { (void)d; (void)why; }
int fdstore_push(struct zcsd *d, const char *name, const int *fds, unsigned nfds)
{ (void)d; (void)name; (void)fds; (void)nfds; return -ENOSYS; }
