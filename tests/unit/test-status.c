/* SPDX-License-Identifier: MIT */
/*
 * `zcsendctl status` on a made-up reply whose scheduler counters are not
 * 0 (the daemon's own tests run with them at 0 until its scheduler fills
 * them): each client's weight, its share of the listed clients' cost, its
 * mean and longest wait, in the tables and in --json, and the daemon's
 * totals; with no cost at all, no share is made up. The service across
 * hand-overs (SERVICE) in both, and nothing of it from a daemon that did
 * not answer SERVICE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_status.h"
#include "status.h"

static int failed;

static void expect(const char *text, const char *want)
{
	if (!strstr(text, want)) {
		printf("FAIL: output lacks: %s\n", want);
		failed = 1;
	}
}

/* Run @fn on @st into a string; NULL (and a failure) if it failed. */
static char *render(int (*fn)(FILE *, const struct ctl_status *),
		    const struct ctl_status *st)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f || fn(f, st) || fclose(f)) {
		printf("FAIL: formatting\n");
		failed = 1;
		free(text);
		return NULL;
	}
	return text;
}

/* The last four columns (WEIGHT SHARE QDELAY QMAX) of the client table's
 * row for client @id, as "w share mean max". */
static void expect_row(const char *text, unsigned id, const char *want)
{
	char head[32], got[80], row[512], *tok[32], *save = NULL;
	const char *line, *end;
	int n = 0;

	snprintf(head, sizeof(head), "\n%6u  ", id);
	line = strstr(text, head);
	end = line ? strchr(line + 1, '\n') : NULL;
	if (!end || (size_t)(end - line) >= sizeof(row)) {
		printf("FAIL: no row for client %u\n", id);
		failed = 1;
		return;
	}
	memcpy(row, line, (size_t)(end - line));
	row[end - line] = '\0';
	for (tok[n] = strtok_r(row, " \n", &save); tok[n] && n < 31;
	     tok[n] = strtok_r(NULL, " ", &save))
		n++;
	if (n < 4) {
		printf("FAIL: client %u: a short row\n", id);
		failed = 1;
		return;
	}
	snprintf(got, sizeof(got), "%s %s %s %s", tok[n - 4], tok[n - 3],
		 tok[n - 2], tok[n - 1]);
	if (strcmp(got, want)) {
		printf("FAIL: client %u: %s, want %s\n", id, got, want);
		failed = 1;
	}
}

static void fill(struct ctl_status *st, struct zcs_status_client *cl)
{
	memset(st, 0, sizeof(*st));
	memset(cl, 0, 3 * sizeof(*cl));
	st->d.sched = (struct zcs_sched_counters){ 1000, 3000000, 4, 2500000 };
	cl[0].id = 7;
	strcpy(cl[0].name, "big");
	cl[0].weight = 3;
	cl[0].sched = (struct zcs_sched_counters){ 600, 2000000, 2, 1500000 };
	cl[1].id = 8;
	strcpy(cl[1].name, "small");
	cl[1].weight = 1;
	cl[1].sched = (struct zcs_sched_counters){ 400, 1000000, 2, 2500000 };
	cl[2].id = 9;
	strcpy(cl[2].name, "idle");
	cl[2].weight = 2;
	st->clients = cl;
	st->nclients = 3;
}

static void test_text(const struct ctl_status *st)
{
	char *text = render(status_text_write, st);

	if (!text)
		return;
	expect(text, "WEIGHT   SHARE    QDELAY      QMAX\n");
	expect_row(text, 7, "3 60.0% 1.00ms 1.50ms");
	expect_row(text, 8, "1 40.0% 500.0us 2.50ms");
	expect_row(text, 9, "2 0.0% - 0ns");
	expect(text, "sched: cost 1000, 4 waits, mean 750.0us, max 2.50ms\n");
	if (failed)
		fputs(text, stdout);
	free(text);
}

static void test_json(const struct ctl_status *st)
{
	char *text = render(status_json_write, st);

	if (!text)
		return;
	expect(text, "\"weight\": 3, \"sched\": {\"cost\": 600, "
		     "\"share_pct\": 60.000, \"queue_ns\": 2000000, "
		     "\"queued\": 2, \"queue_mean_ns\": 1000000, "
		     "\"queue_max_ns\": 1500000}");
	expect(text, "\"weight\": 1, \"sched\": {\"cost\": 400, "
		     "\"share_pct\": 40.000, \"queue_ns\": 1000000, "
		     "\"queued\": 2, \"queue_mean_ns\": 500000, "
		     "\"queue_max_ns\": 2500000}");
	expect(text, "\"weight\": 2, \"sched\": {\"cost\": 0, "
		     "\"share_pct\": 0.000, \"queue_ns\": 0, \"queued\": 0, "
		     "\"queue_mean_ns\": 0, \"queue_max_ns\": 0}");
	expect(text, "\"sched\": {\"cost\": 1000, \"queue_ns\": 3000000, "
		     "\"queued\": 4, \"queue_mean_ns\": 750000, "
		     "\"queue_max_ns\": 2500000}");
	if (failed)
		fputs(text, stdout);
	free(text);
}

/* Does @text hold @what? Then fail: it should not. */
static void absent(const char *text, const char *what)
{
	if (strstr(text, what)) {
		printf("FAIL: output has: %s\n", what);
		failed = 1;
	}
}

static void test_service(struct ctl_status *st)
{
	char *text = render(status_text_write, st);
	char *json = render(status_json_write, st);

	if (text && json) {
		absent(text, "service:");
		absent(json, "handovers");
		absent(json, "service_uptime_s");
	}
	free(text);
	free(json);
	st->have_svc = 1;
	st->svc = (struct zcs_service){ .service_uptime_ms = 93784005,
		.process_uptime_ms = 61000, .last_handover_us = 41234,
		.handovers = 3, .last_clients = 8, .pid = 1234 };
	text = render(status_text_write, st);
	json = render(status_json_write, st);
	if (text && json) {
		expect(text, "service: up 1d 02:03:04, process up 0d 00:01:01, "
			     "3 hand-overs, last blackout 41.23ms carrying 8 "
			     "clients\n");
		expect(json, "\"service_uptime_s\": 93784.005,\n");
		expect(json, "\"process_uptime_s\": 61.000,\n");
		expect(json, "\"handovers\": 3,\n");
		expect(json, "\"last_handover_blackout_s\": 0.041234,\n");
		expect(json, "\"last_handover_clients\": 8,\n");
	}
	free(text);
	free(json);
	st->svc.handovers = 0;
	text = render(status_text_write, st);
	if (text)
		expect(text, "process up 0d 00:01:01, 0 hand-overs\n");
	free(text);
	st->have_svc = 0;
}

/* Nothing submitted yet (today's daemon): no share in the table. */
static void test_zero(struct ctl_status *st)
{
	char *text;

	st->clients[0].sched.cost = 0;
	st->clients[1].sched.cost = 0;
	text = render(status_text_write, st);
	if (!text)
		return;
	expect_row(text, 7, "3 - 1.00ms 1.50ms");
	free(text);
	text = render(status_json_write, st);
	if (text)
		expect(text, "\"cost\": 0, \"share_pct\": 0.000,");
	free(text);
}

int main(void)
{
	struct zcs_status_client cl[3];
	struct ctl_status st;

	fill(&st, cl);
	test_text(&st);
	test_json(&st);
	test_service(&st);
	test_zero(&st);
	if (!failed)
		printf("test-status: ok\n");
	return failed;
}
