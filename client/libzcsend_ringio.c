/* SPDX-License-Identifier: MIT */
/*
 * libzcsend ring transport: flushing queued SEND records into the SQ,
 * collecting completions from the CQ, and waiting for them, first by
 * spinning (at most spin_usec, and only while the daemon is seen running)
 * and then by sleeping on the client eventfd and the socket (which still
 * carries control replies, errors and EOF).
 * Sleeping is set-WAITING, fence, re-check (PROTOCOL.md "Sleep"), so no
 * wake-up is lost; every wake-up of the daemon is one it asked for.
 */
#include <sys/epoll.h>
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "libzcsend_int.h"
#include "zcs_ring.h"

#define POP_BATCH	64u	/* completions copied out per ring read */
#define ROOM_NAP_MS	1	/* re-check the SQ this often while it is full */

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* After publishing SQ records or CQ room: wake the daemon if it sleeps. */
static int wake_daemon(struct zcs_client *c)
{
	int err;

	if (!zcsi_ring_wake_needed(c->rings->r.ctl))
		return 0;
	err = zcsi_evfd_write(c->rings->evfd_daemon);
	return err ? zcsi_fail(c, err) : 0;
}

/*
 * We are awake: take WAITING back and empty our eventfd, whoever wrote
 * it. A daemon that took WAITING may write just after our read; that
 * leaves one spurious wake-up, which the next disarm absorbs.
 */
static void disarm(struct zcsi_rings *rs)
{
	uint64_t v;

	if (!rs->armed)
		return;
	rs->armed = 0;
	zcsi_ring_clear_waiting(rs->r.ctl);
	while (read(rs->evfd_client, &v, sizeof(v)) < 0 && errno == EINTR)
		;
}

/*
 * zcsi_ring_collect - move every completion waiting in the CQ into the
 * handle's buffer (which has room: completions never exceed sends), and
 * give the daemon the room back. Returns the count, or -errno.
 */
int zcsi_ring_collect(struct zcs_client *c)
{
	struct zcs_msg_completion recs[POP_BATCH];
	struct zcsi_rings *rs = c->rings;
	int n, total = 0, err;

	if (c->err)
		return c->err;
	disarm(rs);
	while ((n = zcsi_ring_pop(&rs->r, recs, POP_BATCH)) > 0) {
		err = zcsi_take_completions(c, recs, (size_t)n);
		if (err)
			return err;
		total += n;
	}
	if (n < 0)
		return zcsi_fail(c, n);
	/* The daemon may be asleep waiting for CQ room. */
	err = total ? wake_daemon(c) : 0;
	return err ? err : total;
}

/* Something to do without sleeping: completions, or SQ room for the
 * records still queued. Returns 1, 0, or -EPROTO. */
static int ring_ready(const struct zcs_client *c)
{
	const struct zcsi_ring *r = &c->rings->r;
	int n = zcsi_ring_cq_ready(r);

	if (n == 0 && c->queued)
		n = zcsi_ring_sq_room(r);
	return n < 0 ? n : n > 0;
}

/*
 * zcsi_ring_sleep - collect the CQ; if it was empty, set WAITING, fence,
 * re-check, and only then sleep in epoll on the client eventfd and the
 * socket, for up to @timeout_ms. Returns a mask of (1u << ZCSI_EP_*) for
 * what is ready (the eventfd bit also when completions were found), 0 on
 * timeout or a signal, or -errno.
 */
