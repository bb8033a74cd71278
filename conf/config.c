/* SPDX-License-Identifier: MIT */
/*
 * Config file parsing: one table names every key with its section, type
 * and bounds, so the parser, the error messages and the defaults cannot
 * drift apart. Every error of a file is reported, each naming FILE:LINE,
 * the key and what is accepted; a key given twice in one section is an
 * error, and a misspelt one gets the nearest known key as a hint.
 * Sections: [daemon], [defaults] (the policy every destination inherits),
 * [destination NAME] and [weights] (config_weights.c reads its lines).
 */
#include <ctype.h>
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
	/* Bounded again by max_clients and pool_total_bytes (config_check). */
	{ D(max_user_conns), 1, 4096 },
	/* Taken from the 16 control places beyond max_clients (listener.h),
	 * so users always keep max_clients of them. */
	{ D(admin_reserved_conns), 0, CONFIG_ADMIN_RESERVED_MAX },
	{ D(pool_bytes), 4096, 16 * GiB },
	{ D(pool_total_bytes), 4096, 1024 * GiB },
	{ D(user_pool_bytes), 4096, 1024 * GiB },
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

#define NKEYS	(sizeof(keys) / sizeof(keys[0]))

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
	{ "max_user_conns", "max_user_connections", K_U32 },
	{ "admin_reserved_conns", "admin_reserved_connections", K_U32 },
	{ "user_pool_bytes", "user_pool_total_bytes", K_SIZE },
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

/* "bad value ... expected ..." for @v given to @k. */
static void key_error_text(const struct key *k, const char *v, char *buf,
			   size_t size)
{
	char accepted[96];

	describe(k, accepted, sizeof(accepted));
	snprintf(buf, size, "bad value '%.60s' for %s: expected %s", v,
		 k->name, accepted);
}

/*
 * One file's parse: the reader hands inih one line at a time and so knows
 * each line's number and text, which inih's handler is not told. Rows of
 * seen[]: [daemon], [defaults], then each destination; each holds the
 * line every key was set on, to catch a key given twice.
 */
enum { ROW_DAEMON, ROW_DEFAULTS, ROW_DEST0 };
#define ROW_NONE	(-1)	/* before any section */
#define ROW_BAD		(-2)	/* a section already reported as bad */
#define ROW_WEIGHTS	(-3)	/* [weights]: not keys of the table */

struct parse {
	struct zcsd_config *cfg;
	const char *where;
	const char *pos;		/* the reader's place in the text */
	const char *cur;		/* the line handed out last */
	size_t cur_len;
	int line;			/* its number (inih counts alike) */
	int handled;			/* the last line the handler saw */
	int row;			/* ROW_* or ROW_DEST0 + destination */
	bool had_key;			/* a key since the section began */
	uint32_t seen[ROW_DEST0 + CONFIG_DESTS_MAX][NKEYS];
	uint32_t weight_line[CONFIG_WEIGHTS_MAX];	/* each one's line */
};

/* The [destination NAME] section's index, made on first sight; or -1. */
static int dest_section(struct parse *ps, const char *name)
{
	struct zcsd_config *cfg = ps->cfg;
	struct zcsd_dest_conf *dc;
	size_t len = strlen(name);
	uint32_t i;

	if (len == 0 || len >= CONFIG_NAME_MAX ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789_.-") != len) {
		config_error(cfg, ps->where, ps->line, "bad destination name "
			     "'%.64s': use 1 to %d letters, digits, '_', '.' "
			     "or '-'", name, CONFIG_NAME_MAX - 1);
		return -1;
	}
	for (i = 0; i < cfg->ndests; i++)
		if (!strcmp(cfg->dests[i].name, name))
			return (int)i;
	if (cfg->ndests == CONFIG_DESTS_MAX) {
		config_error(cfg, ps->where, ps->line,
			     "more than %d destinations", CONFIG_DESTS_MAX);
		return -1;
	}
	dc = &cfg->dests[cfg->ndests];
	memset(dc, 0, sizeof(*dc));
	strcpy(dc->name, name);
	return (int)cfg->ndests++;
}

