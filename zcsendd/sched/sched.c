/* SPDX-License-Identifier: MIT */
/*
 * The scheduler, the one place deciding whose checked requests go to the
 * kernel next and how much per turn: deficit round robin between the
 * clients with work waiting (d->sched.active, never a walk over idle
 * ones), by cost as the kernel's fq shares a link by bytes. Cost is bytes
 * plus SCHED_DGRAM_COST per UDP datagram or TCP SQE, so many small
 * datagrams cost what they cost the CPU. Each round a client may submit
 * SCHED_QUANTUM times its weight; one piece may overdraw, and the debt is
 * paid in later rounds. A client alone takes the whole turn (work-
 * conserving); clients sharing take one round per turn, so the kernel's
 * inline send work of one round is submitted, and its completions
 * delivered, before the next. A client that had no work goes first, as
 * fq_codel's new flows do: a light client waits for at most one round.
 * One pass of the event loop submits at most SCHED_TURN_COST while
 * clients share the daemon, SCHED_PASS_ALONE while one has had it to
 * itself (sched_pass). What is left waits for the next pass: a timer of
 * its own, due at once.
 */
#include <errno.h>

#include "sched/sched.h"

/* Rounds of one turn in which nobody could submit (all in debt). */
#define SCHED_ROUNDS_MAX	64u

/*
 * sched_clock - read the clock once for an intake batch or a turn: what
 * sched_put() stamps and the waits counted are against it.
 */
void sched_clock(struct zcsd *d)
{
	d->sched.now_ns = now_ns();
}

/* What one pass may submit now: less while clients share the daemon. */
static int64_t sched_pass_cost(const struct sched_state *s)
{
	if (s->now_ns - s->contended_ns < SCHED_CONTENDED_NS)
		return SCHED_TURN_COST;
	return SCHED_PASS_ALONE;
}

/*
 * sched_full - a full pass of @c's work waits already: take no more of
 * it (its socket is not read, its ring not taken), so that what it sends
 * faster than its share waits on its side, not in the daemon.
 */
bool sched_full(const struct client *c)
{
	return (int64_t)c->sched_cost >= sched_pass_cost(&c->d->sched);
}

/* @c is visited: a client other than the last, soon after it, means
 * clients share the daemon (sched_pass_cost). */
static void sched_note(struct sched_state *s, const struct client *c)
{
	if (c->id != s->last_id) {
		if (s->now_ns - s->last_ns < SCHED_CONTENDED_NS)
			s->contended_ns = s->now_ns;
		s->last_id = c->id;
	}
	s->last_ns = s->now_ns;
}

/*
 * sched_budget - how many of the @avail records waiting in @c's
 * submission ring (already bounded by its in-flight room) intake may
 * take this turn: none while sched_full().
 */
uint32_t sched_budget(const struct client *c, uint32_t avail)
{
	if (sched_full(c))
		return 0;
	return avail < SCHED_RING_BUDGET ? avail : SCHED_RING_BUDGET;
}

/*
 * sched_put - @r is checked and taken: it waits for its client's turn. A
 * client that had nothing waiting goes first in the next round.
 */
void sched_put(struct client *c, struct req *r)
{
	struct sched_state *s = &c->d->sched;

	r->put_ns = s->now_ns;
	r->queued = 1;
	req_list_push(&c->sched, r);
	c->sched_cost += (uint64_t)(r->kind == REQ_GSO_SEGMENT ?
				    sched_cost(r->len, r->segment) :
				    sched_cost(r->len, r->len));
	if (c->sched_on)
		return;
	c->sched_on = true;
	c->sched_cont = false;
	TAILQ_INSERT_HEAD(&s->active, c, sched_entry);
	s->nactive++;
}

/*
 * One visit of @c, first on the active list, with @left of the turn's
 * cost left. Returns the cost it submitted.
 */
