/* SPDX-License-Identifier: MIT */
/*
 * Client churn. A manager process, forked before the soak starts any
 * thread, forks short-lived clients at a bounded rate and SIGKILLs each at
 * a random moment, while it also serves their sinks. The parent drives it
 * through a pipe: 's' starts the churn, 'e' ends it (kill and reap all,
 * answer with struct churn_stats, then drain fast), EOF makes it exit.
 */
#include <sys/prctl.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "soak.h"

#define CHURN_MGR_MAX_MS (4u * 3600 * 1000)	/* a hard bound on the run */

struct child {
	pid_t pid;
	int kind;
	int kill_sent;
	uint64_t kill_at;
};

struct mgr {
	struct sink *k;
	const char *sock;
	pid_t parent;
	struct child live[CHURN_LIVE_LIMIT];
	int nlive;
	int live_max;		/* churn clients alive at once */
	unsigned per_sec;	/* starts per second at most */
	uint64_t rng;
	uint64_t next_start;
	struct churn_stats st;
};

/* Kill delay range per kind, ms: some land inside HELLO on purpose. */
static const unsigned kill_ms[CHURN_KINDS][2] = {
	[CHURN_RAW_HELLO] = { 0, 30 },
	[CHURN_CONNECT] = { 0, 4 },
	[CHURN_FLOW_IDLE] = { 5, 150 },
	[CHURN_SENDS] = { 10, 800 },
	[CHURN_SLOW_FLOOD] = { 100, 1500 },
};

static uint64_t mgr_rnd(struct mgr *m)
{
	m->rng ^= m->rng << 13;
	m->rng ^= m->rng >> 7;
	m->rng ^= m->rng << 17;
	return m->rng;
}

/* Weighted: plain sends most often, the others about equally. */
static int mgr_pick_kind(struct mgr *m)
{
	static const int table[20] = {
		0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 4, 4, 4, 4,
	};

	return table[mgr_rnd(m) % 20];
}

static void mgr_spawn(struct mgr *m)
{
	struct child *c = &m->live[m->nlive];
	int kind = mgr_pick_kind(m);
	unsigned lo = kill_ms[kind][0], hi = kill_ms[kind][1];
	pid_t pid;

	m->rng ^= th_now_ms();
	pid = fork();
	if (pid < 0)
		return;
	if (pid == 0)
		churn_child(kind, m->sock, m->k);
	c->pid = pid;
	c->kind = kind;
	c->kill_sent = 0;
	c->kill_at = th_now_ms() + lo + mgr_rnd(m) % (hi - lo + 1);
	m->nlive++;
	m->st.started++;
	m->st.kinds[kind]++;
}

static void mgr_account(struct mgr *m, struct child *c, int status)
{
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && c->kill_sent) {
		m->st.killed++;
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		m->st.finished++;
	} else {
		m->st.failed++;
		fprintf(stderr, "churn child %d (kind %d) ended: status %#x\n",
			(int)c->pid, c->kind, status);
	}
}

/* Reap the children that ended; @block waits for each one. */
static void mgr_reap(struct mgr *m, int block)
{
	int i, status;
	pid_t pid;

	for (i = m->nlive - 1; i >= 0; i--) {
		pid = waitpid(m->live[i].pid, &status, block ? 0 : WNOHANG);
		if (pid != m->live[i].pid)
			continue;
		mgr_account(m, &m->live[i], status);
		m->live[i] = m->live[--m->nlive];
	}
}

static void mgr_tick(struct mgr *m)
{
	uint64_t now = th_now_ms();
	int i;

	mgr_reap(m, 0);
	for (i = 0; i < m->nlive; i++) {
		if (!m->live[i].kill_sent && now >= m->live[i].kill_at) {
			kill(m->live[i].pid, SIGKILL);
			m->live[i].kill_sent = 1;
		}
	}
	if (m->nlive < m->live_max && now >= m->next_start) {
		mgr_spawn(m);
		m->next_start = now + 1000 / m->per_sec;
	}
}

