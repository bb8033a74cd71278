/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of conf/: the embedded defaults validate, every key parses,
 * destinations inherit [defaults], and every bad value, key, section or
 * address is refused with its line; all of a file's errors are reported,
 * a key given twice is one, and a misspelt key gets the nearest as a hint.
 * Per-user limits and [weights]: bad ones are errors at their line.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "zcs_proto.h"

static int failures;

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,	\
			__LINE__, #cond);				\
		failures++;						\
	}								\
} while (0)

static const char all_keys[] =
	"[daemon]\n"
	"socket = /tmp/z.sock\n"
	"socket_mode = 0600\n"
	"ring_entries = 256\n"
	"max_clients = 8\n"
	"max_user_connections = 5\n"
	"admin_reserved_connections = 2\n"
	"pool_bytes = 2M\n"
	"pool_total_bytes = 1G\n"
	"user_pool_total_bytes = 300M\n"
	"max_inflight = 512\n"
	"max_flows = 4\n"
	"max_send_bytes = 64k\n"
	"max_destinations = 9\n"
	"allow_adhoc = no\n"
	"connect_timeout_ms = 250\n"
	"linger_ms = 0\n"
	"reply_timeout_ms = 750\n"
	"drain_timeout_ms = 1500\n"
	"poll_usec = 20\n"
	"socket_group = 0\n"
	"allowed_users = root, 1000\n"
	"allowed_groups = 100\n"
	"admin_group = root\n"
	"adhoc_networks = 127.0.0.0/8, ::1/128\n"
	"[defaults]\n"
	"flush = immediate\n"
	"batch_max = 32\n"
	"batch_usec = 20000\n"
	"zerocopy = auto\n"
	"zerocopy_min_bytes = 16K\n"
	"[destination sink]\n"
	"address = udp://[::1]:9000\n"
	"batch_max = 7\n"
	"[destination web]\n"
	"address = tcp://127.0.0.1:80\n"
	"flush = batch\n"
	"zerocopy = off\n"
	"[weights]\n"
	"group 100 = 6\n";

static void test_defaults(void)
{
	struct zcsd_config c;

	config_defaults(&c);
	CHECK(config_check(&c, "defaults", NULL) == 0);
	CHECK(c.allow_adhoc);
	CHECK(c.defaults.flush == ZCS_FLUSH_BATCH);
	CHECK(config_parse_string(&c, "") == 0);
}

/* Destinations keep what they set and inherit the rest, whatever the
 * order of sections. */
static void test_dests(const struct zcsd_config *c)
{
	const struct zcsd_dest_conf *sink = config_dest(c, "sink");
	const struct zcsd_dest_conf *web = config_dest(c, "web");

	CHECK(c->ndests == 2);
	CHECK(sink && web && !config_dest(c, "nope"));
	if (!sink || !web)
		return;
	CHECK(!strcmp(sink->address, "udp://[::1]:9000"));
	CHECK(sink->policy.batch_max == 7);
	CHECK(sink->policy.flush == ZCS_FLUSH_IMMEDIATE);	/* inherited */
	CHECK(sink->policy.zerocopy == ZCS_ZC_AUTO);
	CHECK(sink->policy.batch_usec == 20000);
	CHECK(web->policy.flush == ZCS_FLUSH_BATCH);
	CHECK(web->policy.zerocopy == ZCS_ZC_OFF);
	CHECK(web->policy.batch_max == 32);
	CHECK(web->policy.zerocopy_min_bytes == 16u << 10);
}

static void test_inherit_order(void)
{
	struct zcsd_config c;

	config_defaults(&c);
	CHECK(config_parse_string(&c, "[destination a]\n"
				      "address = udp://127.0.0.1:1\n"
				      "[defaults]\nbatch_usec = 77\n") == 0);
	CHECK(c.ndests == 1 && c.dests[0].policy.batch_usec == 77);
}

static void test_policy_set(void)
{
	struct zcsd_policy p = { 0 };
	char err[256];

	CHECK(config_policy_set(&p, "flush", "immediate", err,
				sizeof(err)) == 0);
	CHECK(p.flush == ZCS_FLUSH_IMMEDIATE);
	CHECK(config_policy_set(&p, "batch_max", "100", err, sizeof(err)) ==
	      0);
	CHECK(p.batch_max == 100);
	CHECK(config_policy_set(&p, "batch_max", "0", err, sizeof(err)) < 0);
	CHECK(strstr(err, "batch_max") != NULL);
	CHECK(config_policy_set(&p, "socket", "/x", err, sizeof(err)) < 0);
	CHECK(strstr(err, "unknown policy key") != NULL);
	CHECK(p.batch_max == 100);
}