int zcsi_ring_sleep(struct zcs_client *c, int timeout_ms)
{
	struct zcsi_rings *rs = c->rings;
	struct epoll_event ev[2];
	int n, i, mask = 0;

	n = zcsi_ring_collect(c);
	if (n)
		return n < 0 ? n : 1 << ZCSI_EP_EVENTFD;
	rs->armed = 1;
	zcsi_ring_set_waiting(rs->r.ctl);
	n = ring_ready(c);
	if (n < 0)
		return zcsi_fail(c, n);
	if (n == 0)
		n = epoll_wait(c->wake->epfd, ev, 2, timeout_ms);
	else
		ev[0].data.u32 = ZCSI_EP_EVENTFD;
	if (n < 0)
		return errno == EINTR ? 0 : zcsi_fail(c, -errno);
	for (i = 0; i < n && i < 2; i++)
		mask |= 1 << (ev[i].data.u32 & 1);
	n = zcsi_ring_collect(c);
	if (n < 0)
		return n;
	return mask | (n ? 1 << ZCSI_EP_EVENTFD : 0);
}

/* Sleep once; a socket that woke us is read (error, EOF, a COMPLETE for
 * socket sends). Returns 0 or -errno. */
static int sleep_once(struct zcs_client *c, int timeout_ms)
{
	int ev = zcsi_ring_sleep(c, timeout_ms);

	if (ev > 0 && (ev & (1 << ZCSI_EP_SOCKET)))
		return zcsi_drain(c);
	return ev < 0 ? ev : 0;
}

/*
 * Spin on the CQ, at most spin_usec (less if @timeout_ms is shorter), and
 * only while it pays: while the daemon's beat moves (it is awake and
 * turning, so the completion is coming; counted from our start, as we
 * just submitted) and while the host has a core to spare for each of us
 * beside the other runnable tasks (zcs_spare_cpu). Otherwise we stop at
 * once and sleep, leaving the core to whoever needs it, the daemon
 * included. Our own beat tells the daemon that we wait (PROTOCOL.md,
 * "Waiting"). Returns the completions collected, or -errno.
 */
static int spin(struct zcs_client *c, int timeout_ms)
{
	struct zcsi_ring *r = &c->rings->r;
	uint64_t usec = c->spin_usec, end, t;
	struct zcs_ring_pulse daemon;
	int n;

	if (timeout_ms >= 0 && (uint64_t)timeout_ms * 1000 < usec)
		usec = (uint64_t)timeout_ms * 1000;
	if (!usec)
		return 0;
	t = now_ns();
	end = t + usec * 1000;
	daemon.seen = zcs_ring_peek(&r->ctl->daemon_beat);
	daemon.moved_ns = t;
	do {
		n = zcsi_ring_cq_ready(r);
		if (n)
			return n < 0 ? zcsi_fail(c, n) : zcsi_ring_collect(c);
		zcs_ring_beat(&r->ctl->client_beat);
		cpu_relax();
		t = now_ns();
	} while (t < end && zcs_ring_pulse_read(&daemon, &r->ctl->daemon_beat,
						t, ZCS_RING_BEAT_STALL_NS) &&
		 zcs_spare_cpu(&c->rings->spare, t, 2));
	return 0;
}

/*
 * zcsi_ring_wait - zcs_reap()'s wait in ring mode: until a completion is
 * buffered, @timeout_ms passes, or nothing is in flight.
 * Returns 0 or -errno.
 */
int zcsi_ring_wait(struct zcs_client *c, int timeout_ms)
{
	int64_t deadline = zcsi_deadline(timeout_ms);
	int left, err;

	if (c->cq_count || !c->sent || c->err)
		return c->err;
	err = spin(c, timeout_ms);
	while (err >= 0 && !c->cq_count && c->sent && !c->err) {
		left = zcsi_remaining(deadline);
		if (left == 0)
			break;
		err = sleep_once(c, left);
	}
	return err < 0 ? err : c->err;
}

/*
 * The SQ is full: give the daemon CQ room (it may be stuck on it), then
 * wait. Nothing signals SQ room (the daemon wakes us for completions
 * only, and those may be held up, e.g. by a TCP peer that does not
 * read), so sleep in naps of ROOM_NAP_MS, woken early by completions.
 */
