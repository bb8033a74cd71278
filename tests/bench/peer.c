/* SPDX-License-Identifier: MIT */
/*
 * Clients of their own for --fairness: each a forked process (a program of
 * its own, scheduled as one) with one libzcsend connection, keeping nr
 * sends in flight, counting completions and timing sends in a shared page
 * the bench reads. The bench says when to record and when to stop; a
 * send still pending at the stop is kept as its age (a lower bound).
 */
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "zcsend.h"
#include "bench.h"

#define PEER_REAP_MS	20	/* a wait, between looks at the flags */
#define PEER_DRAIN_S	5.0	/* a flood's sends finishing at its stop */
#define PEER_EXIT_S	10.0	/* then SIGKILL */
#define PEER_NR_MAX	64u
#define PEER_HOLD_US	2000	/* a held client looks at rec this often:
				 * 100 of them waiting must not load the host */

enum { PEER_STARTING, PEER_READY, PEER_FAILED };

/* The page shared with the bench. */
struct peer_shm {
	_Atomic int state;
	_Atomic int rec;	/* bench: time sends started from now on */
	_Atomic int stop;	/* bench: stop sending and leave */
	_Atomic int err;
	_Atomic uint64_t sends, bytes, errors;
	_Atomic uint64_t stuck_ns;	/* oldest timed send pending at stop */
	_Atomic uint32_t nlat;
	uint32_t cap;
	uint32_t lat[];		/* ns, send call to completion */
};

struct peer {
	pid_t pid;
	struct peer_shm *shm;
	size_t shm_len;
};

/* The child's own state. */
struct pchild {
	struct peer_shm *shm;
	const struct peer_spec *sp;
	struct zcs_client *c;
	uint32_t flow;
	void *bufs[PEER_NR_MAX];
	uint64_t t0[PEER_NR_MAX];	/* timed sends: start, ns; else 0 */
	unsigned idle[PEER_NR_MAX], nidle;
};

static uint64_t ns_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int child_open(struct bench *b, struct pchild *k)
{
	unsigned i;
	int err;

	err = rows_daemon_connect(b, k->sp->transport, k->sp->pool, &k->c);
	if (!err)
		err = zcs_flow_open(k->c, k->sp->dest, &k->flow);
	for (i = 0; err >= 0 && i < k->sp->nr; i++) {
		err = zcs_alloc(k->c, k->sp->size, &k->bufs[i]);
		if (!err)
			memset(k->bufs[i], 'p', k->sp->size);
		k->idle[k->nidle++] = i;
	}
	return err < 0 ? err : 0;
}

/* Every idle buffer out; a send refused for the daemon's limit waits. */
static int child_send(struct pchild *k)
{
	const struct peer_spec *sp = k->sp;
	int rec = atomic_load(&k->shm->rec), err;
	unsigned i;

	while (k->nidle) {
		i = k->idle[k->nidle - 1];
		k->t0[i] = rec ? ns_now() : 0;
		if (sp->segment)
			err = zcs_send_segmented(k->c, k->flow, k->bufs[i],
						 sp->size, sp->segment, i);
		else
			err = zcs_send(k->c, k->flow, k->bufs[i], sp->size, i);
		if (err == -EAGAIN)
			return 0;
		if (err)
			return err;
		k->nidle--;
	}
	return 0;
}

static void child_take(struct pchild *k, const struct zcs_completion *cp)
{
	struct peer_shm *m = k->shm;
	unsigned i = (unsigned)cp->tag, n;

	if (cp->result > 0) {
		atomic_fetch_add(&m->sends, 1);
		atomic_fetch_add(&m->bytes, (uint64_t)cp->result);
	} else {
		atomic_fetch_add(&m->errors, 1);
	}
	n = atomic_load(&m->nlat);
	if (k->t0[i] && n < m->cap) {
		m->lat[n] = (uint32_t)(ns_now() - k->t0[i]);
		atomic_store(&m->nlat, n + 1);
	}
	k->t0[i] = 0;
	k->idle[k->nidle++] = i;
}

static int child_reap(struct pchild *k, int timeout_ms)
{
	struct zcs_completion comps[PEER_NR_MAX];
	int n, i;

	n = zcs_reap(k->c, comps, k->sp->nr, timeout_ms);
	for (i = 0; i < n; i++) {
		if (comps[i].tag >= k->sp->nr)
			return -EPROTO;
		child_take(k, &comps[i]);
	}
	return n < 0 ? n : 0;
}

/* At the stop: the age of the oldest timed send still pending. */
static void child_stuck(struct pchild *k)
{
	uint64_t now = ns_now(), max = 0;
	unsigned i;

	for (i = 0; i < k->sp->nr; i++)
		if (k->t0[i] && now - k->t0[i] > max)
			max = now - k->t0[i];
	atomic_store(&k->shm->stuck_ns, max);
}

/* Send until told to stop; a held client waits for rec first. */
static int child_loop(struct pchild *k)
{
	double bound;
	int err = 0;

	while (!err && !atomic_load(&k->shm->stop)) {
		if (k->sp->hold && !atomic_load(&k->shm->rec)) {
			usleep(PEER_HOLD_US);
			continue;
		}
		err = child_send(k);
		if (!err)
			err = child_reap(k, PEER_REAP_MS);
	}
	child_stuck(k);
	bound = meter_now() + PEER_DRAIN_S;
	while (!err && k->sp->drain && zcs_inflight(k->c) &&
	       meter_now() < bound)
		err = child_reap(k, PEER_REAP_MS);
	return err;
}

