/* SPDX-License-Identifier: MIT */
/*
 * A client killed while its zerocopy sends sit queued behind a TCP peer
 * that never reads. shutdown() would leave that queue (and the client's
 * pinned pages) in place for as long as the peer stays connected; after
 * linger_ms the daemon must abort the connection so the kernel lets go,
 * and free the client. Until then status counts it, since it still holds
 * its place: with max_clients = 1 a new client is refused (EUSERS) while
 * status says 1 client, and is served once the dead one is freed.
 */
#include <sys/socket.h>
#include <sys/wait.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

#define LINGER_MS	500
#define SENDS		64
#define SEND_LEN	(64u << 10)

static struct th_daemon daemon_;

/* The doomed client: fill the peer's window, then wait to be killed. */
static void stuck_client(const char *dest, int ready)
{
	struct zcs_msg_send s[SENDS];
	struct th_raw r;
	long flow = -1;
	int i;

	if (th_raw_connect(&r, daemon_.sock) == 0 &&
	    th_raw_hello(&r, SENDS * SEND_LEN, "stuck") == 0)
		flow = th_raw_flow_open(&r, dest);
	if (flow <= 0)
		_exit(1);
	memset(s, 0, sizeof(s));
	for (i = 0; i < SENDS; i++) {
		s[i].tag = (uint64_t)i;
		s[i].flow = (uint32_t)flow;
		s[i].offset = (uint64_t)i * SEND_LEN;
		s[i].len = SEND_LEN;
	}
	if (th_raw_send(&r, s, SENDS))
		_exit(1);
	if (write(ready, "x", 1) != 1)
		_exit(1);
	pause();
	_exit(0);
}

/* Status as a control-only client: how many clients it counts. */
static unsigned status_clients(void)
{
	struct zcs_status_daemon st;
	unsigned clients = 0, dests;
	struct th_raw r;

	TH_EQ(th_raw_connect(&r, daemon_.sock), 0);
	TH_EQ(th_raw_hello(&r, 0, "status"), 0);
	TH_EQ(th_raw_status(&r, &st, &clients, &dests), 0);
	th_raw_close(&r);
	TH_EQ(st.clients, clients);
	return clients;
}

/* A client asking for a pool: 0 when served, else the ERROR's errno. */
static int try_pool(void)
{
	uint8_t buf[ZCS_MSG_MAX];
	struct zcs_error e;
	struct zcs_hdr h;
	struct th_raw r;
	int n, fd = -1;

	TH_EQ(th_raw_connect(&r, daemon_.sock), 0);
	TH_EQ(th_raw_hello_send(&r, ZCS_PROTO_VERSION, 1 << 20, "next"), 0);
	n = th_raw_recv(&r, &h, buf, sizeof(buf), &fd, 5000);
	th_raw_close(&r);
	if (fd >= 0)
		close(fd);
	if (n >= 0 && h.type == ZCS_MSG_HELLO_OK)
		return 0;
	TH_CHECK(n == (int)sizeof(e) && h.type == ZCS_MSG_ERROR,
		 "HELLO: got %d, type %u", n, h.type);
	memcpy(&e, buf, sizeof(e));
	return e.err;
}

int main(void)
{
	const char *extra[] = { "-c", NULL, NULL };
	char path[256], dest[64];
	uint16_t port;
	int lfd, peer, pipefd[2], err, waited_ms, status;
	uint64_t t0;
	pid_t pid;
	char c;

	th_conf_write(path, sizeof(path), "[daemon]\nmax_clients = 1\n"
		      "linger_ms = %d\n", LINGER_MS);
	extra[1] = path;
	lfd = th_listen_lo(&port, 4096);	/* a small window, never read */
	snprintf(dest, sizeof(dest), "tcp://127.0.0.1:%u", port);
	th_daemon_start(&daemon_, extra);
	TH_EQ(pipe(pipefd), 0);
	pid = fork();
	TH_CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0)
		stuck_client(dest, pipefd[1]);
	TH_CHECK(read(pipefd[0], &c, 1) == 1, "the stuck client failed");
	peer = accept(lfd, NULL, NULL);
	TH_CHECK(peer >= 0, "accept: %s", strerror(errno));
	th_sleep_ms(100);	/* the sends reach the peer's full window */
	kill(pid, SIGKILL);
	TH_CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
	t0 = th_now_ms();
	/* Dead but not freed: it still holds the one client place. */
	TH_EQ(try_pool(), -EUSERS);
	TH_EQ(status_clients(), 1);
	do {
		th_sleep_ms(50);
		err = try_pool();
		waited_ms = (int)(th_now_ms() - t0);
	} while (err == -EUSERS && waited_ms < LINGER_MS + 10000);
	TH_CHECK(err == 0, "no client place %d ms after the kill (linger_ms "
		 "%d): %s", waited_ms, LINGER_MS, strerror(-err));
	TH_EQ(status_clients(), 0);
	printf("test-linger: dead client freed %d ms after the kill "
	       "(linger_ms %d)\n", waited_ms, LINGER_MS);
	close(peer);
	close(lfd);
	status = th_daemon_stop(&daemon_);
	TH_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		 "daemon exit %#x", status);
	return 0;
}
