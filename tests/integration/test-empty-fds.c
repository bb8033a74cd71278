/* SPDX-License-Identifier: MIT */
/*
 * Empty packets: a zero-length SEQPACKET message reads like end of stream,
 * but it is a message, and it may carry descriptors. Each such packet,
 * with descriptors or without, before HELLO or after, must get the answer
 * any malformed message gets, and every descriptor that rode along must be
 * closed: the daemon's open fds stay where they were.
 */
#include <sys/socket.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

#define CONNS		10
#define FDS_PER_MSG	16

static struct th_daemon daemon_;

/* A zero-length message carrying @nfds descriptors of /dev/null. */
static void send_empty(int fd, int nfds)
{
	int pass[FDS_PER_MSG], i;
	ssize_t n;

	for (i = 0; i < nfds; i++) {
		pass[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		TH_CHECK(pass[i] >= 0, "open: %s", strerror(errno));
	}
	n = th_send_fds(fd, NULL, 0, pass, nfds);
	TH_CHECK(n == 0, "sendmsg: %s", strerror((int)-n));
	for (i = 0; i < nfds; i++)
		close(pass[i]);
}

/* The answer to a malformed message: ERROR, then the connection closes. */
static void expect_error_and_close(struct th_raw *r, const char *what)
{
	uint8_t buf[ZCS_MSG_MAX];
	struct zcs_error e;
	struct zcs_hdr h;
	int n = th_raw_recv(r, &h, buf, sizeof(buf), NULL, 5000);

	TH_CHECK(n == (int)sizeof(e) && h.type == ZCS_MSG_ERROR,
		 "%s: no ERROR (got %d, type %u)", what, n, h.type);
	memcpy(&e, buf, sizeof(e));
	TH_CHECK(strstr(e.msg, "malformed"), "%s: error says '%s'", what,
		 e.msg);
	n = th_raw_recv(r, &h, buf, sizeof(buf), NULL, 5000);
	TH_CHECK(n == -ECONNRESET, "%s: not closed: %d", what, n);
}

int main(void)
{
	struct th_raw r;
	int before, after, i;

	th_daemon_start(&daemon_, NULL);
	th_sleep_ms(100);
	before = th_fd_count(daemon_.pid);
	for (i = 0; i < CONNS; i++) {
		TH_EQ(th_raw_connect(&r, daemon_.sock), 0);
		if (i % 2)	/* after HELLO as well as before */
			TH_EQ(th_raw_hello(&r, 0, "empty"), 0);
		send_empty(r.fd, i < CONNS - 1 ? FDS_PER_MSG : 0);
		expect_error_and_close(&r, i < CONNS - 1 ? "empty with fds"
							 : "empty");
		th_raw_close(&r);
	}
	for (i = 0, after = -1; i < 100 && after != before; i++) {
		th_sleep_ms(20);
		after = th_fd_count(daemon_.pid);
	}
	TH_CHECK(after == before, "daemon fds: %d before, %d after %d empty "
		 "packets carrying %d fds", before, after, CONNS - 1,
		 (CONNS - 1) * FDS_PER_MSG);
	TH_EQ(th_raw_connect(&r, daemon_.sock), 0);
	TH_EQ(th_raw_hello(&r, 1 << 20, "after"), 0);
	th_raw_close(&r);
	printf("test-empty-fds: %d empty packets, daemon fds %d -> %d\n", CONNS,
	       before, after);
	i = th_daemon_stop(&daemon_);
	TH_CHECK(WIFEXITED(i) && WEXITSTATUS(i) == 0, "daemon exit %#x", i);
	return 0;
}
