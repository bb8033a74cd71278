/* SPDX-License-Identifier: MIT */
/*
 * zcsendctl send: stream a file or stdin to a destination through the
 * daemon. Input is read straight into pool buffers (no extra copy), many
 * sends stay in flight, and success means every completion came back with
 * exactly the bytes sent.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "zcs_proto.h"
#include "zcsend.h"
#include "zcsendctl.h"

#define CHUNK_TCP	65536u
#define CHUNK_UDP	1472u	/* a 1500-byte MTU less IPv4 and UDP headers */
#define READ_UDP	65536u	/* datagrams read at once: one GSO send */
#define INFLIGHT_DEF	64u
#define POOL_DEF	(4u << 20)
#define POOL_MAX	(1ull << 30)
#define REAP_BATCH	256u
#define ERRORS_SHOWN	10u

struct send_opts {
	const char *sock;
	const char *dest;
	const char *file;
	uint64_t chunk;		/* 0: by protocol */
	uint64_t inflight;	/* 0: default */
	int quiet;
	int no_segment;		/* UDP: one send per datagram */
};

/* A send in flight; its tag is its index. */
struct slot {
	void *buf;
	uint64_t input_off;
	uint32_t len;
};

struct send_state {
	struct zcs_client *c;
	uint32_t flow;
	int in_fd;
	size_t chunk;		/* bytes read and sent at a time */
	size_t seg;		/* UDP datagrams cut from a chunk; 0: one */
	struct slot *slots;
	uint32_t *free_tags;	/* stack of unused slot indices */
	unsigned nfree;
	unsigned limit;
	int eof;		/* no more input, or stopped after a failure */
	uint64_t input_off;
	uint64_t issued;	/* sends handed to zcs_send() */
	uint64_t bytes, sends, zc, copied, failed;
	uint64_t datagrams;	/* UDP */
};

/*
 * Say what failed. A daemon that went away is named as the cause, with
 * what it had confirmed by then: the other sends may or may not have left.
 */
static void send_err(const struct send_state *st, const char *what, int err)
{
	if (err != -EPIPE) {
		ctl_err(what, err);
		return;
	}
	ctl_errx("send: zcsendd closed the connection; %llu of %llu sends "
		 "confirmed (%.1f MiB)", (unsigned long long)st->sends,
		 (unsigned long long)st->issued,
		 (double)st->bytes / (1024.0 * 1024.0));
}

static int parse_arg(struct send_opts *o, int argc, char **argv, int *i)
{
	const char *v;
	int r;

	if ((r = ctl_opt(argc, argv, i, "-s", &o->sock)) != 0)
		return r < 0 ? r : 0;
	if (!strcmp(argv[*i], "--quiet") || !strcmp(argv[*i], "-q")) {
		o->quiet = 1;
		return 0;
	}
	if (!strcmp(argv[*i], "--no-segment")) {
		o->no_segment = 1;
		return 0;
	}
	if ((r = ctl_opt(argc, argv, i, "--chunk", &v)) != 0)
		return r < 0 ? r : ctl_parse_u64(v, ZCS_SEND_LEN_MAX, &o->chunk);
	if ((r = ctl_opt(argc, argv, i, "--inflight", &v)) != 0)
		return r < 0 ? r : ctl_parse_u64(v, 1u << 20, &o->inflight);
	if (argv[*i][0] == '-' && argv[*i][1] != '\0')
		return -EINVAL;
	if (!o->dest)
		o->dest = argv[*i];
	else if (!o->file)
		o->file = argv[*i];
	else
		return -E2BIG;
	return 0;
}

static int parse_opts(struct send_opts *o, int argc, char **argv)
{
	int i, err;

	memset(o, 0, sizeof(*o));
	for (i = 1; i < argc; i++) {
		err = parse_arg(o, argc, argv, &i);
		if (err) {
			ctl_errx("send: bad argument '%s'", argv[i]);
			return err;
		}
	}
	if (!o->dest) {
		ctl_errx("usage: zcsendctl send DEST [FILE|-] [--chunk BYTES] "
			 "[--inflight N] [--no-segment] [--quiet]");
		return -EINVAL;
	}
	return 0;
}

/* Room for every buffer in flight, and never less than the library's
 * default; the daemon may grant less, which only lowers the pipelining. */
static size_t pool_wanted(const struct send_opts *o)
{
	uint64_t chunk = o->chunk > CHUNK_TCP ? o->chunk : CHUNK_TCP;
	uint64_t inflight = o->inflight ? o->inflight : INFLIGHT_DEF;
	uint64_t want;

	want = inflight * ((chunk + 255) & ~255ull);
	if (want < POOL_DEF)
		return POOL_DEF;
	return want < POOL_MAX ? (size_t)want : (size_t)POOL_MAX;
}

/* read(2) until @len bytes or end of input: for UDP, chunk boundaries
 * are datagram boundaries and must not depend on how a pipe delivers. */
