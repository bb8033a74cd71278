/* SPDX-License-Identifier: MIT */
/*
 * Intake: each SEND record, from a SEND message or a client's submission
 * ring, is copied out, checked against the client's pool and flows, and
 * takes one of the client's request slots (req.c) on its scheduling
 * queue. Bad records get an error completion, sent
 * back the way they came, and never reach the kernel.
 */
#include <errno.h>
#include <string.h>

#include "sched/sched.h"

/* Error completions gathered while walking one SEND message. */
#define ERR_BATCH	128

struct intake_errs {
	struct zcs_msg_completion v[ERR_BATCH];
	uint32_t n;
	enum intake_src src;
};

/* Error completions go back the way their records came. */
static void intake_errs_flush(struct client *c, struct intake_errs *e)
{
	if (!e->n)
		return;
	deliver_errors(c, e->v, e->n);
	e->n = 0;
}

static void intake_err(struct client *c, struct intake_errs *e, uint64_t tag,
		       int err)
{
	e->v[e->n].tag = tag;
	e->v[e->n].result = err;
	e->v[e->n].flags = 0;
	c->st.errors++;
	c->d->st.errors++;
	if (++e->n == ERR_BATCH)
		intake_errs_flush(c, e);
}

/* Check one record; 0 with *fp set, or the error its completion says. */
static int intake_check(struct client *c, const struct zcs_msg_send *s,
			struct flow **fp)
{
	int err = zcs_send_check(s);

	if (err)
		return err;
	err = flow_lookup(c, s->flow, fp);
	if (err)
		return err;
	if ((*fp)->err)
		return (*fp)->err;	/* a broken TCP stream stays broken */
	if (zcs_range_check(s->offset, s->len, c->pool.size))
		return -ERANGE;
	if (s->len > c->d->cfg.max_send_bytes)
		return -EMSGSIZE;
	return udpseg_check(*fp, s);
}

/* A request slot for valid record @s on @f, or -ENOBUFS. */
static int intake_take(struct client *c, struct flow *f,
		       const struct zcs_msg_send *s)
{
	struct req *r = c->free_reqs;

	if (!r)
		return -ENOBUFS;
	c->free_reqs = r->next;
	memset(r, 0, sizeof(*r));
	r->c = c;
	r->f = f;
	r->tag = s->tag;
	r->off = s->offset;
	r->len = s->len;
	if (f->dest->proto == ZCS_PROTO_TCP) {
		r->kind = REQ_TCP;
	} else if (s->flags & ZCS_SEND_F_SEGMENT) {
		r->kind = REQ_GSO_SEGMENT;
		r->segment = (uint16_t)s->segment;
	}
	c->inflight++;
	f->inflight++;
	sched_put(c, r);
	return 0;
}

/*
 * intake_begin - may @c send at all? It needs a pool, and its first send
 * seals and pins the pool (pool_pin). Answers a refusal with an ERROR
 * naming SEND and @cookie. Returns 0, or -errno: the client must be
 * dropped.
 */
int intake_begin(struct client *c, uint64_t cookie)
{
	int err;

	if (!c->pool.size) {
		conn_error(c, ZCS_MSG_SEND, cookie, -EPROTO,
			   "SEND on a connection without a pool");
		return -EPROTO;
	}
	err = pool_pin(c);
	if (err)
		conn_error(c, ZCS_MSG_SEND, cookie, err, "pool not usable: %s",
			   strerror(-err));
	return err;
}

/*
 * intake_records - @n records, from a SEND message or copied out of the
 * client's submission ring (@src), after intake_begin(). Bad records get
 * an error completion and send nothing; the rest go on the client's
 * queue, which the scheduler submits as its share allows (sched_run() now,
 * the rest in later turns), and leave with the caller's cqe_run(). Returns 0 (errors go to the client).
 */
int intake_records(struct client *c, const uint8_t *payload, size_t n,
		   enum intake_src src)
{
	struct intake_errs errs = { .n = 0, .src = src };
	struct zcs_msg_send s;
	struct flow *f;
	uint32_t i;
	int err;

	sched_clock(c->d);	/* once for the batch: sched_put() stamps */
	for (i = 0; i < n && !c->dead; i++) {
		memcpy(&s, payload + i * sizeof(s), sizeof(s));
		err = intake_check(c, &s, &f);
		if (!err)
			err = intake_take(c, f, &s);
		if (err)
			intake_err(c, &errs, s.tag, err);
	}
	sched_run(c);
	intake_errs_flush(c, &errs);
	/* Completions, or the scheduler taking what waits, resume it. */
	if (c->inflight >= c->d->cfg.max_inflight ||
	    (src == INTAKE_SOCKET && sched_full(c)))
		conn_pause(c);
	return 0;
}
