/* SPDX-License-Identifier: MIT */
/*
 * The destination's flush policy governs how often a client that sleeps
 * between reaps is woken. 1,024 TCP sends (zerocopy, so they complete as
 * the peer acknowledges them, a few at a time) with 64 in flight to a
 * `flush = immediate` destination, then to a `flush = batch, batch_max =
 * 32` one: with rings the batch client is woken at most 64 times (the
 * daemon's wake-ups), and fewer than under immediate; over the socket the
 * same holds for COMPLETE messages. A completion whose flow still has a
 * send in flight waits for batch_usec (200 ms), not much less and not
 * much more, in both transports.
 */
/* transports: socket ring */
#include <sys/socket.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "zcsend.h"

#define COUNT		1024
#define WINDOW		64
#define BATCH_MAX	32
#define BATCH_MS	200
#define POOL		(4u << 20)
#define BIG		(1u << 20)	/* a TCP send the peer holds up */

static struct th_daemon daemon_;

/* What a phase cost: the daemon's wake-ups and COMPLETE messages, and
 * the wake-ups its destination counted. */
struct cost {
	uint64_t wakeups;
	uint64_t msgs;
	uint64_t dest_wakeups;
};

/* STATUS: the daemon's totals, and destination @name's wake-ups. */
static void daemon_cost(const char *name, struct cost *out)
{
	static unsigned char buf[sizeof(struct zcs_status_dest) * 2];
	struct zcs_status_daemon sd;
	struct zcs_status_dest dst;
	struct th_raw r;
	struct zcs_hdr h;
	int n;

	memset(out, 0, sizeof(*out));
	TH_EQ(th_raw_connect(&r, daemon_.sock), 0);
	TH_EQ(th_raw_hello(&r, 0, "wake-status"), 0);
	TH_EQ(th_raw_send_msg(&r, ZCS_MSG_STATUS, ZCS_PROTO_VERSION, NULL, 0),
	      0);
	do {
		n = th_raw_recv(&r, &h, buf, sizeof(buf), NULL, 5000);
		TH_CHECK(n >= 0, "status: %s", strerror(-n));
		if (h.type == ZCS_MSG_STATUS_DAEMON) {
			memcpy(&sd, buf, sizeof(sd));
			out->wakeups = sd.rings.wakeups_out;
			out->msgs = sd.st.completion_msgs;
			TH_EQ(sd.st.wakeups, sd.rings.wakeups_out);
		} else if (h.type == ZCS_MSG_STATUS_DEST) {
			memcpy(&dst, buf, sizeof(dst));
			if (!strcmp(dst.name, name))
				out->dest_wakeups = dst.st.wakeups;
		}
	} while (h.type != ZCS_MSG_STATUS_END);
	th_raw_close(&r);
}

static int transport_is_ring(void)
{
	const char *t = getenv("ZCSEND_TRANSPORT");

	return !t || strcmp(t, "socket") != 0;
}

static struct zcs_client *client_open(void)
{
	struct zcs_client *c;
	int err = zcs_connect(daemon_.sock, POOL, &c);

	TH_CHECK(err == 0, "connect: %s", strerror(-err));
	/* Sleep between reaps: a spinning client is never woken. */
	TH_EQ(zcs_set_spin_usec(c, 0), 0);
	return c;
}

/* One datagram of seq @seq; 0 when the pool or the quota is full. */
static int send_one(struct zcs_client *c, uint32_t flow, uint64_t seq,
		    void **bufs)
{
	size_t len = th_size(1, seq, 8192, 16384);
	void *buf;
	int ret = zcs_alloc(c, len, &buf);

	if (ret == -ENOMEM)
		return 0;
	TH_CHECK(ret == 0, "alloc: %s", strerror(-ret));
	th_rec_build(buf, len, 1, seq);
	ret = zcs_send(c, flow, buf, len, seq);
	if (ret == -EAGAIN) {
		TH_EQ(zcs_free(c, buf), 0);
		return 0;
	}
	TH_CHECK(ret == 0, "send: %s", strerror(-ret));
	bufs[seq] = buf;
	return 1;
}

