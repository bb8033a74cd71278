/* SPDX-License-Identifier: MIT */
/*
 * metrics_write() on a status no daemon of ours would send: names with
 * quotes, backslashes, line feeds, control bytes and invalid UTF-8, and
 * strings that fill their fields without a NUL. Every label value must
 * come out escaped as the text format says, every line must stay one
 * sample or comment, each family must appear once and no series twice
 * (two names that print the same are one program). The scheduler's
 * counters come out exactly, per daemon and per program, and the groups
 * across updates (metrics_agg) keep counters from going down when
 * clients leave and keep the series bounded when they come and go, and
 * across a hand-over, which SERVICE tells from a restart. The service's
 * families come only from a daemon that answered SERVICE.
 * With --print, the exposition goes to stdout for promtool
 * (tests/integration/metrics.sh).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_status.h"
#include "metrics.h"

static int failed;

static void expect(const char *text, const char *want)
{
	if (!strstr(text, want)) {
		printf("FAIL: output lacks: %s\n", want);
		failed = 1;
	}
}

static void check(int ok, const char *what)
{
	if (!ok) {
		printf("FAIL: %s\n", what);
		failed = 1;
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* No series twice: the name and labels of every sample differ. */
static void check_unique(char **series, int n)
{
	int i;

	qsort(series, (size_t)n, sizeof(*series), cmp_str);
	for (i = 1; i < n; i++)
		if (!strcmp(series[i - 1], series[i])) {
			printf("FAIL: series twice: %s\n", series[i]);
			failed = 1;
		}
}

/* Every line: a comment, or NAME[{...}] VALUE with nothing raw inside. */
static void check_lines(char *text)
{
	char *line, *save = NULL, *sp, *series[4096];
	int n = 0, ns = 0;

	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save), n++) {
		if (!strncmp(line, "# HELP zcsendd_", 15) ||
		    !strncmp(line, "# TYPE zcsendd_", 15))
			continue;
		sp = strrchr(line, ' ');
		if (strncmp(line, "zcsendd_", 8) || !sp || sp[1] < '0' ||
		    sp[1] > '9' || strchr(line, '\r') || strchr(line, '\t')) {
			printf("FAIL: line %d: %s\n", n + 1, line);
			failed = 1;
		} else if (ns < 4096) {
			*sp = '\0';
			series[ns++] = line;
		}
	}
	if (n < 50) {
		printf("FAIL: only %d lines\n", n);
		failed = 1;
	}
	check_unique(series, ns);
}

static void fill_status(struct ctl_status *st, struct zcs_status_client *cl,
			struct zcs_status_dest *ds)
{
	memset(st, 0, sizeof(*st));
	memcpy(st->d.version, "0.1.0\"\\\n", 9);
	st->d.pid = 99;
	st->d.uptime_ms = 1234;
	st->d.rings.poll_ns = 1500000001;
	st->d.sched = (struct zcs_sched_counters){ 1000, 3000000, 4, 2500000 };
	cl[0].id = 7;
	cl[0].pid = 42;
	strcpy(cl[0].name, "a\"b\\c\nd\re\x01\x7f");
	cl[0].st.bytes = 18446744073709551615ull;
	cl[0].weight = 3;
	cl[0].sched = (struct zcs_sched_counters){ 600, 2000000, 2, 1500000 };
	cl[1].id = 8;
	cl[1].uid = 1000;
	memset(cl[1].name, 0xff, sizeof(cl[1].name));	/* no NUL, no UTF-8 */
	memcpy(cl[1].name, "\xc3\xa9t\xc3\xa9 \xed\xa0\x80", 9);
	cl[1].weight = 1;
	cl[1].flags = ZCS_CLIENT_F_RINGS;
	cl[1].sched = (struct zcs_sched_counters){ 400, 1000000, 2, 2500000 };
	/* Prints as cl[0]'s name does: the same program. */
	cl[2].id = 9;
	strcpy(cl[2].name, "a\"b\\c\nd\x1f" "e\x02\x03");
	cl[2].weight = 2;
	cl[2].st.sends = 5;
	strcpy(ds[0].name, "d\"1");
	strcpy(ds[0].address, "udp://[::1]:9");
	ds[0].proto = ZCS_PROTO_UDP;
	ds[0].batch_usec = 2500000;
	memset(ds[1].name, 'x', sizeof(ds[1].name));
	memset(ds[1].address, 'y', sizeof(ds[1].address));
	ds[1].proto = ZCS_PROTO_TCP;
	ds[1].flags = ZCS_DEST_F_REMOVED;
	st->clients = cl;
	st->nclients = 3;
	st->dests = ds;
	st->ndests = 2;
}

