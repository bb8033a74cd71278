/* SPDX-License-Identifier: MIT */
/*
 * A member of many supplementary groups. SO_PEERGROUPS needs a buffer as
 * large as the peer's group list; a process in 40 groups whose allowed
 * group is the 40th must be let in, and one in 40 groups without it
 * refused with the daemon's reason. Needs root to set groups and uid.
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

#define NGROUPS		40
#define ALLOWED_GID	4242

static struct th_daemon daemon_;

static void start(void)
{
	char path[200];
	const char *args[] = { "-c", path, NULL };

	th_conf_write(path, sizeof(path), "[daemon]\nsocket_mode = 0666\n"
		      "allowed_groups = %u\n", ALLOWED_GID);
	setenv("TMPDIR", "/tmp", 1);	/* a daemon dir 65534 can reach */
	th_daemon_start(&daemon_, args);
	unlink(path);	/* read; it lives in the shared /tmp */
	TH_CHECK(chmod(daemon_.dir, 0755) == 0, "chmod: %s", strerror(errno));
}

/*
 * In a child: NGROUPS groups (the last one @last), uid and gid 65534,
 * then HELLO. Exits 0 when let in, 1 when refused with -EACCES and a
 * reason, other codes for anything else.
 */
static void member_child(gid_t last)
{
	gid_t groups[NGROUPS];
	struct zcs_error e;
	struct zcs_hdr h;
	struct th_raw r;
	int i, n;

	for (i = 0; i < NGROUPS - 1; i++)
		groups[i] = 5000 + (gid_t)i;
	groups[NGROUPS - 1] = last;
	if (setgroups(NGROUPS, groups) || setgid(65534) || setuid(65534))
		_exit(10);
	prctl(PR_SET_PDEATHSIG, SIGKILL);	/* cleared by setuid */
	if (th_raw_connect(&r, daemon_.sock))
		_exit(11);
	if (th_raw_hello(&r, 0, "member") == 0)
		_exit(0);
	th_raw_close(&r);
	/* Ask again and read the answer whole. */
	if (th_raw_connect(&r, daemon_.sock))
		_exit(11);
	n = th_raw_recv(&r, &h, &e, sizeof(e), NULL, 5000);
	if (n == (int)sizeof(e) && h.type == ZCS_MSG_ERROR &&
	    e.err == -EACCES && e.msg[0]) {
		fprintf(stderr, "refused: %s\n", e.msg);
		_exit(1);
	}
	fprintf(stderr, "neither let in nor refused: %d\n", n);
	_exit(12);
}

static int run_member(gid_t last)
{
	int status;
	pid_t pid = fork();

	TH_CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0)
		member_child(last);
	TH_EQ(waitpid(pid, &status, 0), pid);
	TH_CHECK(WIFEXITED(status), "child status %#x", status);
	return WEXITSTATUS(status);
}

int main(void)
{
	if (geteuid() != 0)
		th_skip("needs root (sets groups and uid)");
	start();
	TH_CHECK(run_member(ALLOWED_GID) == 0,
		 "a member whose 40th group is allowed was not let in");
	TH_CHECK(run_member(4343) == 1,
		 "a process in 40 other groups was not refused");
	TH_EQ(th_daemon_stop(&daemon_), 0);
	printf("many groups: ok\n");
	return 0;
}
