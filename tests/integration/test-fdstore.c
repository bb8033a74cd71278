/* SPDX-License-Identifier: MIT */
/*
 * systemd's fd store without systemd: a datagram socket stands in for
 * $NOTIFY_SOCKET. Claims: each client's socket goes into the store as
 * FDNAME=client-<id> with the socket itself attached, and out of it
 * (FDSTOREREMOVE) when the client goes; a client the daemon drops sees EOF
 * although the store still holds a copy; two places stay free for a
 * hand-over; and client sockets passed back at start without a state (a
 * crash) are each answered with an ERROR, taken out of the store and
 * closed, beside the control socket passed with them.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

#define WAIT_MS 3000
#define SD_FDS_START 3		/* systemd's first passed descriptor */

static char notify_path[160];
static struct th_daemon *passed_daemon;	/* spawn_passed's, for its log */

static void passed_daemon_log(void)
{
	if (passed_daemon)
		th_daemon_dump_log(passed_daemon, 8192);
}

/* The stand-in for systemd's notify socket. */
static int notify_open(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *tmp = getenv("TMPDIR");
	int fd;

	snprintf(notify_path, sizeof(notify_path), "%s/notify.%d",
		 tmp ? tmp : "/tmp", (int)getpid());
	TH_CHECK(strlen(notify_path) < sizeof(sun.sun_path), "path too long");
	strcpy(sun.sun_path, notify_path);
	unlink(notify_path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	TH_CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0,
		 "notify socket: %s", strerror(errno));
	return fd;
}

/*
 * The next fd-store message (FDSTORE=1 or FDSTOREREMOVE=1) within @ms,
 * skipping READY=1, STATUS= and the like. Its text goes to @buf, the fd
 * it carried (or -1) to *@fd. Returns 0 or -ETIMEDOUT.
 */
/* Descriptors the last message carried: one, or two for a hand-over. */
static unsigned last_nfds;

/* Keep the first descriptor of @cm in *@fd, close the others. */
static void notify_fds(struct cmsghdr *cm, int *fd)
{
	unsigned n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int), i;
	int one;

	TH_CHECK(n >= 1 && n <= 2, "%u descriptors in one message", n);
	for (i = 0; i < n; i++) {
		memcpy(&one, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
		if (i == 0)
			*fd = one;
		else
			close(one);
	}
	last_nfds = n;
}

static int notify_next(int nfd, char *buf, size_t cap, int *fd, int ms)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 4)];
	uint64_t end = th_now_ms() + (uint64_t)ms;
	struct iovec iov = { .iov_base = buf, .iov_len = cap - 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;
	ssize_t n;

	for (;;) {
		uint64_t now = th_now_ms();

		if (now >= end || th_wait_readable(nfd, (int)(end - now)))
			return -ETIMEDOUT;
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		n = recvmsg(nfd, &mh, MSG_CMSG_CLOEXEC);
		TH_CHECK(n >= 0, "recvmsg: %s", strerror(errno));
		buf[n] = '\0';
		*fd = -1;
		last_nfds = 0;
		for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
			if (cm->cmsg_level == SOL_SOCKET &&
			    cm->cmsg_type == SCM_RIGHTS)
				notify_fds(cm, fd);
		if (!strncmp(buf, "FDSTORE", 7))
			return 0;
		if (*fd >= 0)
			close(*fd);
	}
}

/* The next fd-store message must be @want; returns the fd it carried. */
static int notify_expect(int nfd, const char *want)
{
	char buf[512];
	int fd, err = notify_next(nfd, buf, sizeof(buf), &fd, WAIT_MS);

	TH_CHECK(err == 0, "no \"%s\" from the daemon within %d ms", want,
		 WAIT_MS);
	TH_CHECK(!strcmp(buf, want), "got \"%s\", want \"%s\"", buf, want);
	return fd;
}

static void notify_none(int nfd, int ms)
{
	char buf[512];
	int fd;

	TH_CHECK(notify_next(nfd, buf, sizeof(buf), &fd, ms) == -ETIMEDOUT,
		 "unexpected \"%s\"", buf);
}