/* "; did you mean [daemon]?" for a misspelt section, else the list. */
static void section_error(struct parse *ps, const char *name)
{
	static const char *const known[] = {
		"daemon", "defaults", "destination", "weights"
	};
	char word[CONFIG_NAME_MAX];
	const char *sp = strchr(name, ' '), *near;
	size_t n = sp ? (size_t)(sp - name) : strlen(name);

	snprintf(word, sizeof(word), "%.*s", (int)n, name);
	near = config_nearest(word, known, 4);
	if (near && near == known[2])
		config_error(ps->cfg, ps->where, ps->line, "unknown section "
			     "[%.60s]; did you mean [destination %.60s]?", name,
			     sp ? sp + 1 : "NAME");
	else if (near)
		config_error(ps->cfg, ps->where, ps->line, "unknown section "
			     "[%.60s]; did you mean [%s]?", name, near);
	else
		config_error(ps->cfg, ps->where, ps->line, "unknown section "
			     "[%.60s] (known: [daemon], [defaults], "
			     "[destination NAME], [weights])", name);
}

/* A "[name]" line: which row its keys go to, judged once, here. */
static void section_start(struct parse *ps, const char *name)
{
	int i;

	ps->had_key = false;
	if (!strcmp(name, "daemon")) {
		ps->row = ROW_DAEMON;
	} else if (!strcmp(name, "defaults")) {
		ps->row = ROW_DEFAULTS;
	} else if (!strcmp(name, "weights")) {
		ps->row = ROW_WEIGHTS;
	} else if (!strncmp(name, "destination ", 12)) {
		i = dest_section(ps, name + 12);
		ps->row = i < 0 ? ROW_BAD : ROW_DEST0 + i;
	} else {
		section_error(ps, name);
		ps->row = ROW_BAD;
	}
}

/* Where a key of another section belongs, or NULL. */
static const char *belongs(enum key_scope scope, const char *name)
{
	int index;

	if (scope != S_DAEMON && key_find(S_DAEMON, name, &index))
		return "[daemon]";
	if (scope != S_POLICY && scope != S_DEST &&
	    key_find(S_POLICY, name, &index))
		return "[defaults] or [destination NAME]";
	if (scope != S_DEST && key_find(S_DEST, name, &index))
		return "[destination NAME]";
	return NULL;
}

/* A key no table entry of this section names: say where it belongs, or
 * which known key it is nearest to. */
static void unknown_key(struct parse *ps, enum key_scope scope,
			const char *section, const char *name)
{
	const char *names[NKEYS], *near, *where = belongs(scope, name);
	size_t i, n = 0;

	/* A hint past the errors cfg->errors can show would not be read. */
	for (i = 0; i < NKEYS && ps->cfg->nerrors == ps->cfg->nerrors_kept;
	     i++)
		if (keys[i].scope == scope ||
		    (scope == S_DEST && keys[i].scope == S_POLICY))
			names[n++] = keys[i].name;
	near = config_nearest(name, names, n);
	if (where)
		config_error(ps->cfg, ps->where, ps->line, "unknown key "
			     "'%.60s' in [%s]; it belongs in %s", name, section,
			     where);
	else if (near)
		config_error(ps->cfg, ps->where, ps->line, "unknown key "
			     "'%.60s' in [%s]; did you mean '%s'?", name,
			     section, near);
	else
		config_error(ps->cfg, ps->where, ps->line, "unknown key "
			     "'%.60s' in [%s]%s", name, section,
			     scope == S_DEST ? " (address or a policy key)" : "");
}

/* Set @k from @value unless this section set it already. */
static void set_key(struct parse *ps, const struct key *k, void *base,
		    const char *section, const char *value)
{
	uint32_t *seen = &ps->seen[ps->row][k - keys];
	char msg[CONFIG_ERR_MAX];

	if (*seen) {
		config_error(ps->cfg, ps->where, ps->line, "%s is given again "
			     "in [%s] (first on line %u)", k->name, section,
			     *seen);
		return;
	}
	*seen = (uint32_t)ps->line;
	if (set_value(k, base, value)) {
		key_error_text(k, value, msg, sizeof(msg));
		config_error(ps->cfg, ps->where, ps->line, "%s", msg);
	}
}

