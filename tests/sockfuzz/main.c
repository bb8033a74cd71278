/* SPDX-License-Identifier: MIT */
/*
 * sockfuzz: start the loopback receivers and a zcsendd (the ASan build
 * for the long run), fork workers that run the sessions, and watch: the
 * daemon must stay alive and answer STATUS every --check-every sessions,
 * log no sanitizer report, get its fds back to the count it had right
 * after start once every client is gone, and exit 0 on SIGTERM.
 * A canary, a well-behaved ring client, sends all the while: each of
 * its sends must complete rightly, whatever the sessions do.
 * Usage: sockfuzz [--seed N] [--sessions N] [--jobs N] [--first N]
 *        [--check-every N] [--avoid uaf,zerofd,kill,fds,rings] [-v]
 * Exit: 0 nothing found, 1 a finding, 2 usage or set-up error, 77 skip.
 */
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "sockfuzz.h"

static const char *const death_names[DIE_KINDS] = {
	"polite", "close", "shut_rd", "shut_wr", "no_read", "sigkill",
};

struct run {
	struct fz_env e;
	struct th_daemon d;
	pid_t workers[FZ_JOBS_MAX];
	pid_t sink, canary;
	int sink_ctl;
	int fds0, fds1;
	int dstatus;		/* the daemon's wait status once it ended */
	unsigned adhoc0, adhoc1;
	uint64_t t0, t1;
	int findings;
	char first[256];	/* the first finding, repeated at the end */
	char confdir[128], conf[192];
};

static void usage(FILE *f)
{
	fprintf(f, "usage: sockfuzz [--seed N] [--sessions N] [--jobs N] "
		   "[--first N]\n\t[--check-every N] [--settle-ms N] "
		   "[--max-ms N] [--avoid uaf,zerofd,kill,fds,rings] [--keep-log] "
		   "[-v]\n");
}

static unsigned parse_avoid(const char *v)
{
	static const struct { const char *w; unsigned bit; } words[] = {
		{ "uaf", FZ_AVOID_UAF }, { "zerofd", FZ_AVOID_ZEROFD },
		{ "kill", FZ_AVOID_KILL }, { "fds", FZ_AVOID_FDS },
		{ "rings", FZ_AVOID_RINGS },
	};
	const unsigned nwords = sizeof(words) / sizeof(words[0]);
	unsigned bits = 0, i;
	char *copy = strdup(v), *tok, *save = NULL;

	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < nwords && strcmp(tok, words[i].w); i++)
			;
		if (i == nwords) {
			fprintf(stderr, "sockfuzz: unknown --avoid '%s'\n", tok);
			exit(2);
		}
		bits |= words[i].bit;
	}
	free(copy);
	return bits;
}

