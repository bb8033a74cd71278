/* SPDX-License-Identifier: MIT */
/*
 * A second SIGTERM while draining aborts the drain: the daemon exits at
 * once, and with a non-zero status, since sends were cut short and
 * Restart=on-failure should see it. A drain that ends by itself exits 0
 * (test-drain); this one has a send stuck behind a peer that never reads.
 */
#include <sys/socket.h>
#include <sys/wait.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

#define LEN	(1u << 20)

static struct th_daemon daemon_;

int main(void)
{
	const char *extra[] = { "-c", NULL, NULL };
	struct zcs_msg_send s;
	char path[256], dest[64];
	struct th_raw r;
	int lfd, peer, status;
	uint16_t port;
	long flow;

	th_conf_write(path, sizeof(path), "[daemon]\ndrain_timeout_ms = 60000\n");
	extra[1] = path;
	lfd = th_listen_lo(&port, 4096);	/* a small window, never read */
	snprintf(dest, sizeof(dest), "tcp://127.0.0.1:%u", port);
	th_daemon_start(&daemon_, extra);
	TH_EQ(th_raw_connect(&r, daemon_.sock), 0);
	TH_EQ(th_raw_hello(&r, LEN, "stuck"), 0);
	flow = th_raw_flow_open(&r, dest);
	TH_CHECK(flow > 0, "flow open: %ld", flow);
	peer = accept(lfd, NULL, NULL);
	TH_CHECK(peer >= 0, "accept: %s", strerror(errno));
	memset(&s, 0, sizeof(s));
	s.flow = (uint32_t)flow;
	s.len = LEN;
	TH_EQ(th_raw_send(&r, &s, 1), 0);
	th_sleep_ms(100);
	TH_EQ(kill(daemon_.pid, SIGTERM), 0);
	th_sleep_ms(200);
	TH_CHECK(th_daemon_wait_exit(&daemon_, 0) == -1,
		 "the drain ended with a send stuck in flight");
	TH_EQ(kill(daemon_.pid, SIGTERM), 0);
	status = th_daemon_wait_exit(&daemon_, 10000);
	TH_CHECK(WIFEXITED(status) && WEXITSTATUS(status) != 0,
		 "second signal: daemon exit status %#x, want non-zero",
		 status);
	printf("test-second-signal: aborted drain exits %d\n",
	       WEXITSTATUS(status));
	th_raw_close(&r);
	close(peer);
	close(lfd);
	th_daemon_stop(&daemon_);
	return 0;
}
