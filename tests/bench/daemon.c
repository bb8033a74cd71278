/* SPDX-License-Identifier: MIT */
/*
 * The zcsendd behind the zcsendd_* rows: the binary next to the bench,
 * started as a child inside the bench's network namespace on a config and
 * socket in a private temp dir, stopped with SIGTERM at the end. Its CPU
 * time is read from /proc/PID/stat so daemon rows pay for the daemon too.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define READY_TRIES	100	/* x 100 ms: 10 s for the socket to accept */
#define STOP_TRIES	100	/* x 100 ms: 10 s for SIGTERM to end it */

/* Named destinations, one per policy the rows compare. zerocopy_min_bytes
 * 0: every size is a zerocopy send in the zcsendd_imm/bat rows. %2$s is
 * "poll_usec = N" with --poll-usec, else empty (the daemon's default). */
static const char conf_fmt[] =
	"[daemon]\n%2$s"
	"pool_bytes = 64M\n"
	"pool_total_bytes = 256M\n"
	"max_inflight = 4096\n"
	"max_send_bytes = 1M\n"
	"\n[destination imm]\naddress = %1$s\nflush = immediate\n"
	"zerocopy = on\nzerocopy_min_bytes = 0\n"
	"\n[destination bat]\naddress = %1$s\nflush = batch\n"
	"batch_max = 256\nbatch_usec = 200\n"
	"zerocopy = on\nzerocopy_min_bytes = 0\n"
	"\n[destination cpy]\naddress = %1$s\nflush = batch\n"
	"batch_max = 1024\nbatch_usec = 200\nzerocopy = off\n";

/* --dgram: the destination of zcsendd_gso and zcsendd_coalesce. udp_segment
 * = on lets the daemon coalesce same-length records into GSO sends (the
 * explicit form needs no policy); zerocopy_min_bytes 0 since what counts
 * is the GSO send's size, not the record's. */
static const char conf_dgram_fmt[] =
	"\n[destination gso]\naddress = %s\nflush = batch\n"
	"batch_max = 1024\nbatch_usec = 200\n"
	"zerocopy = on\nzerocopy_min_bytes = 0\nudp_segment = on\n";

/* @buf = the temp dir joined with @name. */
static int dir_path(const struct bench *b, const char *name, char *buf,
		    size_t size)
{
	int n = snprintf(buf, size, "%s/%s", b->dir, name);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static int write_conf(const struct bench *b)
{
	char path[192], url[64], poll[48] = "";
	FILE *f;
	int err;

	err = net_sink_url(b, url, sizeof(url));
	if (!err)
		err = dir_path(b, "zcsendd.conf", path, sizeof(path));
	if (err)
		return err;
	f = fopen(path, "we");
	if (!f)
		return -errno;
	if (b->poll_usec >= 0)
		snprintf(poll, sizeof(poll), "poll_usec = %ld\n", b->poll_usec);
	fprintf(f, conf_fmt, url, poll);
	if (b->mode == MODE_DGRAM)
		fprintf(f, conf_dgram_fmt, url);
	if (fclose(f))
		return -errno;
	return 0;
}

/* The zcsendd binary in the directory of /proc/self/exe. */
static int daemon_path(char *buf, size_t size)
{
	char exe[PATH_MAX];
	ssize_t n;
	int len;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return -errno;
	exe[n] = '\0';
	len = snprintf(buf, size, "%s/zcsendd", dirname(exe));
	if (len < 0 || (size_t)len >= size)
		return -ENAMETOOLONG;
	return access(buf, X_OK) ? -errno : 0;
}

/* In the child: log to the temp dir, die with the bench, become zcsendd. */
static void child_exec(const struct bench *b, const char *exe, pid_t parent)
{
	char conf[192], log[192];
	int fd;

	if (prctl(PR_SET_PDEATHSIG, SIGTERM) || getppid() != parent)
		_exit(127);
	if (dir_path(b, "zcsendd.conf", conf, sizeof(conf)) ||
	    dir_path(b, "zcsendd.log", log, sizeof(log)))
		_exit(127);
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 ||
	    dup2(fd, STDERR_FILENO) < 0)
		_exit(127);
	execl(exe, "zcsendd", "-c", conf, "-s", b->sock, (char *)NULL);
	_exit(127);
}

/* 0 once a SOCK_SEQPACKET connect to the daemon's socket succeeds. */
static int sock_accepts(const struct bench *b)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, err = 0;

	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", b->sock);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)))
		err = -errno;
	close(fd);
	return err;
}