static void test_every_key(void)
{
	struct zcsd_config c;

	config_defaults(&c);
	CHECK(config_parse_string(&c, all_keys) == 0);
	CHECK(!strcmp(c.socket_path, "/tmp/z.sock"));
	CHECK(c.socket_mode == 0600);
	CHECK(c.ring_entries == 256);
	CHECK(c.max_clients == 8);
	CHECK(c.max_user_conns == 5);
	CHECK(c.admin_reserved_conns == 2);
	CHECK(c.user_pool_bytes == 300u << 20);
	CHECK(c.nweights == 1 && c.weights[0].group &&
	      c.weights[0].id == 100 && c.weights[0].weight == 6);
	CHECK(c.pool_bytes == 2u << 20);
	CHECK(c.pool_total_bytes == 1ull << 30);
	CHECK(c.max_inflight == 512);
	CHECK(c.max_flows == 4);
	CHECK(c.max_send_bytes == 64u << 10);
	CHECK(c.max_dests == 9);
	CHECK(!c.allow_adhoc);
	CHECK(c.connect_timeout_ms == 250);
	CHECK(c.linger_ms == 0);
	CHECK(c.reply_timeout_ms == 750);
	CHECK(c.drain_timeout_ms == 1500);
	CHECK(c.poll_usec == 20);
	CHECK(c.defaults.flush == ZCS_FLUSH_IMMEDIATE);
	CHECK(c.defaults.batch_max == 32);
	CHECK(c.defaults.batch_usec == 20000);
	CHECK(c.defaults.zerocopy == ZCS_ZC_AUTO);
	CHECK(c.defaults.zerocopy_min_bytes == 16u << 10);
	CHECK(c.socket_gid == 0);
	CHECK(c.allow_users.n == 2 && c.allow_users.id[0] == 0 &&
	      c.allow_users.id[1] == 1000);
	CHECK(c.allow_groups.n == 1 && c.allow_groups.id[0] == 100);
	CHECK(c.admin_gid == 0);
	CHECK(c.n_adhoc_nets == 2 && c.adhoc_nets[0].prefix == 8 &&
	      c.adhoc_nets[1].prefix == 128);
	test_dests(&c);
}

/* @text must fail, and the message must hold each of @want. */
static void expect_error(const char *text, const char *want1,
			 const char *want2)
{
	struct zcsd_config c;

	config_defaults(&c);
	if (config_parse_string(&c, text) == 0) {
		fprintf(stderr, "accepted: %s\n", text);
		failures++;
		return;
	}
	if (!strstr(c.error, want1) || (want2 && !strstr(c.error, want2))) {
		fprintf(stderr, "error '%s' lacks '%s'/'%s'\n", c.error, want1,
			want2 ? want2 : "");
		failures++;
	}
}

