/* SPDX-License-Identifier: MIT */
/*
 * zcs-stream: a client that streams through a daemon restart, for
 * `make check-boot` (and by hand: `zcs-stream --stop FILE &`, restart,
 * `touch FILE`).
 *   zcs-stream [-s SOCK] [--records N] [--ready FILE] [--stop FILE]
 *              [--timeout S]
 * Opens a TCP and a UDP flow (over the transport $ZCSEND_TRANSPORT names)
 * to loopback receivers of its own that check every byte of every record
 * (tests/th/recv.c), sends records on both in turn, and checks each
 * completion: its tag seen once, its whole length sent. It stops sending
 * after N records a flow or once FILE --stop exists, then waits for every
 * completion and for the receivers to hold every record. Exit 0 with one
 * line of counts (and the longest gap between two completions); 1 on any
 * client error, lost, duplicated or wrong record, or a second TCP
 * connection; 2 on bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "zcsend.h"

#define SLOTS		64	/* records in flight at most */
#define TCP_REC		16384	/* bytes per TCP record */
#define UDP_REC		1200	/* bytes per datagram */
#define TAG_SLOT_BITS	16
#define TAG_FLOW_BIT	(1ull << TAG_SLOT_BITS)
#define TAG_SEQ_SHIFT	(TAG_SLOT_BITS + 1)

struct opts {
	const char *sock;
	const char *ready;
	const char *stop;
	uint64_t records;	/* per flow */
	unsigned timeout_s;
};

struct flowst {
	const char *name;
	struct th_recv rv;
	uint32_t flow;
	size_t len;		/* bytes per record */
	uint64_t sent;		/* records handed to zcs_send */
	uint64_t done;		/* completions checked */
	uint8_t *seen;		/* per seq: completed */
};

struct stream {
	struct opts o;
	struct zcs_client *c;
	struct flowst f[2];	/* 0: TCP, 1: UDP */
	char *pool;
	unsigned freeslots[SLOTS], nfree;
	uint64_t last_ms, gap_ms;	/* longest gap between completions */
	int stopping, ready_written;
};

static void usage(void)
{
	fprintf(stderr, "usage: zcs-stream [-s SOCK] [--records N] "
		"[--ready FILE] [--stop FILE] [--timeout S]\n");
	exit(2);
}