static void dest_key(struct parse *ps, const char *name, const char *value)
{
	struct zcsd_dest_conf *dc = &ps->cfg->dests[ps->row - ROW_DEST0];
	char section[CONFIG_NAME_MAX + 16];
	const struct key *k;
	int index;

	snprintf(section, sizeof(section), "destination %s", dc->name);
	k = key_find(S_DEST, name, &index);
	if (k) {
		set_key(ps, k, dc, section, value);
		return;
	}
	k = key_find(S_POLICY, name, &index);
	if (!k) {
		unknown_key(ps, S_DEST, section, name);
		return;
	}
	dc->policy_set |= 1u << index;
	set_key(ps, k, &dc->policy, section, value);
}

/*
 * A [weights] line: a user's or group's weight, once per user or group
 * whatever name or number the file uses for it.
 */
static void weight_key(struct parse *ps, const char *name, const char *value)
{
	struct zcsd_config *cfg = ps->cfg;
	char msg[CONFIG_ERR_MAX];
	struct zcsd_weight w;
	uint32_t i;

	if (config_weight_parse(name, value, &w, msg, sizeof(msg))) {
		config_error(cfg, ps->where, ps->line, "%s", msg);
		return;
	}
	for (i = 0; i < cfg->nweights; i++) {
		if (cfg->weights[i].id != w.id ||
		    cfg->weights[i].group != w.group)
			continue;
		config_error(cfg, ps->where, ps->line, "'%.60s' (%s %u) is "
			     "given again in [weights] (first on line %u)",
			     name, w.group ? "gid" : "uid", w.id,
			     ps->weight_line[i]);
		return;
	}
	if (cfg->nweights == CONFIG_WEIGHTS_MAX) {
		config_error(cfg, ps->where, ps->line, "more than %d entries "
			     "in [weights]", CONFIG_WEIGHTS_MAX);
		return;
	}
	ps->weight_line[cfg->nweights] = (uint32_t)ps->line;
	cfg->weights[cfg->nweights++] = w;
}

/*
 * inih's handler, for each "key = value". inih takes an indented line after
 * a key as more of that key's value; zcsendd takes one line per key.
 */
static int config_ini_cb(void *user, const char *section, const char *name,
			 const char *value)
{
	struct parse *ps = user;
	struct zcsd_config *cfg = ps->cfg;
	const struct key *k;
	int index;

	(void)section;	/* ps->row says the same, judged at the header */
	ps->handled = ps->line;
	if (ps->had_key && ps->cur_len && isspace((unsigned char)ps->cur[0])) {
		config_error(cfg, ps->where, ps->line, "an indented line "
			     "continues the value of '%.60s' above; put each "
			     "key on a line of its own, unindented", name);
		return 1;
	}
	ps->had_key = true;
	if (ps->row == ROW_BAD)
		return 1;
	if (ps->row == ROW_WEIGHTS) {
		weight_key(ps, name, value);
		return 1;
	}
	if (ps->row == ROW_NONE) {
		config_error(cfg, ps->where, ps->line, "'%.60s' comes before "
			     "any [section]", name);
		return 1;
	}
	if (ps->row >= ROW_DEST0) {
		dest_key(ps, name, value);
		return 1;
	}
	k = key_find(ps->row == ROW_DAEMON ? S_DAEMON : S_POLICY, name,
		     &index);
	if (!k)
		unknown_key(ps, ps->row == ROW_DAEMON ? S_DAEMON : S_POLICY,
			    ps->row == ROW_DAEMON ? "daemon" : "defaults",
			    name);
	else
		set_key(ps, k, ps->row == ROW_DAEMON ? (void *)cfg
						     : (void *)&cfg->defaults,
			ps->row == ROW_DAEMON ? "daemon" : "defaults", value);
	return 1;
}

/* The line as inih sees it: leading space and a UTF-8 BOM skipped. */
static const char *line_text(const struct parse *ps, size_t *len)
{
	const char *p = ps->cur, *end = ps->cur + ps->cur_len;

	if (ps->line == 1 && ps->cur_len >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3))
		p += 3;
	while (p < end && isspace((unsigned char)*p))
		p++;
	*len = (size_t)(end - p);
	return p;
}

/* A "[section]" line starts a section (inih takes the name as it is). */
static void line_start(struct parse *ps)
{
	char name[CONFIG_NAME_MAX + 16];
	const char *close;
	size_t len;
	const char *p = line_text(ps, &len);

	if (!len || *p != '[')
		return;
	close = memchr(p, ']', len);
	if (!close)
		return;
	snprintf(name, sizeof(name), "%.*s", (int)(close - p - 1), p + 1);
	section_start(ps, name);
}

