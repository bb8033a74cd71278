/* SPDX-License-Identifier: MIT */
/*
 * Collecting config errors: every error of a file is kept, one line each
 * ("FILE:LINE: why"), so an admin fixes them in one pass; and the nearest
 * known name for a misspelt key or section, by edit distance.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config.h"

/* Room kept for the line that says how many errors did not fit. */
#define ERRORS_TAIL	48

/*
 * config_error - record one error of @cfg: "@where:@line: message", or
 * "@where: message" when @line is 0. The first error also goes to
 * cfg->error; cfg->errors keeps as many as fit, and cfg->nerrors counts
 * them all (config_errors_end() says how many did not fit).
 */
void config_error(struct zcsd_config *cfg, const char *where, int line,
		  const char *fmt, ...)
{
	char msg[CONFIG_ERR_MAX], one[CONFIG_ERR_MAX + 144];
	size_t used = strlen(cfg->errors), n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(one, sizeof(one), "%.120s:%d: %s", where, line, msg);
	else
		snprintf(one, sizeof(one), "%.120s: %s", where, msg);
	if (cfg->nerrors++ == 0)
		snprintf(cfg->error, sizeof(cfg->error), "%.*s",
			 (int)sizeof(cfg->error) - 1, one);
	n = strlen(one);
	if (used + n + 1 + ERRORS_TAIL < sizeof(cfg->errors)) {
		memcpy(cfg->errors + used, one, n);
		cfg->errors[used + n] = '\n';
		cfg->errors[used + n + 1] = '\0';
		cfg->nerrors_kept++;
	}
}

/* config_errors_end - say how many errors cfg->errors could not hold. */
void config_errors_end(struct zcsd_config *cfg)
{
	size_t used = strlen(cfg->errors);

	if (cfg->nerrors > cfg->nerrors_kept)
		snprintf(cfg->errors + used, sizeof(cfg->errors) - used,
			 "(%u more errors not shown)\n",
			 cfg->nerrors - cfg->nerrors_kept);
}

static int min3(int a, int b, int c)
{
	int m = a < b ? a : b;

	return m < c ? m : c;
}

static int lower_at(const char *s, int i)
{
	return tolower((unsigned char)s[i]);
}

/*
 * Optimal string alignment distance, ignoring case: insertions,
 * deletions, substitutions and swaps of two neighbours cost 1 each. Three
 * rows of the table suffice; names longer than CONFIG_NAME_MAX are too far
 * from any key anyway. Above @max, any value above it is returned.
 */
static int distance(const char *a, const char *b, int max)
{
	int rows[3][CONFIG_NAME_MAX + 1], *p2, *p1, *cur;
	int la = (int)strlen(a), lb = (int)strlen(b), i, j, cost, low;
	int prev_low = 0;	/* the least of row 0 */

	if (la > CONFIG_NAME_MAX || lb > CONFIG_NAME_MAX)
		return CONFIG_NAME_MAX;
	for (j = 0; j <= lb; j++)
		rows[0][j] = j;
	for (i = 1; i <= la; i++) {
		p2 = rows[(i + 1) % 3];		/* row i - 2 */
		p1 = rows[(i - 1) % 3];
		cur = rows[i % 3];
		cur[0] = low = i;
		for (j = 1; j <= lb; j++) {
			cost = lower_at(a, i - 1) != lower_at(b, j - 1);
			cur[j] = min3(p1[j] + 1, cur[j - 1] + 1,
				      p1[j - 1] + cost);
			if (i > 1 && j > 1 && cost &&
			    lower_at(a, i - 1) == lower_at(b, j - 2) &&
			    lower_at(a, i - 2) == lower_at(b, j - 1) &&
			    p2[j - 2] + 1 < cur[j])
				cur[j] = p2[j - 2] + 1;
			low = cur[j] < low ? cur[j] : low;
		}
		/* A later row is no cheaper than this one, or than the one
		 * before plus a swap: past @max for good once both are. */
		if (low > max && prev_low >= max)
			return max + 1;
		prev_low = low;
	}
	return rows[la % 3][lb];
}

/*
 * config_nearest - the name of @names (@n of them) nearest to @name, or
 * NULL when none is near: a third of the known name's length may differ
 * (at least one character, at most three), so "bach_max" finds
 * "batch_max" and "turbo" finds nothing.
 */
const char *config_nearest(const char *name, const char *const *names,
			   size_t n)
{
	int best_d = CONFIG_NAME_MAX, d, limit, len = (int)strlen(name), kl;
	const char *best = NULL;
	size_t i;

	for (i = 0; i < n; i++) {
		kl = (int)strlen(names[i]);
		limit = kl / 3;
		limit = limit < 1 ? 1 : limit > 3 ? 3 : limit;
		/* The lengths alone put it too far: spare the table. */
		if (len > kl + limit || kl > len + limit)
			continue;
		d = distance(name, names[i], limit);
		if (d <= limit && d < best_d) {
			best = names[i];
			best_d = d;
		}
	}
	return best;
}
