/* SPDX-License-Identifier: MIT */
/*
 * Flows: a client's channel to a destination. Flow ids are daemon-wide (an
 * index into one table plus a generation), so a stale id or another
 * client's id is recognised and refused rather than reaching the wrong
 * flow. A TCP flow owns its connection, made with an io_uring connect
 * bounded by a linked timeout; FLOW_OK is sent once it is up.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "zcsd.h"

#define FLOW_INDEX_BITS	20
#define FLOW_INDEX_MASK	((1u << FLOW_INDEX_BITS) - 1)
#define FLOW_GEN_MASK	0xfffu

/*
 * flow_table_init - room for every client's every flow.
 * Returns 0 or -ENOMEM.
 */
int flow_table_init(struct zcsd *d)
{
	uint64_t n = (uint64_t)d->cfg.max_clients * d->cfg.max_flows;

	if (n > FLOW_INDEX_MASK + 1u)
		n = FLOW_INDEX_MASK + 1u;
	d->flow_table = calloc(n, sizeof(*d->flow_table));
	if (!d->flow_table)
		return -ENOMEM;
	d->flow_table_size = (uint32_t)n;
	return 0;
}

static int flow_id_alloc(struct zcsd *d, struct flow *f)
{
	uint32_t i, idx;

	for (i = 0; i < d->flow_table_size; i++) {
		idx = (d->nflows + i) % d->flow_table_size;
		if (!d->flow_table[idx])
			break;
	}
	if (i == d->flow_table_size)
		return -ENFILE;
	d->flow_gen = (d->flow_gen + 1) & FLOW_GEN_MASK;
	if (!d->flow_gen)
		d->flow_gen = 1;	/* so no id is ever 0 */
	f->id = idx | d->flow_gen << FLOW_INDEX_BITS;
	d->flow_table[idx] = f;
	d->nflows++;
	return 0;
}

/* Take the id out of the table: new sends naming it now fail. */
static void flow_id_release(struct zcsd *d, struct flow *f)
{
	uint32_t idx = f->id & FLOW_INDEX_MASK;

	if (f->id && d->flow_table[idx] == f) {
		d->flow_table[idx] = NULL;
		d->nflows--;
	}
}

static void flow_batch_cb(evutil_socket_t fd, short what, void *arg)
{
	deliver_flush(arg);
}

/* A new flow of @c to @dst in *@out. Returns 0, -ENOMEM or -ENFILE. */
static int flow_new(struct client *c, struct dest *dst, struct flow **out)
{
	struct flow *f = calloc(1, sizeof(*f));
	int err = -ENOMEM;

	if (!f)
		return -ENOMEM;
	f->batch_timer = evtimer_new(c->d->base, flow_batch_cb, f);
	if (!f->batch_timer || (err = flow_id_alloc(c->d, f))) {
		if (f->batch_timer)
			event_free(f->batch_timer);
		free(f);
		return err;
	}
	f->c = c;
	f->dest = dst;
	f->fd = -1;
	req_list_init(&f->queue);
	req_list_init(&f->chain);
	req_list_init(&f->batch);
	TAILQ_INSERT_TAIL(&c->flows, f, entry);
	c->nflows++;
	*out = f;
	return 0;
}

/*
 * Mark @f closing: its id goes at once, so no new send can name it; the
 * reaper frees it once nothing of it is taken or in the kernel.
 */
static void flow_set_closing(struct flow *f)
{
	struct zcsd *d = f->c->d;

	flow_id_release(d, f);
	if (f->state == FLOW_CLOSING)
		return;
	f->state = FLOW_CLOSING;
	f->c->closing_flows++;
	reap_add(f->c);
}

