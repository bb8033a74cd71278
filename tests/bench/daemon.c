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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define READY_TRIES	100	/* x 100 ms: 10 s for the socket to accept */
#define STOP_TRIES	100	/* x 100 ms: 10 s for SIGTERM to end it */

/* Named destinations, one per policy the rows compare. zerocopy_min_bytes
 * 0: every size is a zerocopy send in the zcsendd_imm/bat rows. */
static const char conf_dest_fmt[] =
	"\n[destination imm]\naddress = %1$s\nflush = immediate\n"
	"zerocopy = on\nzerocopy_min_bytes = 0\n"
	"\n[destination bat]\naddress = %1$s\nflush = batch\n"
	"batch_max = 256\nbatch_usec = 200\n"
	"zerocopy = on\nzerocopy_min_bytes = 0\n"
	"\n[destination cpy]\naddress = %1$s\nflush = batch\n"
	"batch_max = 1024\nbatch_usec = 200\nzerocopy = off\n";

/* --fairness: the canary's own destination (on ifb, another port of the
 * sink), so that the daemon sends its datagrams on a socket of their own,
 * and the floods' (a loopback receiver that never reads). */
static const char conf_fair_fmt[] =
	"\n[destination can]\naddress = %s\nflush = immediate\n"
	"zerocopy = on\nzerocopy_min_bytes = 0\n"
	"\n[destination fld]\naddress = %s\nflush = batch\n"
	"batch_max = 256\nbatch_usec = 200\n"
	"zerocopy = on\nzerocopy_min_bytes = 0\n";

/* The [daemon] section, as key = value pairs kept in one place so that
 * a mode (or a daemon with new limits: per-user connections and pool
 * memory, say) changes it here, in conf_daemon_keys, and --daemon-set
 * KEY=VALUE changes or adds any key at run time. */
#define CONF_KEYS_MAX	(8u + BENCH_CONF_SETS_MAX)

struct conf_keys {
	struct {
		char key[48];
		char val[80];
	} kv[CONF_KEYS_MAX];
	unsigned n;
};

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

/* Set @key to @val, replacing an earlier value of it. */
static int keys_set(struct conf_keys *k, const char *key, const char *val)
{
	unsigned i;

	for (i = 0; i < k->n && strcmp(k->kv[i].key, key); i++)
		;
	if (i == CONF_KEYS_MAX)
		return -E2BIG;
	if (snprintf(k->kv[i].key, sizeof(k->kv[i].key), "%s", key) >=
	    (int)sizeof(k->kv[i].key) ||
	    snprintf(k->kv[i].val, sizeof(k->kv[i].val), "%s", val) >=
	    (int)sizeof(k->kv[i].val))
		return -ENAMETOOLONG;
	if (i == k->n)
		k->n++;
	return 0;
}

/* keys_set with a number, in bytes or a count. */
static int keys_num(struct conf_keys *k, const char *key, uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	return keys_set(k, key, buf);
}

