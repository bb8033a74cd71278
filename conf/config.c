/* SPDX-License-Identifier: MIT */
/*
 * Config file parsing: one table names every key with its section, type
 * and bounds, so the parser, the error messages and the defaults cannot
 * drift apart. Errors name FILE:LINE, the key and what is accepted.
 * Sections: [daemon], [defaults] (the policy every destination inherits)
 * and [destination NAME].
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "config.h"
#include "zcs_proto.h"

#define CONFIG_FILE_MAX	(1u << 20)

enum key_type {
	K_SIZE, K_U32, K_BOOL, K_MODE, K_PATH, K_FLUSH, K_ZC, K_GROUP,
	K_USERS, K_GROUPS, K_NETS, K_ADDR,
};
enum key_scope { S_DAEMON, S_POLICY, S_DEST };

struct key {
	enum key_scope scope;
	const char *name;
	enum key_type type;
	size_t offset, size;
	uint64_t min, max;
};

#define D(f) S_DAEMON, #f, 0, offsetof(struct zcsd_config, f), \
	sizeof(((struct zcsd_config *)0)->f)
#define P(f) S_POLICY, #f, 0, offsetof(struct zcsd_policy, f), \
	sizeof(((struct zcsd_policy *)0)->f)
#define GiB (1ull << 30)

/* D()/P() fill scope, name, a type placeholder, offset and size. */
static struct key keys[] = {
	{ D(socket_path), 0, 0 },
	{ D(socket_mode), 0, 0777 },
	{ D(socket_gid), 0, 0 },
	/* The CQ is 8 times the SQ; the kernel's CQ limit is 65536. */
	{ D(ring_entries), 8, 8192 },
	{ D(max_clients), 1, 4096 },
	{ D(pool_bytes), 4096, 16 * GiB },
	{ D(pool_total_bytes), 4096, 1024 * GiB },
	{ D(max_inflight), 1, 65536 },
	{ D(max_flows), 1, 4096 },
	{ D(max_send_bytes), 1, ZCS_SEND_LEN_MAX },
	{ D(max_dests), 1, 65536 },
	{ D(allow_users), 0, 0 },
	{ D(allow_groups), 0, 0 },
	{ D(admin_gid), 0, 0 },
	{ D(allow_adhoc), 0, 1 },
	{ D(adhoc_nets), 0, 0 },
	{ D(connect_timeout_ms), 1, 600000 },
	{ D(hello_timeout_ms), 1, 600000 },
	{ D(reply_timeout_ms), 1, 600000 },
	{ D(linger_ms), 0, 600000 },
	{ D(drain_timeout_ms), 0, 600000 },
	{ D(poll_usec), 0, 1000000 },
	{ P(flush), 0, 0 },
	{ P(batch_max), 1, ZCS_COMPLETE_BATCH_MAX },
	{ P(batch_usec), 0, 10000000 },
	{ P(zerocopy), 0, 0 },
	{ P(zerocopy_min_bytes), 0, ZCS_SEND_LEN_MAX },
	{ P(udp_segment), 0, 0 },
	{ S_DEST, "address", K_ADDR, offsetof(struct zcsd_dest_conf, address),
	  CONFIG_ADDR_MAX, 0, 0 },
};

/* The file's key names and types, where they differ from the field. */
static const struct {
	const char *field, *name;
	enum key_type type;
} spelling[] = {
	{ "socket_path", "socket", K_PATH },
	{ "socket_mode", "socket_mode", K_MODE },
	{ "socket_gid", "socket_group", K_GROUP },
	{ "pool_bytes", "pool_bytes", K_SIZE },
	{ "pool_total_bytes", "pool_total_bytes", K_SIZE },
	{ "max_send_bytes", "max_send_bytes", K_SIZE },
	{ "max_dests", "max_destinations", K_U32 },
	{ "allow_users", "allowed_users", K_USERS },
	{ "allow_groups", "allowed_groups", K_GROUPS },
	{ "admin_gid", "admin_group", K_GROUP },
	{ "allow_adhoc", "allow_adhoc", K_BOOL },
	{ "adhoc_nets", "adhoc_networks", K_NETS },
	{ "flush", "flush", K_FLUSH },
	{ "zerocopy", "zerocopy", K_ZC },
	{ "zerocopy_min_bytes", "zerocopy_min_bytes", K_SIZE },
	{ "udp_segment", "udp_segment", K_ZC },
};

static const char *const bool_words[] = { "no", "yes" };
static const char *const flush_words[] = { "immediate", "batch" };
static const char *const zc_words[] = { "off", "on", "auto" };

