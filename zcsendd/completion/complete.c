/* SPDX-License-Identifier: MIT */
/*
 * A finished request: counted once, for its destination, its client and
 * the daemon, whichever way its completion goes back; zerocopy=auto hears
 * whether the kernel copied; then it waits in its flow's batch for
 * delivery (delivery/), or, for a dead client, gives its slot back.
 */
#include "zcsd.h"

static void stats_count(struct zcs_counters *st, const struct req *r)
{
	st->sends++;
	if (r->err) {
		st->errors++;
	} else {	/* sends = errors + zc_sends + copying sends */
		st->bytes += r->done;
		st->zc_sends += r->zc;
		st->zc_copied += r->copied;
	}
	st->datagrams += r->dgrams;
	st->gso_sends += r->gso_ops;
}

/*
 * complete_req - @r is finished: count it and queue its completion on its
 * flow's batch for delivery.
 */
void complete_req(struct req *r)
{
	struct flow *f = r->f;
	struct client *c = r->c;

	stats_count(&f->dest->st, r);
	stats_count(&c->st, r);
	stats_count(&c->d->st, r);
	if (r->zc && !r->err)
		zcauto_report(c->d, f->dest, r->copied);
	f->inflight--;
	if (c->dead) {
		req_release(r);	/* nobody will read its completion */
		return;
	}
	req_list_push(&f->batch, r);
	deliver_due(f);
}

