/* SPDX-License-Identifier: MIT */
/*
 * sockfuzz and shared-memory rings (PROTOCOL.md, "Rings"). A ring session
 * maps what RINGS gives it and then, among its socket requests, submits
 * well-formed and mutated SEND records through its submission ring,
 * scribbles over records already published (also while the daemon takes
 * them), writes nonsense into the index and flag words, reads its
 * completion ring or never does, pokes and closes the eventfds. The
 * daemon must take all of it without harm to anyone but the session, and
 * a session that breaks the index rules for sure must be dropped. A good
 * client's steps are proto/zcs_ring.h's, as the daemon's and libzcsend's.
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sockfuzz.h"
#include "zcs_ring.h"

/* How long a session that broke the rules for sure waits to be dropped. */
#define SURE_DROP_MS	3000
#define BATCH_MAX	64	/* records one action writes at most */

enum ring_act {
	R_SUBMIT, R_MUTANT, R_SCRIBBLE, R_ANYWHERE, R_INDEX, R_FLAGS,
	R_STORM, R_REAP, R_WAIT, R_EFD, R_CLOSE, R_SURE, R_KINDS
};

static const unsigned ring_weight[R_KINDS] = {
	[R_SUBMIT] = 30, [R_MUTANT] = 8, [R_SCRIBBLE] = 8, [R_ANYWHERE] = 2,
	[R_INDEX] = 8, [R_FLAGS] = 3, [R_STORM] = 6, [R_REAP] = 16,
	[R_WAIT] = 6, [R_EFD] = 4, [R_CLOSE] = 1, [R_SURE] = 2,
};

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* One eventfd write: 0, or -errno (EAGAIN when full, EINVAL for ~0). */
static int efd_write(int fd, uint64_t v)
{
	if (fd < 0)
		return -EBADF;
	return write(fd, &v, sizeof(v)) == (ssize_t)sizeof(v) ? 0 : -errno;
}

/* Reset an eventfd by reading it: 0, or -errno (EAGAIN when zero). */
static int efd_read(int fd)
{
	uint64_t v;

	if (fd < 0)
		return -EBADF;
	return read(fd, &v, sizeof(v)) == (ssize_t)sizeof(v) ? 0 : -errno;
}

static void scribbled(struct fz_sess *s, uint64_t n)
{
	atomic_fetch_add(&s->env->sh->ring_scribbles, n);
}

/* fz_ring_init - no ring yet. */
void fz_ring_init(struct fz_ring *g)
{
	memset(g, 0, sizeof(*g));
	g->memfd = -1;
	g->efd_daemon = -1;
	g->efd_client = -1;
}

/*
 * fz_ring_found - the daemon misbehaved towards session @s: remember the
 * first session that saw it, for the controller to report and replay.
 */
void fz_ring_found(struct fz_sess *s, atomic_uint_least64_t *what)
{
	uint64_t zero = 0;

	atomic_compare_exchange_strong(what, &zero, s->idx + 1);
}

/*
 * The memfd must be the size RINGS says and sealed against size changes,
 * or a client could make the daemon's mapping fault. 0 or -EPROTO.
 */
static int memfd_check(struct fz_sess *s, int fd, const struct zcs_rings *l)
{
	struct stat st;

	if (fstat(fd, &st) || (uint64_t)st.st_size != l->bytes)
		return -EPROTO;
	if (fz_pct(&s->r, 10) && (!ftruncate(fd, 0) ||
				  !ftruncate(fd, (off_t)l->bytes * 2)))
		return -EPROTO;
	return 0;
}

static int ring_map(struct fz_sess *s, const struct zcs_rings *lay, int *fds)
{
	struct fz_ring *g = &s->rg;
	void *mem;

	if (zcs_rings_check(lay) || memfd_check(s, fds[0], lay))
		return -EPROTO;
	mem = mmap(NULL, lay->bytes, PROT_READ | PROT_WRITE, MAP_SHARED,
		   fds[0], 0);
	if (mem == MAP_FAILED)
		return 0;	/* ours to lack memory; not the daemon's fault */
	g->mem = mem;
	g->lay = *lay;
	g->ctl = mem;
	g->sq = (struct zcs_msg_send *)(g->mem + lay->sq_off);
	g->cq = (struct zcs_msg_completion *)(g->mem + lay->cq_off);
	g->memfd = fds[0];
	g->efd_daemon = fds[1];
	g->efd_client = fds[2];
	g->reaps = fz_pct(&s->r, 70);
	g->got = true;
	fds[0] = fds[1] = fds[2] = -1;	/* ours now */
	atomic_fetch_add(&s->env->sh->ring_mapped, 1);
	return 0;
}

