/* SPDX-License-Identifier: MIT */
/*
 * The scheduling seam, the one place deciding which checked request is
 * submitted next and how much per turn: a fair scheduler between clients
 * replaces sched_budget() and sched_run() and nothing else. Today: arrival
 * order, each message or ring turn submitted once intake checked it, and
 * SCHED_RING_BUDGET records per client per ring turn (CHAIN_MAX per TCP
 * chain in tcpchain.c, READ_BUDGET socket messages per read in conn.c).
 */
#include "ops/ops.h"
#include "sched/sched.h"

/* What one turn of a client's queue is gathering: TCP flows, a UDP run. */
struct sched_turn {
	struct flow *touched[ZCS_SEND_BATCH_MAX];
	uint32_t ntouched;
	struct coalesce run;
};

/*
 * sched_budget - how many of the @avail records waiting in @c's
 * submission ring (already bounded by its in-flight room) intake may
 * take this turn.
 */
uint32_t sched_budget(const struct client *c, uint32_t avail)
{
	return avail < SCHED_RING_BUDGET ? avail : SCHED_RING_BUDGET;
}

/* sched_put - @r is checked and taken: it waits for sched_run(). */
void sched_put(struct client *c, struct req *r)
{
	req_list_push(&c->sched, r);
}

/* Complete the runs that could not go: their records failed. */
static void sched_failed(struct coalesce *g)
{
	struct req *lead;

	while ((lead = g->failed)) {
		g->failed = lead->next;
		finish_check(lead);
	}
}

/*
 * Submit one request: TCP joins its flow's queue (its chain starts at the
 * end of the turn); UDP joins the run being coalesced, or goes at once
 * (after the run, to keep its order).
 */
static void sched_submit(struct sched_turn *t, struct req *r)
{
	struct flow *f = r->f;

	switch (r->kind) {
	case REQ_TCP:
		req_list_push(&f->queue, r);
		if (!f->touched) {
			f->touched = true;
			t->touched[t->ntouched++] = f;
		}
		return;
	case REQ_GSO_SEGMENT:
		udpseg_flush(&t->run);
		sched_failed(&t->run);
		udpseg_start(r);
		finish_check(r);	/* failed before any send went */
		return;
	default:
		break;
	}
	if (udpseg_join(&t->run, r)) {
		sched_failed(&t->run);
		return;
	}
	sched_failed(&t->run);
	r->err = sendop_prep(r, false);
	if (r->err)
		complete_req(r);
}

/* A request left waiting when its client died: nobody will read of it. */
static void sched_drop(struct req *r)
{
	r->f->inflight--;
	req_release(r);
}

/*
 * sched_run - submit what waits on @c's queue, in the order it came. The
 * SQEs leave with the caller's next cqe_run().
 */
void sched_run(struct client *c)
{
	struct sched_turn t = { .ntouched = 0, .run = { .failed = NULL } };
	struct req *r;
	uint32_t i;
	int err;

	while ((r = req_list_pop(&c->sched))) {
		if (c->dead)
			sched_drop(r);
		else
			sched_submit(&t, r);
	}
	udpseg_flush(&t.run);
	sched_failed(&t.run);
	for (i = 0; i < t.ntouched; i++) {
		t.touched[i]->touched = false;
		err = tcpchain_start(t.touched[i]);
		if (err)	/* a broken stream: what waits fails */
			finish_fail_flow(t.touched[i], err);
	}
}