/* End of churn: kill every child still alive and reap them all. */
static void mgr_end(struct mgr *m)
{
	int i;

	for (i = 0; i < m->nlive; i++) {
		kill(m->live[i].pid, SIGKILL);
		m->live[i].kill_sent = 1;
	}
	mgr_reap(m, 1);
	m->k->fast = 1;
	m->st.sink_bytes = m->k->bytes;
	m->st.sink_conns = m->k->accepted;
	m->st.sink_closed = m->k->closed;
}

static __attribute__((noreturn)) void mgr_run(struct mgr *m, int cmd, int res)
{
	uint64_t end = th_now_ms() + CHURN_MGR_MAX_MS;
	int started = 0, ended = 0;
	char c;

	while (th_now_ms() < end && getppid() == m->parent) {
		if (sink_poll(m->k, cmd, 5)) {
			if (read(cmd, &c, 1) != 1)
				break;
			started |= c == 's';
			if (c == 'e' && !ended) {
				ended = 1;
				mgr_end(m);
				if (write(res, &m->st, sizeof(m->st)) < 0)
					break;
			}
		}
		if (started && !ended)
			mgr_tick(m);
	}
	mgr_end(m);
	sink_close(m->k);
	_exit(0);
}

/*
 * churn_start - fork the manager, which keeps @ch->live_max clients alive
 * at most and starts @ch->per_sec a second at most (both set, and within
 * CHURN_LIVE_LIMIT and 1000). Call before any thread exists: the
 * manager forks again, which is only safe from a single-threaded process.
 * The manager exits with _exit(): the test's atexit handlers are not its.
 */
void churn_start(struct churn *ch, struct sink *k, const char *sock)
{
	static struct mgr m;
	int cmd[2], res[2];

	TH_CHECK(pipe2(cmd, O_CLOEXEC) == 0 && pipe2(res, O_CLOEXEC) == 0,
		 "pipe: %s", strerror(errno));
	memset(&m, 0, sizeof(m));
	m.k = k;
	m.sock = sock;
	m.parent = getpid();
	m.live_max = ch->live_max;
	m.per_sec = ch->per_sec;
	m.rng = 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
	ch->pid = fork();
	TH_CHECK(ch->pid >= 0, "fork: %s", strerror(errno));
	if (ch->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(cmd[1]);
		close(res[0]);
		mgr_run(&m, cmd[0], res[1]);
	}
	close(cmd[0]);
	close(res[1]);
	ch->cmd_fd = cmd[1];
	ch->res_fd = res[0];
}

void churn_go(struct churn *ch)
{
	TH_CHECK(write(ch->cmd_fd, "s", 1) == 1, "churn start: %s",
		 strerror(errno));
}

/*
 * churn_end - stop the churn and get its figures (within 20 s). The
 * manager keeps draining the sinks until churn_quit().
 * Returns 0 or -errno.
 */
int churn_end(struct churn *ch, struct churn_stats *st)
{
	struct pollfd p = { .fd = ch->res_fd, .events = POLLIN };

	if (write(ch->cmd_fd, "e", 1) != 1)
		return -errno;
	if (poll(&p, 1, 20000) != 1)
		return -ETIMEDOUT;
	if (read(ch->res_fd, st, sizeof(*st)) != (ssize_t)sizeof(*st))
		return -EIO;
	return 0;
}

/* churn_quit - let the manager go and reap it (SIGKILL after 10 s). */
void churn_quit(struct churn *ch)
{
	uint64_t end = th_now_ms() + 10000;
	int status;

	close(ch->cmd_fd);
	close(ch->res_fd);
	while (waitpid(ch->pid, &status, WNOHANG) != ch->pid) {
		if (th_now_ms() >= end) {
			kill(ch->pid, SIGKILL);
			waitpid(ch->pid, &status, 0);
			break;
		}
		th_sleep_ms(10);
	}
}
