/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the config parser (conf/): the input is a config
 * file's text. It is parsed over the embedded defaults, and a config that
 * parses must keep the invariants the daemon relies on without checking
 * again. The run-time policy setter gets a key and value cut from the input.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "zcs_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)
#define TERMINATED(a) (memchr((a), '\0', sizeof(a)) != NULL)

static void check_policy(const struct zcsd_policy *p)
{
	CHECK(p->flush == ZCS_FLUSH_IMMEDIATE || p->flush == ZCS_FLUSH_BATCH);
	CHECK(p->zerocopy <= ZCS_ZC_AUTO);
	CHECK(p->batch_max >= 1 && p->batch_max <= ZCS_COMPLETE_BATCH_MAX);
	CHECK(p->zerocopy_min_bytes <= ZCS_SEND_LEN_MAX);
}

/* What a config that parsed must hold; the daemon trusts all of it. */
static void check_config(const struct zcsd_config *cfg)
{
	uint32_t i;

	CHECK(cfg->pool_bytes <= cfg->pool_total_bytes);
	CHECK(cfg->max_send_bytes <= cfg->pool_bytes);
	CHECK(cfg->max_send_bytes >= 1 &&
	      cfg->max_send_bytes <= ZCS_SEND_LEN_MAX);
	CHECK(cfg->ndests <= CONFIG_DESTS_MAX);
	CHECK(cfg->n_adhoc_nets <= CONFIG_LIST_MAX);
	CHECK(cfg->allow_users.n <= CONFIG_LIST_MAX);
	CHECK(cfg->allow_groups.n <= CONFIG_LIST_MAX);
	CHECK(TERMINATED(cfg->socket_path));
	check_policy(&cfg->defaults);
	for (i = 0; i < cfg->ndests; i++) {
		CHECK(TERMINATED(cfg->dests[i].name));
		CHECK(TERMINATED(cfg->dests[i].address));
		CHECK(cfg->dests[i].address[0] != '\0');
		CHECK(config_dest(cfg, cfg->dests[i].name) != NULL);
		check_policy(&cfg->dests[i].policy);
	}
	/* Admission and the scheduler trust these (admission.c, sched/). */
	CHECK(config_user_conns(cfg) >= 1 &&
	      config_user_conns(cfg) <= cfg->max_clients);
	CHECK(config_user_pool_bytes(cfg) >= cfg->pool_bytes &&
	      config_user_pool_bytes(cfg) <= cfg->pool_total_bytes);
	CHECK(cfg->admin_reserved_conns <= CONFIG_ADMIN_RESERVED_MAX);
	CHECK(cfg->nweights <= CONFIG_WEIGHTS_MAX);
	for (i = 0; i < cfg->nweights; i++)
		CHECK(cfg->weights[i].weight >= 1 &&
		      cfg->weights[i].weight <= CONFIG_WEIGHT_MAX);
}

/*
 * Cut "key=value" from the text: the key is what precedes the first '=',
 * the value runs to the end of that line. Both are bounded copies.
 */
static void policy_from(const char *text)
{
	struct zcsd_policy p;
	char key[64], value[300], err[128];
	const char *eq = strchr(text, '=');
	size_t k, v;
	int ret;

	if (!eq)
		return;
	k = (size_t)(eq - text);
	k = k < sizeof(key) - 1 ? k : sizeof(key) - 1;
	memcpy(key, text, k);
	key[k] = '\0';
	v = strcspn(eq + 1, "\n");
	v = v < sizeof(value) - 1 ? v : sizeof(value) - 1;
	memcpy(value, eq + 1, v);
	value[v] = '\0';
	memset(&p, 0, sizeof(p));
	p.batch_max = 1;
	memset(err, 'x', sizeof(err));
	ret = config_policy_set(&p, key, value, err, sizeof(err));
	CHECK(ret == 0 || ret == -EINVAL);
	if (ret)
		CHECK(TERMINATED(err) && err[0] != '\0');
	else
		check_policy(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct zcsd_config cfg;
	char *text;
	int ret;

	if (size > 65536)
		return 0;
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	config_defaults(&cfg);
	ret = config_parse_string(&cfg, text);
	CHECK(ret <= 0);
	CHECK(TERMINATED(cfg.error));
	CHECK(TERMINATED(cfg.errors));
	CHECK(cfg.nerrors_kept <= cfg.nerrors);
	CHECK((ret == 0) == (cfg.nerrors == 0));
	if (ret == 0)
		check_config(&cfg);
	else
		CHECK(cfg.error[0] != '\0' && cfg.errors[0] != '\0');
	policy_from(text);
	free(text);
	return 0;
}
