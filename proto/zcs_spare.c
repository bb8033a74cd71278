/* SPDX-License-Identifier: MIT */
/*
 * The host's runnable tasks against its CPUs, for the rings' waiting
 * rule: /proc/loadavg's fourth field ("running/total") is the count of
 * tasks runnable right now, host-wide. Read at most every
 * ZCS_SPARE_SAMPLE_NS, so a spin loop asks it freely; opened for each
 * reading, so that a library handle holds no descriptor for it.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "zcs_spare.h"

/* zcs_spare_init - nothing read yet: the first question reads. */
void zcs_spare_init(struct zcs_spare *s)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	s->blind = false;
	s->ncpu = n > 0 ? (uint32_t)n : 1;
	s->running = 0;
	s->next_ns = 0;
}

/* The runnable count of "0.00 0.01 0.05 3/92 1234"; -1 if unreadable. */
static int64_t spare_read(void)
{
	int fd = open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
	char buf[128], *p = buf;
	ssize_t n;
	int spaces = 0;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	while (*p && spaces < 3)
		spaces += *p++ == ' ';
	return (int64_t)strtoul(p, NULL, 10);
}

/*
 * zcs_spare_cpu - at @now_ns, do the runnable tasks that are not @ours
 * (the caller, and its peer when its beat shows it on a CPU) leave a core
 * for each side? True without /proc, as before this rule.
 */
bool zcs_spare_cpu(struct zcs_spare *s, uint64_t now_ns, uint32_t ours)
{
	uint32_t others;
	int64_t n;

	if (s->blind)
		return true;
	if (now_ns >= s->next_ns) {
		n = spare_read();
		s->blind = n < 0;
		s->running = n > 0 ? (uint32_t)n : 0;
		s->next_ns = now_ns + ZCS_SPARE_SAMPLE_NS;
	}
	others = s->running > ours ? s->running - ours : 0;
	return others + 2 <= s->ncpu;
}
