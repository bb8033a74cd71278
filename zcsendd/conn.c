/* SPDX-License-Identifier: MIT */
/*
 * One client connection: reading and checking messages, writing replies
 * without ever blocking the loop, and tearing down once the kernel has let
 * go of everything the client had in flight.
 */
#include <sys/socket.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zcsd.h"
#include "service/access.h"

/* A client that leaves this much unread has stopped listening. */
#define OUTQ_MAX	(1u << 20)
/* Messages handled per wake-up, so one busy client cannot starve others. */
#define READ_BUDGET	32
/* File descriptors a client might (wrongly) attach to one message. */
#define FDS_MAX		16

static void conn_linger_cb(evutil_socket_t fd, short what, void *arg);
static void conn_hup_cb(evutil_socket_t fd, short what, void *arg);

/* Close every fd that came with a message: clients never send any. */
static int conn_drop_fds(struct msghdr *mh)
{
	struct cmsghdr *cm;
	int n = 0, i;

	for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		for (i = 0; (size_t)i * sizeof(int) <
			    cm->cmsg_len - CMSG_LEN(0); i++, n++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(fd));
			close(fd);
		}
	}
	return n;
}

/*
 * A SEQPACKET read of 0 bytes is either the peer's end of stream or an
 * empty packet; only the first leaves the socket hung up.
 */
static bool conn_hung_up(const struct client *c)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN | POLLRDHUP };

	return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP));
}

/*
 * Receive one message into d->rxbuf. Returns its length or -errno. Any
 * descriptor that came with it is closed first, whatever the outcome.
 */
static ssize_t conn_recv(struct client *c)
{
	union {
		char buf[CMSG_SPACE(FDS_MAX * sizeof(int))];
		struct cmsghdr align;
	} cmsg;
	struct iovec iov = { c->d->rxbuf, sizeof(c->d->rxbuf) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cmsg.buf, .msg_controllen = sizeof(cmsg.buf),
	};
	ssize_t n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

	if (n < 0)
		return -errno;
	if (conn_drop_fds(&mh) || (mh.msg_flags & MSG_CTRUNC))
		return -EBADMSG;
	if (n == 0)
		return conn_hung_up(c) ? -EPIPE : -EBADMSG;
	if (mh.msg_flags & MSG_TRUNC)
		return -EMSGSIZE;
	return n;
}

/*
 * Is the next message a SEND whose records do not fit the request slots
 * free now, though they would once completions free some? Then it stays
 * in the socket and the client is paused until they do (conn_resume), so
 * a client writing SEND after SEND blind is held by its socket at its
 * in-flight bound rather than answered -ENOBUFS for records that a
 * moment later would have had room. A SEND larger than the whole bound
 * is read: its excess fails, as PROTOCOL.md "Flow control" says.
 */
static bool conn_send_waits(struct client *c)
{
	uint32_t max = c->d->cfg.max_inflight, room = max - c->inflight;
	struct zcs_hdr h;
	size_t n;

	if (room >= ZCS_SEND_BATCH_MAX || !c->pool.size ||
	    recv(c->fd, &h, sizeof(h), MSG_PEEK | MSG_DONTWAIT) !=
	    (ssize_t)sizeof(h) || h.type != ZCS_MSG_SEND ||
	    h.len < sizeof(h))
		return false;
	n = zcs_send_count(&h);
	if (n <= room || n > max)
		return false;
	c->want_slots = (uint32_t)n;
	conn_pause(c);
	return true;
}