static void parse_args(int argc, char **argv, struct fz_env *e)
{
	static const struct option opts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "sessions", required_argument, NULL, 'n' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "first", required_argument, NULL, 'f' },
		{ "check-every", required_argument, NULL, 'c' },
		{ "settle-ms", required_argument, NULL, 'S' },
		{ "max-ms", required_argument, NULL, 'm' },
		{ "avoid", required_argument, NULL, 'a' },
		{ "keep-log", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int o;

	e->sessions = 3000;
	e->jobs = 8;
	e->check_every = 500;
	e->settle_ms = 10000;
	e->max_ms = 3000;
	e->seed = (uint64_t)time(NULL) * 1000003u ^ (uint64_t)getpid();
	while ((o = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (o) {
		case 's': e->seed = strtoull(optarg, NULL, 0); break;
		case 'n': e->sessions = strtoull(optarg, NULL, 0); break;
		case 'j': e->jobs = (unsigned)atoi(optarg); break;
		case 'f': e->first = strtoull(optarg, NULL, 0); break;
		case 'c': e->check_every = (unsigned)atoi(optarg); break;
		case 'S': e->settle_ms = (unsigned)atoi(optarg); break;
		case 'm': e->max_ms = (unsigned)atoi(optarg); break;
		case 'a': e->avoid = parse_avoid(optarg); break;
		case 'v': e->verbose = true; break;
		case 'k': e->keep_log = true; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind != argc || e->jobs < 1 || e->jobs > FZ_JOBS_MAX ||
	    e->check_every < 1) {
		usage(stderr);
		exit(2);
	}
}

/* Descriptors to throw at the daemon: the kinds a client could own. */
static void pass_fds_open(struct fz_env *e)
{
	int p[2], sp[2];

	e->pass_fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	e->pass_fds[1] = pipe2(p, O_CLOEXEC) ? -1 : p[0];
	e->pass_fds[2] = eventfd(0, EFD_CLOEXEC);
	e->pass_fds[3] = memfd_create("sockfuzz", MFD_CLOEXEC);
	if (e->pass_fds[3] >= 0 && ftruncate(e->pass_fds[3], 65536))
		perror("ftruncate");
	e->pass_fds[4] = socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sp)
				 ? -1 : sp[0];
}

static void worker_loop(struct fz_env *e, unsigned w)
{
	struct fz_shared *sh = e->sh;
	uint64_t idx, end = e->first + e->sessions;
	unsigned n = 0;

	signal(SIGPIPE, SIG_IGN);
	while (!atomic_load(&sh->stop)) {
		idx = atomic_fetch_add(&sh->next, 1);
		if (idx >= end)
			break;
		atomic_store(&sh->cur[w], idx + 1);
		fz_session(e, idx);
		atomic_store(&sh->cur[w], 0);
		atomic_store(&sh->last[w][n++ % FZ_LAST], idx + 1);
		if (!atomic_load(&sh->gone_at))
			atomic_fetch_add(&sh->done, 1);
	}
	_exit(0);
}

static void workers_start(struct run *r)
{
	unsigned w;

	for (w = 0; w < r->e.jobs; w++) {
		r->workers[w] = fork();
		if (r->workers[w] == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			worker_loop(&r->e, w);
		}
	}
}

/* Reap workers that ended; the number still running. */
static unsigned workers_reap(struct run *r, bool block)
{
	unsigned w, n = 0;

	for (w = 0; w < r->e.jobs; w++) {
		if (r->workers[w] <= 0)
			continue;
		if (waitpid(r->workers[w], NULL, block ? 0 : WNOHANG) ==
		    r->workers[w])
			r->workers[w] = 0;
		else
			n++;
	}
	return n;
}

/* Is the daemon still running? Keeps its wait status once it is not. */
static bool daemon_alive(struct run *r)
{
	if (r->d.pid <= 0)
		return false;
	if (waitpid(r->d.pid, &r->dstatus, WNOHANG) != r->d.pid)
		return true;
	r->d.pid = -1;
	return false;
}

/* "killed by signal 11" or "exit 1", for a wait status. */
static const char *wait_text(int st, char *buf, size_t size)
{
	if (WIFSIGNALED(st))
		snprintf(buf, size, "killed by signal %d (%s)", WTERMSIG(st),
			 strsignal(WTERMSIG(st)));
	else
		snprintf(buf, size, "exit %d", WEXITSTATUS(st));
	return buf;
}

static void finding(struct run *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void finding(struct run *r, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!r->findings++)
		snprintf(r->first, sizeof(r->first), "%s", msg);
	fprintf(stderr, "sockfuzz: FINDING (seed %llu): %s\n",
		(unsigned long long)r->e.seed, msg);
}

/* Print session @c - 1 (0: none) as a candidate to replay. */
static void candidate(const struct run *r, uint64_t c, const char *what)
{
	if (c)
		fprintf(stderr, "  session %llu %s: replay with --seed %llu "
			"--first %llu --sessions 1 --jobs 1\n",
			(unsigned long long)c - 1, what,
			(unsigned long long)r->e.seed,
			(unsigned long long)c - 1);
}

/*
 * The daemon died: say when, which sessions ran at the time (the culprit
 * is among them, or among the few each worker finished just before), and
 * the head of the sanitizer report.
 */
/* The sessions running now and those each worker finished last. */
static void candidates(const struct run *r)
{
	struct fz_shared *sh = r->e.sh;
	unsigned w, k;

	for (w = 0; w < r->e.jobs; w++) {
		candidate(r, atomic_load(&sh->cur[w]), "was running");
		for (k = 0; k < FZ_LAST; k++)
			candidate(r, atomic_load(&sh->last[w][k]),
				  "ended just before");
	}
}

static void report_death(struct run *r)
{
	struct fz_shared *sh = r->e.sh;
	char how[64];

	finding(r, "daemon died (%s) after %llu sessions (first to find it "
		   "gone: session %lld)",
		wait_text(r->dstatus, how, sizeof(how)),
		(unsigned long long)sh->done, (long long)sh->gone_at - 1);
	candidates(r);
	if (fz_log_scan(r->d.log, true) <= 0) {
		fprintf(stderr, "  (no sanitizer report; the log ends:)\n");
		th_daemon_dump_log(&r->d, 1024);
	}
}

static void progress(struct run *r, const char *what)
{
	struct fz_shared *sh = r->e.sh;
	double secs = (double)(fz_now_ms() - r->t0) / 1000;

	printf("sockfuzz: %s %llu sessions, %llu messages, %.1f s, "
	       "%.0f sessions/s, daemon fds %d\n", what,
	       (unsigned long long)sh->done, (unsigned long long)sh->msgs,
	       secs, secs > 0 ? (double)sh->done / secs : 0,
	       th_fd_count(r->d.pid));
	fflush(stdout);
}

/*
 * The canary failed: a finding, unless the daemon is dying (give it a
 * moment to show), which is reported as such. Returns true when found.
 */
static bool canary_failed(struct run *r)
{
	struct fz_shared *sh = r->e.sh;

	if (!atomic_load(&sh->canary_fail))
		return false;
	usleep(200000);
	if (!daemon_alive(r))
		return false;	/* the death is the finding */
	finding(r, "%s, after %llu sessions", sh->canary_why,
		(unsigned long long)atomic_load(&sh->done));
	candidates(r);
	return true;
}

/* Watch until the workers are done or the daemon fails. */
static void monitor(struct run *r)
{
	struct fz_shared *sh = r->e.sh;
	struct zcs_status_daemon sd;
	uint64_t next_check = r->e.check_every;
	unsigned adhoc;
	int err;

	while (workers_reap(r, false)) {
		usleep(50000);
		if (!daemon_alive(r)) {
			atomic_store(&sh->stop, 1);
			report_death(r);
			break;
		}
		if (canary_failed(r)) {
			atomic_store(&sh->stop, 1);
			break;
		}
		if (atomic_load(&sh->done) < next_check)
			continue;
		next_check += r->e.check_every;
		err = fz_status(r->d.sock, &sd, &adhoc, 5000);
		if (err && daemon_alive(r)) {
			atomic_store(&sh->stop, 1);
			finding(r, "no STATUS answer after %llu sessions: %s",
				(unsigned long long)sh->done, strerror(-err));
			break;
		}
		if (r->e.verbose)
			progress(r, "at");
	}
	workers_reap(r, true);
	r->t1 = fz_now_ms();
}

/* How many of @pid's fds point at each kind of thing, on one line. */
static void fd_kinds(pid_t pid, const char *when)
{
	char path[64], link[256], kinds[16][48];
	unsigned counts[16] = { 0 }, n = 0, i;
	struct dirent *de;
	ssize_t len;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	if (!dir)
		return;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		len = readlinkat(dirfd(dir), de->d_name, link,
				 sizeof(link) - 1);
		link[len > 0 ? len : 0] = '\0';
		link[strcspn(link, ":[")] = '\0';	/* socket:[123] */
		for (i = 0; i < n && strcmp(kinds[i], link); i++)
			;
		if (i == n && n < 16)
			snprintf(kinds[n++], sizeof(kinds[0]), "%.47s", link);
		if (i < n)
			counts[i]++;
	}
	closedir(dir);
	fprintf(stderr, "  daemon fds %s:", when);
	for (i = 0; i < n; i++)
		fprintf(stderr, " %s x%u", kinds[i], counts[i]);
	fputc('\n', stderr);
}