static __attribute__((noreturn, format(printf, 1, 2))) void die(
	const char *fmt, ...)
{
	va_list ap;

	fputs("zcs-stream: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	exit(1);
}

static void parse(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "records", required_argument, NULL, 'n' },
		{ "ready", required_argument, NULL, 'r' },
		{ "stop", required_argument, NULL, 'x' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	memset(o, 0, sizeof(*o));
	o->records = 1u << 22;
	o->timeout_s = 300;
	while ((ch = getopt_long(argc, argv, "s:", longopts, NULL)) != -1) {
		switch (ch) {
		case 's': o->sock = optarg; break;
		case 'n': o->records = strtoull(optarg, NULL, 10); break;
		case 'r': o->ready = optarg; break;
		case 'x': o->stop = optarg; break;
		case 't': o->timeout_s = (unsigned)strtoul(optarg, NULL, 10); break;
		default: usage();
		}
	}
	if (optind != argc || !o->records || o->records > (1ull << 30) ||
	    !o->timeout_s)
		usage();
}

/* A receiver and a flow to it. */
static void flow_start(struct stream *s, int i, int proto)
{
	struct flowst *f = &s->f[i];
	char dest[64];
	int err;

	f->name = proto == ZCS_PROTO_TCP ? "tcp" : "udp";
	f->len = proto == ZCS_PROTO_TCP ? TCP_REC : UDP_REC;
	f->seen = calloc(s->o.records, 1);
	/* TCP: room for a second connection, so that one is seen. */
	err = th_recv_start(&f->rv, AF_INET, proto,
			    proto == ZCS_PROTO_TCP ? 2 : s->o.records);
	if (err || !f->seen)
		die("%s receiver: %s", f->name, strerror(err ? -err : ENOMEM));
	th_recv_dest(&f->rv, dest, sizeof(dest));
	err = zcs_flow_open(s->c, dest, &f->flow);
	if (err < 0)
		die("flow to %s: %s", dest, strerror(-err));
}

static void stream_open(struct stream *s)
{
	size_t pool = (size_t)SLOTS * TCP_REC;
	char reason[ZCS_ERRBUF_SIZE] = "";
	unsigned i;
	int err;

	err = zcs_connect_err(s->o.sock, pool, &s->c, reason, sizeof(reason));
	if (err)
		die("connect: %s%s%s", strerror(-err), reason[0] ? ": " : "",
		    reason);
	/* Our own slots in the pool: no allocator needed. */
	if (zcs_pool_size(s->c) < pool)
		die("a pool of %zu bytes, not %zu", zcs_pool_size(s->c), pool);
	s->pool = zcs_pool_base(s->c);
	for (i = 0; i < SLOTS; i++)
		s->freeslots[s->nfree++] = SLOTS - 1 - i;
	flow_start(s, 0, ZCS_PROTO_TCP);
	flow_start(s, 1, ZCS_PROTO_UDP);
}

/* One record on flow @i, if a slot is free. 1 sent, 0 not now. */
static int send_one(struct stream *s, int i)
{
	struct flowst *f = &s->f[i];
	unsigned slot;
	uint64_t tag;
	char *buf;
	int err;

	if (!s->nfree || f->sent >= s->o.records)
		return 0;
	slot = s->freeslots[s->nfree - 1];
	buf = s->pool + (size_t)slot * TCP_REC;
	th_rec_build(buf, f->len, 0, f->sent);
	tag = (f->sent << TAG_SEQ_SHIFT) | (i ? TAG_FLOW_BIT : 0) | slot;
	err = zcs_send(s->c, f->flow, buf, f->len, tag);
	if (err == -EAGAIN)
		return 0;
	if (err)
		die("send on the %s flow after %llu records: %s", f->name,
		    (unsigned long long)f->sent, strerror(-err));
	s->nfree--;
	f->sent++;
	return 1;
}

/* Each completion: a tag we gave, once, with every byte sent. */
static void complete(struct stream *s, const struct zcs_completion *cp)
{
	unsigned slot = (unsigned)(cp->tag & (TAG_FLOW_BIT - 1));
	int i = !!(cp->tag & TAG_FLOW_BIT);
	uint64_t seq = cp->tag >> TAG_SEQ_SHIFT, now = th_now_ms();
	struct flowst *f = &s->f[i];

	if (slot >= SLOTS || seq >= f->sent)
		die("completion with a tag never sent: %#llx",
		    (unsigned long long)cp->tag);
	if (f->seen[seq]++)
		die("%s record %llu completed twice", f->name,
		    (unsigned long long)seq);
	if (cp->result != (int32_t)f->len)
		die("%s record %llu: result %d (%s), want %zu", f->name,
		    (unsigned long long)seq, cp->result,
		    cp->result < 0 ? strerror(-cp->result) : "short", f->len);
	if (s->last_ms && now - s->last_ms > s->gap_ms)
		s->gap_ms = now - s->last_ms;
	s->last_ms = now;
	f->done++;
	s->freeslots[s->nfree++] = slot;
}

/* Under way: tell whoever waits on --ready, once. */
static void maybe_ready(struct stream *s)
{
	int fd;

	if (s->ready_written || !s->o.ready || s->f[0].done < SLOTS ||
	    s->f[1].done < SLOTS)
		return;
	fd = open(s->o.ready, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		die("%s: %s", s->o.ready, strerror(errno));
	close(fd);
	s->ready_written = 1;
}

/* Send and reap until told to stop and nothing is in flight. */
static void stream_run(struct stream *s)
{
	uint64_t end = th_now_ms() + (uint64_t)s->o.timeout_s * 1000;
	uint64_t next_look = 0, now;
	struct zcs_completion cp[SLOTS];
	int n, i;

	for (;;) {
		while (!s->stopping && (send_one(s, 0) | send_one(s, 1)))
			;
		n = zcs_reap(s->c, cp, SLOTS, 100);
		if (n < 0)
			die("reap, %llu + %llu records completed: %s",
			    (unsigned long long)s->f[0].done,
			    (unsigned long long)s->f[1].done, strerror(-n));
		for (i = 0; i < n; i++)
			complete(s, &cp[i]);
		maybe_ready(s);
		now = th_now_ms();
		if (now >= end)
			die("not done after %u s", s->o.timeout_s);
		if (!s->stopping && now >= next_look) {
			s->stopping = (s->o.stop && !access(s->o.stop, F_OK)) ||
				      (s->f[0].sent >= s->o.records &&
				       s->f[1].sent >= s->o.records);
			next_look = now + 50;
		}
		if (s->stopping && !zcs_inflight(s->c))
			return;
	}
}

/* Every record sent is at its receiver, right, on one TCP connection. */
static void check_received(struct stream *s)
{
	int i, err;

	for (i = 0; i < 2; i++) {
		struct flowst *f = &s->f[i];

		err = th_recv_wait(&f->rv, f->sent, 20000);
		if (err)
			die("%s receiver: %llu of %llu records%s%s", f->name,
			    (unsigned long long)f->rv.records,
			    (unsigned long long)f->sent,
			    f->rv.errors ? ": " : "", f->rv.first_error);
	}
	if (s->f[0].rv.nconns != 1)
		die("the TCP receiver saw %d connections", s->f[0].rv.nconns);
}

int main(int argc, char **argv)
{
	struct stream s;

	memset(&s, 0, sizeof(s));
	parse(argc, argv, &s.o);
	setvbuf(stdout, NULL, _IOLBF, 0);
	stream_open(&s);
	stream_run(&s);
	check_received(&s);
	printf("zcs-stream: ok: tcp %llu records (%llu MiB), udp %llu "
	       "records, 1 TCP connection, longest gap %llu ms\n",
	       (unsigned long long)s.f[0].sent,
	       (unsigned long long)(s.f[0].sent * TCP_REC >> 20),
	       (unsigned long long)s.f[1].sent,
	       (unsigned long long)s.gap_ms);
	zcs_close(s.c);
	th_recv_free(&s.f[0].rv);
	th_recv_free(&s.f[1].rv);
	return 0;
}
