/* SPDX-License-Identifier: MIT */
/*
 * Connections that never say HELLO must not lock anyone out. 80 of them
 * from uid 65534, which the config refuses, are more than the daemon's
 * connection bound: each must be answered at accept with one ERROR
 * (req_type HELLO, cookie 0, -EACCES, the reason) and closed, so root's
 * HELLO and `zcsendctl status` still work at once. Then, with a short
 * hello_timeout_ms, an allowed connection that stays silent is closed
 * while one that said HELLO stays. Needs root to switch uid.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

#define NSILENT		80
#define HELLO_MS	300
#define HELLO_MS_KEY	"hello_timeout_ms = 300"

static struct th_daemon daemon_;

static void start(const char *extra)
{
	char path[200];
	const char *args[] = { "-c", path, NULL };

	/* Bound: max_clients + 16 = 32 connections, fewer than NSILENT. */
	th_conf_write(path, sizeof(path), "[daemon]\nsocket_mode = 0666\n"
		      "max_clients = 16\n%s\n", extra);
	th_daemon_start(&daemon_, args);
	unlink(path);	/* read; it lives in the shared /tmp */
	/* uid 65534 must reach the socket (mode 0666 from the config). */
	TH_CHECK(chmod(daemon_.dir, 0755) == 0, "chmod: %s", strerror(errno));
}

/*
 * A refused peer gets exactly one ERROR naming HELLO with cookie 0,
 * -EACCES and its uid, then EOF. Returns 0 or a non-zero reason code.
 */
static int check_refusal(int fd)
{
	struct th_raw r = { .fd = fd, .pool_fd = -1 };
	struct zcs_error e;
	struct zcs_hdr h;
	int n = th_raw_recv(&r, &h, &e, sizeof(e), NULL, 5000);

	if (n != (int)sizeof(e) || h.type != ZCS_MSG_ERROR) {
		fprintf(stderr, "refused peer: got %d (type %u), not ERROR\n",
			n, n >= 0 ? h.type : 0);
		return 2;
	}
	if (e.req_type != ZCS_MSG_HELLO || h.cookie != 0 ||
	    e.err != -EACCES || !strstr(e.msg, "uid 65534")) {
		fprintf(stderr, "refused peer: ERROR req %u cookie %llu err "
			"%d '%s'\n", e.req_type, (unsigned long long)h.cookie,
			e.err, e.msg);
		return 3;
	}
	n = th_raw_recv(&r, &h, &e, sizeof(e), NULL, 5000);
	if (n != -ECONNRESET) {
		fprintf(stderr, "refused peer: after ERROR got %d\n", n);
		return 4;
	}
	return 0;
}

/*
 * The child: become uid 65534, open NSILENT connections and say nothing;
 * tell the parent, wait for its word, then check the answers.
 */
static void silent_child(int ready, int go)
{
	int fds[NSILENT], i, rc;
	char b = 0;

	if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
		_exit(10);
	prctl(PR_SET_PDEATHSIG, SIGKILL);	/* cleared by setuid */
	for (i = 0; i < NSILENT; i++) {
		struct th_raw r;
		int err = th_raw_connect(&r, daemon_.sock);

		if (err) {
			fprintf(stderr, "connect %d: %s\n", i, strerror(-err));
			_exit(11);
		}
		fds[i] = r.fd;
	}
	if (write(ready, "R", 1) != 1 || read(go, &b, 1) != 1)
		_exit(12);
	rc = check_refusal(fds[0]);
	if (!rc)
		rc = check_refusal(fds[NSILENT - 1]);
	_exit(rc);
}

static void root_still_served(void)
{
	char cmd[512];
	struct th_raw r;

	TH_EQ(th_raw_connect(&r, daemon_.sock), 0);
	TH_EQ(th_raw_hello(&r, 0, "root"), 0);
	th_raw_close(&r);
	snprintf(cmd, sizeof(cmd), "timeout 10 %s/zcsendctl -s %s status "
		 ">/dev/null", th_build_dir(), daemon_.sock);
	TH_EQ(system(cmd), 0);
}

static void refused_silent(void)
{
	int ready[2], go[2], status, fds0;
	pid_t pid;
	char b;

	start("");
	fds0 = th_fd_count(daemon_.pid);
	TH_CHECK(pipe(ready) == 0 && pipe(go) == 0, "pipe");
	pid = fork();
	TH_CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		close(ready[0]);
		close(go[1]);
		silent_child(ready[1], go[0]);
	}
	close(ready[1]);
	close(go[0]);
	TH_EQ(read(ready[0], &b, 1), 1);
	root_still_served();
	TH_EQ(write(go[1], "G", 1), 1);
	TH_EQ(waitpid(pid, &status, 0), pid);
	TH_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		 "the refused child saw the wrong answer: status %#x",
		 status);
	/* fds0 may still count the start-up probe's connection. */
	TH_CHECK(th_fd_count(daemon_.pid) <= fds0, "daemon fds %d, were %d",
		 th_fd_count(daemon_.pid), fds0);
	TH_EQ(th_daemon_stop(&daemon_), 0);
}

/* An allowed peer that stays silent is closed after hello_timeout_ms. */
static void allowed_silent(void)
{
	struct zcs_status_daemon sd;
	struct th_raw quiet, talker;
	unsigned nc, nd;
	struct zcs_error e;
	struct zcs_hdr h;
	uint64_t t0;
	int n;

	start(HELLO_MS_KEY);
	TH_EQ(th_raw_connect(&talker, daemon_.sock), 0);
	TH_EQ(th_raw_hello(&talker, 0, "talker"), 0);
	t0 = th_now_ms();
	TH_EQ(th_raw_connect(&quiet, daemon_.sock), 0);
	n = th_raw_recv(&quiet, &h, &e, sizeof(e), NULL, 20 * HELLO_MS);
	TH_EQ(n, sizeof(e));
	TH_EQ(h.type, ZCS_MSG_ERROR);
	TH_EQ(e.req_type, ZCS_MSG_HELLO);
	TH_EQ(e.err, -ETIMEDOUT);
	TH_EQ(th_raw_recv(&quiet, &h, &e, sizeof(e), NULL, 5000),
	      -ECONNRESET);
	TH_CHECK(th_now_ms() - t0 >= HELLO_MS, "closed after %llu ms",
		 (unsigned long long)(th_now_ms() - t0));
	/* The one that said HELLO is still served. */
	TH_EQ(th_raw_status(&talker, &sd, &nc, &nd), 0);
	th_raw_close(&talker);
	th_raw_close(&quiet);
	TH_EQ(th_daemon_stop(&daemon_), 0);
}

int main(void)
{
	if (geteuid() != 0)
		th_skip("needs root (connects as uid 65534)");
	/* A daemon directory other users can reach. */
	setenv("TMPDIR", "/tmp", 1);
	refused_silent();
	allowed_silent();
	printf("silent connections: ok\n");
	return 0;
}
