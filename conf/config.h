/* SPDX-License-Identifier: MIT */
/*
 * zcsendd configuration: embedded defaults and the inih file parser. The
 * daemon reads its settings only from struct zcsd_config, a plain value
 * (no pointers) so that a reload can build a new one and swap it in.
 */
#ifndef ZCSD_CONFIG_H
#define ZCSD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

/* The Makefile passes its SYSCONFDIR; /etc whatever the prefix otherwise. */
#ifndef SYSCONFDIR
#define SYSCONFDIR		"/etc"
#endif
#define CONFIG_DEFAULT_FILE	SYSCONFDIR "/zcsendd/zcsendd.conf"
#define CONFIG_PATH_MAX		108	/* sun_path */
#define CONFIG_ERR_MAX		256	/* one error */
#define CONFIG_ERRORS_MAX	4096	/* all of a file's errors */
#define CONFIG_NAME_MAX		64	/* destination names */
#define CONFIG_ADDR_MAX		64	/* "udp://[v6]:port" */
#define CONFIG_LIST_MAX		16	/* users, groups, networks */
#define CONFIG_DESTS_MAX	64	/* named destinations */
#define CONFIG_WEIGHTS_MAX	64	/* [weights] entries */
#define CONFIG_WEIGHT_MAX	1000	/* largest scheduler weight */
#define CONFIG_ADMIN_RESERVED_MAX 16	/* within the spare control places */

/* How completions are flushed and sends made, per destination. */
struct zcsd_policy {
	uint8_t flush;			/* ZCS_FLUSH_* */
	uint8_t zerocopy;		/* ZCS_ZC_* */
	uint32_t batch_max;		/* completions per message */
	uint32_t batch_usec;		/* longest a completion waits */
	uint32_t zerocopy_min_bytes;	/* smaller sends are copied */
	uint8_t udp_segment;		/* ZCS_SEG_*: coalesce into GSO sends */
};

struct zcsd_dest_conf {
	char name[CONFIG_NAME_MAX];
	char address[CONFIG_ADDR_MAX];
	struct zcsd_policy policy;
	uint32_t policy_set;		/* keys given here, not inherited */
};

struct id_list {
	uint32_t n;
	uint32_t id[CONFIG_LIST_MAX];
};

/* One "user NAME = N" or "group NAME = N" of [weights]. */
struct zcsd_weight {
	uint32_t id;			/* uid or gid */
	uint32_t weight;		/* 1 to CONFIG_WEIGHT_MAX */
	bool group;			/* id is a gid */
};

struct zcsd_config {
	char socket_path[CONFIG_PATH_MAX];	/* "" = the default path */
	uint32_t socket_mode;
	int64_t socket_gid;		/* -1: leave the group alone */
	uint32_t ring_entries;
	uint32_t max_clients;
	uint32_t max_user_conns;	/* per uid; 0: config_user_conns() */
	uint32_t admin_reserved_conns;	/* places only admins may take */
	uint64_t pool_bytes;		/* largest pool one client gets */
	uint64_t pool_total_bytes;	/* all pools together */
	uint64_t user_pool_bytes;	/* one uid's pools; 0: derived */
	uint32_t max_inflight;		/* sends per client */
	uint32_t max_flows;		/* flows per client */
	uint32_t max_send_bytes;	/* one send record */
	uint32_t max_dests;
	struct id_list allow_users;	/* besides root and our own uid */
	struct id_list allow_groups;
	int64_t admin_gid;		/* -1: only root and our own uid */
	bool allow_adhoc;		/* udp://, tcp:// from clients */
	uint32_t n_adhoc_nets;		/* 0: any address */
	struct addr_net adhoc_nets[CONFIG_LIST_MAX];
	uint32_t connect_timeout_ms;
	uint32_t hello_timeout_ms;	/* from accept; then the peer is closed */
	uint32_t reply_timeout_ms;	/* replies unread so long: client dropped */
	uint32_t linger_ms;		/* a dead client's sends may finish */
	uint32_t drain_timeout_ms;	/* on SIGTERM, for sends in flight */
	uint32_t poll_usec;		/* rings polled this long after work */
	struct zcsd_policy defaults;
	uint32_t ndests;
	struct zcsd_dest_conf dests[CONFIG_DESTS_MAX];
	uint32_t nweights;
	struct zcsd_weight weights[CONFIG_WEIGHTS_MAX];
	char error[CONFIG_ERR_MAX];	/* the first error of the last parse */
	uint32_t nerrors;		/* how many it found */
	uint32_t nerrors_kept;		/* how many fit in errors[] */
	char errors[CONFIG_ERRORS_MAX];	/* each, "FILE:LINE: why\n" */
};

void config_defaults(struct zcsd_config *cfg);
int config_load(struct zcsd_config *cfg, const char *path);
int config_parse_string(struct zcsd_config *cfg, const char *text);
int config_policy_set(struct zcsd_policy *p, const char *key,
		      const char *value, char *err, size_t errlen);
const struct zcsd_dest_conf *config_dest(const struct zcsd_config *cfg,
					 const char *name);

/* config_check.c: rules that span keys, once a file is parsed. */
int config_check(struct zcsd_config *cfg, const char *where,
		 const char *text);

/* The per-user limits in force: the key's value, or derived from the
 * totals when the file leaves it out. */
uint32_t config_user_conns(const struct zcsd_config *cfg);
uint64_t config_user_pool_bytes(const struct zcsd_config *cfg);

/* config_weights.c: one [weights] line; 0 or -EINVAL with @err. */
int config_weight_parse(const char *name, const char *value,
			struct zcsd_weight *w, char *err, size_t errlen);

/* config_errors.c: every error of a file, and hints for misspellings. */
void config_error(struct zcsd_config *cfg, const char *where, int line,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void config_errors_end(struct zcsd_config *cfg);
const char *config_nearest(const char *name, const char *const *names,
			   size_t n);

/* config_values.c: parsing one value; 0 or -EINVAL. */
int config_parse_size(const char *v, uint64_t *out);
int config_parse_mode(const char *v, uint64_t *out);
int config_parse_uint(const char *v, uint32_t min, uint32_t max,
		      uint32_t *out);
int config_parse_word(const char *v, const char *const *words, int n);
int config_parse_user(const char *v, uint32_t *uid);
int config_parse_group(const char *v, uint32_t *gid);
int config_parse_ids(const char *v, struct id_list *l,
		     int (*one)(const char *, uint32_t *));
int config_parse_nets(const char *v, struct addr_net *nets, uint32_t *n);

#endif /* ZCSD_CONFIG_H */
