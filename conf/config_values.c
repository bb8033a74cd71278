/* SPDX-License-Identifier: MIT */
/*
 * Parsing single config values: sizes with suffixes, octal modes, words,
 * users and groups by name or number, and comma-separated lists. Each
 * returns 0 or -EINVAL and writes its result only on success.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"

/* config_parse_size - "64M", "4k", "1G" or plain bytes; whole numbers. */
int config_parse_size(const char *v, uint64_t *out)
{
	unsigned long long n;
	unsigned shift = 0;
	char *end;

	if (*v < '0' || *v > '9')
		return -EINVAL;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno)
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	}
	if (*end != '\0' || (shift && n > (UINT64_MAX >> shift)))
		return -EINVAL;
	*out = (uint64_t)n << shift;
	return 0;
}

int config_parse_mode(const char *v, uint64_t *out)
{
	unsigned long long n;
	char *end;

	if (*v < '0' || *v > '7')
		return -EINVAL;
	errno = 0;
	n = strtoull(v, &end, 8);
	if (errno || *end)
		return -EINVAL;
	*out = n;
	return 0;
}

/* config_parse_word - the index of @v in @words (any case), or -EINVAL. */
int config_parse_word(const char *v, const char *const *words, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcasecmp(v, words[i]))
			return i;
	return -EINVAL;
}

/*
 * config_parse_uint - a whole number of @min to @max, digits only (no
 * sign, space or suffix, which strtoul alone would take).
 */
int config_parse_uint(const char *v, uint32_t min, uint32_t max,
		      uint32_t *out)
{
	unsigned long n;
	char *end;

	if (*v < '0' || *v > '9')
		return -EINVAL;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || *end || n < min || n > max)
		return -EINVAL;
	*out = (uint32_t)n;
	return 0;
}

/* A uid or gid; (uint32_t)-1 is "no id" to the kernel, so not one. */
static int parse_id(const char *v, uint32_t *id)
{
	return config_parse_uint(v, 0, UINT32_MAX - 1, id);
}

/* config_parse_user - a user name or uid. Names are looked up now. */
int config_parse_user(const char *v, uint32_t *uid)
{
	struct passwd *pw;

	if (!parse_id(v, uid))
		return 0;
	pw = getpwnam(v);
	if (!pw)
		return -EINVAL;
	*uid = pw->pw_uid;
	return 0;
}

/* config_parse_group - a group name or gid. */
int config_parse_group(const char *v, uint32_t *gid)
{
	struct group *gr;

	if (!parse_id(v, gid))
		return 0;
	gr = getgrnam(v);
	if (!gr)
		return -EINVAL;
	*gid = gr->gr_gid;
	return 0;
}

/* Call @fn on each comma-separated, space-trimmed item of @v. */
static int for_each_item(const char *v, void *ctx,
			 int (*fn)(const char *item, void *ctx))
{
	char buf[512], *save = NULL, *item, *end;
	int err;

	if (strlen(v) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, v);
	for (item = strtok_r(buf, ",", &save); item;
	     item = strtok_r(NULL, ",", &save)) {
		while (*item == ' ' || *item == '\t')
			item++;
		end = item + strlen(item);
		while (end > item && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (!*item)
			return -EINVAL;
		err = fn(item, ctx);
		if (err)
			return err;
	}
	return 0;
}

struct ids_ctx {
	struct id_list l;
	int (*one)(const char *, uint32_t *);
};

static int add_id(const char *item, void *arg)
{
	struct ids_ctx *c = arg;

	if (c->l.n == CONFIG_LIST_MAX)
		return -EINVAL;
	return c->one(item, &c->l.id[c->l.n++]);
}

/* config_parse_ids - "root, 1000, alice"; empty clears the list. */
int config_parse_ids(const char *v, struct id_list *l,
		     int (*one)(const char *, uint32_t *))
{
	struct ids_ctx c = { .l.n = 0, .one = one };
	int err = for_each_item(v, &c, add_id);

	if (!err)
		*l = c.l;
	return err;
}

struct nets_ctx {
	struct addr_net nets[CONFIG_LIST_MAX];
	uint32_t n;
};

static int add_net(const char *item, void *arg)
{
	struct nets_ctx *c = arg;

	if (c->n == CONFIG_LIST_MAX)
		return -EINVAL;
	return addr_net_parse(item, &c->nets[c->n++]);
}

/* config_parse_nets - "127.0.0.0/8, ::1/128"; empty allows any. */
int config_parse_nets(const char *v, struct addr_net *nets, uint32_t *n)
{
	struct nets_ctx c = { .n = 0 };
	int err = for_each_item(v, &c, add_net);

	if (!err) {
		memcpy(nets, c.nets, sizeof(c.nets));
		*n = c.n;
	}
	return err;
}
