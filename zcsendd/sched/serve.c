/* SPDX-License-Identifier: MIT */
/*
 * One client's visit by the scheduler: its checked requests leave its
 * queue in the order they came, for the operations stage (a TCP flow's
 * queue and chain, a coalesced UDP run, a send of its own, or a segmented
 * record's GSO sends one at a time), as long as the cost the scheduler
 * allows lasts. Counts the cost submitted and how long each request
 * waited, for status.
 */
#include <errno.h>

#include "sched/sched.h"

/* What is left on the queue of @c costs @cost less. */
static void serve_unqueue(struct client *c, int64_t cost)
{
	if (cost <= 0)
		return;
	c->sched_cost -= (uint64_t)cost < c->sched_cost ? (uint64_t)cost :
			 c->sched_cost;
}

/* Complete the runs that could not go: their records failed. */
static void serve_failed(struct coalesce *g)
{
	struct req *lead;

	while ((lead = g->failed)) {
		g->failed = lead->next;
		finish_check(lead);
	}
}

/* How long @r waited from intake to its first send, for status. */
static void serve_waited(struct client *c, struct req *r)
{
	struct zcs_sched_counters *cs = &c->sched_st, *ds = &c->d->sched_st;
	uint64_t now = c->d->sched.now_ns;
	uint64_t ns = now > r->put_ns ? now - r->put_ns : 0;

	r->started = 1;
	cs->queue_ns += ns;
	cs->queued++;
	ds->queue_ns += ns;
	ds->queued++;
	if (ns > cs->queue_max_ns)
		cs->queue_max_ns = ns;
	if (ns > ds->queue_max_ns)
		ds->queue_max_ns = ns;
}

/* Start the TCP chains of the flows this visit queued requests on. */
static void serve_chains(struct sched_visit *v)
{
	struct flow *f;
	uint32_t i;
	int err;

	for (i = 0; i < v->ntouched; i++) {
		f = v->touched[i];
		f->touched = false;
		err = tcpchain_start(f);
		if (err)	/* a broken stream: what waits fails */
			finish_fail_flow(f, err);
	}
	v->ntouched = 0;
}

/*
 * Submit one whole request: TCP joins its flow's queue (its chain starts
 * at the end of the visit); UDP joins the run being coalesced, or goes at
 * once (after the run, to keep its order).
 */
static void serve_one(struct sched_visit *v, struct req *r)
{
	struct flow *f = r->f;

	if (r->kind == REQ_TCP) {
		if (v->ntouched == ZCS_SEND_BATCH_MAX)
			serve_chains(v);
		req_list_push(&f->queue, r);
		if (!f->touched) {
			f->touched = true;
			v->touched[v->ntouched++] = f;
		}
		return;
	}
	if (udpseg_join(&v->run, r)) {
		serve_failed(&v->run);
		return;
	}
	serve_failed(&v->run);
	r->err = sendop_prep(r, false);
	if (r->err)
		complete_req(r);
}

/*
 * The GSO sends of segmented record @r that @allow covers, one at a time
 * and at least one, after the run gathered before it. It stays first in
 * its client's queue until all of it went, it failed, or it went over to
 * one datagram per send (paced by its completions, charged now). Returns
 * the cost submitted.
 */
static int64_t serve_segment(struct client *c, struct sched_visit *v,
			     struct req *r, int64_t allow)
{
	uint32_t sent0 = r->sent;
	int64_t cost;

	udpseg_flush(&v->run);
	serve_failed(&v->run);
	do {
		udpseg_next(r);
		cost = sched_cost(r->sent - sent0, r->segment);
	} while (cost < allow && !r->err && !r->windowed && r->sent < r->len);
	if (!r->err && !r->windowed && r->sent < r->len)
		return cost;
	req_list_pop(&c->sched);
	r->queued = 0;
	if (r->windowed)
		cost = sched_cost(r->len - sent0, r->segment);
	else	/* failed: what was not sent no longer waits */
		serve_unqueue(c, sched_cost(r->len - r->sent, r->segment));
	finish_check(r);	/* failed before any went, or all came back */
	return cost;
}

/*
 * A dead client's queue: what never reached the kernel gives its slot
 * back; a segmented record part way fails, and ends through its CQEs.
 */
static void serve_drop(struct client *c)
{
	struct req *r;

	while ((r = req_list_pop(&c->sched))) {
		r->queued = 0;
		if (!r->sent && !r->ops) {
			r->f->inflight--;
			req_release(r);
			continue;
		}
		if (!r->err)
			r->err = -ECANCELED;
		finish_check(r);
	}
	c->sched_cost = 0;
}

/*
 * serve_client - submit from @c's queue, in order, until what was
 * submitted costs @allow or more (one request may go over: the scheduler
 * carries the overdraft into its next round) or the queue is empty. The
 * SQEs leave with the caller's next ring_submit(). Returns the cost.
 */
int64_t serve_client(struct client *c, int64_t allow)
{
	struct sched_visit v = { .ntouched = 0, .run = { .failed = NULL } };
	int64_t spent = 0;
	struct req *r;

	if (c->dead) {
		serve_drop(c);
		return 0;
	}
	while (spent < allow && (r = c->sched.head)) {
		if (!r->started)
			serve_waited(c, r);
		if (r->kind == REQ_GSO_SEGMENT) {
			spent += serve_segment(c, &v, r, allow - spent);
			continue;
		}
		req_list_pop(&c->sched);
		r->queued = 0;
		spent += sched_cost(r->len, r->len);	/* one datagram */
		serve_one(&v, r);
	}
	udpseg_flush(&v.run);
	serve_failed(&v.run);
	serve_chains(&v);
	serve_unqueue(c, spent);
	if (c->read_paused && !sched_full(c))
		conn_resume(c);	/* its socket may be read again */
	c->sched_st.cost += (uint64_t)spent;
	c->d->sched_st.cost += (uint64_t)spent;
	return spent;
}
