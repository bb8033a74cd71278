/* SPDX-License-Identifier: MIT */
/*
 * metrics_write() on a status no daemon of ours would send: names with
 * quotes, backslashes, line feeds, control bytes and invalid UTF-8, and
 * strings that fill their fields without a NUL. Every label value must
 * come out escaped as the text format says, every line must stay one
 * sample or comment, and each family must appear once.
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

/* Every line: a comment, or NAME[{...}] VALUE with nothing raw inside. */
static void check_lines(char *text)
{
	char *line, *save = NULL, *sp;
	int n = 0;

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
		}
	}
	if (n < 50) {
		printf("FAIL: only %d lines\n", n);
		failed = 1;
	}
}

int main(int argc, char **argv)
{
	struct zcs_status_client cl[2];
	struct zcs_status_dest ds[2];
	struct ctl_status st;
	char *text = NULL, *copy;
	size_t len = 0;
	FILE *f;

	memset(&st, 0, sizeof(st));
	memset(cl, 0, sizeof(cl));
	memset(ds, 0, sizeof(ds));
	memcpy(st.d.version, "0.1.0\"\\\n", 9);
	st.d.uptime_ms = 1234;
	st.d.rings.poll_ns = 1500000001;
	cl[0].id = 7;
	cl[0].pid = 42;
	strcpy(cl[0].name, "a\"b\\c\nd\re\x01\x7f");
	cl[0].st.bytes = 18446744073709551615ull;
	cl[1].id = 8;
	memset(cl[1].name, 0xff, sizeof(cl[1].name));	/* no NUL, no UTF-8 */
	memcpy(cl[1].name, "\xc3\xa9t\xc3\xa9 \xed\xa0\x80", 9);
	strcpy(ds[0].name, "d\"1");
	strcpy(ds[0].address, "udp://[::1]:9");
	ds[0].proto = ZCS_PROTO_UDP;
	ds[0].batch_usec = 2500000;
	memset(ds[1].name, 'x', sizeof(ds[1].name));
	memset(ds[1].address, 'y', sizeof(ds[1].address));
	ds[1].proto = ZCS_PROTO_TCP;
	ds[1].flags = ZCS_DEST_F_REMOVED;
	st.clients = cl;
	st.nclients = 2;
	st.dests = ds;
	st.ndests = 2;

	f = open_memstream(&text, &len);
	if (!f || metrics_write(f, &st) || fclose(f)) {
		printf("FAIL: metrics_write\n");
		return 1;
	}
	expect(text, "zcsendd_build_info{version=\"0.1.0\\\"\\\\\\n\"} 1\n");
	expect(text, "name=\"a\\\"b\\\\c\\nd?e??\"");
	expect(text, "name=\"\xc3\xa9t\xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
		     "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	expect(text, "zcsendd_client_sent_bytes_total{client_id=\"7\",");
	expect(text, "} 18446744073709551615\n");
	expect(text, "zcsendd_ring_poll_seconds_total 1.500000001\n");
	expect(text, "zcsendd_uptime_seconds 1.234\n");
	expect(text, "destination=\"d\\\"1\",address=\"udp://[::1]:9\"");
	expect(text, "} 2.500000\n");
	expect(text, ",removed=\"true\"");
	/* 63 x and no more: the field's last byte is not read past. */
	expect(text, "destination=\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		     "xxxxxxxxxxxxxxxx\",address=\"yyy");
	if (argc > 1 && !strcmp(argv[1], "--print")) {
		fputs(text, stdout);
		free(text);
		return 0;
	}
	copy = strdup(text);
	if (copy)
		check_lines(copy);
	free(copy);
	if (failed)
		fputs(text, stdout);
	free(text);
	if (!failed)
		printf("test-metrics: ok\n");
	return failed;
}
