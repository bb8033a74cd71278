/* SPDX-License-Identifier: MIT */
/*
 * A client's request slots: max_inflight of them, taken by intake and
 * given back once their completion is delivered (or nobody will read it).
 * No allocation per send.
 */
#include <errno.h>

#include "sched/sched.h"

/*
 * req_init - the client's request slots, as many as it may have in
 * flight: their own pages (pages.c says why). Returns 0 or -ENOMEM.
 */
int req_init(struct client *c)
{
	uint32_t i, n = c->d->cfg.max_inflight;

	c->reqs = pages_calloc(n, sizeof(*c->reqs));
	if (!c->reqs)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		c->reqs[i].next = c->free_reqs;
		c->free_reqs = &c->reqs[i];
	}
	req_list_init(&c->sched);
	return 0;
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