#define P0	"{uid=\"0\",program=\"a\\\"b\\\\c\\nd?e??\"}"
#define P1	"{uid=\"1000\",program=\"\xc3\xa9t\xc3\xa9 \xef\xbf\xbd" \
		"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"

static void expect_text(const char *text)
{
	expect(text, "zcsendd_build_info{version=\"0.1.0\\\"\\\\\\n\"} 1\n");
	expect(text, "zcsendd_program_sent_bytes_total" P0
		     " 18446744073709551615\n");
	expect(text, "zcsendd_program_sends_total" P0 " 5\n");
	expect(text, "zcsendd_program_sends_total" P1);
	expect(text, "zcsendd_ring_poll_seconds_total 1.500000001\n");
	expect(text, "zcsendd_uptime_seconds 1.234\n");
	expect(text, "destination=\"d\\\"1\",address=\"udp://[::1]:9\"");
	expect(text, "} 2.500000\n");
	expect(text, ",removed=\"true\"");
	/* 63 x and no more: the field's last byte is not read past. */
	expect(text, "destination=\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		     "xxxxxxxxxxxxxxxx\",address=\"yyy");
	/* The scheduler: the daemon's, and per program, summed. */
	expect(text, "zcsendd_sched_cost_total 1000\n");
	expect(text, "zcsendd_queue_delay_seconds_sum 0.003000000\n");
	expect(text, "zcsendd_queue_delay_seconds_count 4\n");
	expect(text, "zcsendd_queue_delay_max_seconds 0.002500000\n");
	expect(text, "# TYPE zcsendd_program_queue_delay_seconds summary\n");
	expect(text, "zcsendd_program_sched_cost_total" P0 " 600\n");
	expect(text, "zcsendd_program_queue_delay_seconds_sum" P0
		     " 0.002000000\n");
	expect(text, "zcsendd_program_queue_delay_seconds_count" P0 " 2\n");
	expect(text, "zcsendd_program_queue_delay_max_seconds" P0
		     " 0.001500000\n");
	expect(text, "zcsendd_program_queue_delay_max_seconds" P1);
	expect(text, "zcsendd_program_weight" P0 " 5\n");
	expect(text, "zcsendd_program_clients{uid=\"0\",program=\"a\\\"b\\\\c"
		     "\\nd?e??\",transport=\"socket\"} 2\n");
	expect(text, "\",transport=\"ring\"} 1\n");
	/* Per connection is for status: no pid or client id as labels. */
	check(!strstr(text, "client_id=") && !strstr(text, "pid=\""),
	      "per-client labels in the exposition");
}

/* metrics_write() of @st into a string the caller frees; NULL if it failed. */
static char *render(const struct ctl_status *st)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f || metrics_write(f, st) || fclose(f)) {
		printf("FAIL: metrics_write\n");
		failed = 1;
		free(text);
		return NULL;
	}
	return text;
}

/*
 * The service across hand-overs: its families come exactly from a daemon
 * that answered SERVICE, and not at all from one that did not.
 */
static void test_service(struct ctl_status *st)
{
	char *text = render(st);

	check(text && !strstr(text, "handover") && !strstr(text, "service_"),
	      "service families without a SERVICE answer");
	free(text);
	st->have_svc = 1;
	st->svc.service_uptime_ms = 3723004;
	st->svc.process_uptime_ms = 1234;
	st->svc.handovers = 3;
	st->svc.last_handover_us = 41234;
	st->svc.last_clients = 8;
	text = render(st);
	if (text) {
		expect(text, "zcsendd_service_uptime_seconds 3723.004\n");
		expect(text, "# TYPE zcsendd_service_uptime_seconds gauge\n");
		expect(text, "zcsendd_process_uptime_seconds 1.234\n");
		expect(text, "# TYPE zcsendd_handovers_total counter\n");
		expect(text, "zcsendd_handovers_total 3\n");
		expect(text, "zcsendd_handover_last_blackout_seconds "
			     "0.041234\n");
	}
	free(text);
	memset(&st->svc, 0, sizeof(st->svc));
	st->have_svc = 0;
}

/* The group of the program "burst" in @a, or NULL. */
static const struct metrics_group *burst(const struct metrics_agg *a)
{
	size_t i;

	for (i = 0; i < a->ngroups; i++)
		if (!strcmp(a->groups[i].program, "burst"))
			return &a->groups[i];
	return NULL;
}

/*
 * A hand-over (a new pid and process uptime, the same service start as
 * SERVICE tells it) keeps what clients that left had done; a new service
 * (a start a minute later) starts over. @st has cl[0] and one "burst"
 * client connected, and a daemon that answers SERVICE from now on.
 */