/* Fill in key names and types once; plain u32 is the default. */
static void keys_init(void)
{
	size_t i, j;

	if (keys[0].type)
		return;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (keys[i].scope == S_DEST)
			continue;
		keys[i].type = K_U32;
		for (j = 0; j < sizeof(spelling) / sizeof(spelling[0]); j++) {
			if (strcmp(keys[i].name, spelling[j].field))
				continue;
			keys[i].name = spelling[j].name;
			keys[i].type = spelling[j].type;
		}
	}
}

static const struct key *key_find(enum key_scope scope, const char *name,
				  int *index)
{
	size_t i;
	int n = 0;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (keys[i].scope != scope)
			continue;
		if (!strcmp(keys[i].name, name)) {
			*index = n;
			return &keys[i];
		}
		n++;
	}
	return NULL;
}

static void store_uint(void *dst, size_t size, uint64_t n)
{
	uint32_t n32 = (uint32_t)n;
	uint8_t n8 = (uint8_t)n;

	if (size == 8)
		memcpy(dst, &n, 8);
	else if (size == 4)
		memcpy(dst, &n32, 4);
	else
		memcpy(dst, &n8, 1);
}

static int set_number(const struct key *k, void *dst, const char *v)
{
	uint64_t n;
	int err = k->type == K_MODE ? config_parse_mode(v, &n)
				    : config_parse_size(v, &n);

	if (err)
		return err;
	if (k->type == K_U32 && strpbrk(v, "kKmMgG"))
		return -EINVAL;
	if (n < k->min || n > k->max)
		return -ERANGE;
	store_uint(dst, k->size, n);
	return 0;
}

static int set_word(const struct key *k, void *dst, const char *v)
{
	int w;

	if (k->type == K_BOOL)
		w = config_parse_word(v, bool_words, 2);
	else if (k->type == K_FLUSH)
		w = config_parse_word(v, flush_words, 2);
	else
		w = config_parse_word(v, zc_words, 3);
	if (w < 0)
		return w;
	if (k->type == K_BOOL)
		*(bool *)dst = w;
	else
		store_uint(dst, k->size, (uint64_t)w);
	return 0;
}

static int set_string(const struct key *k, void *dst, const char *v)
{
	struct sockaddr_storage sa;
	socklen_t salen;
	uint16_t proto;

	if (strlen(v) >= k->size)
		return -EINVAL;
	if (k->type == K_PATH && v[0] != '/')
		return -EINVAL;
	if (k->type == K_ADDR && addr_parse(v, &proto, &sa, &salen))
		return -EINVAL;
	strcpy(dst, v);
	return 0;
}

static int set_value(const struct key *k, void *base, const char *v)
{
	char *dst = (char *)base + k->offset;
	struct zcsd_config *cfg = base;
	uint32_t gid;
	int64_t g;

	switch (k->type) {
	case K_PATH:
	case K_ADDR:
		return set_string(k, dst, v);
	case K_BOOL:
	case K_FLUSH:
	case K_ZC:
		return set_word(k, dst, v);
	case K_GROUP:
		if (config_parse_group(v, &gid))
			return -EINVAL;
		g = gid;
		memcpy(dst, &g, sizeof(g));
		return 0;
	case K_USERS:
		return config_parse_ids(v, (struct id_list *)(void *)dst,
					config_parse_user);
	case K_GROUPS:
		return config_parse_ids(v, (struct id_list *)(void *)dst,
					config_parse_group);
	case K_NETS:
		return config_parse_nets(v, cfg->adhoc_nets,
					 &cfg->n_adhoc_nets);
	default:
		return set_number(k, dst, v);
	}
}

/* What a key accepts, for error messages. */
static void describe(const struct key *k, char *buf, size_t size)
{
	static const char *const words[] = {
		[K_PATH] = "an absolute path",
		[K_BOOL] = "yes or no",
		[K_FLUSH] = "immediate or batch",
		[K_ZC] = "on, off or auto",
		[K_MODE] = "an octal mode such as 0660",
		[K_GROUP] = "a group name or gid",
		[K_USERS] = "user names or uids, separated by commas",
		[K_GROUPS] = "group names or gids, separated by commas",
		[K_NETS] = "networks such as 127.0.0.0/8, ::1/128",
		[K_ADDR] = "udp://HOST:PORT or tcp://HOST:PORT with a numeric "
			   "HOST ([v6] in brackets)",
	};

	if (k->type == K_SIZE || k->type == K_U32)
		snprintf(buf, size, "%" PRIu64 " to %" PRIu64 "%s", k->min,
			 k->max, k->type == K_U32 ? "" : " (K, M, G allowed)");
	else
		snprintf(buf, size, "%s", words[k->type]);
}

