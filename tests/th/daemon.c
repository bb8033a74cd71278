/* SPDX-License-Identifier: MIT */
/*
 * A real zcsendd for a test: started in a private directory with its log
 * there, waited for until its socket accepts, stopped (SIGTERM, then
 * SIGKILL) and reaped; its config files; and what it says about its
 * clients. A failing check shows the running daemon's log.
 */
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "raw.h"
#include "util.h"

/* The one daemon a test runs; th_fail() shows its log, exit kills it. */
static struct th_daemon *cur_daemon;

/* th_fail's hook: the log of the daemon that runs, if one does. */
static void daemon_show_log(void)
{
	if (cur_daemon) {
		fprintf(stderr, "---- daemon log (%s) ----\n", cur_daemon->log);
		th_daemon_dump_log(cur_daemon, 8192);
		fprintf(stderr, "---- end of daemon log ----\n");
	}
}

static void daemon_atexit(void)
{
	if (cur_daemon && cur_daemon->pid > 0)
		th_daemon_stop(cur_daemon);
}

/* 0 once the daemon's socket accepts a connection. */
static int try_connect(const char *path)
{
	struct th_raw r;
	int ret = th_raw_connect(&r, path);

	th_raw_close(&r);
	return ret;
}

static void daemon_exec(const struct th_daemon *d, const char *const *extra)
{
	char *argv[32];
	char path[PATH_MAX];
	int i = 0, fd;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	if (fd >= 0) {
		dup2(fd, STDERR_FILENO);
		dup2(fd, STDOUT_FILENO);
	}
	snprintf(path, sizeof(path), "%s/zcsendd", th_build_dir());
	/* The child is about to exec: these copies are never freed. */
	argv[i++] = strdup(path);
	argv[i++] = strdup("-s");
	argv[i++] = strdup(d->sock);
	if (getenv("ZCS_TEST_VERBOSE"))
		argv[i++] = strdup("-v");
	while (extra && *extra && i < 31)
		argv[i++] = strdup(*extra++);
	argv[i] = NULL;
	execv(path, argv);
	fprintf(stderr, "exec %s: %s\n", path, strerror(errno));
	_exit(127);
}

/* Wait until the socket accepts or the daemon dies; 10 s at most. */
static int daemon_wait_ready(struct th_daemon *d)
{
	uint64_t end = th_now_ms() + 10000;

	while (th_now_ms() < end) {
		if (try_connect(d->sock) == 0)
			return 0;
		if (!th_daemon_alive(d))
			return -ECHILD;
		th_sleep_ms(20);
	}
	return -ETIMEDOUT;
}

void th_daemon_start(struct th_daemon *d, const char *const *extra)
{
	char path[PATH_MAX];
	const char *tmp = getenv("TMPDIR");
	int err;

	memset(d, 0, sizeof(*d));
	snprintf(d->dir, sizeof(d->dir), "%s/zcsd.XXXXXX", tmp ? tmp : "/tmp");
	if (strlen(d->dir) > 90 || !mkdtemp(d->dir)) {
		snprintf(d->dir, sizeof(d->dir), "/tmp/zcsd.XXXXXX");
		TH_CHECK(mkdtemp(d->dir), "mkdtemp: %s", strerror(errno));
	}
	snprintf(d->sock, sizeof(d->sock), "%s/zcs.sock", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/zcsendd.log", d->dir);
	snprintf(path, sizeof(path), "%s/zcsendd", th_build_dir());
	if (access(path, X_OK) < 0)
		th_skip("%s not built", path);
	d->pid = fork();
	TH_CHECK(d->pid >= 0, "fork: %s", strerror(errno));
	if (d->pid == 0)
		daemon_exec(d, extra);
	cur_daemon = d;
	th_on_fail(daemon_show_log);
	atexit(daemon_atexit);
	err = daemon_wait_ready(d);
	TH_CHECK(err == 0, "daemon not ready on %s: %s", d->sock,
		 strerror(-err));
}

void th_conf_write(char *path, size_t size, const char *fmt, ...)
{
	static unsigned seq;
	const char *tmp = getenv("TMPDIR");
	va_list ap;
	FILE *f;
	int ok;

	snprintf(path, size, "%s/zcsendd.%d.%u.conf", tmp ? tmp : "/tmp",
		 (int)getpid(), seq++);
	f = fopen(path, "w");
	TH_CHECK(f, "%s: %s", path, strerror(errno));
	va_start(ap, fmt);
	ok = vfprintf(f, fmt, ap) >= 0;
	va_end(ap);
	TH_CHECK(fclose(f) == 0 && ok, "writing %s", path);
}

int th_daemon_alive(struct th_daemon *d)
{
	int status;

	if (d->pid <= 0)
		return 0;
	if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
		fprintf(stderr, "daemon %d ended: status 0x%x\n", (int)d->pid,
			status);
		d->pid = -1;
		return 0;
	}
	return 1;
}