/*
 * Once the sink has reset every connection, the daemon's fds must come
 * back to the count right after start, plus one socket per ad-hoc UDP
 * destination it now remembers (those are kept on purpose), with no
 * client and nothing in flight.
 */
static void settle(struct run *r)
{
	uint64_t end = fz_now_ms() + r->e.settle_ms;
	struct zcs_status_daemon sd;
	int want = 0, err = 0;

	do {
		usleep(100000);
		if (!daemon_alive(r)) {
			report_death(r);
			return;
		}
		err = fz_status(r->d.sock, &sd, &r->adhoc1, 5000);
		r->fds1 = th_fd_count(r->d.pid);
		want = r->fds0 + (int)r->adhoc1 - (int)r->adhoc0;
		if (!err && r->fds1 == want && sd.clients == 0 &&
		    sd.inflight == 0)
			return;
	} while (fz_now_ms() < end);
	if (err) {
		finding(r, "no STATUS answer at the end: %s", strerror(-err));
		return;
	}
	if (r->fds1 != want) {
		finding(r, "daemon fds not back to baseline after %u ms: %d "
			   "at start, %d now, want %d (%u ad-hoc UDP "
			   "destinations then, %u now)", r->e.settle_ms,
			r->fds0, r->fds1, want, r->adhoc0, r->adhoc1);
		fd_kinds(r->d.pid, "now");
	}
	if (sd.clients || sd.inflight)
		finding(r, "status after settling: %u clients, %u in flight",
			sd.clients, sd.inflight);
}