static void conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;
	ssize_t n;
	int i, err;

	for (i = 0; i < READ_BUDGET && !c->dead && !c->read_paused; i++) {
		if (conn_send_waits(c))
			break;
		n = conn_recv(c);
		if (n == -EAGAIN || n == -EINTR)
			break;
		if (n == -EPIPE || n == -ECONNRESET) {
			conn_kill(c, NULL);
			break;
		}
		if (n < 0) {
			conn_error(c, 0, 0, (int)n, "malformed message: %s",
				   n == -EBADMSG ? "empty, or carrying "
				   "descriptors" : strerror((int)-n));
			conn_kill(c, strerror((int)-n));
			break;
		}
		/* dispatch_msg() has answered; an error means goodbye. */
		err = dispatch_msg(c, c->d->rxbuf, (size_t)n);
		if (err) {
			conn_kill(c, strerror(-err));
			break;
		}
	}
	cqe_run(c->d);	/* one io_uring_enter for all that was read */
}

/* Write queued control replies, then batches that were waiting. */
static void conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;
	struct outmsg *m;

	unread_writable(c);
	while (!c->dead && (m = STAILQ_FIRST(&c->outq))) {
		if (send(c->fd, m->data, m->len, MSG_DONTWAIT | MSG_NOSIGNAL) <
		    0) {
			if (errno == EAGAIN) {
				conn_want_write(c);
				return;
			}
			conn_lost(c, -errno);
			return;
		}
		STAILQ_REMOVE_HEAD(&c->outq, entry);
		c->outq_bytes -= m->len;
		free(m);
	}
	if (!c->dead)
		deliver_flush_client(c);
}

/*
 * conn_new - take an accepted connection whose peer @p (credentials read
 * and allowed at accept) may connect, and start reading. Returns the
 * client, or NULL (logged) on failure.
 */
struct client *conn_new(struct zcsd *d, int fd, const struct peer *p)
{
	struct client *c;

	c = calloc(1, sizeof(*c) + (size_t)p->ngroups * sizeof(gid_t));
	if (!c) {
		log_warnx("out of memory for a client");
		return NULL;
	}
	c->d = d;
	c->fd = fd;
	c->pid = p->pid;
	c->uid = p->uid;
	c->gid = p->gid;
	c->ngroups = p->ngroups;
	if (p->ngroups)
		memcpy(c->groups, p->groups, p->ngroups * sizeof(gid_t));
	c->id = ++d->next_client_id;
	c->weight = 1;		/* access.c sets the configured one */
	c->pool.memfd = -1;
	TAILQ_INIT(&c->flows);
	STAILQ_INIT(&c->outq);
	c->rev = event_new(d->base, fd, EV_READ | EV_PERSIST, conn_read_cb, c);
	c->wev = event_new(d->base, fd, EV_WRITE, conn_write_cb, c);
	c->hup = event_new(d->base, fd, EV_CLOSED, conn_hup_cb, c);
	c->linger = evtimer_new(d->base, conn_linger_cb, c);
	if (!c->rev || !c->wev || !c->hup || !c->linger || unread_init(c) ||
	    event_add(c->rev, NULL)) {
		log_warnx("cannot watch client pid %d", (int)c->pid);
		goto err_events;
	}
	TAILQ_INSERT_TAIL(&d->clients, c, entry);
	d->nconns++;
	log_at(LOG_DEBUG, &(struct log_about){ .client = true, .pid = c->pid,
					      .uid = c->uid }, 0,
	       "client %u connected: pid %d uid %u", c->id, (int)c->pid,
	       (unsigned)c->uid);
	return c;
err_events:
	if (c->rev)
		event_free(c->rev);
	if (c->wev)
		event_free(c->wev);
	if (c->hup)
		event_free(c->hup);
	if (c->linger)
		event_free(c->linger);
	unread_stop(c);
	free(c);
	return NULL;
}

/*
 * conn_free - free a dead client that owes nothing: its flows are gone and
 * no op of its is in the kernel. Only the reaper calls it.
 */
void conn_free(struct client *c)
{
	struct zcsd *d = c->d;

	shring_free(c);
	pool_close(c);
	req_fini(c);
	event_free(c->rev);
	event_free(c->wev);
	event_free(c->hup);
	event_free(c->linger);
	TAILQ_REMOVE(&d->clients, c, entry);
	d->nconns--;
	log_debug("client %u freed", c->id);
	free(c);
}

