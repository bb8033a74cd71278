/* SPDX-License-Identifier: MIT */
/*
 * The canary: one well-behaved ring client, in a process of its own, that
 * sends all through the run while the sessions misbehave around it. Each
 * round it submits a few records through its ring to a TCP and a UDP
 * destination that read everything, and every one must come back, once,
 * with its length as the result, within CANARY_WAIT_MS. Anything else
 * (a missing or wrong completion, a dropped connection) is a finding: a
 * hostile client harmed another.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "sockfuzz.h"

#define CANARY_POOL	(1u << 20)
#define CANARY_WAIT_MS	5000
#define CANARY_BATCH	16
#define CANARY_NAP_US	2000

struct canary {
	struct fz_env *env;
	struct th_raw r;
	struct th_rings rg;
	uint32_t flow[2];	/* TCP, UDP */
	uint64_t seq;
	struct fz_rng rng;
};

static void canary_fail(struct canary *k, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

static void canary_fail(struct canary *k, const char *fmt, ...)
{
	struct fz_shared *sh = k->env->sh;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sh->canary_why, sizeof(sh->canary_why), fmt, ap);
	va_end(ap);
	atomic_store(&sh->canary_fail, 1);
	_exit(1);
}

static void canary_open(struct canary *k)
{
	static const char *const dests[2] = { "tdrain", "udp" };
	long flow;
	int err, i;

	err = th_raw_connect(&k->r, k->env->sock);
	if (!err)
		err = th_raw_hello_rings(&k->r, CANARY_POOL, 0, "fz-canary",
					 &k->rg);
	if (err)
		canary_fail(k, "canary: no ring client: %s", strerror(-err));
	for (i = 0; i < 2; i++) {
		flow = th_raw_flow_open(&k->r, dests[i]);
		if (flow < 0)
			canary_fail(k, "canary: flow to %s: %s", dests[i],
				    strerror((int)-flow));
		k->flow[i] = (uint32_t)flow;
	}
}

/* Record @i of a round: TCP up to 64 KiB, UDP up to 8 KiB. */
static void canary_rec(struct canary *k, struct zcs_msg_send *m, unsigned i)
{
	uint32_t max = i & 1 ? 8192 : 65536;

	memset(m, 0, sizeof(*m));
	m->tag = ++k->seq;
	m->flow = k->flow[i & 1];
	m->len = 1 + fz_below(&k->rng, max);
	m->offset = fz_below(&k->rng, CANARY_POOL - m->len + 1);
}

/* Each of the @n completions names one record of @recs, once, rightly. */
static void canary_check(struct canary *k, const struct zcs_msg_send *recs,
			 const struct zcs_msg_completion *got, uint32_t n)
{
	bool seen[CANARY_BATCH] = { false };
	uint64_t first = recs[0].tag, j;
	uint32_t i;

	for (i = 0; i < n; i++) {
		j = got[i].tag - first;
		if (j >= n || seen[j])
			canary_fail(k, "canary: completion for tag %llu, "
				    "unknown or twice (round of tags %llu..%llu)",
				    (unsigned long long)got[i].tag,
				    (unsigned long long)first,
				    (unsigned long long)(first + n - 1));
		seen[j] = true;
		if (got[i].result != (int32_t)recs[j].len)
			canary_fail(k, "canary: tag %llu (%s, %u bytes) "
				    "completed with %d",
				    (unsigned long long)got[i].tag,
				    j & 1 ? "udp" : "tcp", recs[j].len,
				    got[i].result);
	}
}

/* Nothing may come on the socket but the end of the daemon. */
static void canary_socket(struct canary *k)
{
	struct zcs_hdr h;
	uint8_t buf[256];
	int n = th_raw_recv(&k->r, &h, buf, sizeof(buf), NULL, 0);

	if (n == -ETIMEDOUT)
		return;
	if (n < 0)
		canary_fail(k, "canary: connection lost: %s", strerror(-n));
	canary_fail(k, "canary: unexpected %s on the socket",
		    zcs_msg_name(h.type));
}

static void canary_round(struct canary *k)
{
	struct zcs_msg_send recs[CANARY_BATCH];
	struct zcs_msg_completion got[CANARY_BATCH];
	uint32_t n = 1 + fz_below(&k->rng, CANARY_BATCH), i;
	int back;

	for (i = 0; i < n; i++)
		canary_rec(k, &recs[i], i);
	if (th_rings_submit(&k->rg, recs, n) != n)
		canary_fail(k, "canary: no room for %u records in an empty "
			    "SQ", n);
	back = th_rings_completions(&k->rg, got, n, CANARY_WAIT_MS);
	if (back != (int)n)
		canary_fail(k, "canary: %d of %u completions within %d ms "
			    "(tags %llu..%llu)", back, n, CANARY_WAIT_MS,
			    (unsigned long long)recs[0].tag,
			    (unsigned long long)recs[n - 1].tag);
	canary_check(k, recs, got, n);
	atomic_fetch_add(&k->env->sh->canary_rounds, 1);
	atomic_fetch_add(&k->env->sh->canary_records, n);
}

static void canary_run(struct fz_env *e)
{
	struct canary k = { .env = e };

	k.rng.s = e->seed ^ 0x63616e617279ull;	/* "canary" */
	canary_open(&k);
	while (!atomic_load(&e->sh->canary_stop) &&
	       !atomic_load(&e->sh->stop)) {
		canary_round(&k);
		canary_socket(&k);
		usleep(CANARY_NAP_US);
	}
	th_rings_close(&k.rg);
	th_raw_close(&k.r);
	_exit(0);
}

/* fz_canary_start - fork the canary; its pid, or -errno. */
pid_t fz_canary_start(struct fz_env *e)
{
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		signal(SIGPIPE, SIG_IGN);
		canary_run(e);
	}
	return pid;
}

/*
 * fz_canary_stop - ask it to end its round and go, and wait. Returns 0,
 * or -EIO when it failed (its reason in sh->canary_why).
 */
int fz_canary_stop(struct fz_env *e, pid_t pid)
{
	int st = 0;

	atomic_store(&e->sh->canary_stop, 1);
	if (pid > 0 && waitpid(pid, &st, 0) != pid)
		return -errno;
	return WIFEXITED(st) && !WEXITSTATUS(st) ? 0 : -EIO;
}
