/* SPDX-License-Identifier: MIT */
/*
 * How zcs_connect() ends when the other side is not a helpful zcsendd: a
 * listener that takes the connection and never answers HELLO, one whose
 * backlog is full, and a daemon that refuses the peer with an ERROR and
 * closes, before, while or after it reads the HELLO. The library must give
 * up with -ETIMEDOUT, and report a refusal as the daemon's errno and text,
 * never as a bare broken pipe. Each zcs_connect() runs in a child under an
 * outer alarm, so that a hang fails the test instead of stalling it.
 */
/* transports: socket ring */
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "zcsend.h"

#define SHORT_MS	"300"	/* ZCSEND_CONNECT_TIMEOUT_MS for the timeouts */
#define OUTER_S		20	/* a child still connecting by then hangs */
#define REASON		"uid 4242 may not use this daemon (test)"
#define EARLY_ROUNDS	40

enum refusal {
	REFUSE_AT_ACCEPT,	/* ERROR, close: the HELLO may or may not be in */
	REFUSE_UNREAD,		/* wait for the HELLO, ERROR, close unread */
	REFUSE_ANSWER,		/* read the HELLO, ERROR with its cookie, close */
};

struct result {
	int err;
	uint64_t ms;
	char reason[128];
};

static char dir[128];
static char path[256];

static int listen_at(const char *name, int backlog)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	TH_CHECK(snprintf(path, sizeof(path), "%s/%s", dir, name) <
		 (int)sizeof(sun.sun_path), "socket path too long: %s", dir);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	TH_CHECK(fd >= 0, "socket: %s", strerror(errno));
	TH_CHECK(bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0,
		 "bind %s: %s", path, strerror(errno));
	TH_CHECK(listen(fd, backlog) == 0, "listen: %s", strerror(errno));
	return fd;
}

/* The child: one zcs_connect_err() to @path, its result down @wfd. */
static void child_connect(int wfd, const char *timeout_ms)
{
	struct zcs_client *c = NULL;
	struct result r;
	uint64_t t0;

	memset(&r, 0, sizeof(r));
	if (timeout_ms)
		setenv("ZCSEND_CONNECT_TIMEOUT_MS", timeout_ms, 1);
	alarm(OUTER_S);
	t0 = th_now_ms();
	r.err = zcs_connect_err(path, 0, &c, r.reason, sizeof(r.reason));
	r.ms = th_now_ms() - t0;
	if (!r.err)
		zcs_close(c);
	if (write(wfd, &r, sizeof(r)) != sizeof(r))
		_exit(2);
	_exit(0);
}

static pid_t start_child(int *rfd, const char *timeout_ms)
{
	int p[2];
	pid_t pid;

	TH_CHECK(pipe(p) == 0, "pipe: %s", strerror(errno));
	pid = fork();
	TH_CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		close(p[0]);
		child_connect(p[1], timeout_ms);
	}
	close(p[1]);
	*rfd = p[0];
	return pid;
}

/* Collect the child's result; a child killed by its alarm hung. */
static void finish_child(pid_t pid, int rfd, struct result *r, const char *what)
{
	ssize_t n;
	int st;

	n = read(rfd, r, sizeof(*r));
	close(rfd);
	TH_CHECK(waitpid(pid, &st, 0) == pid, "waitpid: %s", strerror(errno));
	TH_CHECK(!(WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM),
		 "%s: zcs_connect still waiting after %d s", what, OUTER_S);
	TH_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0 && n == sizeof(*r),
		 "%s: child ended with status %#x", what, st);
	r->reason[sizeof(r->reason) - 1] = '\0';
}

/* Accept within 10 s (the child connects at once, or is gone). */
static int accept_bounded(int lfd)
{
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };
	int fd;

	TH_CHECK(poll(&pfd, 1, 10000) == 1, "no connection to accept");
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	TH_CHECK(fd >= 0, "accept: %s", strerror(errno));
	return fd;
}

static void check_timeout(const struct result *r, const char *what)
{
	printf("%s: %d (%s) after %llu ms\n", what, r->err,
	       strerror(-r->err), (unsigned long long)r->ms);
	TH_EQ(r->err, -ETIMEDOUT);
	/* A timeout never fires early: it did wait, it did not just fail. */
	TH_CHECK(r->ms >= 200, "%s: gave up after %llu ms", what,
		 (unsigned long long)r->ms);
}

/* A listener that accepts and then says nothing. */
static void test_silent_accept(void)
{
	struct result r;
	int lfd, cfd, rfd;
	pid_t pid;

	lfd = listen_at("silent.sock", 4);
	pid = start_child(&rfd, SHORT_MS);
	cfd = accept_bounded(lfd);
	finish_child(pid, rfd, &r, "silent listener");
	check_timeout(&r, "silent listener");
	close(cfd);
	close(lfd);
}

