/* SPDX-License-Identifier: MIT */
/*
 * The POLICY command: an administrator changes one destination's policy
 * in place, without a reload and without dropping its flows. The change
 * lasts until the next reload, which applies the file's policy again.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "zcsd.h"
#include "service/policy_cmd.h"

/* Apply "key=value key=value" to @p; all or nothing. */
static int policy_parse(struct zcsd_policy *p, char *settings, char *err,
			size_t errlen)
{
	char *save = NULL, *item, *eq;
	int n = 0;

	for (item = strtok_r(settings, " \t", &save); item;
	     item = strtok_r(NULL, " \t", &save), n++) {
		eq = strchr(item, '=');
		if (!eq) {
			snprintf(err, errlen, "'%.40s' is not key=value", item);
			return -EINVAL;
		}
		*eq = '\0';
		if (config_policy_set(p, item, eq + 1, err, errlen))
			return -EINVAL;
	}
	if (!n) {
		snprintf(err, errlen, "no key=value given");
		return -EINVAL;
	}
	return 0;
}

/*
 * policy_cmd_run - POLICY from an administrator (dispatch.c checked):
 * change one destination's policy now. It lasts until the next reload.
 * Returns 0 or -errno with @err set: -ENOENT (no such destination),
 * -EINVAL (a bad key or value).
 */
int policy_cmd_run(struct client *c, const struct zcs_policy *m, char *err,
		   size_t errlen)
{
	struct zcsd *d = c->d;
	char settings[sizeof(m->settings)];
	struct zcsd_policy p;
	struct log_about a;
	struct dest *dst;
	int ret;

	dst = dest_find_any(d, m->dest);
	if (!dst) {
		snprintf(err, errlen, "no destination '%s'", m->dest);
		return -ENOENT;
	}
	p = dst->policy;
	memcpy(settings, m->settings, sizeof(settings));
	ret = policy_parse(&p, settings, err, errlen);
	if (ret)
		return ret;
	dest_set_policy(d, dst, &p);
	a = about_client(c, NULL);
	a.dest = dst->name;
	log_at(LOG_INFO, &a, 0, "destination %s: policy set by uid %u: %s",
	       dst->name, (unsigned)c->uid, m->settings);
	return 0;
}