static void test_bad_values(void)
{
	expect_error("[daemon]\nmax_clients = 0\n", ":2:", "1 to 4096");
	expect_error("[daemon]\nmax_clients = 4097\n", ":2:", "max_clients");
	expect_error("[daemon]\nmax_clients = 0\nmax_flows = 0\n", ":2:",
		     "max_clients");	/* the first bad line, its own text */
	expect_error("[daemon]\nmax_clients = -1\n", ":2:", NULL);
	expect_error("[daemon]\nmax_clients = 12x\n", ":2:", NULL);
	expect_error("[daemon]\nring_entries = 4\n", ":2:", "8 to 8192");
	expect_error("[daemon]\nreply_timeout_ms = 0\n", ":2:",
		     "1 to 600000");
	expect_error("[daemon]\npool_bytes = 99G\n", ":2:", "pool_bytes");
	expect_error("[daemon]\npool_bytes = 18446744073709551615G\n", ":2:",
		     NULL);
	expect_error("[daemon]\nsocket = relative.sock\n", ":2:", "absolute");
	expect_error("[daemon]\nsocket_mode = 0999\n", ":2:", "octal");
	expect_error("[daemon]\nallow_adhoc = maybe\n", ":2:", "yes or no");
	expect_error("\n\n[defaults]\nflush = sometimes\n", ":4:",
		     "immediate or batch");
	expect_error("[defaults]\nzerocopy = 1\n", ":2:", "on, off or auto");
	expect_error("[defaults]\nbatch_max = 0\n", ":2:", "batch_max");
	expect_error("[defaults]\nbatch_max = 5000\n", ":2:", "batch_max");
	expect_error("[daemon]\nbogus = 1\n", ":2:", "unknown key 'bogus'");
	/* A bad section is reported once, at its header. */
	expect_error("[nonsense]\nx = 1\n", ":1:", "unknown section");
	expect_error("[daemon]\nno equals sign\n", ":2:", NULL);
	expect_error("[daemon]\nallowed_users = nosuchuser_zcs\n", ":2:",
		     "user names or uids");
	expect_error("[daemon]\nadmin_group = nosuchgroup_zcs\n", ":2:",
		     "group name");
	expect_error("[daemon]\nadhoc_networks = 10.0.0.0/33\n", ":2:",
		     "networks");
	expect_error("[daemon]\nadhoc_networks = 127.0.0.1/8, x\n", ":2:",
		     NULL);
	expect_error("[destination x]\naddress = udp://host:1\n", ":2:",
		     "numeric");
	expect_error("[destination x]\naddress = tcp://1.2.3.4:0\n", ":2:",
		     "address");
	expect_error("[destination x]\naddress = udp://[::1]9\n", ":2:",
		     NULL);
	expect_error("[destination x]\nsocket = /x\n", ":2:",
		     "unknown key 'socket'");
	expect_error("[destination bad/name]\naddress = udp://1.2.3.4:5\n",
		     ":1:", "bad destination name");
	expect_error("[defaults]\naddress = udp://1.2.3.4:5\n", ":2:",
		     "unknown key");
	expect_error("\n[destination y]\nflush = batch\n", ":2:",
		     "has no address");
}

/* @text must fail with exactly the @n errors of @want, in order. */
static void expect_errors(const char *text, const char *const *want, int n)
{
	struct zcsd_config c;
	const char *p;
	int i;

	config_defaults(&c);
	CHECK(config_parse_string(&c, text) == -EINVAL);
	if (c.nerrors != (uint32_t)n) {
		fprintf(stderr, "%u errors, want %d:\n%s", c.nerrors, n,
			c.errors);
		failures++;
	}
	for (i = 0, p = c.errors; i < n; i++) {
		if (strncmp(p, want[i], strlen(want[i])) ||
		    p[strlen(want[i])] != '\n') {
			fprintf(stderr, "error %d: want '%s', have:\n%s", i + 1,
				want[i], c.errors);
			failures++;
			return;
		}
		p += strlen(want[i]) + 1;
	}
	CHECK(!strncmp(c.error, want[0], strlen(want[0])));
}

/* Every error, each at its own line: values, repeats, hints, syntax. */
static void test_all_errors(void)
{
	static const char text[] =
		"[daemon]\n"
		"max_clients = 0\n"			/* 2 */
		"max_flows = 0\n"			/* 3 */
		"max_flows = 4\n"			/* 4: again */
		"pool_byte = 1M\n"			/* 5 */
		"no equals sign\n"			/* 6 */
		"[defaults]\n"
		"Batch_Max = 3\n"			/* 8: case */
		"batch_usce = 3\n"			/* 9: swapped */
		"address = udp://127.0.0.1:9\n"	/* 10 */
		"[destination a]\n"
		"address = udp://127.0.0.1:9\n"
		"flush = batch\n"
		"  batch_max = 4\n"			/* 14: continues */
		"[destination a]\n"
		"address = udp://127.0.0.1:10\n"	/* 16: again */
		"[dest b]\n"				/* 17 */
		"address = udp://127.0.0.1:9\n";
	static const char *const want[] = {
		"<string>:2: bad value '0' for max_clients: expected 1 to 4096",
		"<string>:3: bad value '0' for max_flows: expected 1 to 4096",
		"<string>:4: max_flows is given again in [daemon] "
		"(first on line 3)",
		"<string>:5: unknown key 'pool_byte' in [daemon]; did you "
		"mean 'pool_bytes'?",
		"<string>:6: expected 'key = value' or '[section]'",
		"<string>:8: unknown key 'Batch_Max' in [defaults]; did you "
		"mean 'batch_max'?",
		"<string>:9: unknown key 'batch_usce' in [defaults]; did you "
		"mean 'batch_usec'?",
		"<string>:10: unknown key 'address' in [defaults]; it belongs "
		"in [destination NAME]",
		"<string>:14: an indented line continues the value of 'flush' "
		"above; put each key on a line of its own, unindented",
		"<string>:16: address is given again in [destination a] "
		"(first on line 12)",
		"<string>:17: unknown section [dest b] (known: [daemon], "
		"[defaults], [destination NAME], [weights])",
	};

	expect_errors(text, want, (int)(sizeof(want) / sizeof(want[0])));
}

