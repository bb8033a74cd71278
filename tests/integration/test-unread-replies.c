/* SPDX-License-Identifier: MIT */
/*
 * Clients that leave their replies unread. The daemon stops reading a
 * client at its in-flight bound and resumes once completions are written,
 * so a client whose socket stays full would hold its place for ever. It
 * may not even be alive: a client that passes its own socket to the daemon
 * in a message the daemon has not read yet, then exits, keeps that socket
 * open from inside the daemon's receive queue, so the daemon never sees it
 * hang up. Such a client is dropped after reply_timeout_ms without
 * progress, and everything it held comes back. A client that reads
 * slowly, but reads, is not dropped.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <linux/sockios.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

#define POOL		(1u << 20)
#define INFLIGHT	16
#define TIMEOUT_MS	500
#define SLOW_READS	60	/* one every TIMEOUT_MS / 5 */

static struct th_daemon daemon_;
static char dest[64];

/* A UDP socket on loopback that never reads: sends to it still complete. */
static void sink_open(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	TH_CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
		 getsockname(fd, (struct sockaddr *)&a, &len) == 0,
		 "udp sink: %s", strerror(errno));
	snprintf(dest, sizeof(dest), "udp://127.0.0.1:%u", ntohs(a.sin_port));
}

static uint32_t client_open(struct th_raw *r)
{
	long flow;

	TH_CHECK(th_raw_connect(r, daemon_.sock) == 0, "connect");
	TH_CHECK(th_raw_hello(r, POOL, "unread") == 0, "hello");
	flow = th_raw_flow_open(r, dest);
	TH_CHECK(flow >= 0, "flow open: %ld", flow);
	return (uint32_t)flow;
}

/* Bytes the daemon has not read yet from @fd. */
static int unread_by_daemon(int fd)
{
	int n = 0;

	TH_CHECK(ioctl(fd, SIOCOUTQ, &n) == 0, "SIOCOUTQ: %s", strerror(errno));
	return n;
}

/*
 * Send until the daemon stops reading: the completions it owes fill the
 * socket, its in-flight bound is reached, and what is sent stays unread.
 */
static void fill_until_paused(struct th_raw *r, uint32_t flow)
{
	struct zcs_msg_send recs[INFLIGHT];
	uint64_t end = th_now_ms() + 20000;
	unsigned i;

	for (i = 0; i < INFLIGHT; i++)
		recs[i] = (struct zcs_msg_send){ .flow = flow, .len = 512,
						 .offset = i * 512,
						 .tag = i };
	while (th_now_ms() < end) {
		TH_CHECK(th_raw_send(r, recs, INFLIGHT) == 0, "send");
		th_sleep_ms(2);
		if (unread_by_daemon(r->fd) == 0)
			continue;
		th_sleep_ms(200);
		if (unread_by_daemon(r->fd) > 0)
			return;
	}
	TH_CHECK(0, "the daemon never stopped reading");
}

/* Pass @fd itself in a message; the daemon reads it only if it resumes. */
static void send_own_socket(int fd)
{
	struct zcs_hdr h;
	ssize_t n;

	zcs_hdr_init(&h, ZCS_MSG_STATUS, 0, 1);
	n = th_send_fds(fd, &h, sizeof(h), &fd, 1);
	TH_CHECK(n == (ssize_t)sizeof(h), "sendmsg: %s", strerror((int)-n));
}

/* A child that fills the daemon, passes its socket along, and exits. */
static void dead_client_keeps_socket(int fds)
{
	struct th_raw r;
	pid_t pid;
	int st;

	pid = fork();
	TH_CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		fill_until_paused(&r, client_open(&r));
		send_own_socket(r.fd);
		_exit(0);
	}
	TH_CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
		 WEXITSTATUS(st) == 0, "client child failed: status %#x", st);
	printf("dead client, socket kept alive by its own message: freed "
	       "%llu ms after it exited\n", (unsigned long long)
	       th_daemon_wait_released(&daemon_, fds, TIMEOUT_MS + 2000));
}

/* One that reads one message every TIMEOUT_MS / 5 is slow, not gone. */
static void slow_reader_stays(int fds)
{
	uint8_t buf[ZCS_MSG_MAX];
	struct zcs_hdr h;
	struct th_raw r;
	int i, n;

	fill_until_paused(&r, client_open(&r));
	for (i = 0; i < SLOW_READS; i++) {
		th_sleep_ms(TIMEOUT_MS / 5);
		n = th_raw_recv(&r, &h, buf, sizeof(buf), NULL, 1000);
		TH_CHECK(n >= 0, "slow reader dropped after %d reads (%d ms): "
			 "%d", i, i * TIMEOUT_MS / 5, n);
	}
	printf("slow reader: %d reads over %d ms, still served\n", SLOW_READS,
	       SLOW_READS * TIMEOUT_MS / 5);
	th_raw_close(&r);
	th_daemon_wait_released(&daemon_, fds, 5000);
}

int main(void)
{
	char conf[256];
	const char *args[] = { "-c", conf, NULL };
	struct th_raw first;
	int fds;

	sink_open();
	th_conf_write(conf, sizeof(conf),
		      "[daemon]\nmax_inflight = %u\nreply_timeout_ms = %u\n"
		      "allow_adhoc = yes\nlinger_ms = 200\n\n"
		      "[defaults]\nflush = immediate\nzerocopy = off\n",
		      INFLIGHT, TIMEOUT_MS);
	th_daemon_start(&daemon_, args);
	/* The destination (and its socket) stays once a flow made it. */
	client_open(&first);
	th_raw_close(&first);
	th_sleep_ms(200);
	fds = th_fd_count(daemon_.pid);
	dead_client_keeps_socket(fds);
	slow_reader_stays(fds);
	TH_CHECK(th_daemon_alive(&daemon_), "daemon died");
	TH_EQ(th_daemon_stop(&daemon_), 0);
	return 0;
}