/*
 * fz_ring_take - a RINGS reply of @len payload bytes with @nfds fds.
 * A session that asked maps the first one and takes its fds (setting
 * them to -1); others leave them to be closed. A RINGS that does not
 * describe its memfd is a finding. Returns whether it answered our HELLO.
 */
bool fz_ring_take(struct fz_sess *s, const uint8_t *payload, size_t len,
		  int *fds, unsigned nfds)
{
	struct zcs_rings lay;

	if (len != sizeof(lay) || nfds != 3) {
		fz_ring_found(s, &s->env->sh->ring_bad);
		return s->rings;
	}
	if (!s->rings || s->rg.got || s->rings_answered)
		return s->rings;
	memcpy(&lay, payload, sizeof(lay));
	if (ring_map(s, &lay, fds))
		fz_ring_found(s, &s->env->sh->ring_bad);
	if (s->keep_fd < 0 && s->rg.mem && fz_pct(&s->r, 10))
		s->keep_fd = dup(fz_pct(&s->r, 50) ? s->rg.memfd
						   : s->rg.efd_daemon);
	return true;
}

/* fz_ring_close - unmap and close what is left of the rings. */
void fz_ring_close(struct fz_sess *s)
{
	struct fz_ring *g = &s->rg;

	if (g->mem)
		munmap(g->mem, g->lay.bytes);
	if (g->memfd >= 0)
		close(g->memfd);
	if (g->efd_daemon >= 0)
		close(g->efd_daemon);
	if (g->efd_client >= 0)
		close(g->efd_client);
	g->mem = NULL;
	g->memfd = g->efd_daemon = g->efd_client = -1;
}

/* Free SQ entries as a good client sees them (none if out of bounds). */
static uint32_t sq_room(struct fz_ring *g)
{
	int n = zcs_ring_room(&g->ctl->sq_head, g->sq_tail, g->lay.sq_entries,
			      NULL);

	return n < 0 ? 0 : (uint32_t)n;
}

/*
 * After publishing: full fence, then wake the daemon if it sleeps. Now
 * and then the wake-up is left out (lost: our loss) or forced.
 */
static void wake_daemon(struct fz_sess *s)
{
	struct zcs_ring_word *flags = &s->rg.ctl->daemon_flags;
	uint32_t k = fz_below(&s->r, 100);

	zcs_ring_fence();
	if (k < 4)
		return;
	if (k >= 8 && !zcs_ring_flag_test(flags, ZCS_RING_NEED_WAKEUP))
		return;
	if (k >= 8 && !zcs_ring_flag_take(flags, ZCS_RING_NEED_WAKEUP))
		return;
	efd_write(s->rg.efd_daemon, 1);	/* fails if we filled it: fine */
}

/* One record for the SQ: valid, with a fault, or random bytes. */
static void rec_make(struct fz_sess *s, struct zcs_msg_send *m,
		     unsigned valid_pct)
{
	uint32_t k = fz_below(&s->r, 100);
	size_t i;

	fz_gen_rec(s, m, k < valid_pct);
	if (k < valid_pct || fz_pct(&s->r, 70))
		return;
	for (i = 0; i < sizeof(*m); i++)
		((uint8_t *)m)[i] = (uint8_t)fz_next(&s->r);
}

/*
 * Write up to @want records at the tail (what the SQ has room for), each
 * valid with @valid_pct percent, publish them and wake the daemon.
 * Returns how many were written.
 */
static uint32_t ring_put(struct fz_sess *s, uint32_t want, unsigned valid_pct)
{
	struct fz_ring *g = &s->rg;
	uint32_t n = want < sq_room(g) ? want : sq_room(g), i;
	struct zcs_msg_send m;

	for (i = 0; i < n; i++) {
		rec_make(s, &m, valid_pct);
		memcpy(&g->sq[zcs_ring_slot(g->sq_tail + i, g->lay.sq_entries)],
		       &m, sizeof(m));
	}
	if (!n)
		return 0;
	g->sq_tail += n;
	zcs_ring_store(&g->ctl->sq_tail, g->sq_tail);
	atomic_fetch_add(&s->env->sh->ring_records, n);
	wake_daemon(s);
	return n;
}