static int key_error(struct zcsd_config *cfg, const struct key *k,
		     const char *v)
{
	char accepted[96];

	describe(k, accepted, sizeof(accepted));
	snprintf(cfg->error, sizeof(cfg->error),
		 "bad value '%.60s' for %s: expected %s", v, k->name,
		 accepted);
	return 0;
}

/* The [destination NAME] section's entry, made on first sight. */
static struct zcsd_dest_conf *dest_section(struct zcsd_config *cfg,
					   const char *name)
{
	struct zcsd_dest_conf *dc;
	size_t len = strlen(name);
	uint32_t i;

	if (len == 0 || len >= CONFIG_NAME_MAX ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789_.-") != len) {
		snprintf(cfg->error, sizeof(cfg->error),
			 "bad destination name '%.64s': use 1 to %d letters, "
			 "digits, '_', '.' or '-'", name, CONFIG_NAME_MAX - 1);
		return NULL;
	}
	for (i = 0; i < cfg->ndests; i++)
		if (!strcmp(cfg->dests[i].name, name))
			return &cfg->dests[i];
	if (cfg->ndests == CONFIG_DESTS_MAX) {
		snprintf(cfg->error, sizeof(cfg->error),
			 "more than %d destinations", CONFIG_DESTS_MAX);
		return NULL;
	}
	dc = &cfg->dests[cfg->ndests++];
	memset(dc, 0, sizeof(*dc));
	strcpy(dc->name, name);
	return dc;
}

static int dest_key(struct zcsd_config *cfg, const char *section,
		    const char *name, const char *value)
{
	struct zcsd_dest_conf *dc = dest_section(cfg, section);
	const struct key *k;
	int index;

	if (!dc)
		return 0;
	k = key_find(S_DEST, name, &index);
	if (k)
		return set_value(k, dc, value) ? key_error(cfg, k, value) : 1;
	k = key_find(S_POLICY, name, &index);
	if (!k) {
		snprintf(cfg->error, sizeof(cfg->error),
			 "unknown key '%.40s' in [destination %s] (address or "
			 "a policy key)", name, dc->name);
		return 0;
	}
	if (set_value(k, &dc->policy, value))
		return key_error(cfg, k, value);
	dc->policy_set |= 1u << index;
	return 1;
}

static int config_key(void *user, const char *section, const char *name,
		      const char *value)
{
	struct zcsd_config *cfg = user;
	enum key_scope scope = S_DAEMON;
	const struct key *k;
	void *base = cfg;
	int index;

	if (!strncmp(section, "destination ", 12))
		return dest_key(cfg, section + 12, name, value);
	if (!strcmp(section, "defaults")) {
		scope = S_POLICY;
		base = &cfg->defaults;
	} else if (strcmp(section, "daemon")) {
		snprintf(cfg->error, sizeof(cfg->error),
			 "unknown section [%.60s] (known: [daemon], [defaults], "
			 "[destination NAME])", section);
		return 0;
	}
	k = key_find(scope, name, &index);
	if (!k) {
		snprintf(cfg->error, sizeof(cfg->error),
			 "unknown key '%.60s' in [%s]", name, section);
		return 0;
	}
	return set_value(k, base, value) ? key_error(cfg, k, value) : 1;
}

/*
 * inih goes on after a bad line and reports the first one's number, so
 * keep the first line's message too.
 */
static int config_ini_cb(void *user, const char *section, const char *name,
			 const char *value)
{
	struct zcsd_config *cfg = user;
	char first[CONFIG_ERR_MAX];
	bool had = cfg->error[0] != '\0';
	int ret;

	if (had)
		memcpy(first, cfg->error, sizeof(first));
	ret = config_key(user, section, name, value);
	if (had)
		memcpy(cfg->error, first, sizeof(first));
	return ret;
}

/*
 * config_defaults - the embedded defaults: a daemon started with no file
 * runs on these. Pools are sized so that one client fits an 8 MiB
 * RLIMIT_MEMLOCK.
 */
void config_defaults(struct zcsd_config *cfg)
{
	keys_init();
	memset(cfg, 0, sizeof(*cfg));
	cfg->socket_mode = 0660;
	cfg->socket_gid = -1;
	cfg->admin_gid = -1;
	cfg->ring_entries = 1024;
	cfg->max_clients = 64;
	cfg->pool_bytes = 4u << 20;
	cfg->pool_total_bytes = 256u << 20;
	cfg->max_inflight = 1024;
	cfg->max_flows = 64;
	cfg->max_send_bytes = 1u << 20;
	cfg->max_dests = 256;
	cfg->allow_adhoc = true;
	cfg->connect_timeout_ms = 5000;
	cfg->hello_timeout_ms = 5000;
	cfg->reply_timeout_ms = 30000;
	cfg->linger_ms = 10000;
	cfg->drain_timeout_ms = 5000;
	cfg->poll_usec = 20;	/* measured: see zcsendd.conf(5) */
	cfg->defaults.flush = ZCS_FLUSH_BATCH;
	cfg->defaults.zerocopy = ZCS_ZC_ON;
	cfg->defaults.batch_max = 64;
	cfg->defaults.batch_usec = 1000;
	cfg->defaults.zerocopy_min_bytes = 8192;
	cfg->defaults.udp_segment = ZCS_SEG_AUTO;
}