/* The stored descriptor is the daemon's end of our connection. */
static void check_stored_is_ours(int sfd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	TH_CHECK(sfd >= 0, "FDSTORE=1 without a descriptor");
	TH_CHECK(getsockopt(sfd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0,
		 "SO_PEERCRED on the stored fd: %s", strerror(errno));
	TH_EQ(cr.pid, getpid());
}

/* Read until EOF within WAIT_MS; every message before must be an ERROR. */
static void expect_error_then_eof(struct th_raw *r, const char *text)
{
	struct zcs_error e;
	struct zcs_hdr h;
	int n, errors = 0;

	while ((n = th_raw_recv(r, &h, &e, sizeof(e), NULL, WAIT_MS)) >= 0) {
		TH_EQ(h.type, ZCS_MSG_ERROR);
		TH_CHECK(!text || strstr(e.msg, text), "ERROR says \"%s\", "
			 "not \"%s\"", e.msg, text);
		errors++;
	}
	TH_CHECK(n == -ECONNRESET, "after %d ERRORs: %s, not EOF", errors,
		 strerror(-n));
	TH_CHECK(errors == 1, "%d ERRORs before EOF", errors);
}

/* Stored while connected, removed on leaving; EOF despite the store. */
static void check_client_lifecycle(int nfd, struct th_daemon *d)
{
	struct th_raw a, b;
	int sa, sb;
	static const char junk[64] = "not a zcsend message";

	/* Client 1 was th_daemon_start's probe, gone already. */
	close(notify_expect(nfd, "FDSTORE=1\nFDNAME=client-1"));
	notify_expect(nfd, "FDSTOREREMOVE=1\nFDNAME=client-1");
	TH_EQ(th_raw_connect(&a, d->sock), 0);
	TH_EQ(th_raw_hello(&a, 1 << 20, "fdstore-a"), 0);
	sa = notify_expect(nfd, "FDSTORE=1\nFDNAME=client-2");
	check_stored_is_ours(sa);
	/* b misbehaves: the daemon drops it while we hold its stored copy. */
	TH_EQ(th_raw_connect(&b, d->sock), 0);
	sb = notify_expect(nfd, "FDSTORE=1\nFDNAME=client-3");
	check_stored_is_ours(sb);
	TH_EQ(th_raw_send_bytes(&b, junk, sizeof(junk)), 0);
	expect_error_then_eof(&b, NULL);
	TH_CHECK(notify_expect(nfd, "FDSTOREREMOVE=1\nFDNAME=client-3") < 0,
		 "FDSTOREREMOVE carried a descriptor");
	th_raw_close(&b);
	close(sb);
	th_raw_close(&a);
	TH_CHECK(notify_expect(nfd, "FDSTOREREMOVE=1\nFDNAME=client-2") < 0,
		 "FDSTOREREMOVE carried a descriptor");
	close(sa);
}

static void log_has(const struct th_daemon *d, const char *text)
{
	char buf[16384];
	FILE *f = fopen(d->log, "r");
	size_t n;

	TH_CHECK(f, "%s: %s", d->log, strerror(errno));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	TH_CHECK(strstr(buf, text), "the daemon's log lacks \"%s\"", text);
}

/* FDSTORE=8: six clients stored, two places kept for a hand-over. */
static void check_full(int nfd, struct th_daemon *d)
{
	struct th_raw r[7];
	unsigned gone = 0;
	char want[64];
	int i;

	for (i = 0; i < 7; i++) {
		TH_EQ(th_raw_connect(&r[i], d->sock), 0);
		if (i < 6) {
			snprintf(want, sizeof(want),
				 "FDSTORE=1\nFDNAME=client-%d", i + 4);
			close(notify_expect(nfd, want));
		}
	}
	notify_none(nfd, 300);
	for (i = 0; i < 7; i++)
		th_raw_close(&r[i]);
	/* In whatever order the daemon sees them go. */
	for (i = 0; i < 6; i++) {
		char buf[512];
		unsigned id;
		int fd;

		TH_CHECK(notify_next(nfd, buf, sizeof(buf), &fd, WAIT_MS) == 0,
			 "%d of 6 FDSTOREREMOVE=1", i);
		TH_CHECK(sscanf(buf, "FDSTOREREMOVE=1\nFDNAME=client-%u",
				&id) == 1 && id >= 4 && id <= 9 &&
			 !(gone & (1u << id)) && fd < 0, "got \"%s\"", buf);
		gone |= 1u << id;
	}
	notify_none(nfd, 300);	/* the seventh was never stored */
	log_has(d, "fd store is full (6 client sockets)");
}

/* Put @fds at 3, 4, ... (in the child, about to exec). */
static void child_fds(const int *fds, int n)
{
	int i, hi[8];

	for (i = 0; i < n; i++)
		hi[i] = fcntl(fds[i], F_DUPFD, 100);
	for (i = 0; i < n; i++)
		dup2(hi[i], SD_FDS_START + i);
}

/*
 * Start zcsendd as systemd would after a crash: the control socket and
 * stored client sockets in LISTEN_FDS, named in LISTEN_FDNAMES.
 */
static void spawn_passed(struct th_daemon *d, const int *fds, int n,
			 const char *names)
{
	char path[512], num[16];
	int logfd;

	snprintf(path, sizeof(path), "%s/zcsendd", th_build_dir());
	d->pid = fork();
	TH_CHECK(d->pid >= 0, "fork: %s", strerror(errno));
	if (d->pid > 0)
		return;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	logfd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	dup2(logfd, STDERR_FILENO);
	child_fds(fds, n);
	snprintf(num, sizeof(num), "%d", (int)getpid());
	setenv("LISTEN_PID", num, 1);
	snprintf(num, sizeof(num), "%d", n);
	setenv("LISTEN_FDS", num, 1);
	setenv("LISTEN_FDNAMES", names, 1);
	execl(path, path, "-s", d->sock, (char *)NULL);
	_exit(127);
}

static int listen_at(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	TH_CHECK(strlen(path) < sizeof(sun.sun_path), "%s: too long", path);
	memcpy(sun.sun_path, path, strlen(path));
	TH_CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&sun,
				 sizeof(sun)) == 0 && listen(fd, 8) == 0,
		 "listen on %s: %s", path, strerror(errno));
	return fd;
}