/* Spoil the record at SQ index @i: bytes, a bit, a field, a new record. */
static void spoil(struct fz_sess *s, uint32_t i)
{
	struct fz_ring *g = &s->rg;
	struct zcs_msg_send *p = &g->sq[zcs_ring_slot(i, g->lay.sq_entries)];
	struct fz_rng *r = &s->r;
	struct zcs_msg_send m;
	size_t k;

	switch (fz_below(r, 6)) {
	case 0:
		for (k = 0; k < sizeof(m); k++)
			((volatile uint8_t *)p)[k] = (uint8_t)fz_next(r);
		break;
	case 1:
		k = fz_below(r, sizeof(m));
		((volatile uint8_t *)p)[k] ^= (uint8_t)(1u << fz_below(r, 8));
		break;
	case 2: p->len = fz_pct(r, 50) ? 0 : (uint32_t)fz_next(r); break;
	case 3: p->offset = fz_next(r) >> fz_below(r, 64); break;
	case 4: p->flow = (uint32_t)fz_next(r); break;
	default:
		rec_make(s, &m, 50);
		memcpy(p, &m, sizeof(m));
		break;
	}
}

/* Spoil some of the records published last (the daemon may have them). */
static void scribble_sq(struct fz_sess *s)
{
	uint32_t n = 1 + fz_below(&s->r, s->rg.lay.sq_entries), i;

	for (i = 0; i < n; i++)
		spoil(s, s->rg.sq_tail - 1 - fz_below(&s->r, n));
	scribbled(s, n);
}

/* Random bytes anywhere in the ring memory, or a hole punched in it. */
static void scribble_anywhere(struct fz_sess *s)
{
	struct fz_ring *g = &s->rg;
	uint64_t page = 4096, off;
	size_t n, i;

	off = fz_below(&s->r, (uint32_t)g->lay.bytes);
	n = 1 + fz_below(&s->r, 512);
	if (off + n > g->lay.bytes)
		n = (size_t)(g->lay.bytes - off);
	if (fz_pct(&s->r, 20)) {
		off &= ~(page - 1);
		n = page;
		fallocate(g->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			  (off_t)off, (off_t)n);
	} else {
		for (i = 0; i < n; i++)
			((volatile uint8_t *)g->mem)[off + i] =
				(uint8_t)fz_next(&s->r);
	}
	if (off < sizeof(struct zcs_ring_ctl))
		g->broken = g->cq_broken = true;
	scribbled(s, 1);
}

/*
 * An index near @ours (the value a good client would write) in a ring
 * of @n entries: plausible, far ahead, behind, next to the wrap at 2^32,
 * half-way round, or anything.
 */
static uint32_t index_pick(struct fz_rng *r, uint32_t ours, uint32_t n)
{
	switch (fz_below(r, 8)) {
	case 0: return ours + fz_below(r, n + 1);
	case 1: return ours - fz_below(r, n + 1);
	case 2: return ours + n + 1 + fz_below(r, n);
	case 3: return ours + n + 1 + ((uint32_t)fz_next(r) >> 1);
	case 4: return ours - n - 1 - fz_below(r, n);
	case 5: return UINT32_MAX - fz_below(r, 2 * n);
	case 6: return ours + 0x80000000u + fz_below(r, 3) - 1;
	default: return (uint32_t)fz_next(r);
	}
}

/*
 * Nonsense in an index word: ours (sq_tail, cq_head) or the daemon's
 * (sq_head, cq_tail, which it must never read back). Sometimes the right
 * value goes back at once, racing with the daemon's look.
 */
