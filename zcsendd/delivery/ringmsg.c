/* SPDX-License-Identifier: MIT */
/*
 * Delivery through a client's completion ring: the next shring_turn()
 * publishes what is due, and the batch timer is the deadline for waking
 * a sleeping client (shring_publish.c and shring_wake.c).
 */
#include "delivery/delivery.h"

const struct delivery_ops ringmsg_ops = {
	.name = "ring",
	.due = shring_due,
	.flush = shring_wake_due,
	.errors = shring_errors,
};
