/* SPDX-License-Identifier: MIT */
/*
 * The POLICY command (policy_cmd.c), called by dispatch.c once it has
 * checked the message and that the client is an administrator.
 */
#ifndef ZCSD_POLICY_CMD_H
#define ZCSD_POLICY_CMD_H

#include <stddef.h>

struct client;
struct zcs_policy;

int policy_cmd_run(struct client *c, const struct zcs_policy *m, char *err,
		   size_t errlen);

#endif /* ZCSD_POLICY_CMD_H */