/* A listener that never accepts, with its backlog already full: connect()
 * itself would wait for room. */
static void test_full_backlog(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct result r;
	int lfd, fill, rfd;
	pid_t pid;

	lfd = listen_at("full.sock", 0);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fill = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	TH_CHECK(fill >= 0 && connect(fill, (struct sockaddr *)&sun,
				      sizeof(sun)) == 0,
		 "filling the backlog: %s", strerror(errno));
	pid = start_child(&rfd, SHORT_MS);
	finish_child(pid, rfd, &r, "full backlog");
	check_timeout(&r, "full backlog");
	close(fill);
	close(lfd);
}

static void send_error(int fd, uint64_t cookie)
{
	unsigned char buf[sizeof(struct zcs_hdr) + sizeof(struct zcs_error)];
	struct zcs_error e;
	struct zcs_hdr h;

	memset(&e, 0, sizeof(e));
	e.err = -EACCES;
	e.req_type = ZCS_MSG_HELLO;
	snprintf(e.msg, sizeof(e.msg), "%s", REASON);
	zcs_hdr_init(&h, ZCS_MSG_ERROR, sizeof(e), cookie);
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), &e, sizeof(e));
	TH_CHECK(send(fd, buf, sizeof(buf), MSG_NOSIGNAL) == sizeof(buf),
		 "send ERROR: %s", strerror(errno));
}

/* Play a daemon that refuses the peer in the way @how says. */
static void refuse(int fd, enum refusal how)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct zcs_hdr h;
	unsigned char buf[ZCS_MSG_MAX];
	ssize_t n;

	if (how == REFUSE_AT_ACCEPT) {
		send_error(fd, 0);
		return;
	}
	TH_CHECK(poll(&pfd, 1, 10000) == 1, "no HELLO from the client");
	if (how == REFUSE_UNREAD) {
		send_error(fd, 0);
		return;
	}
	n = recv(fd, buf, sizeof(buf), 0);
	TH_CHECK(n > 0 && zcs_msg_check(buf, (size_t)n, &h) == 0 &&
		 h.type == ZCS_MSG_HELLO, "expected a HELLO (%zd bytes)", n);
	send_error(fd, h.cookie);
}

static void refused_once(int lfd, enum refusal how, const char *what)
{
	struct result r;
	int cfd, rfd;
	pid_t pid;

	pid = start_child(&rfd, NULL);
	cfd = accept_bounded(lfd);
	refuse(cfd, how);
	close(cfd);
	finish_child(pid, rfd, &r, what);
	if (r.err != -EACCES || strcmp(r.reason, REASON) != 0) {
		fprintf(stderr, "%s: got %d (%s), reason \"%s\"; want %d, "
			"\"%s\"\n", what, r.err, strerror(-r.err), r.reason,
			-EACCES, REASON);
		th_fail();
	}
}

static void test_refusals(void)
{
	int lfd, i;

	lfd = listen_at("refuse.sock", 16);
	refused_once(lfd, REFUSE_ANSWER, "refused after reading HELLO");
	refused_once(lfd, REFUSE_UNREAD, "refused with HELLO unread");
	for (i = 0; i < EARLY_ROUNDS; i++)
		refused_once(lfd, REFUSE_AT_ACCEPT, "refused at accept");
	printf("refusals: errno and reason kept in %d tries\n",
	       EARLY_ROUNDS + 2);
	close(lfd);
}

/* A failure the daemon did not explain leaves an empty reason. */
static void test_no_daemon(void)
{
	char reason[64] = "stale";
	struct zcs_client *c = NULL;
	int err;

	TH_CHECK(snprintf(path, sizeof(path), "%s/none.sock", dir) <
		 (int)sizeof(path), "path too long");
	err = zcs_connect_err(path, 0, &c, reason, sizeof(reason));
	TH_EQ(err, -ENOENT);
	TH_CHECK(reason[0] == '\0', "reason \"%s\" with no daemon", reason);
}

/* Remove the sockets and the directory, whichever way the test ends. */
static void cleanup(void)
{
	static const char *const names[] = {
		"silent.sock", "full.sock", "refuse.sock",
	};
	char p[256];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		unlink(p);
	}
	rmdir(dir);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/zcs-cerr.XXXXXX", tmp ? tmp : "/tmp");
	TH_CHECK(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
	atexit(cleanup);
	signal(SIGPIPE, SIG_IGN);
	test_no_daemon();
	test_silent_accept();
	test_full_backlog();
	test_refusals();
	printf("client-errors: ok\n");
	return 0;
}
