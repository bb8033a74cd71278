/* SPDX-License-Identifier: MIT */
/*
 * The two ways completions go back to a client, behind one table each:
 * COMPLETE messages on its socket (sockmsg.c) or its completion ring
 * (ringmsg.c, publishing in shring_publish.c). HELLO picks the table.
 */
#ifndef DELIVERY_H
#define DELIVERY_H

#include "zcsd.h"

struct delivery_ops {
	const char *name;
	/* A finished request of @f waits in its batch. */
	void (*due)(struct flow *f);
	/* The batch timer of @f fired, or the socket has room: now. */
	void (*flush)(struct flow *f);
	/* Completions of @n records that never reached the kernel. */
	void (*errors)(struct client *c, const struct zcs_msg_completion *v,
		       uint32_t n);
};

extern const struct delivery_ops sockmsg_ops;
extern const struct delivery_ops ringmsg_ops;

#endif /* DELIVERY_H */