static void test_agg_handover(struct metrics_agg *a, struct ctl_status *st)
{
	const struct metrics_group *g;

	st->have_svc = 1;
	st->svc_seen_ms = 100000;
	st->svc.service_uptime_ms = 40000;	/* began at 60000 */
	check(!metrics_agg_update(a, st), "agg_update");
	st->nclients = 1;			/* the burst client leaves */
	check(!metrics_agg_update(a, st), "agg_update");
	st->d.pid = 101;
	st->d.uptime_ms = 5;
	st->svc_seen_ms = 130000;
	st->svc.service_uptime_ms = 70003;	/* began at 59997 */
	check(!metrics_agg_update(a, st), "agg_update");
	g = burst(a);
	check(g && g->sum.st.sends == 10 && g->clients[0] == 0,
	      "hand-over: a program's counters stay");
	st->svc_seen_ms = 140000;
	st->svc.service_uptime_ms = 20000;	/* began at 120000 */
	check(!metrics_agg_update(a, st), "agg_update");
	check(!burst(a) && a->ngroups == 1,
	      "a new service: the groups start over");
}

/* A client leaves, another of the same program comes: no counter of the
 * program goes down, and 100 come and go without a new series. */
static void test_agg(struct ctl_status *st)
{
	struct zcs_status_client cl;
	struct metrics_agg a;
	size_t i;

	memset(&a, 0, sizeof(a));
	check(!metrics_agg_update(&a, st), "agg_update");
	check(a.ngroups == 2, "3 clients, 2 programs: 2 groups");
	st->nclients = 1;	/* cl[1] and cl[2] leave */
	memset(&cl, 0, sizeof(cl));
	strcpy(cl.name, "burst");
	for (i = 0; i < 100; i++) {
		cl.id = 100 + (uint32_t)i;
		cl.pid = 5000 + (uint32_t)i;
		cl.st.sends = 10;
		cl.sched.cost = 7;
		st->clients[1] = cl;
		st->nclients = 2;
		check(!metrics_agg_update(&a, st), "agg_update");
	}
	check(a.ngroups == 3, "100 short-lived clients of one program: 3 groups");
	for (i = 0; i < a.ngroups; i++) {
		if (!strcmp(a.groups[i].program, "burst"))
			check(a.groups[i].sum.st.sends == 1000 &&
			      a.groups[i].sum.sched.cost == 700 &&
			      a.groups[i].clients[0] == 1,
			      "burst: 100 clients' sends and cost kept");
		if (a.groups[i].uid == 0 && a.groups[i].program[0] == 'a')
			check(a.groups[i].sum.st.sends == 5 &&
			      a.groups[i].sum.sched.cost == 600 &&
			      a.groups[i].clients[0] == 1 &&
			      a.groups[i].weight == 3,
			      "a client left: the program's counters stay");
	}
	st->d.pid = 100;	/* a new daemon: start over */
	check(!metrics_agg_update(&a, st), "agg_update");
	check(a.ngroups == 2, "daemon restart: the groups start over");
	test_agg_handover(&a, st);
	metrics_agg_free(&a);
}

/* Made-up names that never come back do not pile up. */
static void test_idle_bound(void)
{
	struct zcs_status_client cl;
	struct ctl_status st;
	struct metrics_agg a;
	uint32_t i;

	memset(&st, 0, sizeof(st));
	memset(&a, 0, sizeof(a));
	memset(&cl, 0, sizeof(cl));
	st.clients = &cl;
	st.nclients = 1;
	for (i = 0; i < 3 * METRICS_IDLE_GROUPS_MAX; i++) {
		cl.id = i + 1;
		snprintf(cl.name, sizeof(cl.name), "name%u", i);
		check(!metrics_agg_update(&a, &st), "agg_update");
	}
	check(a.ngroups == METRICS_IDLE_GROUPS_MAX + 1,
	      "idle groups beyond METRICS_IDLE_GROUPS_MAX are dropped");
	metrics_agg_free(&a);
}

int main(int argc, char **argv)
{
	struct zcs_status_client cl[3];
	struct zcs_status_dest ds[2];
	struct ctl_status st;
	char *text = NULL, *copy;
	size_t len = 0;
	FILE *f;

	memset(cl, 0, sizeof(cl));
	memset(ds, 0, sizeof(ds));
	fill_status(&st, cl, ds);
	f = open_memstream(&text, &len);
	if (!f || metrics_write(f, &st) || fclose(f)) {
		printf("FAIL: metrics_write\n");
		return 1;
	}
	if (argc > 1 && !strcmp(argv[1], "--print")) {
		fputs(text, stdout);
		free(text);
		return 0;
	}
	expect_text(text);
	copy = strdup(text);
	if (copy)
		check_lines(copy);
	free(copy);
	if (failed)
		fputs(text, stdout);
	free(text);
	test_service(&st);
	test_agg(&st);
	test_idle_bound();
	if (!failed)
		printf("test-metrics: ok\n");
	return failed;
}
