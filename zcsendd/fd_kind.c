/* SPDX-License-Identifier: MIT */
/*
 * What kind of anonymous file a descriptor is. eventfds and io_urings all
 * share one anonymous inode, so fstat() cannot tell them apart; the name
 * /proc shows for the descriptor can. A hand-over checks each descriptor
 * it takes this way before using it as one.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "zcsd.h"

/* fd_kind_is - is @fd the anonymous file "anon_inode:@kind"? */
bool fd_kind_is(int fd, const char *kind)
{
	char path[64], link[64], want[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	snprintf(want, sizeof(want), "anon_inode:%s", kind);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return false;
	link[n] = '\0';
	return !strcmp(link, want);
}