static void child_run(struct bench *b, struct peer_shm *m,
		      const struct peer_spec *sp, pid_t parent)
{
	struct pchild k = { .shm = m, .sp = sp };
	int err;

	signal(SIGINT, SIG_IGN);	/* the bench stops us by flag */
	signal(SIGTERM, SIG_DFL);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
		_exit(127);
	err = child_open(b, &k);
	atomic_store(&m->err, err);
	atomic_store(&m->state, err ? PEER_FAILED : PEER_READY);
	if (!err)
		err = child_loop(&k);
	atomic_store(&m->err, err);
	if (k.c)
		zcs_close(k.c);
	_exit(err ? 1 : 0);
}

/**
 * peer_spawn - fork a client sending as @sp says, with room for
 * sp->lat_cap latency samples. It connects at once and sends when
 * recording starts (sp->hold) or at once.
 * Return: 0 with *@out set, or -errno.
 */
int peer_spawn(struct bench *b, const struct peer_spec *sp, struct peer **out)
{
	struct peer *p;
	pid_t parent = getpid();

	if (!sp->nr || sp->nr > PEER_NR_MAX)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->shm_len = sizeof(*p->shm) + (size_t)sp->lat_cap * sizeof(uint32_t);
	p->shm = mmap(NULL, p->shm_len, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p->shm == MAP_FAILED) {
		free(p);
		return -errno;
	}
	p->shm->cap = sp->lat_cap;
	p->pid = fork();
	if (p->pid < 0) {
		peer_free(p);
		return -errno;
	}
	if (p->pid == 0)
		child_run(b, p->shm, sp, parent);
	*out = p;
	return 0;
}

/**
 * peer_ready - wait until the client has connected and opened its flow,
 * at most until @deadline (meter_now seconds).
 * Return: 0, the client's -errno, -ETIMEDOUT or -EINTR.
 */
int peer_ready(struct peer *p, double deadline)
{
	int st;

	while ((st = atomic_load(&p->shm->state)) == PEER_STARTING) {
		if (bench_stop)
			return -EINTR;
		if (meter_now() > deadline)
			return -ETIMEDOUT;
		usleep(1000);
	}
	return st == PEER_READY ? 0 : atomic_load(&p->shm->err);
}

/* peer_record - time the sends started from now on (@on), or no more. */
void peer_record(struct peer *p, int on)
{
	atomic_store(&p->shm->rec, on);
}

/* peer_counts - completions and their bytes so far. */
void peer_counts(const struct peer *p, uint64_t *sends, uint64_t *bytes)
{
	*sends = atomic_load(&p->shm->sends);
	*bytes = atomic_load(&p->shm->bytes);
}

/* Reap @p's process within PEER_EXIT_S, else kill it. */
static int peer_reap(struct peer *p)
{
	double bound = meter_now() + PEER_EXIT_S;
	int status = 0;

	while (waitpid(p->pid, &status, WNOHANG) == 0) {
		if (meter_now() > bound) {
			kill(p->pid, SIGKILL);
			waitpid(p->pid, &status, 0);
			p->pid = 0;
			return -ETIMEDOUT;
		}
		usleep(2000);
	}
	p->pid = 0;
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -EIO;
}

/**
 * peer_stop - tell the client to stop (a flood first lets its sends
 * finish, within 5 s) and reap it.
 * Return: 0, or the client's -errno (-ETIMEDOUT: it had to be killed).
 */
int peer_stop(struct peer *p)
{
	int err, cerr;

	if (!p->pid)
		return 0;
	atomic_store(&p->shm->stop, 1);
	err = peer_reap(p);
	cerr = atomic_load(&p->shm->err);
	return cerr ? cerr : err;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile @q (0..1) of @n sorted samples, µs. */
static double pct(const uint32_t *v, size_t n, double q)
{
	size_t k = (size_t)(q * (double)n + 0.5);

	k = k ? k - 1 : 0;
	return (double)v[k < n ? k : n - 1] / 1e3;
}

/**
 * peer_lat - after peer_stop: the timed sends' count, p50, p99 and max in
 * µs, with a send pending at the stop counted at its age so far (a lower
 * bound: a client that never got a completion shows the whole window).
 */
void peer_lat(struct peer *p, struct peer_lat *out)
{
	struct peer_shm *m = p->shm;
	size_t n = atomic_load(&m->nlat);
	uint64_t stuck = atomic_load(&m->stuck_ns);

	memset(out, 0, sizeof(*out));
	out->n = (double)n;
	out->stuck_ms = (double)stuck / 1e6;
	if (stuck && n < m->cap)
		m->lat[n++] = stuck > UINT32_MAX ? UINT32_MAX : (uint32_t)stuck;
	if (!n)
		return;
	qsort(m->lat, n, sizeof(m->lat[0]), cmp_u32);
	out->p50_us = pct(m->lat, n, 0.50);
	out->p99_us = pct(m->lat, n, 0.99);
	out->max_us = (double)m->lat[n - 1] / 1e3;
}

/* peer_free - kill the process if still there, and free. NULL is ignored. */
void peer_free(struct peer *p)
{
	if (!p)
		return;
	if (p->pid > 0) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, NULL, 0);
	}
	munmap(p->shm, p->shm_len);
	free(p);
}
