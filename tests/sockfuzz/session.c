/* SPDX-License-Identifier: MIT */
/*
 * One sockfuzz session: connect, maybe talk nonsense before HELLO, say
 * HELLO, take a random walk of requests (flows, sends, closes, status,
 * mutants, junk, ancillary data), and die at a random step in a random
 * way. A session chosen to be SIGKILLed runs in a forked child that its
 * worker kills after a random delay, wherever it is.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sockfuzz.h"

enum fz_act {
	A_FLOW_OPEN, A_SEND, A_FLOW_CLOSE, A_STATUS, A_RELOAD, A_POLICY,
	A_MUTANT, A_RANDOM, A_ANC, A_ZERO, A_HELLO, A_WAIT, A_BURST, A_UAF,
	A_RING, A_SERVICE, A_KINDS
};

/* How often each action is drawn after HELLO. */
static const unsigned act_weight[A_KINDS] = {
	[A_FLOW_OPEN] = 14, [A_SEND] = 30, [A_FLOW_CLOSE] = 6,
	[A_STATUS] = 5, [A_RELOAD] = 1, [A_POLICY] = 2, [A_MUTANT] = 10,
	[A_RANDOM] = 4, [A_ANC] = 8, [A_ZERO] = 3, [A_HELLO] = 2,
	[A_WAIT] = 8, [A_BURST] = 4, [A_UAF] = 3,
	[A_RING] = 0,	/* ring_weight for a session with rings */
	[A_SERVICE] = 2,
};

/* Ring actions, for a session with its rings mapped: most steps. */
#define RING_WEIGHT	150

static uint8_t txbuf[FZ_TXBUF];

uint64_t fz_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* The daemon is gone: the first session to see it says which it was. */
static void daemon_gone(struct fz_sess *s)
{
	uint64_t zero = 0;

	atomic_compare_exchange_strong(&s->env->sh->gone_at, &zero,
				       s->idx + 1);
	atomic_store(&s->env->sh->stop, 1);
}

static int sess_connect(struct fz_sess *s)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { 0, 100000 };
	uint64_t end = fz_now_ms() + 2000;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", s->env->sock);
	for (;;) {
		s->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		if (s->fd < 0)
			return -errno;
		setsockopt(s->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (!connect(s->fd, (struct sockaddr *)&sa, sizeof(sa)))
			return 0;
		close(s->fd);
		s->fd = -1;
		if (errno != EAGAIN || fz_now_ms() > end) {
			if (errno == ECONNREFUSED || errno == ENOENT)
				daemon_gone(s);
			return -errno;
		}
		sleep_ms(5);
	}
}

/* Send @len bytes of txbuf; a full socket gets one drain and a retry. */
static void tx(struct fz_sess *s, size_t len, const struct fz_anc *anc)
{
	if (s->gone)
		return;
	if (fz_send_pkt(s, txbuf, len, anc, false) == -EAGAIN && !s->no_read) {
		fz_drain(s, 20);
		fz_send_pkt(s, txbuf, len, anc, false);
	}
}

static void tx_zero(struct fz_sess *s)
{
	struct fz_anc anc = { ANC_NONE, 0 };

	if (fz_pct(&s->r, 75))
		fz_anc_pick(s, &anc);
	tx(s, 0, &anc);	/* fz_send_pkt() counts or drops the fds */
}

static void act_flow_open(struct fz_sess *s)
{
	unsigned before = s->flow_replies;
	uint16_t proto;
	size_t len = fz_gen_flow_open(s, txbuf, &proto);

	if (fz_pct(&s->r, 5))
		len = fz_mutate(s, txbuf, len);
	tx(s, len, NULL);
	/* Often wait for the answer, so that later sends have a flow. */
	if (proto && !s->no_read && fz_pct(&s->r, 70))
		fz_wait_flow(s, before, proto == ZCS_PROTO_TCP ? 300 : 100);
}

static void act_anc(struct fz_sess *s)
{
	struct fz_anc anc;
	size_t len = fz_gen_any(s, txbuf);

	fz_anc_pick(s, &anc);
	if (fz_pct(&s->r, 30))
		len = fz_mutate(s, txbuf, len);
	tx(s, len, &anc);
}

/* Several SENDs back to back: reaches the in-flight bound. */
static void act_burst(struct fz_sess *s)
{
	unsigned i, n = 2 + fz_below(&s->r, 10);

	for (i = 0; i < n && !s->gone; i++)
		tx(s, fz_gen_send(s, txbuf, false), NULL);
}

static void act_uaf(struct fz_sess *s)
{
	if (!(s->env->avoid & FZ_AVOID_UAF))
		tx(s, fz_gen_send(s, txbuf, true), NULL);
	else
		tx(s, fz_gen_send(s, txbuf, false), NULL);
}

