/* SPDX-License-Identifier: MIT */
/*
 * Rules that span keys, checked once a whole file is parsed: pools within
 * their total, sends within a pool, per-user limits within the totals,
 * every destination with an address; and the per-user limits a file that
 * leaves them out gets. Each broken rule is its own error, pointing at
 * the line to fix.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "config.h"

/*
 * The line of "[@section]" in @text when @key is NULL (its first), else of
 * the last "@key =" in that section; 0 when absent or @text is NULL.
 */
static int text_line(const char *text, const char *section, const char *key)
{
	size_t sl = strlen(section), kl = key ? strlen(key) : 0;
	const char *p = text, *s;
	int line = 0, found = 0;
	bool in = false;

	while (p && *p) {
		line++;
		s = p + strspn(p, " \t");
		if (*s == '[') {
			in = !strncmp(s + 1, section, sl) && s[1 + sl] == ']';
			if (in && !key)
				return line;
		} else if (in && key && !strncmp(s, key, kl) && s[kl] &&
			   strchr("=: \t", s[kl])) {
			found = line;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return found;
}

/* The line of [daemon]'s @a, else of @b (may be NULL), else 0. */
static int daemon_line(const char *text, const char *a, const char *b)
{
	int line = text_line(text, "daemon", a);

	return line || !b ? line : text_line(text, "daemon", b);
}

static void check_dests(struct zcsd_config *cfg, const char *where,
			const char *text)
{
	char section[CONFIG_NAME_MAX + 16];
	uint32_t i;

	for (i = 0; i < cfg->ndests; i++) {
		if (cfg->dests[i].address[0])
			continue;
		snprintf(section, sizeof(section), "destination %s",
			 cfg->dests[i].name);
		config_error(cfg, where, text_line(text, section, NULL),
			     "[destination %s] has no address "
			     "(udp://HOST:PORT or tcp://HOST:PORT)",
			     cfg->dests[i].name);
	}
}

/*
 * config_user_conns - connections one uid may hold: max_user_connections,
 * or a quarter of max_clients, so that four users' programs at their
 * limit still fit beside each other.
 */
uint32_t config_user_conns(const struct zcsd_config *cfg)
{
	uint32_t n = cfg->max_clients / 4;

	if (cfg->max_user_conns)
		return cfg->max_user_conns;
	return n ? n : 1;
}

/*
 * config_user_pool_bytes - one uid's pools together: user_pool_total_bytes,
 * or a quarter of pool_total_bytes as for connections, but never less
 * than one full pool (pool_bytes, itself within pool_total_bytes).
 */
uint64_t config_user_pool_bytes(const struct zcsd_config *cfg)
{
	uint64_t n = cfg->pool_total_bytes / 4;

	if (cfg->user_pool_bytes)
		return cfg->user_pool_bytes;
	return n > cfg->pool_bytes ? n : cfg->pool_bytes;
}

/* Per-user limits given in the file must fit the totals they share. */
static void check_user_limits(struct zcsd_config *cfg, const char *where,
			      const char *text)
{
	if (cfg->max_user_conns > cfg->max_clients)
		config_error(cfg, where, daemon_line(text,
			     "max_user_connections", "max_clients"),
			     "max_user_connections (%u) is over max_clients "
			     "(%u)", cfg->max_user_conns, cfg->max_clients);
	if (cfg->user_pool_bytes > cfg->pool_total_bytes)
		config_error(cfg, where, daemon_line(text,
			     "user_pool_total_bytes", "pool_total_bytes"),
			     "user_pool_total_bytes (%" PRIu64 ") is over "
			     "pool_total_bytes (%" PRIu64 ")",
			     cfg->user_pool_bytes, cfg->pool_total_bytes);
	else if (cfg->user_pool_bytes && cfg->user_pool_bytes < cfg->pool_bytes)
		config_error(cfg, where, daemon_line(text,
			     "user_pool_total_bytes", "pool_bytes"),
			     "user_pool_total_bytes (%" PRIu64 ") is below "
			     "pool_bytes (%" PRIu64 "): no user could get one "
			     "full pool", cfg->user_pool_bytes, cfg->pool_bytes);
}

/*
 * config_check - cross-key rules. @text, the parsed file, lets errors name
 * a line; it may be NULL for the embedded defaults. Each broken rule is
 * added to cfg's errors (config_error()).
 * Returns 0, or -EINVAL when @cfg has any error, from here or before.
 */
int config_check(struct zcsd_config *cfg, const char *where, const char *text)
{
	if (cfg->pool_bytes > cfg->pool_total_bytes)
		config_error(cfg, where, daemon_line(text, "pool_bytes",
						     "pool_total_bytes"),
			     "pool_bytes (%" PRIu64 ") is over "
			     "pool_total_bytes (%" PRIu64 ")",
			     cfg->pool_bytes, cfg->pool_total_bytes);
	if (cfg->max_send_bytes > cfg->pool_bytes)
		config_error(cfg, where, daemon_line(text, "max_send_bytes",
						     "pool_bytes"),
			     "max_send_bytes (%u) is over pool_bytes "
			     "(%" PRIu64 ")", cfg->max_send_bytes,
			     cfg->pool_bytes);
	if (cfg->ndests > cfg->max_dests)
		config_error(cfg, where, daemon_line(text, "max_destinations",
						     NULL),
			     "%u destinations are configured but "
			     "max_destinations is %u", cfg->ndests,
			     cfg->max_dests);
	check_user_limits(cfg, where, text);
	check_dests(cfg, where, text);
	return cfg->nerrors ? -EINVAL : 0;
}