static ssize_t read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = read(fd, (char *)buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* Read one chunk into a fresh pool buffer and queue it.
 * Returns 1 queued, 0 end of input or no room, -errno (reported). */
static int fill_one(struct send_state *st)
{
	struct slot *s;
	ssize_t n;
	uint32_t tag;
	void *buf;
	int err;

	err = zcs_alloc(st->c, st->chunk, &buf);
	if (err == -ENOMEM && zcs_inflight(st->c) > 0)
		return 0;
	if (err == -EINVAL || err == -ENOMEM) {
		ctl_errx("send: a chunk of %zu bytes does not fit the %zu-byte "
			 "pool", st->chunk, zcs_pool_size(st->c));
		return -ENOSPC;
	}
	if (err) {
		ctl_err("send: zcs_alloc", err);
		return err;
	}
	n = read_full(st->in_fd, buf, st->chunk);
	if (n <= 0) {
		zcs_free(st->c, buf);
		st->eof = 1;
		if (n < 0)
			ctl_err("send: read input", (int)n);
		return (int)n;
	}
	tag = st->free_tags[--st->nfree];
	s = &st->slots[tag];
	s->buf = buf;
	s->input_off = st->input_off;
	s->len = (uint32_t)n;
	st->input_off += (uint64_t)n;
	if (st->seg)
		err = zcs_send_segmented(st->c, st->flow, buf, (size_t)n,
					 st->seg, tag);
	else
		err = zcs_send(st->c, st->flow, buf, (size_t)n, tag);
	if (err) {
		send_err(st, "send: queue", err);
		return err;
	}
	st->issued++;
	return 1;
}

/* Would reading the input block now (a pipe or a terminal with nothing
 * in it yet)? A regular file never does. */
static int input_idle(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 0;
}

/*
 * Queue chunks until the input ends or the in-flight bound is reached.
 * What is queued leaves before a read that would wait, so a live stream
 * (`producer | zcsendctl send ...`) is sent as it comes.
 */
static int fill(struct send_state *st)
{
	int n, err;

	while (!st->eof && st->nfree > 0) {
		if (st->nfree < st->limit && input_idle(st->in_fd)) {
			err = zcs_flush(st->c);
			if (err) {
				send_err(st, "send: flush", err);
				return err;
			}
		}
		n = fill_one(st);
		if (n <= 0)
			return n;
	}
	return 0;
}

static void count_one(struct send_state *st, const struct zcs_completion *cp)
{
	const struct slot *s = &st->slots[cp->tag];

	st->sends++;
	if (cp->result >= 0 && (uint32_t)cp->result == s->len) {
		/* sends = zc + copied + failed, split as `status` splits
		 * the daemon's counters (ctl_zc, ctl_copied) */
		if ((cp->flags & (ZCS_COMP_F_ZC | ZCS_COMP_F_COPIED)) ==
		    ZCS_COMP_F_ZC)
			st->zc++;
		else
			st->copied++;
		st->bytes += s->len;
		st->datagrams += st->seg ? (s->len + st->seg - 1) / st->seg : 1;
		return;
	}
	/* A failed TCP stream fails every later send too: show a few. */
	if (st->failed++ >= ERRORS_SHOWN)
		return;
	if (cp->result < 0)
		ctl_errx("send: tag %llu (input offset %llu, %u bytes): %s",
			 (unsigned long long)cp->tag,
			 (unsigned long long)s->input_off, s->len,
			 strerror(-cp->result));
	else
		ctl_errx("send: tag %llu (input offset %llu): short send, "
			 "%d of %u bytes", (unsigned long long)cp->tag,
			 (unsigned long long)s->input_off, cp->result, s->len);
}

static int complete_one(struct send_state *st, const struct zcs_completion *cp)
{
	int err;

	if (cp->tag >= st->limit || !st->slots[cp->tag].buf) {
		ctl_errx("send: completion for unknown tag %llu",
			 (unsigned long long)cp->tag);
		return -EPROTO;
	}
	count_one(st, cp);
	err = zcs_free(st->c, st->slots[cp->tag].buf);
	st->slots[cp->tag].buf = NULL;
	st->free_tags[st->nfree++] = (uint32_t)cp->tag;
	if (st->failed)
		st->eof = 1;
	return err;
}

static int reap(struct send_state *st)
{
	struct zcs_completion comp[REAP_BATCH];
	int n, i, err;

	n = zcs_reap(st->c, comp, REAP_BATCH, -1);
	if (n < 0) {
		send_err(st, "send: reap", n);
		return n;
	}
	for (i = 0; i < n; i++) {
		err = complete_one(st, &comp[i]);
		if (err)
			return err;
	}
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Keep the pipeline full until input ends and every completion is in. */
static int pump(struct send_state *st)
{
	int err;

	while (!st->eof || zcs_inflight(st->c) > 0) {
		err = fill(st);
		if (err < 0)
			return err;
		if (zcs_inflight(st->c) == 0)
			continue;
		err = reap(st);
		if (err < 0)
			return err;
	}
	return 0;
}

static void summary(const struct send_state *st, double secs)
{
	double share = st->sends ? 100.0 * (double)st->zc / (double)st->sends : 0;
	double rate = secs > 0 ? (double)st->bytes / 1e6 / secs : 0;

	printf("sent %llu bytes in %llu sends", (unsigned long long)st->bytes,
	       (unsigned long long)st->sends);
	if (st->seg)
		printf(" (%llu datagrams)", (unsigned long long)st->datagrams);
	printf(", zerocopy %.1f%% (%llu zc, %llu copied), %.1f MB/s\n", share,
	       (unsigned long long)st->zc, (unsigned long long)st->copied, rate);
}

/*
 * UDP from a file: read many datagrams at a time and have the daemon cut
 * them (UDP segmentation), when a datagram fits the path MTU. A larger
 * one goes alone, to be fragmented by IP, as a chunk always did.
 */
static void udp_segmenting(struct send_state *st)
{
	int max = zcs_flow_max_segment(st->c, st->flow);
	size_t per = READ_UDP / st->chunk;
	struct stat in;

	if (per > ZCS_SEGMENT_DATAGRAMS_MAX)
		per = ZCS_SEGMENT_DATAGRAMS_MAX;
	if (max <= 0 || st->chunk > (size_t)max || per < 2)
		return;
	/* A stream is read a datagram at a time: reading ahead would hold
	 * back what has come until 64 KiB more did. */
	if (fstat(st->in_fd, &in) || !S_ISREG(in.st_mode))
		return;
	st->seg = st->chunk;
	st->chunk *= per;
}

static int state_init(struct send_state *st, const struct send_opts *o,
		      int proto)
{
	unsigned i, max = zcs_max_inflight(st->c);

	st->chunk = o->chunk ? o->chunk :
		    proto == ZCS_PROTO_UDP ? CHUNK_UDP : CHUNK_TCP;
	if (proto == ZCS_PROTO_UDP && !o->no_segment)
		udp_segmenting(st);
	st->limit = o->inflight ? (unsigned)o->inflight : INFLIGHT_DEF;
	if (st->limit > max)
		st->limit = max;
	if (!st->limit) {
		ctl_errx("send: the daemon allows no sends in flight");
		return -EAGAIN;
	}
	st->slots = calloc(st->limit, sizeof(*st->slots));
	st->free_tags = calloc(st->limit, sizeof(*st->free_tags));
	if (!st->slots || !st->free_tags) {
		ctl_err("send", -ENOMEM);
		return -ENOMEM;
	}
	for (i = 0; i < st->limit; i++)
		st->free_tags[i] = st->limit - 1 - i;
	st->nfree = st->limit;
	return 0;
}

/* Connect, open the flow, and set up the bookkeeping for @o. */
static int send_setup(struct send_state *st, const struct send_opts *o)
{

	char reason[ZCS_ERRBUF_SIZE];
	int proto, err;

	err = zcs_connect_err(o->sock, pool_wanted(o), &st->c, reason,
			      sizeof(reason));
	if (err) {
		ctl_connect_err(o->sock, err, reason);
		return err;
	}
	proto = zcs_flow_open(st->c, o->dest, &st->flow);
	if (proto == -ENOENT)
		ctl_no_dest("send", o->dest);
	else if (proto < 0)
		send_err(st, o->dest, proto);
	if (proto < 0)
		return proto;
	return state_init(st, o, proto);
}

static int open_input(const char *file)
{
	int fd;

	if (!file || !strcmp(file, "-"))
		return STDIN_FILENO;
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fd = -errno;
		ctl_err(file, fd);
	}
	return fd;
}

int cmd_send(int argc, char **argv, const char *sock)
{
	struct send_state st;
	struct send_opts o;
	double t0;
	int err;

	if (parse_opts(&o, argc, argv))
		return CTL_USAGE;
	if (!o.sock)
		o.sock = sock;
	memset(&st, 0, sizeof(st));
	st.in_fd = open_input(o.file);
	if (st.in_fd < 0)
		return CTL_FAIL;
	err = send_setup(&st, &o);
	t0 = now_s();
	if (!err)
		err = pump(&st);
	if (!err && (err = zcs_flow_close(st.c, st.flow)) < 0)
		send_err(&st, "send: close flow", err);
	if (st.failed > ERRORS_SHOWN)
		ctl_errx("send: %llu more sends failed",
			 (unsigned long long)(st.failed - ERRORS_SHOWN));
	if (!err && !st.failed && !o.quiet)
		summary(&st, now_s() - t0);
	zcs_close(st.c);
	free(st.slots);
	free(st.free_tags);
	if (st.in_fd != STDIN_FILENO)
		close(st.in_fd);
	return err || st.failed ? CTL_FAIL : CTL_OK;
}