/* Actions after which the daemon usually drops the client. */
static bool act_fatal(enum fz_act a)
{
	return a == A_MUTANT || a == A_RANDOM || a == A_ANC || a == A_ZERO ||
	       a == A_HELLO;
}

static unsigned act_w(const struct fz_sess *s, unsigned i)
{
	if (i == A_RING)
		return s->rg.mem ? RING_WEIGHT : 0;
	return act_weight[i];
}

/* Draw an action; a calm session redraws fatal ones, to live longer. */
static enum fz_act act_pick(struct fz_sess *s)
{
	unsigned total = 0, k, i, tries = s->calm ? 3 : 1;

	for (i = 0; i < A_KINDS; i++)
		total += act_w(s, i);
	do {
		k = fz_below(&s->r, total);
		for (i = 0; k >= act_w(s, i); i++)
			k -= act_w(s, i);
	} while (--tries && act_fatal((enum fz_act)i));
	return (enum fz_act)i;
}

/* One step of the walk. */
static void step(struct fz_sess *s, enum fz_act a)
{
	switch (a) {
	case A_FLOW_OPEN: act_flow_open(s); break;
	case A_SEND: tx(s, fz_gen_send(s, txbuf, false), NULL); break;
	case A_FLOW_CLOSE: tx(s, fz_gen_flow_close(s, txbuf), NULL); break;
	case A_STATUS: tx(s, fz_gen_empty(s, txbuf, ZCS_MSG_STATUS), NULL);
		break;
	case A_RELOAD: tx(s, fz_gen_empty(s, txbuf, ZCS_MSG_RELOAD), NULL);
		break;
	case A_SERVICE: tx(s, fz_gen_empty(s, txbuf, ZCS_MSG_SERVICE), NULL);
		break;
	case A_POLICY: tx(s, fz_gen_policy(s, txbuf), NULL); break;
	case A_MUTANT: tx(s, fz_mutate(s, txbuf, fz_gen_any(s, txbuf)), NULL);
		break;
	case A_RANDOM: tx(s, fz_gen_random(s, txbuf), NULL); break;
	case A_ANC: act_anc(s); break;
	case A_ZERO: tx_zero(s); break;
	case A_HELLO: tx(s, fz_gen_hello(s, txbuf), NULL); break;
	case A_WAIT: fz_drain(s, 1 + (int)fz_below(&s->r, 20)); break;
	case A_BURST: act_burst(s); break;
	case A_UAF: act_uaf(s); break;
	case A_RING: fz_ring_step(s); break;
	case A_KINDS: break;
	}
	if (!s->no_read && !s->gone)
		fz_drain(s, 0);
}

/* Before HELLO: junk, mutants, a zero-length packet, fds, silence. */
static void pre_hello(struct fz_sess *s)
{
	unsigned i, n = 1 + fz_below(&s->r, 3);
	struct fz_anc anc;

	for (i = 0; i < n && !s->gone; i++) {
		switch (fz_below(&s->r, 6)) {
		case 0: tx(s, fz_gen_random(s, txbuf), NULL); break;
		case 1: tx(s, fz_gen_any(s, txbuf), NULL); break;
		case 2: tx(s, fz_mutate(s, txbuf, fz_gen_hello(s, txbuf)),
			   NULL); break;
		case 3: tx_zero(s); break;
		case 4:
			fz_anc_pick(s, &anc);
			tx(s, fz_gen_hello(s, txbuf), &anc);
			break;
		default: sleep_ms(fz_below(&s->r, 20)); break;
		}
	}
}

static void hello(struct fz_sess *s)
{
	struct fz_anc anc = { ANC_NONE, 0 };
	size_t len = fz_gen_hello(s, txbuf);
	uint64_t end = fz_now_ms() + 1000;

	if (fz_pct(&s->r, 6))
		len = fz_mutate(s, txbuf, len);
	if (fz_pct(&s->r, 4))
		fz_anc_pick(s, &anc);
	tx(s, len, &anc);
	s->hello_sent = true;
	while (!s->ready && !s->gone && fz_now_ms() < end)
		fz_drain(s, 50);
	/* RINGS (or an ERROR for HELLO) comes right after HELLO_OK. */
	end = fz_now_ms() + 500;
	while (s->rings && s->ready && !s->rings_answered && !s->gone &&
	       fz_now_ms() < end)
		fz_drain(s, 20);
}

/* Stop reading and keep asking until the daemon gives up on us. */
static void flood(struct fz_sess *s)
{
	struct pollfd p = { .fd = s->fd, .events = POLLOUT };
	uint64_t end = fz_now_ms() + 400;
	unsigned i;
	size_t len;
	int err;

	for (i = 0; i < 6000 && !s->gone && fz_now_ms() < end; i++) {
		len = i % 3 ? fz_gen_empty(s, txbuf, ZCS_MSG_STATUS)
			    : fz_gen_send(s, txbuf, false);
		err = fz_send_pkt(s, txbuf, len, NULL, true);
		if (err == -EAGAIN)
			poll(&p, 1, 20);
	}
}

