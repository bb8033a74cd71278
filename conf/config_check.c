/* SPDX-License-Identifier: MIT */
/*
 * Rules that span keys, checked once a whole file is parsed: pools within
 * their total, sends within a pool, every destination with an address.
 * Errors still point at the line to fix.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "config.h"

/* The line of "[destination NAME]" in @text, or 0. */
static int section_line(const char *text, const char *name)
{
	char header[CONFIG_NAME_MAX + 16];
	const char *p = text;
	int line = 1;
	size_t n;

	n = (size_t)snprintf(header, sizeof(header), "[destination %s]", name);
	while (p && *p) {
		p += strspn(p, " \t");
		if (!strncmp(p, header, n))
			return line;
		p = strchr(p, '\n');
		if (p) {
			p++;
			line++;
		}
	}
	return 0;
}

static int check_dests(struct zcsd_config *cfg, const char *where,
		       const char *text)
{
	uint32_t i;

	for (i = 0; i < cfg->ndests; i++) {
		if (cfg->dests[i].address[0])
			continue;
		snprintf(cfg->error, sizeof(cfg->error),
			 "%.100s:%d: [destination %s] has no address "
			 "(udp://HOST:PORT or tcp://HOST:PORT)", where,
			 text ? section_line(text, cfg->dests[i].name) : 0,
			 cfg->dests[i].name);
		return -EINVAL;
	}
	return 0;
}

/*
 * config_check - cross-key rules. @text, the parsed file, lets errors name
 * a line; it may be NULL for the embedded defaults.
 * Returns 0 or -EINVAL with cfg->error set.
 */
int config_check(struct zcsd_config *cfg, const char *where, const char *text)
{
	if (cfg->pool_bytes > cfg->pool_total_bytes) {
		snprintf(cfg->error, sizeof(cfg->error),
			 "%.100s: pool_bytes (%" PRIu64 ") is over "
			 "pool_total_bytes (%" PRIu64 ")", where,
			 cfg->pool_bytes, cfg->pool_total_bytes);
		return -EINVAL;
	}
	if (cfg->max_send_bytes > cfg->pool_bytes) {
		snprintf(cfg->error, sizeof(cfg->error),
			 "%.100s: max_send_bytes (%u) is over pool_bytes "
			 "(%" PRIu64 ")", where, cfg->max_send_bytes,
			 cfg->pool_bytes);
		return -EINVAL;
	}
	if (cfg->ndests > cfg->max_dests) {
		snprintf(cfg->error, sizeof(cfg->error),
			 "%.100s: %u destinations are configured but "
			 "max_destinations is %u", where, cfg->ndests,
			 cfg->max_dests);
		return -EINVAL;
	}
	return check_dests(cfg, where, text);
}
