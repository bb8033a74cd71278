/* SPDX-License-Identifier: MIT */
/*
 * What the soak measures from /proc beyond what tests/th/util.c gives
 * (th_proc_status_kb for VmRSS and VmHWM, th_fd_count for open fds): how
 * many datagrams the kernel dropped at a UDP receiver's socket, so that a
 * loss can be told from a bug.
 */
#include <sys/types.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "soak.h"

/* Drops of the socket bound to local @port in one /proc/net/udp* file. */
static uint64_t udp_drops_in(const char *file, uint16_t port)
{
	char line[512], *last;
	unsigned lport;
	uint64_t drops = 0, d;
	FILE *f = fopen(file, "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		/* "  sl: LOCAL_ADDR:PORT REM ... drops" */
		char *colon = strchr(line, ':');

		if (!colon || !(colon = strchr(colon + 1, ':')))
			continue;
		if (sscanf(colon + 1, "%x", &lport) != 1 || lport != port)
			continue;
		d = strlen(line);
		while (d > 0 && (line[d - 1] == '\n' || line[d - 1] == ' '))
			line[--d] = '\0';
		last = strrchr(line, ' ');
		if (last && sscanf(last + 1, "%" SCNu64, &d) == 1)
			drops += d;
	}
	fclose(f);
	return drops;
}

/* proc_udp_drops - datagrams the kernel dropped at a loopback receiver. */
uint64_t proc_udp_drops(uint16_t port)
{
	return udp_drops_in("/proc/net/udp", port) +
	       udp_drops_in("/proc/net/udp6", port);
}

/*
 * proc_maps_has - 1 if a mapping of @pid names @what (e.g. "libasan":
 * a sanitized daemon keeps freed memory in quarantine, so its RSS does
 * not come back down).
 */
int proc_maps_has(pid_t pid, const char *what)
{
	char path[64], line[512];
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, what) != NULL;
	fclose(f);
	return found;
}
