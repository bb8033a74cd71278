/* SPDX-License-Identifier: MIT */
/*
 * Is a CPU to spare for spinning? Each side of the rings spins or polls
 * while it waits for the other only when the host has a core for each of
 * them beside every other runnable task: on a busy host a spinner takes
 * the core that the other side, or another program, needs, and only
 * delays the hand-off it waits for (PROTOCOL.md, "Waiting").
 */
#ifndef ZCS_SPARE_H
#define ZCS_SPARE_H

#include <stdbool.h>
#include <stdint.h>

/* How long one reading of the host's runnable tasks is trusted. */
#define ZCS_SPARE_SAMPLE_NS	1000000u

struct zcs_spare {
	bool blind;		/* no /proc/loadavg: always spare */
	uint32_t ncpu;		/* CPUs online */
	uint32_t running;	/* runnable tasks at the last reading */
	uint64_t next_ns;	/* when to read again */
};

void zcs_spare_init(struct zcs_spare *s);
bool zcs_spare_cpu(struct zcs_spare *s, uint64_t now_ns, uint32_t ours);

#endif /* ZCS_SPARE_H */