static int64_t sched_visit(struct sched_state *s, struct client *c,
			   int64_t left)
{
	int64_t quantum = (int64_t)SCHED_QUANTUM * (c->weight ? c->weight : 1);
	int64_t spent = 0;

	TAILQ_REMOVE(&s->active, c, sched_entry);
	sched_note(s, c);
	if (s->nactive == 1)
		c->deficit = left;	/* alone: all the turn */
	else if (!c->sched_cont)
		c->deficit += quantum;
	c->sched_cont = false;
	if (c->dead || c->deficit > 0)
		spent = serve_client(c, c->deficit < left ? c->deficit : left);
	c->deficit -= spent;
	if (!c->sched.n) {
		c->sched_on = false;
		s->nactive--;
		if (c->deficit > 0)
			c->deficit = 0;	/* no credit saved while idle */
	} else if (spent >= left && c->deficit > 0) {
		c->sched_cont = true;	/* the turn ended, not its share */
		TAILQ_INSERT_HEAD(&s->active, c, sched_entry);
	} else {
		TAILQ_INSERT_TAIL(&s->active, c, sched_entry);
	}
	return spent;
}

/*
 * Another turn once the loop has looked at its sockets and rings: a timer
 * due at once, not event_active(), whose callback libevent runs again in
 * the same pass before looking at any socket. The loop calls libevent for
 * one pass at a time (service/loop.c), so the rings are taken between two
 * turns too.
 */
static void sched_later(struct zcsd *d)
{
	static const struct timeval now = { 0, 0 };

	if (evtimer_pending(d->sched.ev, NULL))
		return;
	if (evtimer_add(d->sched.ev, &now))
		log_warnx("cannot arm the scheduler's timer: work waits "
			  "for the next event");
}

/*
 * One turn: a client alone until its queue is empty or what is left of
 * the pass's cost went; clients sharing for one round in which something went. The SQEs
 * leave with the caller's cqe_run(); what is left, with the next turn.
 */
static void sched_turn(struct zcsd *d)
{
	struct sched_state *s = &d->sched;
	int64_t left = s->pass_left, spent;
	uint32_t rounds, n, i;
	struct client *c;

	if (s->busy)
		return;		/* the turn running takes it */
	s->busy = true;
	for (rounds = 0; rounds < SCHED_ROUNDS_MAX && left > 0 && s->nactive;
	     rounds++) {
		spent = 0;
		n = s->nactive;
		for (i = 0; i < n && spent < left &&
		     (c = TAILQ_FIRST(&s->active)); i++)
			spent += sched_visit(s, c, left - spent);
		left -= spent;
		if (spent && s->nactive > 1)
			break;	/* shared: submit this round first */
	}
	s->pass_left = left;
	s->busy = false;
	if (s->nactive)
		sched_later(d);
}

/*
 * sched_pass - the loop starts a pass over its events and rings: one
 * pass's cost (sched_pass_cost) may go in it, however many messages or rings bring work
 * (a socket read takes up to READ_BUDGET SEND messages, each ending in
 * sched_run). What is left goes in the next pass, after the loop has
 * looked at every socket and ring again. Work left from the last pass
 * goes first: polling, the loop asks libevent (and so the timer) only
 * now and then.
 */
void sched_pass(struct zcsd *d)
{
	if (!d->sched.nactive) {
		d->sched.pass_left = sched_pass_cost(&d->sched);
		return;
	}
	sched_clock(d);	/* work waits: its turn now, not at the timer */
	d->sched.pass_left = sched_pass_cost(&d->sched);
	sched_turn(d);
	cqe_run(d);
}

/*
 * sched_run - @c's new requests are on its queue (sched_put): run a turn
 * for every client with work. The SQEs leave with the caller's next
 * cqe_run().
 */
void sched_run(struct client *c)
{
	sched_turn(c->d);
}

/* Work was left: another turn, and its SQEs submitted. */
static void sched_cb(evutil_socket_t fd, short what, void *arg)
{
	struct zcsd *d = arg;

	sched_clock(d);
	sched_turn(d);
	cqe_run(d);
}

/*
 * sched_forget - @c is being freed (req_fini): off the active list, with
 * whatever still waits on it (only at exit, once the ring is closed).
 */
void sched_forget(struct client *c)
{
	if (!c->sched_on)
		return;
	TAILQ_REMOVE(&c->d->sched.active, c, sched_entry);
	c->d->sched.nactive--;
	c->sched_on = false;
}

/* sched_init - the scheduler's list and event. Returns 0 or -ENOMEM. */
int sched_init(struct zcsd *d)
{
	TAILQ_INIT(&d->sched.active);
	d->sched.ev = evtimer_new(d->base, sched_cb, d);
	return d->sched.ev ? 0 : -ENOMEM;
}

void sched_fini(struct zcsd *d)
{
	if (d->sched.ev)
		event_free(d->sched.ev);
	d->sched.ev = NULL;
}