/*
 * linger_ms after a client died, sends of its that the kernel still holds
 * are stuck behind a peer that does not read: abort those connections so
 * the kernel drops what it queued and lets go of the pages.
 */
static void conn_linger_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;
	struct flow *f;

	log_info("client %u: %u sends still in the kernel after %u ms, "
		 "aborting its TCP connections", c->id, c->inflight,
		 c->d->cfg.linger_ms);
	TAILQ_FOREACH(f, &c->flows, entry)
		flow_abort(f);
}

static void conn_log_exit(const struct client *c, const char *why)
{
	struct log_about a = about_client(c, why ? LOG_ID_CLIENT_DROPPED
						 : NULL);

	if (why)
		log_at(LOG_WARNING, &a, 0, "dropping client %u (pid %d uid "
		       "%u): %s", c->id, (int)c->pid, (unsigned)c->uid, why);
	else if (c->pool.size)
		log_at(LOG_INFO, &a, 0, "client %u (%s pid %d uid %u) left "
		       "after %llu sends, %llu bytes", c->id, c->name,
		       (int)c->pid, (unsigned)c->uid,
		       (unsigned long long)c->st.sends,
		       (unsigned long long)c->st.bytes);
	else
		log_at(LOG_DEBUG, &a, 0, "client %u disconnected", c->id);
}

/*
 * conn_kill - the client is gone or misbehaved: close its socket and stop
 * everything it asked for that has not reached the kernel. It is only
 * marked dead: callers may go on using @c, and the reaper frees it once
 * the kernel has returned every op (aborted after linger_ms).
 * @why: logged when the client did not simply disconnect.
 */
void conn_kill(struct client *c, const char *why)
{
	struct timeval tv = timeval_ms(c->d->cfg.linger_ms);
	struct outmsg *m;
	struct flow *f;

	if (c->dead)
		return;
	conn_log_exit(c, why);
	c->dead = true;
	event_del(c->rev);
	event_del(c->wev);
	event_del(c->hup);
	unread_stop(c);
	shring_stop(c);
	/*
	 * systemd's fd store may hold a copy of the socket: out of it, and
	 * shut down, so the client sees EOF now rather than when the last
	 * copy goes.
	 */
	fdstore_remove_client(c->d, c);
	shutdown(c->fd, SHUT_RDWR);
	close(c->fd);
	c->fd = -1;
	while ((m = STAILQ_FIRST(&c->outq))) {
		STAILQ_REMOVE_HEAD(&c->outq, entry);
		free(m);
	}
	c->outq_bytes = 0;
	TAILQ_FOREACH(f, &c->flows, entry)
		flow_kill(f);
	if ((c->inflight || c->cqes_owed) && evtimer_add(c->linger, &tv))
		log_warnx("client %u: no linger timer: stuck sends stay "
			  "until their peer reads", c->id);
	reap_add(c);
}

/*
 * conn_lost - a write to the client failed with @err. A client that
 * closed its end (EPIPE, ECONNRESET) simply left; anything else is
 * worth a warning.
 */
void conn_lost(struct client *c, int err)
{
	if (err == -EPIPE || err == -ECONNRESET)
		conn_kill(c, NULL);
	else
		conn_kill(c, strerror(-err));
}

static int conn_queue(struct client *c, const void *msg, size_t len)
{
	struct outmsg *m;

	if (c->outq_bytes + len > OUTQ_MAX)
		return -ENOBUFS;
	m = malloc(sizeof(*m) + len);
	if (!m)
		return -ENOMEM;
	m->len = (uint32_t)len;
	memcpy(m->data, msg, len);
	STAILQ_INSERT_TAIL(&c->outq, m, entry);
	c->outq_bytes += (uint32_t)len;
	conn_want_write(c);
	return 0;
}

/* Descriptors one message may carry: the ring memfd and two eventfds. */
#define SEND_FDS_MAX	3

