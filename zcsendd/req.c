/* SPDX-License-Identifier: MIT */
/*
 * A client's request slots: max_inflight of them, taken by intake and
 * given back once their completion is delivered (or nobody will read it).
 * No allocation per send, and no page touched before the first: the array
 * is mapped at HELLO and linked into the free list at the first SEND.
 */
#include <errno.h>

#include "sched/sched.h"

/*
 * req_init - the client's request slots, as many as it may have in
 * flight: their own pages (pages.c says why), left untouched (so not yet
 * counted in our RSS) until req_arm(). Returns 0 or -ENOMEM.
 */
int req_init(struct client *c)
{
	c->reqs = pages_calloc(c->d->cfg.max_inflight, sizeof(*c->reqs));
	if (!c->reqs)
		return -ENOMEM;
	c->nreqs = c->d->cfg.max_inflight;
	req_list_init(&c->sched);
	return 0;
}

/*
 * req_arm - at the client's first SEND (pool_pin): link every slot into
 * the free list. Linking writes each slot, which faults in all the pages
 * (112 KiB at the default 1024): an idle client is spared them.
 */
void req_arm(struct client *c)
{
	uint32_t i;

	if (c->free_reqs || c->inflight)
		return;		/* armed already */
	for (i = c->nreqs; i-- > 0;) {
		c->reqs[i].next = c->free_reqs;
		c->free_reqs = &c->reqs[i];
	}
}

void req_fini(struct client *c)
{
	sched_forget(c);
	pages_free(c->reqs);
	c->reqs = NULL;
	c->free_reqs = NULL;
}

/*
 * req_release - give a finished request's slot back to its client. The
 * last one of a dead client or a closing flow lets the reaper free it.
 */
void req_release(struct req *r)
{
	struct client *c = r->c;

	r->next = c->free_reqs;
	c->free_reqs = r;
	c->inflight--;
	if (c->dead || r->f->state == FLOW_CLOSING)
		reap_schedule(c->d);
}