/* Far-off names get no hint; a bracket left open and a line too long for
 * inih are errors at their own lines, and the lines after keep count. */
static void test_hints_and_lines(void)
{
	static const char *const want1[] = {
		"<string>:2: unknown key 'turbo' in [daemon]",
		"<string>:4: unknown key 'zz' in [defaults]",
		"<string>:5: expected ']' after the section name",
		"<string>:6: unknown section [destinaton x]; did you mean "
		"[destination x]?",
	};
	static const char *const want2[] = {
		"<string>:2: line longer than 198 characters",
		"<string>:3: bad value '0' for max_clients: expected 1 to 4096",
	};
	char text[600];
	char err[128];
	struct zcsd_policy p;

	expect_errors("[daemon]\nturbo = 1\n[defaults]\nzz = 1\n[daemon\n"
		      "[destinaton x]\naddress = udp://127.0.0.1:1\n",
		      want1, 4);
	snprintf(text, sizeof(text), "[daemon]\nsocket = /%0300d\n"
		 "max_clients = 0\n", 0);
	expect_errors(text, want2, 2);
	memset(&p, 0, sizeof(p));
	CHECK(config_policy_set(&p, "bach_max", "3", err, sizeof(err)) ==
	      -EINVAL);
	CHECK(strstr(err, "did you mean 'batch_max'?") != NULL);
}

/* More errors than cfg->errors holds: all are counted, and it says so. */
static void test_many_errors(void)
{
	static char text[8192];
	struct zcsd_config c;
	size_t n = 0;
	int i;

	n += (size_t)snprintf(text, sizeof(text), "[daemon]\n");
	for (i = 0; i < 200; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
				      "max_clients = 0\n");
	config_defaults(&c);
	CHECK(config_parse_string(&c, text) == -EINVAL);
	CHECK(c.nerrors == 200);
	CHECK(c.nerrors_kept < 200 && c.nerrors_kept > 10);
	CHECK(memchr(c.errors, '\0', sizeof(c.errors)) != NULL);
	CHECK(strstr(c.errors, "more errors not shown") != NULL);
	CHECK(strstr(c.errors, "<string>:3: max_clients is given again in "
			       "[daemon] (first on line 2)") != NULL);
}

static void test_cross_checks(void)
{
	expect_error("[daemon]\npool_bytes = 2G\npool_total_bytes = 1G\n",
		     "pool_total_bytes", NULL);
	expect_error("[daemon]\npool_bytes = 64k\nmax_send_bytes = 1M\n",
		     "max_send_bytes", NULL);
}

static void test_too_many_dests(void)
{
	char text[512];
	int n;

	n = snprintf(text, sizeof(text), "[daemon]\nmax_destinations = 1\n");
	snprintf(text + n, sizeof(text) - (size_t)n,
		 "[destination a]\naddress = udp://127.0.0.1:1\n"
		 "[destination b]\naddress = udp://127.0.0.1:2\n");
	expect_error(text, "max_destinations is 1", NULL);
}

/*
 * The ring's CQ is ring_entries * 8 and the kernel takes at most 65536 CQ
 * entries (IORING_MAX_CQ_ENTRIES): 8192 is the largest SQ the daemon can
 * set up, and anything above must fail the check, naming the range.
 */
static void test_ring_bounds(void)
{
	struct zcsd_config c;

	config_defaults(&c);
	CHECK(config_parse_string(&c, "[daemon]\nring_entries = 8192\n") == 0);
	CHECK(c.ring_entries == 8192);
	expect_error("[daemon]\nring_entries = 8193\n", ":2:", "8 to 8192");
	expect_error("[daemon]\nring_entries = 16384\n", ":2:", "8 to 8192");
	expect_error("[daemon]\nring_entries = 32768\n", ":2:",
		     "ring_entries");
}