static void scribble_index(struct fz_sess *s)
{
	struct fz_ring *g = &s->rg;
	struct zcs_ring_ctl *c = g->ctl;
	uint32_t sq = g->lay.sq_entries, cq = g->lay.cq_entries;
	uint32_t cq_tail = zcs_ring_load(&c->cq_tail);

	switch (fz_below(&s->r, 5)) {
	case 0: case 1:
		zcs_ring_store(&c->sq_tail, index_pick(&s->r, g->sq_tail, sq));
		if (fz_pct(&s->r, 40))
			zcs_ring_store(&c->sq_tail, g->sq_tail);
		g->broken = true;
		break;
	case 2:
		zcs_ring_store(&c->cq_head, index_pick(&s->r, cq_tail, cq));
		g->cq_broken = true;
		break;
	case 3:
		zcs_ring_store(&c->sq_head, index_pick(&s->r, g->sq_tail, sq));
		g->broken = true;
		break;
	default:
		zcs_ring_store(&c->cq_tail, index_pick(&s->r, g->cq_head, cq));
		g->cq_broken = true;
		break;
	}
	wake_daemon(s);
	scribbled(s, 1);
}

/* Any value in a flag or beat word: the daemon's or ours. */
static void scribble_flags(struct fz_sess *s)
{
	static const uint32_t vals[] = { 0, 1, 2, 3, 0x80000000u, UINT32_MAX };
	struct zcs_ring_ctl *c = s->rg.ctl;
	uint32_t v = fz_pct(&s->r, 80) ? vals[fz_below(&s->r, 6)]
				      : (uint32_t)fz_next(&s->r);

	struct zcs_ring_word *w[] = { &c->daemon_flags, &c->client_flags,
				      &c->daemon_beat, &c->client_beat };

	zcs_ring_store(w[fz_below(&s->r, 4)], v);
	if (fz_pct(&s->r, 50))
		wake_daemon(s);
	scribbled(s, 1);
}

/*
 * Publish records, then keep spoiling them (and now and then publishing
 * more) for up to 3 ms while the daemon takes them.
 */
static void storm(struct fz_sess *s)
{
	uint64_t end = now_us() + 100 + fz_below(&s->r, 3000);
	uint32_t n = ring_put(s, 1 + fz_below(&s->r, BATCH_MAX), 80);
	uint64_t k = 0;

	while (now_us() < end) {
		if (n)
			spoil(s, s->rg.sq_tail - 1 - fz_below(&s->r, n));
		if (fz_pct(&s->r, 3))
			n += ring_put(s, 1 + fz_below(&s->r, 8), 80);
		if (n > s->rg.lay.sq_entries)
			n = s->rg.lay.sq_entries;
		k++;
	}
	scribbled(s, k);
}

/* Read what the CQ holds, as a good client does, and wake the daemon. */
static void reap(struct fz_sess *s)
{
	struct fz_ring *g = &s->rg;
	uint32_t tail, n, i, errs = 0;
	int ready = zcs_ring_ready(&g->ctl->cq_tail, g->cq_head,
				   g->lay.cq_entries, &tail);
	struct zcs_msg_completion v;

	if (ready < 0) {
		/* Never more than the CQ holds, unless we spoilt the words. */
		if (!g->cq_broken)
			fz_ring_found(s, &s->env->sh->ring_bad);
		g->cq_head = tail;	/* and start afresh */
		ready = 0;
	}
	n = (uint32_t)ready;
	for (i = 0; i < n; i++) {
		memcpy(&v, &g->cq[zcs_ring_slot(g->cq_head + i,
						g->lay.cq_entries)],
		       sizeof(v));
		errs += v.result < 0;
	}
	g->cq_head += n;
	zcs_ring_store(&g->ctl->cq_head, g->cq_head);
	atomic_fetch_add(&s->env->sh->ring_reaped, n);
	atomic_fetch_add(&s->env->sh->ring_errors, errs);
	wake_daemon(s);
}

/* Sleep on our eventfd the protocol's way (WAITING, fence, look), then reap. */
static void wait_cq(struct fz_sess *s)
{
	struct fz_ring *g = &s->rg;
	struct zcs_ring_word *flags = &g->ctl->client_flags;
	struct pollfd p = { .fd = g->efd_client, .events = POLLIN };
	int ms = 1 + (int)fz_below(&s->r, 20);

	zcs_ring_sleep_arm(flags, ZCS_RING_WAITING);
	if (zcs_ring_load(&g->ctl->cq_tail) == g->cq_head &&
	    g->efd_client >= 0 && poll(&p, 1, ms) > 0)
		efd_read(g->efd_client);
	zcs_ring_flag_take(flags, ZCS_RING_WAITING);
	reap(s);
}

