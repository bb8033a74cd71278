/* SPDX-License-Identifier: MIT */
/*
 * One line of [weights]: "user NAME = N" or "group NAME = N", a user's or
 * group's share of the daemon's scheduler against the default 1. Names
 * are looked up when the file is read, as allowed_users does.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config.h"

/* "user alice" into its kind and the trimmed name; 0 or -EINVAL. */
static int split_key(const char *key, bool *group, const char **name)
{
	const char *p;

	if (!strncmp(key, "user", 4))
		*group = false;
	else if (!strncmp(key, "group", 5))
		*group = true;
	else
		return -EINVAL;
	p = key + (*group ? 5 : 4);
	if (!isspace((unsigned char)*p))
		return -EINVAL;
	while (isspace((unsigned char)*p))
		p++;
	*name = p;
	return *p ? 0 : -EINVAL;
}

/*
 * config_weight_parse - "user NAME" or "group NAME" (@name, as the file
 * gives the key) with weight @value into @w. The caller keeps duplicates
 * out. Returns 0, or -EINVAL with @err saying what is wrong and accepted.
 */
int config_weight_parse(const char *name, const char *value,
			struct zcsd_weight *w, char *err, size_t errlen)
{
	const char *who;
	bool group;

	if (split_key(name, &group, &who)) {
		snprintf(err, errlen, "bad key '%.60s' in [weights]: expected "
			 "'user NAME = WEIGHT' or 'group NAME = WEIGHT'", name);
		return -EINVAL;
	}
	if (group ? config_parse_group(who, &w->id)
		  : config_parse_user(who, &w->id)) {
		snprintf(err, errlen, "unknown %s '%.60s' in [weights]: "
			 "expected a %s name or %s", group ? "group" : "user",
			 who, group ? "group" : "user", group ? "gid" : "uid");
		return -EINVAL;
	}
	if (config_parse_uint(value, 1, CONFIG_WEIGHT_MAX, &w->weight)) {
		snprintf(err, errlen, "bad weight '%.60s' for %s %.60s: "
			 "expected 1 to %u", value, group ? "group" : "user",
			 who, CONFIG_WEIGHT_MAX);
		return -EINVAL;
	}
	w->group = group;
	return 0;
}
