/* SPDX-License-Identifier: MIT */
/*
 * SIGTERM whose drain times out: sends stuck behind TCP peers that accept
 * and never read, from a socket client and a ring client, outlast a short
 * drain_timeout_ms. The daemon must exit with the documented status 3
 * (sends abandoned), every time, and free everything on the way out: under
 * SANITIZE=1 its log must hold no sanitizer report (LeakSanitizer found
 * the clients, their rings, flows and request slots before). A second
 * SIGTERM during a long drain cuts it short the same way, with status 1.
 */
#include <sys/socket.h>
#include <sys/wait.h>
#include <errno.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

#define RUNS		3
#define SENDS		8
#define LEN		(1u << 20)
#define EXIT_ABANDONED	3	/* zcsendd(8), EXIT STATUS */
#define EXIT_SECOND	1

static struct th_daemon daemon_;

static void fill_records(struct zcs_msg_send *s, uint32_t flow)
{
	int i;

	memset(s, 0, SENDS * sizeof(*s));
	for (i = 0; i < SENDS; i++) {
		s[i].tag = (uint64_t)i;
		s[i].flow = flow;
		s[i].offset = (uint64_t)i * LEN;
		s[i].len = LEN;
	}
}

/* Open a flow to the listener and take the peer's end, never read. */
static int stuck_flow(struct th_raw *r, int lfd, const char *dest,
		      uint32_t *flow)
{
	long f = th_raw_flow_open(r, dest);
	int peer;

	TH_CHECK(f > 0, "flow open: %ld", f);
	peer = accept(lfd, NULL, NULL);
	TH_CHECK(peer >= 0, "accept: %s", strerror(errno));
	*flow = (uint32_t)f;
	return peer;
}

/* Did the daemon's log get a sanitizer report (ASan, LSan, UBSan)? */
static int log_has_report(const struct th_daemon *d)
{
	char line[512];
	FILE *f = fopen(d->log, "r");
	int found = 0;

	TH_CHECK(f, "%s: %s", d->log, strerror(errno));
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, "Sanitizer") ||
			strstr(line, "runtime error");
	fclose(f);
	return found;
}

/* @second: a long drain, cut short by a second SIGTERM. */
static void one_run(const char *conf, int run, bool second)
{
	const char *extra[] = { "-c", conf, NULL };
	struct zcs_msg_send s[SENDS];
	struct th_raw a, b;
	struct th_rings rg;
	char dest[64];
	int lfd, pa, pb, status, want = second ? EXIT_SECOND : EXIT_ABANDONED;
	uint32_t fa, fb;
	uint16_t port;

	lfd = th_listen_lo(&port, 4096);	/* a small window, never read */
	snprintf(dest, sizeof(dest), "tcp://127.0.0.1:%u", port);
	th_daemon_start(&daemon_, extra);
	TH_EQ(th_raw_connect(&a, daemon_.sock), 0);
	TH_EQ(th_raw_hello(&a, SENDS * LEN, "stuck-socket"), 0);
	pa = stuck_flow(&a, lfd, dest, &fa);
	fill_records(s, fa);
	TH_EQ(th_raw_send(&a, s, SENDS), 0);
	TH_EQ(th_raw_connect(&b, daemon_.sock), 0);
	TH_EQ(th_raw_hello_rings(&b, SENDS * LEN, 64, "stuck-ring", &rg), 0);
	pb = stuck_flow(&b, lfd, dest, &fb);
	fill_records(s, fb);
	TH_EQ(th_rings_submit(&rg, s, SENDS), SENDS);
	th_sleep_ms(200);
	TH_EQ(kill(daemon_.pid, SIGTERM), 0);
	if (second) {
		th_sleep_ms(200);
		TH_CHECK(th_daemon_alive(&daemon_), "run %d: the drain ended "
			 "with sends stuck", run);
		TH_EQ(kill(daemon_.pid, SIGTERM), 0);
	}
	status = th_daemon_wait_exit(&daemon_, 10000);
	if (log_has_report(&daemon_))
		th_daemon_dump_log(&daemon_, 8000);
	TH_CHECK(!log_has_report(&daemon_),
		 "run %d: sanitizer report in the daemon's log", run);
	TH_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == want,
		 "run %d: daemon exit status %d (wait status %#x) after a "
		 "%s, want %d", run,
		 WIFEXITED(status) ? WEXITSTATUS(status) : -1, status,
		 second ? "second signal" : "timed-out drain", want);
	th_daemon_stop(&daemon_);
	th_rings_close(&rg);
	th_raw_close(&a);
	th_raw_close(&b);
	close(pa);
	close(pb);
	close(lfd);
}

int main(void)
{
	char conf[256], slow[256];
	int run;

	th_conf_write(conf, sizeof(conf), "[daemon]\npool_bytes = 16M\n"
		      "drain_timeout_ms = 300\n");
	th_conf_write(slow, sizeof(slow), "[daemon]\npool_bytes = 16M\n"
		      "drain_timeout_ms = 60000\n");
	for (run = 0; run < RUNS; run++)
		one_run(conf, run, false);
	one_run(slow, RUNS, true);
	printf("test-drain-timeout: %d timed-out drains exited %d, a second "
	       "signal %d, no sanitizer report\n", RUNS, EXIT_ABANDONED,
	       EXIT_SECOND);
	unlink(conf);
	unlink(slow);
	return 0;
}