static void die(struct fz_sess *s, enum fz_death how)
{
	unsigned i, n;

	s->dying = true;
	if (how != DIE_KILL)	/* counted by the one who kills */
		atomic_fetch_add(&s->env->sh->deaths[how], 1);
	switch (how) {
	case DIE_SHUT_RD:
		shutdown(s->fd, SHUT_RD);
		s->no_read = true;
		n = 1 + fz_below(&s->r, 3);
		for (i = 0; i < n && !s->gone; i++)
			step(s, fz_pct(&s->r, 60) ? A_UAF : act_pick(s));
		break;
	case DIE_SHUT_WR:
		shutdown(s->fd, SHUT_WR);
		for (i = 0; i < 3 && !s->gone; i++)
			fz_drain(s, 10);
		break;
	case DIE_NO_READ:
		s->no_read = true;
		flood(s);
		break;
	case DIE_NONE:
		if (fz_pct(&s->r, 30))
			fz_drain(s, 1 + (int)fz_below(&s->r, 100));
		break;
	default:
		break;
	}
	close(s->fd);
	s->fd = -1;
}

static enum fz_death death_pick(struct fz_sess *s)
{
	static const enum fz_death kinds[] = {
		DIE_NONE, DIE_NONE, DIE_CLOSE, DIE_CLOSE, DIE_SHUT_RD,
		DIE_SHUT_RD, DIE_SHUT_WR, DIE_NO_READ, DIE_KILL, DIE_KILL,
	};
	enum fz_death d = kinds[fz_below(&s->r, 10)];

	if (d == DIE_NO_READ && fz_pct(&s->r, 50))
		d = DIE_CLOSE;	/* a flood is slow: half as often */
	if (d == DIE_KILL && (s->env->avoid & FZ_AVOID_KILL))
		d = DIE_CLOSE;
	return d;
}

/* The walk itself; DIE_KILL: walk to the end unless killed first. */
static void sess_body(struct fz_sess *s, enum fz_death how)
{
	unsigned i, nsteps = 1 + fz_below(&s->r, s->rings ? 32 : 20);
	int die_at = (int)fz_below(&s->r, nsteps + 1) - 1;

	if (sess_connect(s))
		return;
	if (fz_pct(&s->r, 12))
		pre_hello(s);
	if (how == DIE_KILL || how == DIE_NONE)
		die_at = -2;	/* no death of its own */
	if (die_at == -1) {
		sleep_ms(fz_below(&s->r, 3));
		die(s, how);
		return;
	}
	hello(s);
	/* Most walks start with flows; a ring walk nearly always. */
	for (i = fz_below(&s->r, 3) + (s->rg.mem != NULL); i > 0 && !s->gone;
	     i--)
		act_flow_open(s);
	for (i = 0; i < nsteps && !s->gone; i++) {
		if ((int)i == die_at)
			break;
		if (fz_now_ms() > s->deadline_ms)
			break;
		step(s, act_pick(s));
	}
	die(s, how);
}

static void sess_init(struct fz_sess *s, struct fz_env *e, uint64_t idx)
{
	memset(s, 0, sizeof(*s));
	s->env = e;
	s->idx = idx;
	s->r.s = e->seed ^ (idx * 0xd1b54a32d192ed03ull);
	fz_next(&s->r);
	s->fd = -1;
	s->keep_fd = -1;
	s->deadline_ms = fz_now_ms() + e->max_ms;
	s->calm = fz_pct(&s->r, 40);
	s->rings = fz_pct(&s->r, 30) && !(e->avoid & FZ_AVOID_RINGS);
	fz_ring_init(&s->rg);
	if (s->rings)
		atomic_fetch_add(&e->sh->ring_asked, 1);
}

/* Run a session in a child and SIGKILL it after a random delay. */
static void sess_killed(struct fz_sess *s)
{
	unsigned us = fz_below(&s->r, 30000);
	pid_t pid = fork();

	if (pid < 0)
		return;
	if (pid == 0) {
		alarm(10);
		sess_body(s, DIE_KILL);
		fz_ring_close(s);
		_exit(0);
	}
	usleep(us);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	atomic_fetch_add(&s->env->sh->deaths[DIE_KILL], 1);
}

/*
 * fz_session - run session @idx of this seed. Its content depends only on
 * the seed and @idx; what the daemon answers depends on timing too.
 */
void fz_session(struct fz_env *e, uint64_t idx)
{
	struct fz_sess s;
	enum fz_death how;

	sess_init(&s, e, idx);
	how = death_pick(&s);
	if (how == DIE_KILL)
		sess_killed(&s);
	else
		sess_body(&s, how);
	if (s.fd >= 0)
		close(s.fd);
	if (s.keep_fd >= 0)
		close(s.keep_fd);
	fz_ring_close(&s);
}