static void summary(const struct run *r, int exit_status)
{
	const struct fz_shared *sh = r->e.sh;
	uint64_t deaths = 0;
	double secs = (double)(r->t1 - r->t0) / 1000;
	unsigned i;

	printf("sockfuzz: deaths:");
	for (i = 0; i < DIE_KINDS; i++) {
		deaths += sh->deaths[i];
		printf(" %s %llu", death_names[i],
		       (unsigned long long)sh->deaths[i]);
	}
	printf("\nsockfuzz: replies %llu, HELLO_OK %llu, FLOW_OK %llu, "
	       "completions %llu, dropped by daemon %llu, fds attached %llu, "
	       "zero-length+fds %llu, error-batch pattern %llu\n",
	       (unsigned long long)sh->replies,
	       (unsigned long long)sh->hello_ok,
	       (unsigned long long)sh->flow_ok,
	       (unsigned long long)sh->completions,
	       (unsigned long long)sh->dropped,
	       (unsigned long long)sh->fds_sent,
	       (unsigned long long)sh->zero_fd, (unsigned long long)sh->uaf);
	printf("sockfuzz: rings: sessions %llu (mapped %llu, refused %llu), "
	       "records %llu, scribbles %llu, reaped %llu (errors %llu), sure "
	       "violations %llu, ring clients dropped by daemon %llu; canary "
	       "%llu rounds, %llu sends\n",
	       (unsigned long long)sh->ring_asked,
	       (unsigned long long)sh->ring_mapped,
	       (unsigned long long)sh->ring_refused,
	       (unsigned long long)sh->ring_records,
	       (unsigned long long)sh->ring_scribbles,
	       (unsigned long long)sh->ring_reaped,
	       (unsigned long long)sh->ring_errors,
	       (unsigned long long)sh->ring_violations,
	       (unsigned long long)sh->ring_dropped,
	       (unsigned long long)sh->canary_rounds,
	       (unsigned long long)sh->canary_records);
	printf("sockfuzz: seed %llu: %llu sessions, %llu messages, %llu "
	       "deaths, %.1f s (%.0f sessions/s), daemon fds %d -> %d, "
	       "exit %#x, %d findings\n", (unsigned long long)r->e.seed,
	       (unsigned long long)sh->done, (unsigned long long)sh->msgs,
	       (unsigned long long)deaths, secs,
	       secs > 0 ? (double)sh->done / secs : 0, r->fds0, r->fds1,
	       exit_status, r->findings);
	if (r->findings)
		printf("sockfuzz: first finding: %s\n", r->first);
}

/* Stop the canary; a failure not yet reported is a finding. */
static void canary_end(struct run *r)
{
	struct fz_shared *sh = r->e.sh;
	bool reported = r->findings && atomic_load(&sh->canary_fail);

	if (fz_canary_stop(&r->e, r->canary) && !reported &&
	    daemon_alive(r))
		finding(r, "%s", sh->canary_why[0] ? sh->canary_why
						 : "canary: died");
	else if (!sh->canary_rounds && daemon_alive(r))
		finding(r, "canary: not one round completed");
}