/* Per-user limits: given, derived from the totals, or refused. */
static void test_user_limits(void)
{
	struct zcsd_config c;

	config_defaults(&c);
	CHECK(config_user_conns(&c) == 16);	/* max_clients 64 / 4 */
	CHECK(config_user_pool_bytes(&c) == 64u << 20);	/* 256M / 4 */
	CHECK(c.admin_reserved_conns == 4);
	CHECK(config_parse_string(&c, "[daemon]\nmax_clients = 2\n"
				  "pool_bytes = 8M\npool_total_bytes = 16M\n")
	      == 0);
	CHECK(config_user_conns(&c) == 1);	/* never 0 */
	CHECK(config_user_pool_bytes(&c) == 8u << 20);	/* one full pool */
	config_defaults(&c);
	CHECK(config_parse_string(&c, "[daemon]\nmax_user_connections = 3\n"
				  "user_pool_total_bytes = 16M\n"
				  "admin_reserved_connections = 0\n") == 0);
	CHECK(config_user_conns(&c) == 3);
	CHECK(config_user_pool_bytes(&c) == 16u << 20);
	CHECK(c.admin_reserved_conns == 0);
	expect_error("[daemon]\nmax_user_connections = 0\n", ":2:",
		     "1 to 4096");
	expect_error("[daemon]\nmax_user_connections = -1\n", ":2:",
		     "max_user_connections");
	expect_error("[daemon]\nmax_user_connections = many\n", ":2:",
		     "max_user_connections");
	expect_error("[daemon]\nmax_clients = 8\nmax_user_connections = 9\n",
		     ":3:", "over max_clients");
	expect_error("[daemon]\nuser_pool_total_bytes = 0\n", ":2:",
		     "user_pool_total_bytes");
	expect_error("[daemon]\n\nuser_pool_total_bytes = 1G\n", ":3:",
		     "over pool_total_bytes");
	expect_error("[daemon]\nuser_pool_total_bytes = 1M\n", ":2:",
		     "below pool_bytes");
	expect_error("[daemon]\nadmin_reserved_connections = 17\n", ":2:",
		     "0 to 16");
}

/* [weights]: users and groups by name or number, bounded, each once. */
static void test_weights(void)
{
	struct zcsd_config c;

	config_defaults(&c);
	CHECK(c.nweights == 0);
	CHECK(config_parse_string(&c, "[weights]\nuser root = 4\n"
				  "group  0 = 1000\nuser 65534 = 1\n") == 0);
	CHECK(c.nweights == 3);
	CHECK(c.weights[0].id == 0 && !c.weights[0].group &&
	      c.weights[0].weight == 4);
	CHECK(c.weights[1].id == 0 && c.weights[1].group &&
	      c.weights[1].weight == 1000);
	CHECK(c.weights[2].id == 65534 && c.weights[2].weight == 1);
	expect_error("[weights]\nuser root = 0\n", ":2:", "1 to 1000");
	expect_error("[weights]\nuser root = -4\n", ":2:", "bad weight");
	expect_error("[weights]\nuser root = 1001\n", ":2:", "1 to 1000");
	expect_error("[weights]\nuser root = 4k\n", ":2:", "bad weight");
	expect_error("[weights]\nuser root = heavy\n", ":2:", "bad weight");
	expect_error("[weights]\nuser nosuchuser_zcs = 2\n", ":2:",
		     "unknown user");
	expect_error("[weights]\ngroup nosuchgroup_zcs = 2\n", ":2:",
		     "unknown group");
	expect_error("[weights]\nroot = 2\n", ":2:", "'user NAME = WEIGHT'");
	expect_error("[weights]\nuser = 2\n", ":2:", "bad key");
	expect_error("[weights]\nuser root = 2\nuser 0 = 3\n", ":3:",
		     "first on line 2");
	expect_error("[weight]\nuser root = 2\n", ":1:", "[weights]");
}

static void test_missing_file(void)
{
	struct zcsd_config c;

	config_defaults(&c);
	CHECK(config_load(&c, "/nonexistent/zcsendd.conf") < 0);
	CHECK(strstr(c.error, "No such file") != NULL);
}

int main(void)
{
	test_defaults();
	test_every_key();
	test_inherit_order();
	test_policy_set();
	test_bad_values();
	test_cross_checks();
	test_all_errors();
	test_hints_and_lines();
	test_many_errors();
	test_too_many_dests();
	test_ring_bounds();
	test_user_limits();
	test_weights();
	test_missing_file();
	if (failures) {
		fprintf(stderr, "%d checks failed\n", failures);
		return 1;
	}
	return 0;
}