static ssize_t conn_sendmsg(struct client *c, const void *msg, size_t len,
			    const int *fds, unsigned nfds)
{
	union {
		char buf[CMSG_SPACE(SEND_FDS_MAX * sizeof(int))];
		struct cmsghdr align;
	} cmsg;
	struct iovec iov = { (void *)(uintptr_t)msg, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	if (nfds) {
		memset(&cmsg, 0, sizeof(cmsg));
		mh.msg_control = cmsg.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	}
	return sendmsg(c->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/*
 * conn_send_fds - write one whole message carrying @nfds descriptors
 * (at most 3) in one SCM_RIGHTS. Such a message is only sent right after
 * HELLO, when nothing is queued, so it never waits: a full socket then
 * drops the client. Returns 0, or -errno after which the client has been
 * killed.
 */
int conn_send_fds(struct client *c, const void *msg, size_t len,
		  const int *fds, unsigned nfds)
{
	int err;

	if (c->dead)
		return -EPIPE;
	if (nfds > SEND_FDS_MAX) {
		log_warnx("client %u: %u descriptors in one message", c->id,
			  nfds);
		return -EINVAL;
	}
	if (nfds == 0)
		return conn_send(c, msg, len);
	if (conn_sendmsg(c, msg, len, fds, nfds) >= 0)
		return 0;
	err = -errno;
	conn_lost(c, err);
	return err;
}

/*
 * conn_send - write one whole message. When the socket is full the
 * message is queued in order. Returns 0, or -errno after which the client
 * has been killed.
 */
int conn_send(struct client *c, const void *msg, size_t len)
{
	int err;

	if (c->dead)
		return -EPIPE;
	if (STAILQ_EMPTY(&c->outq)) {
		if (conn_sendmsg(c, msg, len, NULL, 0) >= 0)
			return 0;
		if (errno != EAGAIN) {
			err = -errno;
			conn_lost(c, err);
			return err;
		}
	}
	err = conn_queue(c, msg, len);
	if (err)
		conn_kill(c, "not reading its replies");
	return err;
}

/* conn_reply - a header and payload as one message. */
int conn_reply(struct client *c, uint16_t type, uint64_t cookie,
	       const void *payload, size_t len)
{
	uint8_t msg[sizeof(struct zcs_hdr) + sizeof(struct zcs_status_dest)];
	struct zcs_hdr h;

	if (len > sizeof(msg) - sizeof(h))
		return -EMSGSIZE;
	zcs_hdr_init(&h, type, len, cookie);
	memcpy(msg, &h, sizeof(h));
	if (len)
		memcpy(msg + sizeof(h), payload, len);
	return conn_send(c, msg, sizeof(h) + len);
}

/*
 * conn_error_raw - one ZCS_MSG_ERROR (cookie 0) on a connection that has
 * no client (yet, or any more): refused at accept, or not carried across
 * a restart. Never waits: a full socket learns from the close alone.
 * Returns 0 or -errno.
 */
int conn_error_raw(int fd, uint16_t req_type, int err, const char *text)
{
	uint8_t msg[sizeof(struct zcs_hdr) + sizeof(struct zcs_error)];
	struct zcs_error e;
	struct zcs_hdr h;

	memset(&e, 0, sizeof(e));
	e.err = err;
	e.req_type = req_type;
	snprintf(e.msg, sizeof(e.msg), "%s", text);
	zcs_hdr_init(&h, ZCS_MSG_ERROR, sizeof(e), 0);
	memcpy(msg, &h, sizeof(h));
	memcpy(msg + sizeof(h), &e, sizeof(e));
	if (send(fd, msg, sizeof(msg), MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		return -errno;
	return 0;
}

/* conn_error - answer a request with ZCS_MSG_ERROR and a reason. */
int conn_error(struct client *c, uint16_t req_type, uint64_t cookie, int err,
	       const char *fmt, ...)
{
	struct zcs_error e;
	va_list ap;

	memset(&e, 0, sizeof(e));
	e.err = err;
	e.req_type = req_type;
	va_start(ap, fmt);
	vsnprintf(e.msg, sizeof(e.msg), fmt, ap);
	va_end(ap);
	return conn_reply(c, ZCS_MSG_ERROR, cookie, &e, sizeof(e));
}

/*
 * A paused client hung up. Its sends may never complete (a TCP peer that
 * does not read), so nothing would resume reading and see the EOF: it is
 * gone now, and linger_ms starts.
 */
static void conn_hup_cb(evutil_socket_t fd, short what, void *arg)
{
	conn_kill(arg, NULL);
}

/*
 * conn_pause - @c is at its in-flight bound: read nothing more from it
 * until completions free room, but still notice when it hangs up.
 */
void conn_pause(struct client *c)
{
	if (c->read_paused || c->dead)
		return;
	c->read_paused = true;
	event_del(c->rev);
	if (event_add(c->hup, NULL))
		log_warnx("client %u: cannot watch for its hang-up while it "
			  "waits for completions", c->id);
}

/*
 * conn_resume - read again once completions freed in-flight room (for
 * the SEND waiting in the socket, conn_send_waits) and the scheduler took
 * what waited (sched_full); never while draining, when no
 * new request is read.
 */
void conn_resume(struct client *c)
{
	if (!c->read_paused || c->dead || c->d->draining ||
	    c->inflight + c->want_slots > c->d->cfg.max_inflight ||
	    c->inflight >= c->d->cfg.max_inflight || sched_full(c))
		return;
	c->read_paused = false;
	c->want_slots = 0;
	event_del(c->hup);
	if (event_add(c->rev, NULL))
		conn_kill(c, "cannot watch socket");
}

/* conn_want_write - replies wait: write them when the socket takes them. */
void conn_want_write(struct client *c)
{
	if (c->dead)
		return;
	if (event_add(c->wev, NULL)) {
		conn_kill(c, "cannot watch socket");
		return;
	}
	unread_watch(c);
}

/*
 * conn_count - for status and STATUS=: clients holding a pool (a dead one
 * holds its place until it is freed), and sends in flight.
 */
void conn_count(const struct zcsd *d, uint32_t *clients, uint32_t *inflight)
{
	const struct client *c;

	*clients = 0;
	*inflight = 0;
	TAILQ_FOREACH(c, &d->clients, entry) {
		*clients += c->pool.size != 0;
		*inflight += c->inflight;
	}
}

/* How long the exit waits for the kernel to return aborted sends. */
#define EXIT_WAIT_MS	2000

/*
 * conn_free_all - at exit, once the drain is over or given up: kill every
 * client and end what the kernel still holds for them (TCP connections
 * aborted, since nobody lingers now, and every op cancelled), handling the
 * CQEs that brings for up to EXIT_WAIT_MS so the reaper frees the clients
 * the usual way. Should the kernel keep some, the ring is closed and the
 * reaper frees those without their CQEs (ring_close says why that is
 * safe). Either way nothing is left.
 */
void conn_free_all(struct zcsd *d)
{
	uint64_t end = now_ms() + EXIT_WAIT_MS, t;
	struct client *c;
	struct flow *f;

	TAILQ_FOREACH(c, &d->clients, entry) {
		conn_kill(c, NULL);
		TAILQ_FOREACH(f, &c->flows, entry)
			flow_abort(f);
	}
	if (!TAILQ_EMPTY(&d->clients) && ring_cancel_all(d))
		log_warnx("cannot cancel the sends left in the kernel");
	reap_now(d);
	while (!TAILQ_EMPTY(&d->clients) && (t = now_ms()) < end) {
		cqe_wait(d, (unsigned)(end - t));
		reap_now(d);
	}
	if (!TAILQ_EMPTY(&d->clients))
		log_warnx("the kernel still holds sends after %u ms: closing "
			  "the ring", EXIT_WAIT_MS);
	ring_close(d);
	reap_now(d);
}