static int room_wait(struct zcs_client *c)
{
	int n, err;

	err = spin(c, -1);
	while (err >= 0 && !c->err) {
		n = zcsi_ring_sq_room(&c->rings->r);
		if (n)
			return n < 0 ? zcsi_fail(c, n) : 0;
		err = sleep_once(c, ROOM_NAP_MS);
	}
	return err < 0 ? err : c->err;
}

/*
 * zcsi_ring_sync - wait until the daemon has taken every SEND record we
 * published. The rings and the socket are separate channels, and the
 * daemon may read a FLOW_CLOSE before records written earlier, which
 * would then fail with -EBADF; a control request therefore waits for the
 * SQ to drain. Nothing signals that, so sleep in short naps, collecting
 * completions meanwhile (they free the daemon's quota to take more).
 * Returns 0 or -errno.
 */
int zcsi_ring_sync(struct zcs_client *c)
{
	int n, err;

	err = zcsi_ring_flush(c);
	while (!err) {
		n = zcsi_ring_sq_room(&c->rings->r);
		if (n < 0)
			return zcsi_fail(c, n);
		if ((uint32_t)n == c->rings->r.sq_entries)
			return 0;
		err = sleep_once(c, ROOM_NAP_MS);
	}
	return err;
}

/*
 * zcsi_ring_flush - zcs_flush() in ring mode: write the queued records
 * into the SQ, publishing as they fit and waiting for room as a full
 * socket would make us wait. Records left on error stay queued, in order.
 * The caller parks (zcsi_wake_park) before it returns to the application.
 * Returns 0 or -errno.
 */
int zcsi_ring_flush(struct zcs_client *c)
{
	const size_t rec = sizeof(struct zcs_msg_send);
	unsigned char *recs = c->txbuf + sizeof(struct zcs_hdr);
	unsigned done = 0;
	int n, err = 0;

	while (done < c->queued && !err) {
		n = zcsi_ring_push(&c->rings->r, recs + done * rec,
				   c->queued - done);
		if (n < 0)
			return zcsi_fail(c, n);
		done += (unsigned)n;
		c->sent += (unsigned)n;
		err = n ? wake_daemon(c) : 0;
		if (!err && done < c->queued)
			err = room_wait(c);
	}
	if (done) {
		memmove(recs, recs + done * rec, (c->queued - done) * rec);
		c->queued -= done;
	}
	return err;
}

/*
 * zcsi_ring_park - before returning to a caller that sleeps on the fd of
 * zcs_get_fd(): make sure that fd will become readable when completions
 * wait. Set WAITING, fence, re-check; completions already there (in the
 * CQ or our buffer) get a wake-up of our own, which the next collect
 * absorbs. Returns 0 or -errno.
 */
int zcsi_ring_park(struct zcs_client *c)
{
	struct zcsi_rings *rs = c->rings;
	int n, err;

	if (!c->wake->exported || c->err || (!c->sent && !c->cq_count))
		return c->err;
	rs->armed = 1;
	n = c->cq_count;
	if (!n) {
		zcsi_ring_set_waiting(rs->r.ctl);
		n = zcsi_ring_cq_ready(&rs->r);
		if (n <= 0)
			return n < 0 ? zcsi_fail(c, n) : 0;
	}
	err = zcsi_evfd_write(rs->evfd_client);
	return err ? zcsi_fail(c, err) : 0;
}

/*
 * zcsi_ring_export - zcs_get_fd() was called: from now on every return
 * leaves the fd armed, and so does this one. @buffered completions in the
 * handle count as waiting. Errors of the self wake-up are left for the
 * next call to find (the eventfd is the daemon's to break).
 */
void zcsi_ring_export(struct zcsi_rings *rs, unsigned buffered)
{
	rs->armed = 1;
	zcsi_ring_set_waiting(rs->r.ctl);
	if (buffered || zcsi_ring_cq_ready(&rs->r))
		zcsi_evfd_write(rs->evfd_client);
}