/* One --daemon-set "KEY=VALUE", spaces around either trimmed. */
static int keys_parse(struct conf_keys *k, const char *arg)
{
	char buf[160], *eq, *key, *val, *end;

	if (snprintf(buf, sizeof(buf), "%s", arg) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	eq = strchr(buf, '=');
	if (!eq)
		return -EINVAL;
	*eq = '\0';
	key = buf + strspn(buf, " \t");
	val = eq + 1 + strspn(eq + 1, " \t");
	for (end = eq; end > key && strchr(" \t", end[-1]); end--)
		end[-1] = '\0';
	return *key ? keys_set(k, key, val) : -EINVAL;
}

/* What the modes need: --fairness its equal clients, --clients-idle its
 * idle ones at the library's default 4 MiB pool (rows asking more get
 * that much too, enough for 8 x 64 KB). */
static int conf_mode_keys(const struct bench *b, struct conf_keys *k)
{
	uint64_t n;
	int err = 0;

	if (b->mode == MODE_FAIRNESS) {
		n = b->fair_clients + 16;
		err = keys_num(k, "max_clients", n);
		if (!err)
			err = keys_num(k, "pool_total_bytes",
				       (256ull << 20) + n * (4ull << 20));
	} else if (b->mode == MODE_CLIENTS_IDLE && b->nci_steps) {
		n = b->ci_steps[b->nci_steps - 1] + 16ull;
		err = keys_num(k, "max_clients", n);
		if (!err)
			err = keys_set(k, "pool_bytes", "4M");
		if (!err)
			err = keys_num(k, "pool_total_bytes", n * (4ull << 20));
	} else if (b->mode == MODE_HANDOVER) {	/* 8 x 128 MiB */
		err = keys_set(k, "pool_bytes", "128M");
		if (!err)
			err = keys_set(k, "pool_total_bytes", "1G");
	}
	return err;
}

/* The [daemon] keys: the bench's defaults, the mode's, --poll-usec and
 * --daemon-set, in that order (a later one wins). */
static int conf_daemon_keys(const struct bench *b, struct conf_keys *k)
{
	unsigned i;
	int err;

	k->n = 0;
	err = keys_set(k, "pool_bytes", "64M");
	if (!err)
		err = keys_set(k, "pool_total_bytes", "256M");
	if (!err)
		err = keys_set(k, "max_inflight", "4096");
	if (!err)
		err = keys_set(k, "max_send_bytes", "1M");
	if (!err)
		err = conf_mode_keys(b, k);
	if (!err && b->poll_usec >= 0)
		err = keys_num(k, "poll_usec", (uint64_t)b->poll_usec);
	for (i = 0; !err && i < b->nconf_set; i++) {
		err = keys_parse(k, b->conf_set[i]);
		if (err)
			fprintf(stderr, "zcsend-bench: --daemon-set '%s': %s\n",
				b->conf_set[i], strerror(-err));
	}
	return err;
}

/* The config file: [daemon] keys, then the destinations the mode uses. */
static int conf_print(const struct bench *b, FILE *f, const char *url)
{
	struct conf_keys k;
	char can[64], fld[64];
	unsigned i;
	int err;

	err = conf_daemon_keys(b, &k);
	if (err)
		return err;
	fprintf(f, "[daemon]\n");
	for (i = 0; i < k.n; i++)
		fprintf(f, "%s = %s\n", k.kv[i].key, k.kv[i].val);
	fprintf(f, conf_dest_fmt, url);
	if (b->mode == MODE_DGRAM)
		fprintf(f, conf_dgram_fmt, url);
	if (b->mode == MODE_FAIRNESS) {
		err = net_sink_url_port(b, 1, can, sizeof(can));
		if (!err)
			err = net_flood_url(b, fld, sizeof(fld));
		if (err)
			return err;
		fprintf(f, conf_fair_fmt, can, fld);
	}
	return 0;
}

static int write_conf(const struct bench *b)
{
	char path[192], url[64];
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
	err = conf_print(b, f, url);
	if (fclose(f) && !err)
		err = -errno;
	return err;
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

/* The value of the first line of @path starting with @key, in kB. */
static int proc_kb(const char *path, const char *key, double *kb)
{
	char line[256];
	size_t len = strlen(key);
	unsigned long long v;
	int err = -ENOENT;
	FILE *f;

	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (err && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, len) &&
		    sscanf(line + len, " %llu", &v) == 1) {
			*kb = (double)v;
			err = 0;
		}
	fclose(f);
	return err;
}

/**
 * daemon_mem - the daemon's resident memory (VmRSS of /proc/PID/status)
 * and its proportional share (Pss, Pss_Shmem of smaps_rollup: pool pages
 * the daemon faulted in are shared memory), in kB.
 * Return: 0 or -errno.
 */
int daemon_mem(const struct bench *b, struct daemon_mem *m)
{
	char st[64], sm[64];
	int err;

	snprintf(st, sizeof(st), "/proc/%d/status", (int)b->daemon_pid);
	snprintf(sm, sizeof(sm), "/proc/%d/smaps_rollup", (int)b->daemon_pid);
	err = proc_kb(st, "VmRSS:", &m->rss_kb);
	if (!err)
		err = proc_kb(sm, "Pss:", &m->pss_kb);
	if (!err)
		err = proc_kb(sm, "Pss_Shmem:", &m->pss_shmem_kb);
	return err;
}