/* Write either eventfd, any value; or read ours. */
static void poke_efd(struct fz_sess *s)
{
	static const uint64_t vals[] = {
		0, 1, 1, 2, 0xfffffffffffffffeull, UINT64_MAX,
	};
	struct fz_ring *g = &s->rg;
	uint64_t v = fz_pct(&s->r, 80) ? vals[fz_below(&s->r, 6)]
				      : fz_next(&s->r);
	int fd = fz_pct(&s->r, 70) ? g->efd_daemon : g->efd_client;

	if (fd == g->efd_client && fz_pct(&s->r, 50)) {
		efd_read(fd);
		return;
	}
	efd_write(fd, v);	/* EINVAL for ~0, EAGAIN when full: fine */
	scribbled(s, 1);
}

/* Let go early of an eventfd, both, or the whole ring. */
static void close_some(struct fz_sess *s)
{
	struct fz_ring *g = &s->rg;
	uint32_t k = fz_below(&s->r, 4);

	if ((k == 0 || k == 2) && g->efd_daemon >= 0) {
		close(g->efd_daemon);
		g->efd_daemon = -1;
	}
	if ((k == 1 || k == 2) && g->efd_client >= 0) {
		close(g->efd_client);
		g->efd_client = -1;
	}
	if (k == 3)
		fz_ring_close(s);
}

/*
 * Break the index rule for sure: an sq_tail more than sq_entries past
 * the daemon's head. Our tail was always legal so far, so its head is
 * within sq_entries behind it. The daemon must drop us; wait for it.
 */
static void sure_violation(struct fz_sess *s)
{
	struct fz_ring *g = &s->rg;
	uint32_t n = g->lay.sq_entries, r = fz_below(&s->r, 1u << 30);
	uint32_t v = fz_pct(&s->r, 50) ? g->sq_tail + n + 1 + r
				      : g->sq_tail - n - 1 - r;
	uint64_t end;

	if (g->broken || g->efd_daemon < 0 || s->no_read || s->gone) {
		scribble_index(s);
		return;
	}
	zcs_ring_store(&g->ctl->sq_tail, v);
	g->broken = true;
	zcs_ring_fence();
	efd_write(g->efd_daemon, 1);	/* full: it is woken anyway */
	atomic_fetch_add(&s->env->sh->ring_violations, 1);
	end = fz_now_ms() + SURE_DROP_MS;
	while (!s->gone && fz_now_ms() < end)
		fz_drain(s, 50);
	if (!s->gone)
		fz_ring_found(s, &s->env->sh->ring_kept);
}

/* Draw a ring action; a calm session redraws those that end its ring. */
static enum ring_act ring_pick(struct fz_sess *s)
{
	unsigned total = 0, k, i, tries = s->calm ? 3 : 1;
	enum ring_act a;

	for (i = 0; i < R_KINDS; i++)
		total += ring_weight[i];
	do {
		k = fz_below(&s->r, total);
		for (i = 0; k >= ring_weight[i]; i++)
			k -= ring_weight[i];
		a = (enum ring_act)i;
	} while (--tries && (a == R_INDEX || a == R_ANYWHERE ||
			     a == R_CLOSE || a == R_SURE));
	if (!s->rg.reaps && (a == R_REAP || a == R_WAIT))
		a = R_SUBMIT;
	return a;
}

/* fz_ring_step - one ring action of a session that has its rings mapped. */
void fz_ring_step(struct fz_sess *s)
{
	uint32_t n = 1 + fz_below(&s->r, fz_pct(&s->r, 70) ? 8 : BATCH_MAX);

	if (!s->rg.mem)
		return;
	switch (ring_pick(s)) {
	case R_SUBMIT: ring_put(s, n, 100); break;
	case R_MUTANT: ring_put(s, n, 50); break;
	case R_SCRIBBLE: scribble_sq(s); break;
	case R_ANYWHERE: scribble_anywhere(s); break;
	case R_INDEX: scribble_index(s); break;
	case R_FLAGS: scribble_flags(s); break;
	case R_STORM: storm(s); break;
	case R_REAP: reap(s); break;
	case R_WAIT: wait_cq(s); break;
	case R_EFD: poke_efd(s); break;
	case R_CLOSE: close_some(s); break;
	case R_SURE: sure_violation(s); break;
	case R_KINDS: break;
	}
}
