/* SPDX-License-Identifier: MIT */
/*
 * Changing the configuration while running, without dropping clients or
 * sends (SIGHUP or RELOAD): a reload builds a whole new config and swaps it
 * in only if it is valid. Settings that size what already exists (the
 * ring, pools, per-client tables, the socket) keep their running values
 * until a restart. Weights apply to connected clients at once; per-user
 * limits to what is asked for next (nobody loses what they hold).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zcsd.h"
#include "service/access.h"
#include "service/admission.h"
#include "service/limits.h"
#include "service/reload.h"

/*
 * Keep the running value of settings a reload cannot change, and say so;
 * then check the result again, since the new file was checked with its
 * own values (max_send_bytes against pool_bytes, say).
 */
static int keep_restart_only(const struct zcsd_config *cur,
			     struct zcsd_config *next)
{
#define KEEP(field, key)						\
	do {								\
		if (memcmp(&cur->field, &next->field,			\
			   sizeof(cur->field)))				\
			log_warnx("reload: %s changes only on restart",	\
				  key);					\
		memcpy(&next->field, &cur->field, sizeof(cur->field));	\
	} while (0)
	KEEP(socket_path, "socket");
	KEEP(socket_mode, "socket_mode");
	KEEP(socket_gid, "socket_group");
	KEEP(ring_entries, "ring_entries");
	KEEP(max_clients, "max_clients");
	KEEP(pool_bytes, "pool_bytes");
	KEEP(pool_total_bytes, "pool_total_bytes");
	KEEP(max_inflight, "max_inflight");
	KEEP(max_flows, "max_flows");
#undef KEEP
	return config_check(next, "with the running restart-only settings",
			    NULL);
}

/*
 * An invalid file changes nothing: log each of its errors once, then how
 * many; the reply (short) gets the count and the first.
 */
static int reload_refused(struct zcsd *d, struct zcsd_config *next, int ret,
			  char *err, size_t errlen)
{
	const char *p = next->errors, *nl;

	for (; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		if (!nl)
			break;
		log_at(LOG_WARNING, &(struct log_about){
				.msgid = LOG_ID_RELOAD_FAILED }, 0,
		       "reload: %.*s", (int)(nl - p), p);
	}
	log_at(LOG_WARNING, &(struct log_about){
			.msgid = LOG_ID_RELOAD_FAILED }, 0,
	       "reload: %u error%s in %s; the running config stays",
	       next->nerrors, next->nerrors == 1 ? "" : "s",
	       d->config_path[0] ? d->config_path : "embedded defaults");
	if (next->nerrors > 1)
		snprintf(err, errlen, "%u errors (all in the log); first: %s",
			 next->nerrors, next->error);
	else
		snprintf(err, errlen, "%s", next->error);
	free(next);
	return ret;
}

/* Re-read the config file. An invalid file changes nothing. */
static int reload_config(struct zcsd *d, char *err, size_t errlen)
{
	struct zcsd_config *next = malloc(sizeof(*next));
	uint32_t changed;
	int ret = 0;

	if (!next)
		return -ENOMEM;
	config_defaults(next);
	if (d->config_path[0])
		ret = config_load(next, d->config_path);
	if (ret)
		return reload_refused(d, next, ret, err, errlen);
	ret = keep_restart_only(&d->cfg, next);
	if (ret)
		return reload_refused(d, next, ret, err, errlen);
	d->cfg = *next;
	free(next);
	limits_nofile_check(d);
	admission_log_limits(d, "reload");
	changed = access_weights_apply(d);
	if (changed)
		log_info("reload: %u connected clients have a new weight",
			 changed);
	ret = dest_apply_config(d);
	log_info("reloaded %s: %u destinations configured",
		 d->config_path[0] ? d->config_path : "embedded defaults",
		 d->cfg.ndests);
	if (ret)
		snprintf(err, errlen, "some destinations could not be set up: "
			 "%s", strerror(-ret));
	return ret;
}

/*
 * reload_run - SIGHUP or RELOAD: re-read the config, telling systemd.
 * Returns 0 or -errno with @err saying why (also logged).
 */
int reload_run(struct zcsd *d, char *err, size_t errlen)
{
	int ret;

	notify_send(d, "RELOADING=1");
	ret = reload_config(d, err, errlen);
	notify_send(d, "READY=1");
	return ret;
}