unsigned th_daemon_clients(struct th_daemon *d)
{
	struct zcs_status_daemon sd;
	unsigned clients, dests;
	struct th_raw s;

	TH_EQ(th_raw_connect(&s, d->sock), 0);
	TH_EQ(th_raw_hello(&s, 0, "status"), 0);
	TH_EQ(th_raw_status(&s, &sd, &clients, &dests), 0);
	th_raw_close(&s);
	return sd.clients;
}

/* What th_daemon_wait_idle waits for, from one STATUS. */
static int idle_is(const struct zcs_status_daemon *st, unsigned listed,
		   unsigned clients, uint64_t pool)
{
	return listed == clients && st->pool_bytes == pool &&
	       st->flows == 0 && st->inflight == 0;
}

/* The watcher says HELLO with pool 0, so it is not one of the clients. */
void th_daemon_wait_idle(struct th_daemon *d, unsigned clients,
			 uint64_t pool, unsigned ms)
{
	struct zcs_status_daemon st;
	uint64_t end = th_now_ms() + ms;
	unsigned listed, dests;
	struct th_raw r;

	TH_EQ(th_raw_connect(&r, d->sock), 0);
	TH_EQ(th_raw_hello(&r, 0, "watcher"), 0);
	TH_EQ(r.pool_bytes, 0);
	for (;;) {
		TH_EQ(th_raw_status(&r, &st, &listed, &dests), 0);
		if (idle_is(&st, listed, clients, pool))
			break;
		TH_CHECK(th_now_ms() < end, "after %u ms: %u clients with "
			 "pools (want %u), %llu pool bytes (want %llu), %u "
			 "flows, %u in flight", ms, listed, clients,
			 (unsigned long long)st.pool_bytes,
			 (unsigned long long)pool, st.flows, st.inflight);
		th_sleep_ms(50);
	}
	th_raw_close(&r);
}

/* fds first: the STATUS connection itself is an fd until it is closed. */
uint64_t th_daemon_wait_released(struct th_daemon *d, int fds, unsigned ms)
{
	uint64_t t0 = th_now_ms(), end = t0 + ms;

	while (th_now_ms() < end) {
		if (th_fd_count(d->pid) == fds && th_daemon_clients(d) == 0)
			return th_now_ms() - t0;
		th_sleep_ms(20);
	}
	TH_CHECK(0, "still %u clients and %d fds (want 0 and %d) %u ms on",
		 th_daemon_clients(d), th_fd_count(d->pid), fds, ms);
	return 0;
}

static int reap_within(pid_t pid, unsigned ms, int *status)
{
	uint64_t end = th_now_ms() + ms;

	do {
		if (waitpid(pid, status, WNOHANG) == pid)
			return 0;
		th_sleep_ms(10);
	} while (th_now_ms() < end);
	return -ETIMEDOUT;
}

int th_daemon_wait_exit(struct th_daemon *d, unsigned ms)
{
	int status = -1;

	if (d->pid > 0 && reap_within(d->pid, ms, &status) == 0)
		d->pid = -1;
	return status;
}

int th_daemon_stop(struct th_daemon *d)
{
	int status = -1;
	char path[PATH_MAX];

	if (d->pid > 0) {
		/* The daemon drains for up to drain_timeout_ms (5 s). */
		kill(d->pid, SIGTERM);
		if (reap_within(d->pid, 15000, &status) < 0) {
			fprintf(stderr, "daemon ignored SIGTERM for 15 s\n");
			kill(d->pid, SIGKILL);
			waitpid(d->pid, &status, 0);
		}
		d->pid = -1;
	}
	/* The exit handler must not reach a daemon that may be gone, or
	 * signal its pid once reused: @d may live on a returning stack. */
	if (cur_daemon == d)
		cur_daemon = NULL;
	if (getenv("ZCS_TEST_KEEP"))
		return status;
	unlink(d->sock);
	unlink(d->log);
	snprintf(path, sizeof(path), "%s", d->dir);
	rmdir(path);
	return status;
}

void th_daemon_stop_clean(struct th_daemon *d)
{
	int status;

	TH_CHECK(th_daemon_alive(d), "daemon died");
	status = th_daemon_stop(d);
	TH_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		 "daemon exit status %#x on SIGTERM", status);
}

void th_daemon_dump_log(const struct th_daemon *d, size_t max)
{
	char buf[4096];
	FILE *f = fopen(d->log, "r");
	size_t n;
	long size;

	if (!f) {
		fprintf(stderr, "(no log %s)\n", d->log);
		return;
	}
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	if (max && size > (long)max)
		fseek(f, size - (long)max, SEEK_SET);
	else
		fseek(f, 0, SEEK_SET);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, stderr);
	fclose(f);
}
