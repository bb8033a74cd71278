/* SPDX-License-Identifier: MIT */
/*
 * The SERVICE reply (service_info.c), called by dispatch.c.
 */
#ifndef ZCSD_SERVICE_INFO_H
#define ZCSD_SERVICE_INFO_H

#include <stdint.h>

struct client;

int service_info_reply(struct client *c, uint64_t cookie);

#endif /* ZCSD_SERVICE_INFO_H */