/* Show the daemon's log when it failed, before the temp dir goes. */
static void dump_log(const struct bench *b)
{
	char path[192], line[512];
	FILE *f;
	int i;

	if (dir_path(b, "zcsendd.log", path, sizeof(path)))
		return;
	f = fopen(path, "re");
	if (!f)
		return;
	fprintf(stderr, "---- zcsendd log ----\n");
	for (i = 0; i < 60 && fgets(line, sizeof(line), f); i++)
		fputs(line, stderr);
	fprintf(stderr, "---- end of zcsendd log ----\n");
	fclose(f);
}

static int wait_ready(struct bench *b)
{
	int i, status;

	for (i = 0; i < READY_TRIES && !bench_stop; i++) {
		if (sock_accepts(b) == 0)
			return 0;
		if (waitpid(b->daemon_pid, &status, WNOHANG) == b->daemon_pid) {
			b->daemon_pid = 0;
			fprintf(stderr, "zcsend-bench: zcsendd exited at "
				"start (status 0x%x)\n", (unsigned)status);
			dump_log(b);
			return -ECHILD;
		}
		usleep(100000);
	}
	fprintf(stderr, "zcsend-bench: zcsendd not listening on %s\n",
		b->sock);
	return -ETIMEDOUT;
}

static void remove_dir(struct bench *b)
{
	static const char *const names[] = {
		"zcsendd.conf", "zcsendd.log", "zcsendd.sock",
	};
	char path[192];
	size_t i;

	if (!b->dir[0])
		return;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!dir_path(b, names[i], path, sizeof(path)))
			unlink(path);
	rmdir(b->dir);
	b->dir[0] = '\0';
}

/**
 * daemon_start - write the config and start zcsendd; wait until its
 * socket accepts (10 s). On failure everything is undone.
 * Return: 0 or -errno.
 */
int daemon_start(struct bench *b)
{
	char exe[PATH_MAX] = "";
	pid_t parent = getpid();
	int err;

	err = daemon_path(exe, sizeof(exe));
	if (err) {
		fprintf(stderr, "zcsend-bench: no zcsendd next to the bench "
			"(%s): %s\n", exe, strerror(-err));
		return err;
	}
	snprintf(b->dir, sizeof(b->dir), "%s", "/tmp/zcsend-bench.XXXXXX");
	if (!mkdtemp(b->dir)) {
		b->dir[0] = '\0';
		return -errno;
	}
	err = dir_path(b, "zcsendd.sock", b->sock, sizeof(b->sock));
	if (!err)
		err = write_conf(b);
	if (err)
		goto err_dir;
	b->daemon_pid = fork();
	if (b->daemon_pid < 0) {
		err = -errno;
		goto err_dir;
	}
	if (b->daemon_pid == 0)
		child_exec(b, exe, parent);
	err = wait_ready(b);
	if (err)
		goto err_daemon;
	return 0;

err_daemon:
	daemon_stop(b);
err_dir:
	b->daemon_pid = 0;
	remove_dir(b);
	return err;
}

/* waitpid with a bound; 1 when the child was reaped into *@status. */
static int reap_bounded(pid_t pid, int *status)
{
	int i;

	for (i = 0; i < STOP_TRIES; i++) {
		if (waitpid(pid, status, WNOHANG) == pid)
			return 1;
		usleep(100000);
	}
	return 0;
}

/**
 * daemon_stop - SIGTERM the daemon and wait for it (SIGKILL after 10 s),
 * then remove the temp dir. Safe to call when nothing runs.
 */
void daemon_stop(struct bench *b)
{
	int status = 0;

	if (b->daemon_pid > 0) {
		kill(b->daemon_pid, SIGTERM);
		if (!reap_bounded(b->daemon_pid, &status)) {
			fprintf(stderr, "zcsend-bench: zcsendd ignored "
				"SIGTERM; killing it\n");
			kill(b->daemon_pid, SIGKILL);
			waitpid(b->daemon_pid, &status, 0);
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "zcsend-bench: zcsendd ended with "
				"status 0x%x on SIGTERM\n", (unsigned)status);
			dump_log(b);
		}
		b->daemon_pid = 0;
	}
	remove_dir(b);
}

/**
 * daemon_cpu - the daemon's user+system CPU seconds so far (fields 14 and
 * 15 of /proc/PID/stat, in clock ticks).
 * Return: 0 or -errno.
 */
int daemon_cpu(const struct bench *b, double *secs)
{
	char path[64], buf[1024], *p;
	unsigned long utime, stime;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)b->daemon_pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -EIO;
	buf[n] = '\0';
	/* comm may hold spaces and parentheses: fields resume after the last
	 * ')'; state is field 3, utime 14, stime 15. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
			 "%*u %lu %lu", &utime, &stime) != 2)
		return -EIO;
	*secs = (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
	return 0;
}