/* What ring sessions saw the daemon do wrong, with a session to replay. */
static void ring_faults(struct run *r)
{
	struct fz_shared *sh = r->e.sh;
	uint64_t kept = atomic_load(&sh->ring_kept);
	uint64_t bad = atomic_load(&sh->ring_bad);

	if (kept) {
		finding(r, "a ring client with sq_tail out of bounds was not "
			   "dropped");
		candidate(r, kept, "saw it first");
	}
	if (bad) {
		finding(r, "a bad RINGS, an unsealed ring memfd, or a CQ "
			   "overrun");
		candidate(r, bad, "saw it first");
	}
}

/* Config, daemon, baseline. Exits 2 (or 77 when not built) on failure. */
static void setup(struct run *r)
{
	const char *tmp = getenv("TMPDIR");
	const char *extra[] = { "-c", r->conf, NULL };
	struct zcs_status_daemon sd;

	if (fz_sink_open(&r->e.ports)) {
		fprintf(stderr, "sockfuzz: cannot bind loopback receivers\n");
		exit(2);
	}
	fz_dests_init(&r->e);
	r->sink = fz_sink_start(&r->sink_ctl);
	snprintf(r->confdir, sizeof(r->confdir), "%s/sockfuzz.XXXXXX",
		 tmp ? tmp : "/tmp");
	if (!mkdtemp(r->confdir)) {
		perror("sockfuzz: mkdtemp");
		exit(2);
	}
	snprintf(r->conf, sizeof(r->conf), "%s/zcsendd.conf", r->confdir);
	if (r->sink < 0 || fz_config_write(&r->e, r->conf)) {
		fprintf(stderr, "sockfuzz: set-up failed\n");
		exit(2);
	}
	setenv("ZCS_TEST_KEEP", "1", 1);	/* we remove the log ourselves */
	setenv("ASAN_OPTIONS", "halt_on_error=1:detect_leaks=1", 0);
	setenv("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1", 0);
	th_daemon_start(&r->d, extra);
	r->e.sock = r->d.sock;
	usleep(200000);
	if (fz_status(r->d.sock, &sd, &r->adhoc0, 5000)) {
		fprintf(stderr, "sockfuzz: no STATUS answer at start\n");
		exit(2);
	}
	r->fds0 = th_fd_count(r->d.pid);
}

static void cleanup(struct run *r)
{
	if (r->findings || r->e.keep_log) {
		fprintf(stderr, "sockfuzz: daemon log kept: %s\n", r->d.log);
	} else {
		unlink(r->d.log);
		unlink(r->d.sock);
		rmdir(r->d.dir);
	}
	unlink(r->conf);
	rmdir(r->confdir);
}

int main(int argc, char **argv)
{
	static struct run r;
	int st;

	parse_args(argc, argv, &r.e);
	signal(SIGPIPE, SIG_IGN);
	r.e.sh = mmap(NULL, sizeof(*r.e.sh), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (r.e.sh == MAP_FAILED) {
		perror("sockfuzz: mmap");
		return 2;
	}
	atomic_store(&r.e.sh->next, r.e.first);
	setup(&r);
	printf("sockfuzz: seed %llu, sessions %llu from %llu, jobs %u, "
	       "avoid %#x, daemon pid %d fds %d\n",
	       (unsigned long long)r.e.seed, (unsigned long long)r.e.sessions,
	       (unsigned long long)r.e.first, r.e.jobs, r.e.avoid,
	       (int)r.d.pid, r.fds0);
	fflush(stdout);
	pass_fds_open(&r.e);
	r.t0 = fz_now_ms();
	r.canary = fz_canary_start(&r.e);
	workers_start(&r);
	monitor(&r);
	canary_end(&r);
	ring_faults(&r);
	fz_sink_stop(r.sink, r.sink_ctl);
	st = -1;
	if (daemon_alive(&r))
		settle(&r);
	if (daemon_alive(&r)) {
		st = th_daemon_stop(&r.d);
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			finding(&r, "daemon exit status %#x on SIGTERM", st);
	}
	if (st != -1 && fz_log_scan(r.d.log, false) > 0) {
		finding(&r, "sanitizer report in %s:", r.d.log);
		fz_log_scan(r.d.log, true);
	}
	summary(&r, st);
	cleanup(&r);
	return r.findings ? 1 : 0;
}