/*
 * A TCP peer that reads in small steps with pauses between, as a slow
 * network would take the data: sends then complete a few at a time, as
 * they are acknowledged. It checks every record (th_rec) in order.
 */
struct paced {
	int lfd;
	pthread_t t;
	uint64_t records;
	char error[128];
};

static void paced_check(struct paced *pc, const unsigned char *rec)
{
	struct th_rec h;

	memcpy(&h, rec, sizeof(h));
	if (h.magic != TH_REC_MAGIC || h.client != 1 ||
	    h.seq != pc->records ||
	    h.csum != th_fnv1a(rec + sizeof(h), h.len - sizeof(h)))
		snprintf(pc->error, sizeof(pc->error), "record %llu: bad "
			 "(seq %llu, len %u)", (unsigned long long)pc->records,
			 (unsigned long long)h.seq, h.len);
	pc->records++;
}

static void *paced_main(void *arg)
{
	static unsigned char buf[1 << 16];
	struct paced *pc = arg;
	size_t have = 0;
	struct th_rec h;
	ssize_t n;
	int fd = accept(pc->lfd, NULL, NULL);

	while (fd >= 0 && !pc->error[0] &&
	       (n = read(fd, buf + have, 4096)) > 0) {
		have += (size_t)n;
		while (have >= sizeof(h)) {
			memcpy(&h, buf, sizeof(h));
			if (h.len < sizeof(h) || h.len > sizeof(buf) / 2) {
				snprintf(pc->error, sizeof(pc->error),
					 "record %llu: length %u",
					 (unsigned long long)pc->records, h.len);
				break;
			}
			if (have < h.len)
				break;
			paced_check(pc, buf);
			memmove(buf, buf + h.len, have - h.len);
			have -= h.len;
		}
		usleep(50);
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

/*
 * COUNT sends to destination @name (a TCP receiver checks every byte),
 * WINDOW in flight, reaping with a blocking zcs_reap whenever the window
 * is full. Returns what the daemon spent on waking us.
 */
static void stream(const char *name, struct paced *pc, struct cost *out)
{
	struct zcs_completion comp[WINDOW];
	static void *bufs[COUNT];
	struct zcs_client *c = client_open();
	uint64_t seq = 0, done = 0, end = th_now_ms() + 60000;
	struct cost c0, c1;
	uint32_t flow;
	int n, i;

	TH_EQ(pthread_create(&pc->t, NULL, paced_main, pc), 0);
	TH_EQ(zcs_flow_open(c, name, &flow), ZCS_PROTO_TCP);
	daemon_cost(name, &c0);
	while (done < COUNT) {
		TH_CHECK(th_now_ms() < end, "%s: %llu of %d completed after "
			 "60 s", name, (unsigned long long)done, COUNT);
		while (seq < COUNT && zcs_inflight(c) < WINDOW &&
		       send_one(c, flow, seq, bufs))
			seq++;
		n = zcs_reap(c, comp, WINDOW, 5000);
		TH_CHECK(n >= 0, "reap: %s", strerror(-n));
		for (i = 0; i < n; i++) {
			TH_CHECK(comp[i].tag < seq && bufs[comp[i].tag],
				 "unknown tag %llu",
				 (unsigned long long)comp[i].tag);
			TH_CHECK(comp[i].result > 0, "tag %llu: %d",
				 (unsigned long long)comp[i].tag,
				 comp[i].result);
			TH_EQ(zcs_free(c, bufs[comp[i].tag]), 0);
			bufs[comp[i].tag] = NULL;
		}
		done += (uint64_t)n;
	}
	daemon_cost(name, &c1);
	zcs_close(c);	/* the peer reads to EOF */
	TH_EQ(pthread_join(pc->t, NULL), 0);
	close(pc->lfd);
	TH_CHECK(!pc->error[0], "%s: %s", name, pc->error);
	TH_EQ(pc->records, COUNT);
	out->wakeups = c1.wakeups - c0.wakeups;
	out->msgs = c1.msgs - c0.msgs;
	out->dest_wakeups = c1.dest_wakeups - c0.dest_wakeups;
	/* One client, one flow: every wake-up carried this destination's. */
	TH_CHECK(out->dest_wakeups == out->wakeups, "%s counted %llu "
		 "wake-ups, the daemon %llu", name,
		 (unsigned long long)out->dest_wakeups,
		 (unsigned long long)out->wakeups);
}

/* The TCP peer: holds everything until told, then reads on cue. */
struct peer {
	int fd;
	uint64_t want;		/* bytes to read at the first cue */
	_Atomic int cue;	/* 1: read `want`; 2: read to EOF */
	_Atomic uint64_t t_read;	/* ms when the first read began */
};

static void peer_read(struct peer *p, uint64_t n)
{
	static char buf[1 << 16];
	ssize_t k;

	while (n) {
		k = read(p->fd, buf, n < sizeof(buf) ? n : sizeof(buf));
		if (k <= 0)
			return;
		n -= (uint64_t)k;
	}
}

static void *peer_main(void *arg)
{
	struct peer *p = arg;

	while (atomic_load(&p->cue) < 1)
		th_sleep_ms(1);
	/* Give the client time to fall asleep in its reap. */
	th_sleep_ms(BATCH_MS);
	atomic_store(&p->t_read, th_now_ms());
	peer_read(p, p->want);
	while (atomic_load(&p->cue) < 2)
		th_sleep_ms(1);
	peer_read(p, UINT64_MAX);
	return NULL;
}

/* Reap exactly one completion, with tag @tag, within @ms. */
static void reap_tag(struct zcs_client *c, uint64_t tag, int ms)
{
	struct zcs_completion comp[4];
	int n = zcs_reap(c, comp, 4, ms);

	TH_CHECK(n == 1, "reap for tag %llu: %d", (unsigned long long)tag, n);
	TH_CHECK(comp[0].tag == tag, "tag %llu, want %llu",
		 (unsigned long long)comp[0].tag, (unsigned long long)tag);
	TH_EQ(comp[0].result, (int32_t)BIG);
}

/* Wait until the daemon has @n sends in flight (taken, not complete). */
static void wait_inflight(uint32_t n)
{
	uint64_t end = th_now_ms() + 10000;
	struct zcs_status_daemon sd;
	unsigned clients, dests;
	struct th_raw r;

	TH_EQ(th_raw_connect(&r, daemon_.sock), 0);
	TH_EQ(th_raw_hello(&r, 0, "wake-status"), 0);
	do {
		TH_EQ(th_raw_status(&r, &sd, &clients, &dests), 0);
		TH_CHECK(th_now_ms() < end, "%u in flight, want %u",
			 sd.inflight, n);
	} while (sd.inflight != n && (th_sleep_ms(5), 1));
	th_raw_close(&r);
}

/*
 * Two large TCP sends the peer holds up, the second sent once the first
 * is in the kernel (so that each is a chain of its own). When the peer
 * reads the first, its completion waits for batch_usec, as the second is
 * still in flight; the second then comes at once. Returns how long the
 * first waited after the peer began to read, in ms.
 */
static uint64_t deadline(int lfd)
{
	struct zcs_client *c = client_open();
	struct peer p = { .want = BIG };
	uint64_t waited;
	void *buf;
	uint32_t flow;
	pthread_t t;

	TH_EQ(zcs_flow_open(c, "slow", &flow), ZCS_PROTO_TCP);
	p.fd = accept(lfd, NULL, NULL);
	TH_CHECK(p.fd >= 0, "accept: %s", strerror(errno));
	TH_EQ(zcs_alloc(c, 2 * BIG, &buf), 0);
	memset(buf, 'w', 2 * BIG);
	TH_EQ(zcs_send(c, flow, buf, BIG, 1), 0);
	TH_EQ(zcs_flush(c), 0);
	wait_inflight(1);
	TH_EQ(zcs_send(c, flow, (char *)buf + BIG, BIG, 2), 0);
	TH_EQ(zcs_flush(c), 0);
	wait_inflight(2);
	TH_EQ(pthread_create(&t, NULL, peer_main, &p), 0);
	atomic_store(&p.cue, 1);
	reap_tag(c, 1, 20 * BATCH_MS);
	waited = th_now_ms() - atomic_load(&p.t_read);
	atomic_store(&p.cue, 2);
	reap_tag(c, 2, 20 * BATCH_MS);
	TH_EQ(zcs_free(c, buf), 0);
	zcs_close(c);
	TH_EQ(pthread_join(t, NULL), 0);
	close(p.fd);
	return waited;
}

int main(void)
{
	const char *extra[] = { "-c", NULL, NULL };
	struct paced imm = { .lfd = -1 }, b32 = { .lfd = -1 };
	struct cost ci, cb;
	char path[256], di[64], db[64];
	uint16_t port, pi, pb;
	uint64_t waited;
	int lfd, ring = transport_is_ring();

	imm.lfd = th_listen_lo(&pi, 65536);
	b32.lfd = th_listen_lo(&pb, 65536);
	snprintf(di, sizeof(di), "tcp://127.0.0.1:%u", pi);
	snprintf(db, sizeof(db), "tcp://127.0.0.1:%u", pb);
	lfd = th_listen_lo(&port, 4096);	/* a small window */
	th_conf_write(path, sizeof(path),
		      "[daemon]\npool_bytes = 4M\n"
		      "[destination imm]\naddress = %s\nflush = immediate\n"
		      "zerocopy = on\n"
		      "[destination b32]\naddress = %s\nflush = batch\n"
		      "batch_max = %d\nbatch_usec = %d\nzerocopy = on\n"
		      "[destination slow]\naddress = tcp://127.0.0.1:%u\n"
		      "flush = batch\nbatch_max = %d\nbatch_usec = %d\n"
		      "zerocopy = on\nzerocopy_min_bytes = 0\n",
		      di, db, BATCH_MAX, BATCH_MS * 1000, port, BATCH_MAX,
		      BATCH_MS * 1000);
	extra[1] = path;
	th_daemon_start(&daemon_, extra);

	stream("imm", &imm, &ci);
	stream("b32", &b32, &cb);
	printf("%s: %d sends, immediate: %llu wake-ups, %llu messages; "
	       "batch_max %d: %llu wake-ups, %llu messages\n",
	       ring ? "ring" : "socket", COUNT,
	       (unsigned long long)ci.wakeups, (unsigned long long)ci.msgs,
	       BATCH_MAX, (unsigned long long)cb.wakeups,
	       (unsigned long long)cb.msgs);
	if (ring) {
		TH_CHECK(cb.wakeups <= 2 * COUNT / BATCH_MAX,
			 "batch_max %d: woken %llu times for %d sends, want "
			 "at most %d", BATCH_MAX,
			 (unsigned long long)cb.wakeups, COUNT,
			 2 * COUNT / BATCH_MAX);
		TH_CHECK(ci.wakeups > cb.wakeups, "immediate woke %llu "
			 "times, batch %llu: want more under immediate",
			 (unsigned long long)ci.wakeups,
			 (unsigned long long)cb.wakeups);
	} else {
		TH_CHECK(cb.msgs <= 2 * COUNT / BATCH_MAX,
			 "batch_max %d: %llu COMPLETE messages for %d sends",
			 BATCH_MAX, (unsigned long long)cb.msgs, COUNT);
		TH_CHECK(ci.msgs > cb.msgs, "immediate %llu messages, "
			 "batch %llu", (unsigned long long)ci.msgs,
			 (unsigned long long)cb.msgs);
	}

	waited = deadline(lfd);
	printf("a completion with its flow still busy waited %llu ms "
	       "(batch_usec %d ms)\n", (unsigned long long)waited, BATCH_MS);
	TH_CHECK(waited >= BATCH_MS / 2, "woken after %llu ms, before "
		 "batch_usec (%d ms) with a send still in flight",
		 (unsigned long long)waited, BATCH_MS);
	TH_CHECK(waited <= 10 * BATCH_MS, "woken after %llu ms, batch_usec "
		 "is %d ms", (unsigned long long)waited, BATCH_MS);

	close(lfd);
	th_daemon_stop_clean(&daemon_);
	printf("test-ring-wake: the flush policy paces wake-ups\n");
	return 0;
}
