/* SPDX-License-Identifier: MIT */
/*
 * Is a descriptor what a hand-over's state says it is? An eventfd or an
 * io_uring (they all share one anonymous inode, so fstat() cannot tell
 * them apart; the name /proc shows for the descriptor can), or a memfd of
 * an exact size holding the seals that make our mapping of it safe.
 */
#include <sys/stat.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "zcsd.h"

/* fd_check_anon - is @fd the anonymous file "anon_inode:@kind"? */
bool fd_check_anon(int fd, const char *kind)
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

/* fd_check_memfd - is @fd a file of @size bytes holding at least @seals? */
bool fd_check_memfd(int fd, uint64_t size, int seals)
{
	int have = fcntl(fd, F_GET_SEALS);
	struct stat st;

	return !fstat(fd, &st) && S_ISREG(st.st_mode) &&
	       (uint64_t)st.st_size == size && have >= 0 &&
	       (have & seals) == seals;
}