/* Orphans: a client socket answered, a pipe just closed; both removed. */
static void check_orphans(int nfd)
{
	struct th_daemon d;
	struct th_raw peer = { .fd = -1, .pool_fd = -1 }, st;
	struct zcs_status_daemon sd;
	unsigned nclients, ndests;
	int sp[2], pp[2], fds[3];
	const char *tmp = getenv("TMPDIR");

	memset(&d, 0, sizeof(d));
	snprintf(d.dir, sizeof(d.dir), "%s/orph.XXXXXX", tmp ? tmp : "/tmp");
	TH_CHECK(mkdtemp(d.dir), "mkdtemp: %s", strerror(errno));
	snprintf(d.sock, sizeof(d.sock), "%s/zcs.sock", d.dir);
	snprintf(d.log, sizeof(d.log), "%s/zcsendd.log", d.dir);
	TH_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);
	TH_EQ(pipe2(pp, O_CLOEXEC), 0);
	fds[0] = listen_at(d.sock);
	fds[1] = sp[1];
	fds[2] = pp[0];
	spawn_passed(&d, fds, 3, "zcsendd.socket:client-7:client-8");
	passed_daemon = &d;
	th_on_fail(passed_daemon_log);
	close(fds[0]);
	close(sp[1]);
	close(pp[0]);
	peer.fd = sp[0];
	expect_error_then_eof(&peer, "zcsendd restarted");
	notify_expect(nfd, "FDSTOREREMOVE=1\nFDNAME=client-7");
	notify_expect(nfd, "FDSTOREREMOVE=1\nFDNAME=client-8");
	/* The passed control socket serves. */
	TH_EQ(th_raw_connect(&st, d.sock), 0);
	TH_EQ(th_raw_hello(&st, 0, "status"), 0);
	TH_EQ(th_raw_status(&st, &sd, &nclients, &ndests), 0);
	th_raw_close(&st);
	close(notify_expect(nfd, "FDSTORE=1\nFDNAME=client-1"));
	notify_expect(nfd, "FDSTOREREMOVE=1\nFDNAME=client-1");
	TH_CHECK(th_daemon_stop(&d) == 0, "the daemon with passed fds did "
		 "not exit 0 on SIGTERM");
	passed_daemon = NULL;
	close(sp[0]);
	close(pp[1]);
}

int main(void)
{
	struct th_daemon d;
	int nfd = notify_open();

	setenv("NOTIFY_SOCKET", notify_path, 1);
	setenv("FDSTORE", "8", 1);
	th_daemon_start(&d, NULL);
	check_client_lifecycle(nfd, &d);
	check_full(nfd, &d);
	/* SIGTERM with a store: the state goes into it, both ends of one
	 * bundle, and the daemon exits 0 for the next to resume. */
	th_daemon_stop_clean(&d);
	close(notify_expect(nfd, "FDSTORE=1\nFDNAME=handover"));
	TH_EQ(last_nfds, 2);
	check_orphans(nfd);
	close(nfd);
	unlink(notify_path);
	printf("fdstore: clients stored and removed, orphans answered\n");
	return 0;
}