/*
 * After inih is done with a line: one that is no comment, no blank and
 * no section, and that the handler did not see, is not "key = value".
 */
static void line_end(struct parse *ps)
{
	size_t len;
	const char *p;

	if (ps->line == 0 || ps->handled == ps->line)
		return;
	p = line_text(ps, &len);
	if (!len || *p == ';' || *p == '#')
		return;
	if (*p == '[' && memchr(p, ']', len))
		return;
	config_error(ps->cfg, ps->where, ps->line, "%s", *p == '['
		     ? "expected ']' after the section name"
		     : "expected 'key = value' or '[section]'");
}

/*
 * inih's reader: the next line of the text, with its newline. A line too
 * long for inih's buffer is an error here, and inih gets an empty line in
 * its place, so that it counts lines as the file has them.
 */
static char *ini_reader_cb(char *buf, int num, void *user)
{
	struct parse *ps = user;
	size_t n = strcspn(ps->pos, "\n");

	line_end(ps);
	if (!*ps->pos)
		return NULL;
	ps->line++;
	ps->cur = ps->pos;
	ps->cur_len = n;
	ps->pos += n + (ps->pos[n] == '\n');
	if (num < 2 || n > (size_t)num - 2) {
		config_error(ps->cfg, ps->where, ps->line, "line longer than "
			     "%d characters", num - 2);
		ps->handled = ps->line;
		snprintf(buf, (size_t)num, "\n");
		return buf;
	}
	memcpy(buf, ps->cur, n);
	buf[n] = '\n';
	buf[n + 1] = '\0';
	line_start(ps);
	return buf;
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
	cfg->admin_reserved_conns = 4;	/* status, reload, policy */
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
	const char *names[NKEYS], *near;
	const struct key *k;
	size_t i, n = 0;
	int index;

	keys_init();
	k = key_find(S_POLICY, key, &index);
	if (!k) {
		for (i = 0; i < NKEYS; i++)
			if (keys[i].scope == S_POLICY)
				names[n++] = keys[i].name;
		near = config_nearest(key, names, n);
		if (near)
			snprintf(err, errlen, "unknown policy key '%.40s'; did "
				 "you mean '%s'?", key, near);
		else
			snprintf(err, errlen, "unknown policy key '%.40s' "
				 "(flush, batch_max, batch_usec, zerocopy, "
				 "zerocopy_min_bytes, udp_segment)", key);
		return -EINVAL;
	}
	if (set_value(k, p, value)) {
		key_error_text(k, value, err, errlen);
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

static void errors_reset(struct zcsd_config *cfg)
{
	cfg->error[0] = cfg->errors[0] = '\0';
	cfg->nerrors = cfg->nerrors_kept = 0;
}

/*
 * Parse @text line by line, collecting every error, then check the rules
 * that span keys. inih reports its first bad line itself; each one is
 * also one of ours, unless inih judges a line this file does not.
 */
static int parse_text(struct zcsd_config *cfg, const char *where,
		      const char *text)
{
	struct parse *ps = calloc(1, sizeof(*ps));
	int line, err;

	keys_init();
	errors_reset(cfg);
	if (!ps) {
		config_error(cfg, where, 0, "out of memory");
		return -ENOMEM;
	}
	ps->cfg = cfg;
	ps->where = where;
	ps->pos = text;
	ps->row = ROW_NONE;
	line = ini_parse_stream(ini_reader_cb, ps, config_ini_cb, ps);
	free(ps);
	if (line < 0) {
		config_error(cfg, where, 0, "out of memory");
		return -ENOMEM;
	}
	if (line > 0 && !cfg->nerrors)
		config_error(cfg, where, line,
			     "expected 'key = value' or '[section]'");
	config_inherit(cfg);
	err = config_check(cfg, where, text);
	config_errors_end(cfg);
	return err;
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
 * Returns 0 or -errno; then cfg->errors holds every error, one
 * "FILE:LINE: why" a line (cfg->nerrors of them), cfg->error the first.
 */
int config_load(struct zcsd_config *cfg, const char *path)
{
	int err;
	char *text = read_file(path, &err);

	if (!text) {
		errors_reset(cfg);
		config_error(cfg, path, 0, "%s", strerror(-err));
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