static int flow_tcp_socket(struct flow *f)
{
	int one = 1;

	f->fd = socket(f->dest->sa.ss_family,
		       SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (f->fd < 0)
		return -errno;
	/* Requests are whole messages: do not hold back a short tail. */
	setsockopt(f->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return 0;
}

/*
 * Queue the connect, linked to a timeout so a silent peer cannot hang it.
 * Room for both SQEs is checked before either is taken: a lone connect
 * left in the SQ would go out later, unlinked, for a flow long gone.
 */
static int flow_tcp_connect(struct flow *f)
{
	struct zcsd *d = f->c->d;
	struct io_uring_sqe *sqe, *tsqe;
	uint32_t ms = d->cfg.connect_timeout_ms;

	if (io_uring_sq_space_left(&d->ring.uring) < 2)
		ring_submit(d);
	if (io_uring_sq_space_left(&d->ring.uring) < 2)
		return -EBUSY;
	sqe = ring_sqe(d, f->c);
	tsqe = ring_sqe(d, f->c);
	io_uring_prep_connect(sqe, f->fd, (struct sockaddr *)&f->dest->sa,
			      f->dest->salen);
	io_uring_sqe_set_data64(sqe, (uintptr_t)f | UD_CONNECT);
	sqe->flags |= IOSQE_IO_LINK;
	f->connect_ts.tv_sec = ms / 1000;
	f->connect_ts.tv_nsec = (long long)(ms % 1000) * 1000000;
	io_uring_prep_link_timeout(tsqe, &f->connect_ts, 0);
	/* Its CQE comes whichever ends first; owed to the client. */
	io_uring_sqe_set_data64(tsqe, (uintptr_t)f->c | UD_CLIENT);
	f->connect_pending = true;
	ring_submit(d);	/* the timespec is read now, not later */
	return 0;
}

static int flow_reply_ok(struct flow *f)
{
	struct zcs_flow_ok ok;

	memset(&ok, 0, sizeof(ok));
	ok.flow = f->id;
	ok.proto = f->dest->proto;
	ok.max_send_bytes = f->c->d->cfg.max_send_bytes;
	if (f->dest->proto == ZCS_PROTO_UDP && ok.max_send_bytes > UDP_PAYLOAD_MAX)
		ok.max_send_bytes = UDP_PAYLOAD_MAX;
	ok.max_segment = f->dest->gso.max_segment;
	return conn_reply(f->c, ZCS_MSG_FLOW_OK, f->open_cookie, &ok,
			  sizeof(ok));
}

/*
 * flow_open - open a flow to @spec for client @c. A UDP flow is answered
 * at once; a TCP flow once connected (flow_connect_done). Returns 0, or
 * -errno for the caller to answer.
 */
int flow_open(struct client *c, const char *spec, uint64_t cookie)
{
	struct dest *dst;
	struct flow *f;
	int err;

	if (!c->pool.size)
		return -EPERM;
	if (c->nflows >= c->d->cfg.max_flows)
		return -EMFILE;
	err = dest_get(c->d, spec, &dst);
	if (err)
		return err;
	err = flow_new(c, dst, &f);
	if (err) {
		dest_put(c->d, dst);
		return err;
	}
	f->open_cookie = cookie;
	if (dst->proto == ZCS_PROTO_UDP) {
		f->fd = dst->udp_fd;
		f->state = FLOW_OPEN;
		gso_path_mtu(dst);	/* FLOW_OK tells the client */
		flow_reply_ok(f);
		return 0;
	}
	f->state = FLOW_CONNECTING;
	err = flow_tcp_socket(f);
	if (!err)
		err = flow_tcp_connect(f);
	if (err)
		flow_set_closing(f);
	return err;
}

/* flow_connect_done - the CQE of a TCP flow's connect. */
void flow_connect_done(struct flow *f, int res)
{
	struct client *c = f->c;

	f->connect_pending = false;
	if (c->dead || f->state == FLOW_CLOSING) {
		reap_schedule(c->d);	/* it was waiting for this CQE */
		return;
	}
	if (res == -ECANCELED)
		res = -ETIMEDOUT;	/* the linked timeout fired */
	if (res < 0) {
		conn_error(c, ZCS_MSG_FLOW_OPEN, f->open_cookie, res,
			   "connect to %s: %s", f->dest->address, strerror(-res));
		flow_set_closing(f);
		return;
	}
	f->state = FLOW_OPEN;
	flow_reply_ok(f);
}

/* Room in the table for a carried id, should the config have shrunk it. */
static int flow_table_fit(struct zcsd *d, uint32_t idx)
{
	struct flow **t;

	if (idx < d->flow_table_size)
		return 0;
	t = realloc(d->flow_table, ((size_t)idx + 1) * sizeof(*t));
	if (!t)
		return -ENOMEM;
	memset(t + d->flow_table_size, 0,
	       ((size_t)idx + 1 - d->flow_table_size) * sizeof(*t));
	d->flow_table = t;
	d->flow_table_size = idx + 1;
	return 0;
}

/* A carried TCP flow's socket: a connected stream of the right family. */
static int flow_adopt_check(const struct dest *dst, int fd)
{
	return sd_is_socket(fd, dst->sa.ss_family, SOCK_STREAM, -1) > 0
		       ? 0 : -EBADF;
}

/*
 * flow_adopt - a flow a hand-over carried: id @id to @dst (whose flows
 * already count it), failed with @err or open, on @fd for TCP (ours from
 * here on, whatever the outcome). Returns 0 or -errno.
 */
int flow_adopt(struct client *c, uint32_t id, struct dest *dst, int fd,
	       int32_t err)
{
	struct zcsd *d = c->d;
	uint32_t idx = id & FLOW_INDEX_MASK;
	struct flow *f;
	int ret = dst->proto == ZCS_PROTO_TCP ? flow_adopt_check(dst, fd) : 0;

	if (!ret)
		ret = flow_table_fit(d, idx);
	if (!ret && d->flow_table[idx])
		ret = -EEXIST;
	f = ret ? NULL : calloc(1, sizeof(*f));
	if (f && !(f->batch_timer = evtimer_new(d->base, flow_batch_cb, f))) {
		free(f);
		f = NULL;
	}
	if (!f) {
		if (fd >= 0)
			close(fd);
		dest_put(d, dst);
		return ret ? ret : -ENOMEM;
	}
	f->c = c;
	f->dest = dst;
	f->id = id;
	f->fd = dst->proto == ZCS_PROTO_TCP ? fd : dst->udp_fd;
	f->err = err;
	f->state = FLOW_OPEN;
	req_list_init(&f->queue);
	req_list_init(&f->chain);
	req_list_init(&f->batch);
	d->flow_table[idx] = f;
	d->nflows++;
	TAILQ_INSERT_TAIL(&c->flows, f, entry);
	c->nflows++;
	return 0;
}

/*
 * flow_lookup - the open flow @id of client @c.
 * Returns 0, -EBADF for no such flow, -EACCES for another client's flow.
 */
int flow_lookup(struct client *c, uint32_t id, struct flow **out)
{
	struct zcsd *d = c->d;
	uint32_t idx = id & FLOW_INDEX_MASK;
	struct flow *f;

	if (idx >= d->flow_table_size)
		return -EBADF;
	f = d->flow_table[idx];
	if (!f || f->id != id)
		return -EBADF;
	if (f->c != c)
		return -EACCES;
	if (f->state != FLOW_OPEN)
		return -EBADF;
	*out = f;
	return 0;
}

/*
 * flow_close - the client closes flow @id; what it queued still goes out.
 * Returns 0, -EBADF or -EACCES.
 */
int flow_close(struct client *c, uint32_t id)
{
	struct flow *f;
	int err = flow_lookup(c, id, &f);

	if (err)
		return err;
	flow_set_closing(f);
	return 0;
}

/* flow_kill - the client is gone: drop unsent work and undelivered
 * completions; sends in the kernel finish on their own. */
void flow_kill(struct flow *f)
{
	flow_set_closing(f);
	finish_fail_flow(f, -ECANCELED);
	deliver_drop(f);
}

/*
 * flow_abort - a dead client's sends are stuck behind a peer that does not
 * read. shutdown() would leave the queued data (and the client's pinned
 * pages) in place; disconnecting with AF_UNSPEC resets the connection and
 * drops the queue, so the kernel ends the sends and posts their
 * notifications.
 */
void flow_abort(struct flow *f)
{
	struct sockaddr sa = { .sa_family = AF_UNSPEC };
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (f->dest->proto != ZCS_PROTO_TCP || f->fd < 0)
		return;
	setsockopt(f->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	if (connect(f->fd, &sa, sizeof(sa)))
		log_warn("flow %u: aborting the connection", f->id);
}

/* flow_free - free a closing flow that owes nothing. Only the reaper
 * calls it. */
void flow_free(struct flow *f)
{
	struct client *c = f->c;
	struct zcsd *d = c->d;

	if (f->dest->proto == ZCS_PROTO_TCP && f->fd >= 0)
		close(f->fd);
	if (f->sq_wait)
		TAILQ_REMOVE(&d->sq_waiters, f, sq_entry);
	dest_put(d, f->dest);
	event_free(f->batch_timer);
	TAILQ_REMOVE(&c->flows, f, entry);
	c->nflows--;
	c->closing_flows--;
	free(f);
}
