/* SPDX-License-Identifier: MIT */
/*
 * Test helpers: start and stop a real zcsendd, speak the raw protocol,
 * generate and check deterministic payloads, and receive on loopback in a
 * thread while verifying every byte. See helpers.h for the contracts.
 */
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

/* The one daemon a test runs; th_fail() shows its log, exit kills it. */
static struct th_daemon *cur_daemon;

uint64_t th_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void th_sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

void th_fail(void)
{
	if (cur_daemon) {
		fprintf(stderr, "---- daemon log (%s) ----\n", cur_daemon->log);
		th_daemon_dump_log(cur_daemon, 8192);
		fprintf(stderr, "---- end of daemon log ----\n");
	}
	exit(1);
}

void th_skip(const char *fmt, ...)
{
	va_list ap;

	printf("SKIP: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(TH_SKIP);
}

const char *th_build_dir(void)
{
	static char dir[PATH_MAX];
	const char *env = getenv("BUILD");
	ssize_t n;

	if (env && *env)
		return env;
	/* build/tests/test-x: the build dir is the parent of ours. */
	n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
	if (n <= 0)
		return "build";
	dir[n] = '\0';
	return dirname(dirname(dir));
}

/* ---- daemon ---- */

static void daemon_atexit(void)
{
	if (cur_daemon && cur_daemon->pid > 0)
		th_daemon_stop(cur_daemon);
}

/* Fill a sockaddr_un; -ENAMETOOLONG when @path does not fit. */
static int unix_addr(struct sockaddr_un *sa, const char *path)
{
	size_t len = strlen(path);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (len >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memcpy(sa->sun_path, path, len + 1);
	return 0;
}

static int try_connect(const char *path)
{
	struct sockaddr_un sa;
	int fd, ret;

	ret = unix_addr(&sa, path);
	if (ret)
		return ret;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	ret = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
	close(fd);
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

/* ---- raw protocol client ---- */

int th_raw_connect(struct th_raw *r, const char *path)
{
	struct sockaddr_un sa;

	memset(r, 0, sizeof(*r));
	r->fd = -1;
	r->pool_fd = -1;
	if (unix_addr(&sa, path))
		return -ENAMETOOLONG;
	r->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (r->fd < 0)
		return -errno;
	if (connect(r->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = -errno;

		close(r->fd);
		r->fd = -1;
		return err;
	}
	return 0;
}

void th_raw_close(struct th_raw *r)
{
	if (r->pool)
		munmap(r->pool, r->pool_bytes);
	if (r->fd >= 0)
		close(r->fd);
	if (r->pool_fd >= 0)
		close(r->pool_fd);
	r->pool = NULL;
	r->fd = -1;
	r->pool_fd = -1;
}

int th_raw_send_bytes(struct th_raw *r, const void *buf, size_t len)
{
	ssize_t n = send(r->fd, buf, len, MSG_NOSIGNAL);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int th_raw_send_msg(struct th_raw *r, uint16_t type, uint8_t version,
		    const void *payload, size_t len)
{
	unsigned char *buf = malloc(sizeof(struct zcs_hdr) + len);
	struct zcs_hdr h;
	int ret;

	if (!buf)
		return -ENOMEM;
	zcs_hdr_init(&h, type, len, ++r->cookie);
	h.version = version;
	memcpy(buf, &h, sizeof(h));
	if (len)
		memcpy(buf + sizeof(h), payload, len);
	ret = th_raw_send_bytes(r, buf, sizeof(h) + len);
	free(buf);
	return ret;
}

/* Keep the first SCM_RIGHTS fd in *fd (or close it), close any others. */
/* Keep up to @max of the fds that came (in @fds, count in *@nfds); close
 * the rest. */
static void take_fds(struct msghdr *mh, int *fds, int max, int *nfds)
{
	struct cmsghdr *c;
	size_t i, n;
	int got[8];

	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (n > 8)
			n = 8;
		memcpy(got, CMSG_DATA(c), n * sizeof(int));
		for (i = 0; i < n; i++) {
			if (*nfds < max)
				fds[(*nfds)++] = got[i];
			else
				close(got[i]);
		}
	}
}

static int wait_readable(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int n;

	do {
		n = poll(&p, 1, timeout_ms);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n ? 0 : -ETIMEDOUT;
}

static ssize_t raw_recvmsg(struct th_raw *r, void *buf, size_t size,
			   int *fds, int max, int *nfds)
{
	union {
		char b[CMSG_SPACE(8 * sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct iovec iov = { buf, size };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cm.b, .msg_controllen = sizeof(cm.b),
	};
	ssize_t n = recvmsg(r->fd, &mh, MSG_CMSG_CLOEXEC);

	/* A daemon that closes with our messages unread in its queue leaves
	 * us ECONNRESET, reported before what it wrote us last: read on,
	 * as libzcsend does. */
	if (n < 0 && errno == ECONNRESET)
		n = recvmsg(r->fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN ? -ECONNRESET : -errno;
	take_fds(&mh, fds, max, nfds);
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
		return -EMSGSIZE;
	return n;
}

int th_raw_recv_fds(struct th_raw *r, struct zcs_hdr *h, void *payload,
		    size_t cap, int *fds, int max, int *nfds, int timeout_ms)
{
	unsigned char *buf;
	ssize_t n;
	int err;

	*nfds = 0;
	err = wait_readable(r->fd, timeout_ms);
	if (err)
		return err;
	buf = malloc(ZCS_MSG_MAX);
	if (!buf)
		return -ENOMEM;
	n = raw_recvmsg(r, buf, ZCS_MSG_MAX, fds, max, nfds);
	if (n == 0)
		err = -ECONNRESET;
	else if (n < 0)
		err = (int)n;
	else
		err = zcs_msg_check(buf, (size_t)n, h);
	if (!err) {
		n -= (ssize_t)sizeof(*h);
		memcpy(payload, buf + sizeof(*h), (size_t)n < cap ? (size_t)n : cap);
		err = (int)n;
	}
	free(buf);
	return err;
}

int th_raw_recv(struct th_raw *r, struct zcs_hdr *h, void *payload,
		size_t cap, int *fd, int timeout_ms)
{
	int tmp = -1, nfds = 0, n;

	n = th_raw_recv_fds(r, h, payload, cap, &tmp, fd ? 1 : 0, &nfds,
			    timeout_ms);
	if (fd)
		*fd = nfds ? tmp : -1;
	return n;
}

static int raw_map_pool(struct th_raw *r, int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if ((uint64_t)st.st_size != r->ok.pool_bytes) {
		fprintf(stderr, "memfd size %lld, granted %llu\n",
			(long long)st.st_size,
			(unsigned long long)r->ok.pool_bytes);
		return -EPROTO;
	}
	r->pool_bytes = r->ok.pool_bytes;
	if (!r->pool_bytes)
		return 0;
	r->pool = mmap(NULL, r->pool_bytes, PROT_READ | PROT_WRITE,
		       MAP_SHARED, fd, 0);
	if (r->pool == MAP_FAILED) {
		r->pool = NULL;
		return -errno;
	}
	return 0;
}

static int raw_hello(struct th_raw *r, uint64_t pool_bytes, uint32_t flags,
		     uint32_t entries, const char *name)
{
	struct zcs_hello m;
	struct zcs_hdr h;
	int fd = -1, n, err;

	memset(&m, 0, sizeof(m));
	m.pool_bytes = pool_bytes;
	m.flags = flags;
	m.ring_entries = entries;
	snprintf(m.name, sizeof(m.name), "%s", name);
	err = th_raw_send_msg(r, ZCS_MSG_HELLO, ZCS_PROTO_VERSION, &m,
			      sizeof(m));
	if (err)
		return err;
	n = th_raw_recv(r, &h, &r->ok, sizeof(r->ok), &fd, 5000);
	if (n < 0)
		return n;
	/* A control-only connection (pool 0) gets no memfd. */
	if (h.type == ZCS_MSG_HELLO_OK && r->ok.pool_bytes == 0 && fd < 0 &&
	    !(h.flags & ZCS_HDR_F_FD))
		return 0;
	if (h.type != ZCS_MSG_HELLO_OK || !(h.flags & ZCS_HDR_F_FD) ||
	    fd < 0) {
		fprintf(stderr, "HELLO answered by %s, flags %#x, fd %d\n",
			zcs_msg_name(h.type), h.flags, fd);
		err = -EPROTO;
	} else {
		err = raw_map_pool(r, fd);
	}
	if (!err)
		r->pool_fd = fd;
	else if (fd >= 0)
		close(fd);
	return err;
}

int th_raw_hello(struct th_raw *r, uint64_t pool_bytes, const char *name)
{
	return raw_hello(r, pool_bytes, 0, 0, name);
}

long th_raw_flow_open(struct th_raw *r, const char *dest)
{
	union {
		struct zcs_flow_ok ok;
		struct zcs_error error;
	} u;
	struct zcs_flow_open m;
	struct zcs_hdr h;
	int n;

	memset(&m, 0, sizeof(m));
	snprintf(m.dest, sizeof(m.dest), "%s", dest);
	n = th_raw_send_msg(r, ZCS_MSG_FLOW_OPEN, ZCS_PROTO_VERSION, &m,
			    sizeof(m));
	if (n)
		return n;
	n = th_raw_recv(r, &h, &u, sizeof(u), NULL, 10000);
	if (n < 0)
		return n;
	if (h.cookie != r->cookie)
		return -EPROTO;
	if (h.type == ZCS_MSG_FLOW_OK)
		return u.ok.flow;
	if (h.type == ZCS_MSG_ERROR)
		return u.error.err < 0 ? u.error.err : -EPROTO;
	return -EPROTO;
}

int th_raw_flow_close(struct th_raw *r, uint32_t flow)
{
	union {
		struct zcs_flow_close closed;
		struct zcs_error error;
	} u;
	struct zcs_flow_close m = { .flow = flow };
	struct zcs_hdr h;
	int n;

	n = th_raw_send_msg(r, ZCS_MSG_FLOW_CLOSE, ZCS_PROTO_VERSION, &m,
			    sizeof(m));
	if (n)
		return n;
	n = th_raw_recv(r, &h, &u, sizeof(u), NULL, 10000);
	if (n < 0)
		return n;
	if (h.cookie != r->cookie)
		return -EPROTO;
	if (h.type == ZCS_MSG_FLOW_CLOSED)
		return u.closed.flow == flow ? 0 : -EPROTO;
	if (h.type == ZCS_MSG_ERROR)
		return u.error.err < 0 ? u.error.err : -EPROTO;
	return -EPROTO;
}

int th_raw_status(struct th_raw *r, struct zcs_status_daemon *out,
		  unsigned *clients, unsigned *dests)
{
	unsigned char buf[sizeof(struct zcs_status_dest) * 2];
	struct zcs_hdr h;
	int n, have = 0;

	*clients = *dests = 0;
	n = th_raw_send_msg(r, ZCS_MSG_STATUS, ZCS_PROTO_VERSION, NULL, 0);
	while (n == 0) {
		n = th_raw_recv(r, &h, buf, sizeof(buf), NULL, 5000);
		if (n < 0)
			break;
		if (h.type == ZCS_MSG_STATUS_DAEMON) {
			memcpy(out, buf, sizeof(*out));
			have = 1;
		} else if (h.type == ZCS_MSG_STATUS_CLIENT) {
			(*clients)++;
		} else if (h.type == ZCS_MSG_STATUS_DEST) {
			(*dests)++;
		} else if (h.type == ZCS_MSG_STATUS_END) {
			return have ? 0 : -EPROTO;
		} else {
			return -EPROTO;
		}
		n = 0;
	}
	return n;
}

int th_raw_send(struct th_raw *r, const struct zcs_msg_send *recs, size_t n)
{
	return th_raw_send_msg(r, ZCS_MSG_SEND, ZCS_PROTO_VERSION, recs,
			       n * sizeof(*recs));
}

int th_raw_completions(struct th_raw *r, struct zcs_msg_completion *out,
		       size_t n, int timeout_ms)
{
	struct zcs_msg_completion *recs = malloc(ZCS_MSG_MAX);
	uint64_t end = th_now_ms() + (uint64_t)timeout_ms;
	size_t got = 0, k;
	struct zcs_hdr h;
	int len = 0;

	if (!recs)
		return -ENOMEM;
	while (got < n && th_now_ms() < end) {
		len = th_raw_recv(r, &h, recs, ZCS_MSG_MAX, NULL,
				  (int)(end - th_now_ms()));
		if (len == -ETIMEDOUT)
			break;
		if (len >= 0 && h.type != ZCS_MSG_COMPLETE) {
			fprintf(stderr, "got %s waiting for completions\n",
				zcs_msg_name(h.type));
			len = -EPROTO;
		}
		if (len < 0)
			break;
		k = (size_t)len / sizeof(*recs);
		if (got + k > n) {
			len = -E2BIG;
			break;
		}
		memcpy(out + got, recs, k * sizeof(*recs));
		got += k;
	}
	free(recs);
	return len < 0 && len != -ETIMEDOUT ? len : (int)got;
}

/* ---- payloads ---- */

uint64_t th_fnv1a(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* splitmix64: a good 64-bit mix, one step per 8 bytes. */
static uint64_t mix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void th_fill(void *buf, size_t len, uint32_t client, uint64_t seq)
{
	uint64_t state = ((uint64_t)client << 48) ^ seq ^ 0x5a5a0000u;
	unsigned char *p = buf;
	uint64_t v;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		v = mix64(&state);
		memcpy(p + i, &v, 8);
	}
	v = mix64(&state);
	memcpy(p + i, &v, len - i);
}

size_t th_size(uint32_t client, uint64_t seq, size_t lo, size_t hi)
{
	uint64_t state = ((uint64_t)client << 40) ^ (seq * 7919u);

	return lo + (size_t)(mix64(&state) % (hi - lo + 1));
}

void th_rec_build(void *buf, size_t len, uint32_t client, uint64_t seq)
{
	struct th_rec h = {
		.magic = TH_REC_MAGIC, .client = client, .seq = seq,
		.len = (uint32_t)len,
	};
	unsigned char *p = buf;

	th_fill(p + sizeof(h), len - sizeof(h), client, seq);
	h.csum = th_fnv1a(p + sizeof(h), len - sizeof(h));
	memcpy(p, &h, sizeof(h));
}

/* One packet, with descriptors attached. */
ssize_t th_send_fds(int sock, const void *buf, size_t len, const int *fds,
		    int nfds)
{
	union {
		char buf[CMSG_SPACE(TH_FDS_MAX * sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct iovec iov = { (void *)(uintptr_t)buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = len ? 1 : 0 };
	struct cmsghdr *c;
	ssize_t n;

	if (nfds < 0 || nfds > TH_FDS_MAX)
		return -EINVAL;
	memset(&cm, 0, sizeof(cm));
	if (nfds) {
		mh.msg_control = cm.buf;
		mh.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, (size_t)nfds * sizeof(int));
	}
	n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	return n < 0 ? -errno : n;
}

/* ---- receivers ---- */

int th_fd_count(pid_t pid)
{
	char path[64];
	struct dirent *e;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((e = readdir(dir)) != NULL)
		n += e->d_name[0] != '.';
	closedir(dir);
	return n;
}

int th_listen_lo(uint16_t *port, int rcvbuf)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	TH_CHECK(fd >= 0, "socket: %s", strerror(errno));
	if (rcvbuf)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	TH_CHECK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		 listen(fd, 4) == 0 &&
		 getsockname(fd, (struct sockaddr *)&sa, &sl) == 0,
		 "listen: %s", strerror(errno));
	*port = ntohs(sa.sin_port);
	return fd;
}

#define TH_REC_MAX (1u << 20)	/* largest record a receiver accepts */

static void recv_error(struct th_recv *rv, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Count an error; keep the first message. Called with rv->lock held. */
static void recv_error(struct th_recv *rv, const char *fmt, ...)
{
	va_list ap;

	if (rv->errors++ == 0) {
		va_start(ap, fmt);
		vsnprintf(rv->first_error, sizeof(rv->first_error), fmt, ap);
		va_end(ap);
		fprintf(stderr, "receiver: %s\n", rv->first_error);
	}
}

/*
 * Check one whole record at @p of @len bytes: header, checksum and every
 * byte against th_fill(). Returns 0 or -EBADMSG (error recorded).
 */
static int rec_verify(struct th_recv *rv, const unsigned char *p, size_t len,
		      struct th_rec *out)
{
	unsigned char *want;
	struct th_rec h;
	size_t plen;
	int bad;

	memcpy(&h, p, sizeof(h));
	*out = h;
	if (h.magic != TH_REC_MAGIC || h.len != len ||
	    h.client >= TH_MAX_CLIENTS) {
		recv_error(rv, "bad record header: magic %#x len %u/%zu "
			   "client %u", h.magic, h.len, len, h.client);
		return -EBADMSG;
	}
	plen = len - sizeof(h);
	if (th_fnv1a(p + sizeof(h), plen) != h.csum) {
		recv_error(rv, "checksum mismatch client %u seq %llu",
			   h.client, (unsigned long long)h.seq);
		return -EBADMSG;
	}
	want = malloc(plen + 1);
	th_fill(want, plen, h.client, h.seq);
	bad = memcmp(want, p + sizeof(h), plen) != 0;
	free(want);
	if (bad) {
		recv_error(rv, "payload differs client %u seq %llu",
			   h.client, (unsigned long long)h.seq);
		return -EBADMSG;
	}
	return 0;
}

static int read_full(struct th_recv *rv, int fd, void *buf, size_t len)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		if (wait_readable(fd, 100) == -ETIMEDOUT) {
			if (rv->stop)
				return -ECANCELED;
			continue;
		}
		n = read(fd, (char *)buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return done ? -EPIPE : 0;
		done += (size_t)n;
	}
	return 1;
}

/* One TCP record: header, then the rest; checks order within the stream. */
static int tcp_record(struct th_recv *rv, int fd, unsigned char *buf,
		      uint32_t *client)
{
	struct th_rec h;
	int ret;

	ret = read_full(rv, fd, buf, sizeof(h));
	if (ret <= 0)
		return ret;
	memcpy(&h, buf, sizeof(h));
	pthread_mutex_lock(&rv->lock);
	if (h.len < sizeof(h) || h.len > TH_REC_MAX) {
		recv_error(rv, "record length %u", h.len);
		ret = -EBADMSG;
	}
	pthread_mutex_unlock(&rv->lock);
	if (ret < 0)
		return ret;
	ret = read_full(rv, fd, buf + sizeof(h), h.len - sizeof(h));
	if (ret <= 0)
		return ret ? ret : -EPIPE;
	pthread_mutex_lock(&rv->lock);
	ret = rec_verify(rv, buf, h.len, &h);
	if (!ret && *client != UINT32_MAX && h.client != *client)
		recv_error(rv, "client %u on client %u's stream", h.client,
			   *client);
	else if (!ret && h.seq != rv->next_seq[h.client])
		recv_error(rv, "client %u: seq %llu, expected %llu", h.client,
			   (unsigned long long)h.seq,
			   (unsigned long long)rv->next_seq[h.client]);
	if (!ret) {
		*client = h.client;
		rv->next_seq[h.client] = h.seq + 1;
		rv->records++;
		rv->bytes += h.len;
	}
	pthread_mutex_unlock(&rv->lock);
	return ret ? ret : 1;
}

struct tcp_reader {
	struct th_recv *rv;
	int fd;
};

static void *tcp_reader_main(void *arg)
{
	struct tcp_reader *t = arg;
	unsigned char *buf = malloc(TH_REC_MAX);
	uint32_t client = UINT32_MAX;
	int ret;

	while ((ret = tcp_record(t->rv, t->fd, buf, &client)) > 0)
		;
	if (ret < 0 && ret != -ECANCELED) {
		pthread_mutex_lock(&t->rv->lock);
		recv_error(t->rv, "stream of client %u: %s", client,
			   strerror(-ret));
		pthread_mutex_unlock(&t->rv->lock);
	}
	/* Keep draining so that the sender is not stalled behind us. */
	while (ret < 0 && ret != -ECANCELED && !t->rv->stop) {
		if (wait_readable(t->fd, 100) == -ETIMEDOUT)
			continue;
		if (read(t->fd, buf, TH_REC_MAX) <= 0)
			break;
	}
	free(buf);
	free(t);
	return NULL;
}

static void *tcp_accept_main(void *arg)
{
	struct th_recv *rv = arg;
	struct tcp_reader *t;
	int fd;

	while (!rv->stop && rv->nconns < rv->conns_expected) {
		if (wait_readable(rv->lfd, 100) == -ETIMEDOUT)
			continue;
		fd = accept4(rv->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		t = malloc(sizeof(*t));
		t->rv = rv;
		t->fd = fd;
		rv->cfd[rv->nconns] = fd;
		if (pthread_create(&rv->readers[rv->nconns], NULL,
				   tcp_reader_main, t)) {
			close(fd);
			free(t);
			break;
		}
		rv->nconns++;
	}
	return NULL;
}

/* One datagram: a whole record whose seq must be new. */
static void udp_datagram(struct th_recv *rv, const unsigned char *p, size_t n)
{
	struct th_rec h;

	pthread_mutex_lock(&rv->lock);
	if (n < sizeof(h)) {
		recv_error(rv, "datagram of %zu bytes", n);
	} else if (!rec_verify(rv, p, n, &h)) {
		if (h.seq >= rv->seen_max)
			recv_error(rv, "seq %llu out of range",
				   (unsigned long long)h.seq);
		else if (rv->seen[h.seq]++)
			recv_error(rv, "seq %llu twice",
				   (unsigned long long)h.seq);
		else
			rv->records++;
		rv->bytes += n;
	}
	pthread_mutex_unlock(&rv->lock);
}

static void *udp_main(void *arg)
{
	struct th_recv *rv = arg;
	unsigned char *buf = malloc(65536);
	ssize_t n;

	while (!rv->stop) {
		if (wait_readable(rv->lfd, 100) == -ETIMEDOUT)
			continue;
		n = recv(rv->lfd, buf, 65536, MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0)
			continue;
		udp_datagram(rv, buf, n > 65536 ? 65536 : (size_t)n);
	}
	free(buf);
	return NULL;
}

/* Bind the loopback address of @family, port 0; record the port. */
static int recv_bind(struct th_recv *rv, int type)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	socklen_t sl = sizeof(ss);
	int one = 1, big = 32 << 20;

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = (sa_family_t)rv->family;
	if (rv->family == AF_INET)
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else
		in6->sin6_addr = in6addr_loopback;
	rv->lfd = socket(rv->family, type | SOCK_CLOEXEC, 0);
	if (rv->lfd < 0)
		return -errno;
	setsockopt(rv->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (setsockopt(rv->lfd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)))
		setsockopt(rv->lfd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (bind(rv->lfd, (struct sockaddr *)&ss, rv->family == AF_INET ?
		 sizeof(*in) : sizeof(*in6)) < 0 ||
	    getsockname(rv->lfd, (struct sockaddr *)&ss, &sl) < 0 ||
	    (type == SOCK_STREAM && listen(rv->lfd, 64) < 0)) {
		int err = -errno;

		close(rv->lfd);
		rv->lfd = -1;
		return err;
	}
	rv->port = ntohs(rv->family == AF_INET ? in->sin_port : in6->sin6_port);
	return 0;
}

int th_recv_start(struct th_recv *rv, int family, int proto, uint64_t n)
{
	int tcp = proto == ZCS_PROTO_TCP, err;

	memset(rv, 0, sizeof(*rv));
	rv->family = family;
	rv->proto = proto;
	pthread_mutex_init(&rv->lock, NULL);
	if (tcp) {
		rv->conns_expected = n > TH_MAX_CLIENTS ? TH_MAX_CLIENTS : (int)n;
	} else {
		rv->seen_max = n;
		rv->seen = calloc(n ? n : 1, 1);
	}
	err = recv_bind(rv, tcp ? SOCK_STREAM : SOCK_DGRAM);
	if (err)
		return err;
	if (pthread_create(&rv->thread, NULL, tcp ? tcp_accept_main : udp_main,
			   rv)) {
		close(rv->lfd);
		rv->lfd = -1;
		return -EAGAIN;
	}
	return 0;
}

int th_recv_wait(struct th_recv *rv, uint64_t records, int timeout_ms)
{
	uint64_t end = th_now_ms() + (uint64_t)timeout_ms;
	uint64_t got, errors;

	for (;;) {
		pthread_mutex_lock(&rv->lock);
		got = rv->records;
		errors = rv->errors;
		pthread_mutex_unlock(&rv->lock);
		if (errors)
			return -EIO;
		if (got >= records)
			return 0;
		if (th_now_ms() >= end)
			return -ETIMEDOUT;
		th_sleep_ms(10);
	}
}

void th_recv_stop(struct th_recv *rv)
{
	int i;

	if (rv->lfd < 0)
		return;
	rv->stop = 1;
	pthread_join(rv->thread, NULL);
	for (i = 0; i < rv->nconns; i++) {
		pthread_join(rv->readers[i], NULL);
		close(rv->cfd[i]);
	}
	rv->nconns = 0;
	close(rv->lfd);
	rv->lfd = -1;
}

void th_recv_free(struct th_recv *rv)
{
	th_recv_stop(rv);
	free(rv->seen);
	rv->seen = NULL;
	pthread_mutex_destroy(&rv->lock);
}

void th_recv_dest(const struct th_recv *rv, char *buf, size_t size)
{
	snprintf(buf, size, "%s://%s:%u",
		 rv->proto == ZCS_PROTO_TCP ? "tcp" : "udp",
		 rv->family == AF_INET ? "127.0.0.1" : "[::1]", rv->port);
}

int th_raw_status_client(struct th_raw *r, uint32_t id,
			 struct zcs_status_client *out)
{
	unsigned char buf[sizeof(struct zcs_status_dest) * 2];
	struct zcs_hdr h;
	struct zcs_status_client m;
	int n, have = 0;

	n = th_raw_send_msg(r, ZCS_MSG_STATUS, ZCS_PROTO_VERSION, NULL, 0);
	while (n == 0) {
		n = th_raw_recv(r, &h, buf, sizeof(buf), NULL, 5000);
		if (n < 0)
			break;
		if (h.type == ZCS_MSG_STATUS_END)
			return have ? 0 : -ENOENT;
		if (h.type == ZCS_MSG_STATUS_CLIENT) {
			memcpy(&m, buf, sizeof(m));
			if (m.id == id) {
				*out = m;
				have = 1;
			}
		}
		n = 0;
	}
	return n;
}

/* ---- shared-memory rings ---- */

static _Atomic uint32_t *ring_word(struct zcs_ring_word *w)
{
	return (_Atomic uint32_t *)(void *)&w->v;
}

static int rings_map(struct th_rings *rg, const int *fds)
{
	struct stat st;

	rg->daemon_efd = fds[1];
	rg->client_efd = fds[2];
	if (fstat(fds[0], &st) < 0)
		return -errno;
	if ((uint64_t)st.st_size != rg->lay.bytes) {
		fprintf(stderr, "ring memfd size %lld, RINGS says %llu\n",
			(long long)st.st_size,
			(unsigned long long)rg->lay.bytes);
		return -EPROTO;
	}
	rg->mem = mmap(NULL, rg->lay.bytes, PROT_READ | PROT_WRITE,
		       MAP_SHARED, fds[0], 0);
	if (rg->mem == MAP_FAILED) {
		rg->mem = NULL;
		return -errno;
	}
	rg->ctl = rg->mem;
	rg->sq = (struct zcs_msg_send *)((char *)rg->mem + rg->lay.sq_off);
	rg->cq = (struct zcs_msg_completion *)((char *)rg->mem +
					       rg->lay.cq_off);
	return 0;
}

/* RINGS and its three fds, or the ERROR that says why not. */
static int rings_recv(struct th_raw *r, struct th_rings *rg)
{
	union {
		struct zcs_rings lay;
		struct zcs_error error;
	} u;
	struct zcs_hdr h;
	int fds[3], nfds = 0, n, i, err = -EPROTO;

	n = th_raw_recv_fds(r, &h, &u, sizeof(u), fds, 3, &nfds, 5000);
	if (n < 0)
		return n;
	if (h.type == ZCS_MSG_ERROR && !nfds)
		return u.error.req_type == ZCS_MSG_HELLO && u.error.err < 0
			       ? u.error.err : -EPROTO;
	if (h.type == ZCS_MSG_RINGS && nfds == 3) {
		rg->lay = u.lay;
		err = rings_map(rg, fds);
		close(fds[0]);
		if (!err)
			return 0;
		nfds = 1;	/* the eventfds go with th_rings_close */
	}
	fprintf(stderr, "rings: got %s with %d fds\n", zcs_msg_name(h.type),
		nfds);
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	return err;
}

int th_raw_hello_rings(struct th_raw *r, uint64_t pool_bytes,
		       uint32_t entries, const char *name, struct th_rings *rg)
{
	int err;

	memset(rg, 0, sizeof(*rg));
	rg->daemon_efd = -1;
	rg->client_efd = -1;
	err = raw_hello(r, pool_bytes, ZCS_HELLO_F_RINGS, entries, name);
	return err ? err : rings_recv(r, rg);
}

void th_rings_close(struct th_rings *rg)
{
	if (rg->mem)
		munmap(rg->mem, rg->lay.bytes);
	if (rg->daemon_efd >= 0)
		close(rg->daemon_efd);
	if (rg->client_efd >= 0)
		close(rg->client_efd);
	rg->mem = NULL;
	rg->daemon_efd = rg->client_efd = -1;
}

/* After new records or freed CQ room: wake the daemon if it sleeps. */
static void rings_wake_daemon(struct th_rings *rg)
{
	_Atomic uint32_t *flags = ring_word(&rg->ctl->daemon_flags);
	uint64_t one = 1;

	atomic_thread_fence(memory_order_seq_cst);
	if (!(atomic_load_explicit(flags, memory_order_relaxed) &
	      ZCS_RING_NEED_WAKEUP))
		return;
	if (atomic_fetch_and(flags, ~ZCS_RING_NEED_WAKEUP) &
	    ZCS_RING_NEED_WAKEUP) {
		if (write(rg->daemon_efd, &one, sizeof(one)) == sizeof(one))
			rg->wakeups++;
	}
}

uint32_t th_rings_submit(struct th_rings *rg, const struct zcs_msg_send *recs,
			 uint32_t n)
{
	uint32_t head = atomic_load_explicit(ring_word(&rg->ctl->sq_head),
					     memory_order_acquire);
	uint32_t room = rg->lay.sq_entries - (rg->sq_tail - head), i;

	if (n > room)
		n = room;
	for (i = 0; i < n; i++)
		rg->sq[(rg->sq_tail + i) & (rg->lay.sq_entries - 1)] = recs[i];
	if (!n)
		return 0;
	rg->sq_tail += n;
	atomic_store_explicit(ring_word(&rg->ctl->sq_tail), rg->sq_tail,
			      memory_order_release);
	rings_wake_daemon(rg);
	return n;
}

uint32_t th_rings_reap(struct th_rings *rg, struct zcs_msg_completion *out,
		       uint32_t max)
{
	uint32_t tail = atomic_load_explicit(ring_word(&rg->ctl->cq_tail),
					     memory_order_acquire);
	uint32_t n = tail - rg->cq_head, i;

	if (n > max)
		n = max;
	for (i = 0; i < n; i++)
		out[i] = rg->cq[(rg->cq_head + i) & (rg->lay.cq_entries - 1)];
	if (!n)
		return 0;
	rg->cq_head += n;
	atomic_store_explicit(ring_word(&rg->ctl->cq_head), rg->cq_head,
			      memory_order_release);
	rings_wake_daemon(rg);
	return n;
}

static int rings_cq_ready(struct th_rings *rg)
{
	return atomic_load_explicit(ring_word(&rg->ctl->cq_tail),
				    memory_order_acquire) != rg->cq_head;
}

int th_rings_wait(struct th_rings *rg, int timeout_ms)
{
	_Atomic uint32_t *flags = ring_word(&rg->ctl->client_flags);
	struct pollfd p = { .fd = rg->client_efd, .events = POLLIN };
	uint64_t v;
	int n;

	if (rings_cq_ready(rg))
		return 0;
	atomic_fetch_or(flags, ZCS_RING_WAITING);
	atomic_thread_fence(memory_order_seq_cst);
	if (rings_cq_ready(rg)) {
		atomic_fetch_and(flags, ~ZCS_RING_WAITING);
		return 0;
	}
	do {
		n = poll(&p, 1, timeout_ms);
	} while (n < 0 && errno == EINTR);
	if (n > 0 && read(rg->client_efd, &v, sizeof(v)) == sizeof(v))
		rg->woken++;
	atomic_fetch_and(flags, ~ZCS_RING_WAITING);
	return rings_cq_ready(rg) ? 0 : -ETIMEDOUT;
}

int th_rings_completions(struct th_rings *rg, struct zcs_msg_completion *out,
			 size_t n, int timeout_ms)
{
	uint64_t end = th_now_ms() + (uint64_t)timeout_ms;
	size_t got = 0;

	while (got < n) {
		got += th_rings_reap(rg, out + got, (uint32_t)(n - got));
		if (got == n || th_now_ms() >= end)
			break;
		th_rings_wait(rg, (int)(end - th_now_ms()));
	}
	return (int)got;
}
