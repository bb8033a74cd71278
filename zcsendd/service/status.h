/* SPDX-License-Identifier: MIT */
/*
 * The STATUS reply (status.c), called by dispatch.c.
 */
#ifndef ZCSD_STATUS_H
#define ZCSD_STATUS_H

#include <stdint.h>

struct client;

int status_reply(struct client *c, uint64_t cookie);

#endif /* ZCSD_STATUS_H */