/* config_dest - the named destination, or NULL. */
const struct zcsd_dest_conf *config_dest(const struct zcsd_config *cfg,
					 const char *name)
{
	uint32_t i;

	for (i = 0; i < cfg->ndests; i++)
		if (!strcmp(cfg->dests[i].name, name))
			return &cfg->dests[i];
	return NULL;
}

/*
 * config_policy_set - set one policy key from text, as the config file
 * would (used for run-time policy changes). Returns 0 or -EINVAL with
 * @err saying what is accepted.
 */
int config_policy_set(struct zcsd_policy *p, const char *key,
		      const char *value, char *err, size_t errlen)
{
	struct zcsd_config tmp;
	const struct key *k;
	int index;

	keys_init();
	k = key_find(S_POLICY, key, &index);
	if (!k) {
		snprintf(err, errlen, "unknown policy key '%.40s' (flush, "
			 "batch_max, batch_usec, zerocopy, zerocopy_min_bytes, "
			 "udp_segment)", key);
		return -EINVAL;
	}
	if (set_value(k, p, value)) {
		key_error(&tmp, k, value);
		snprintf(err, errlen, "%s", tmp.error);
		return -EINVAL;
	}
	return 0;
}

/* Destinations take each policy key they did not set from [defaults]. */
static void config_inherit(struct zcsd_config *cfg)
{
	struct zcsd_dest_conf *dc;
	uint32_t i;
	size_t j;
	int index = 0;

	for (i = 0; i < cfg->ndests; i++) {
		dc = &cfg->dests[i];
		for (j = 0; j < sizeof(keys) / sizeof(keys[0]); j++) {
			if (keys[j].scope != S_POLICY)
				continue;
			key_find(S_POLICY, keys[j].name, &index);
			if (dc->policy_set & (1u << index))
				continue;
			memcpy((char *)&dc->policy + keys[j].offset,
			       (char *)&cfg->defaults + keys[j].offset,
			       keys[j].size);
		}
	}
}

/* Prefix the handler's message with where it happened, then check. */
static int parse_text(struct zcsd_config *cfg, const char *where,
		      const char *text)
{
	char msg[CONFIG_ERR_MAX];
	int line;

	keys_init();
	cfg->error[0] = '\0';
	line = ini_parse_string(text, config_ini_cb, cfg);
	if (line < 0) {
		snprintf(cfg->error, sizeof(cfg->error), "out of memory");
		return -ENOMEM;
	}
	if (line > 0) {
		snprintf(msg, sizeof(msg), "%s",
			 cfg->error[0] ? cfg->error
				       : "expected 'key = value' or '[section]'");
		snprintf(cfg->error, sizeof(cfg->error), "%.100s:%d: %.140s",
			 where, line, msg);
		return -EINVAL;
	}
	config_inherit(cfg);
	return config_check(cfg, where, text);
}

static char *read_file(const char *path, int *err)
{
	FILE *f = fopen(path, "re");
	char *text = NULL;
	size_t n;

	*err = -errno;
	if (!f)
		return NULL;
	text = malloc(CONFIG_FILE_MAX + 1);
	*err = -ENOMEM;
	if (text) {
		n = fread(text, 1, CONFIG_FILE_MAX + 1, f);
		*err = ferror(f) ? -EIO : n > CONFIG_FILE_MAX ? -EFBIG : 0;
		text[n > CONFIG_FILE_MAX ? CONFIG_FILE_MAX : n] = '\0';
	}
	fclose(f);
	if (*err) {
		free(text);
		return NULL;
	}
	return text;
}

/*
 * config_load - parse @path over the values already in @cfg.
 * Returns 0 or -errno with cfg->error saying FILE:LINE and why.
 */
int config_load(struct zcsd_config *cfg, const char *path)
{
	int err;
	char *text = read_file(path, &err);

	if (!text) {
		snprintf(cfg->error, sizeof(cfg->error), "%.200s: %s", path,
			 strerror(-err));
		return err;
	}
	err = parse_text(cfg, path, text);
	free(text);
	return err;
}

/* config_parse_string - as config_load(), from memory (tests, fuzzing). */
int config_parse_string(struct zcsd_config *cfg, const char *text)
{
	return parse_text(cfg, "<string>", text);
}
