/* SPDX-License-Identifier: MIT */
/*
 * Shared pieces of the integration tests: a real zcsendd started in a
 * private directory, a raw protocol client that speaks the wire format
 * byte by byte, deterministic payloads with a checksum, and loopback TCP
 * and UDP receivers that verify every byte they get in a thread.
 */
#ifndef ZCS_TEST_HELPERS_H
#define ZCS_TEST_HELPERS_H

#include <sys/types.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "zcs_proto.h"

#define TH_SKIP 77

/* Failing check: print file:line, the expression and a message. */
#define TH_CHECK(cond, ...) do {					\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__,	\
			__LINE__, #cond);				\
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
		th_fail();						\
	}								\
} while (0)

#define TH_EQ(got, want) do {						\
	long long g_ = (long long)(got), w_ = (long long)(want);	\
	if (g_ != w_) {							\
		fprintf(stderr, "%s:%d: %s == %s: got %lld, want %lld\n", \
			__FILE__, __LINE__, #got, #want, g_, w_);	\
		th_fail();						\
	}								\
} while (0)

/* Print the daemon log (if one runs) and exit 1. */
__attribute__((noreturn)) void th_fail(void);
/* Print a reason and exit 77. */
__attribute__((noreturn, format(printf, 1, 2))) void th_skip(const char *fmt,
							      ...);
/* Monotonic milliseconds. */
uint64_t th_now_ms(void);
void th_sleep_ms(unsigned ms);

/* ---- daemon ---- */
struct th_daemon {
	pid_t pid;
	char dir[128];		/* private temp dir, removed on stop */
	char sock[160];
	char log[160];
};

/*
 * th_daemon_start - run $BUILD/zcsendd -s DIR/zcs.sock [extra...] with
 * stderr to DIR/zcsendd.log, and wait up to 10 s until the socket accepts.
 * @extra: NULL-terminated extra arguments, or NULL.
 * Exits the test (fail) when it does not come up. Registers the daemon so
 * that th_fail() prints its log and exit kills it.
 */
void th_daemon_start(struct th_daemon *d, const char *const *extra);
/*
 * th_conf_write - write a config file from @fmt into $TMPDIR (a new name
 * each call) and put its path in @path, for th_daemon_start's "-c".
 * Fails the test when it cannot.
 */
void th_conf_write(char *path, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * th_daemon_wait_exit - wait up to @ms for the daemon to exit by itself
 * (no signal sent). Returns its wait status, or -1 if it still runs.
 */
int th_daemon_wait_exit(struct th_daemon *d, unsigned ms);
/* SIGTERM, wait up to 15 s, then SIGKILL; reap. Returns the wait status. */
int th_daemon_stop(struct th_daemon *d);
/* th_daemon_stop_clean - the daemon must still run, and exit 0 on
 * SIGTERM; a check fails otherwise. */
void th_daemon_stop_clean(struct th_daemon *d);
/* Print the daemon's log to stderr (last @max bytes; 0 for all). */
void th_daemon_dump_log(const struct th_daemon *d, size_t max);
/* 1 while the daemon process is alive. */
int th_daemon_alive(struct th_daemon *d);
/* th_daemon_clients - clients holding a pool, from a STATUS of its own. */
unsigned th_daemon_clients(struct th_daemon *d);
/*
 * th_daemon_wait_released - wait up to @ms until no client holds a pool
 * and the daemon's open fds are @fds again. Returns the ms it took; fails
 * the test when that does not happen.
 */
uint64_t th_daemon_wait_released(struct th_daemon *d, int fds, unsigned ms);

/* ---- raw protocol client ---- */
struct th_raw {
	int fd;
	int pool_fd;		/* the memfd from HELLO_OK, kept open */
	void *pool;
	uint64_t pool_bytes;
	struct zcs_hello_ok ok;
	uint64_t cookie;
};

/* Connect a SEQPACKET socket; 0 or -errno. */
int th_raw_connect(struct th_raw *r, const char *path);
/*
 * th_raw_hello - HELLO with @pool_bytes; expects HELLO_OK with the memfd,
 * checks that the fd's size is the granted size, maps it shared.
 * Returns 0 or -errno (-EPROTO for a wrong reply).
 */
int th_raw_hello(struct th_raw *r, uint64_t pool_bytes, const char *name);
void th_raw_close(struct th_raw *r);
/* Send exactly @len raw bytes as one packet; 0 or -errno. */
int th_raw_send_bytes(struct th_raw *r, const void *buf, size_t len);
/* Send a header (version @version) plus payload; 0 or -errno. */
int th_raw_send_msg(struct th_raw *r, uint16_t type, uint8_t version,
		    const void *payload, size_t len);
/*
 * th_raw_recv - receive one message within @timeout_ms, validated with
 * zcs_msg_check(). @payload gets up to @cap bytes. Any fd that rides
 * along is stored in *@fd (or closed when @fd is NULL).
 * Returns the payload length, -ETIMEDOUT, -ECONNRESET on EOF, or the
 * validation error.
 */
int th_raw_recv(struct th_raw *r, struct zcs_hdr *h, void *payload,
		size_t cap, int *fd, int timeout_ms);
/*
 * th_raw_recv_fds - th_raw_recv keeping up to @max fds in @fds (how many
 * in *@nfds); any more are closed.
 */
int th_raw_recv_fds(struct th_raw *r, struct zcs_hdr *h, void *payload,
		    size_t cap, int *fds, int max, int *nfds, int timeout_ms);
/* Open a flow; returns the flow id (>= 0) or the ERROR's -errno. */
long th_raw_flow_open(struct th_raw *r, const char *dest);
/* Close a flow: 0 on FLOW_CLOSED naming it, the ERROR's -errno, or -EPROTO. */
int th_raw_flow_close(struct th_raw *r, uint32_t flow);
/*
 * th_raw_status - STATUS; keeps the STATUS_DAEMON part, counts the client
 * and destination records, reads through STATUS_END. 0 or -errno.
 */
int th_raw_status(struct th_raw *r, struct zcs_status_daemon *out,
		  unsigned *clients, unsigned *dests);
/*
 * th_raw_status_client - STATUS; the STATUS_CLIENT record of client @id
 * into @out. 0, -ENOENT when it is not listed, or -errno.
 */
int th_raw_status_client(struct th_raw *r, uint32_t id,
			 struct zcs_status_client *out);
/* One SEND message carrying @n records. */
int th_raw_send(struct th_raw *r, const struct zcs_msg_send *recs, size_t n);
/*
 * th_raw_completions - collect exactly @n completion records within
 * @timeout_ms (skipping nothing: any other message fails with -EPROTO).
 * Returns @n, or how many came before the timeout, or -errno.
 */
int th_raw_completions(struct th_raw *r, struct zcs_msg_completion *out,
		       size_t n, int timeout_ms);

/* ---- shared-memory rings (PROTOCOL.md, "Rings") ---- */
struct th_rings {
	struct zcs_rings lay;
	void *mem;		/* the ring memfd, mapped shared */
	struct zcs_ring_ctl *ctl;
	struct zcs_msg_send *sq;
	struct zcs_msg_completion *cq;
	int daemon_efd;		/* we write it to wake the daemon */
	int client_efd;		/* the daemon writes it to wake us */
	uint32_t sq_tail;	/* ours */
	uint32_t cq_head;	/* ours */
	uint64_t wakeups;	/* times we woke the daemon */
	uint64_t woken;		/* times the daemon woke us */
};

/*
 * th_raw_hello_rings - HELLO with ZCS_HELLO_F_RINGS asking @entries SQ
 * entries (0: the daemon's choice): HELLO_OK (the pool mapped as by
 * th_raw_hello), then RINGS with its three fds; checks the ring memfd's
 * size and maps it (the memfd itself is closed).
 * Returns 0; the ERROR's -errno when the daemon made no rings (the
 * connection goes on without); or -errno (-EPROTO for a wrong reply).
 */
int th_raw_hello_rings(struct th_raw *r, uint64_t pool_bytes,
		       uint32_t entries, const char *name,
		       struct th_rings *rg);
void th_rings_close(struct th_rings *rg);
/*
 * th_rings_submit - write up to @n records at the SQ tail, publish them,
 * and wake the daemon if it sleeps. Returns how many fit.
 */
uint32_t th_rings_submit(struct th_rings *rg, const struct zcs_msg_send *recs,
			 uint32_t n);
/* Take up to @max completions (waking the daemon if it sleeps). */
uint32_t th_rings_reap(struct th_rings *rg, struct zcs_msg_completion *out,
		       uint32_t max);
/*
 * th_rings_wait - sleep on the client eventfd until completions show:
 * set WAITING, fence, look again, then poll up to @timeout_ms.
 * Returns 0 when completions are there, or -ETIMEDOUT.
 */
int th_rings_wait(struct th_rings *rg, int timeout_ms);
/* Collect @n completions within @timeout_ms; returns how many came. */
int th_rings_completions(struct th_rings *rg, struct zcs_msg_completion *out,
			 size_t n, int timeout_ms);

/* ---- payloads ---- */
uint64_t th_fnv1a(const void *buf, size_t len);
/* Deterministic bytes from (client, seq). */
void th_fill(void *buf, size_t len, uint32_t client, uint64_t seq);
/* Deterministic size in [lo, hi] from (client, seq). */
size_t th_size(uint32_t client, uint64_t seq, size_t lo, size_t hi);

/* Every record (TCP) and datagram (UDP) starts with this. */
struct th_rec {
	uint32_t magic;
	uint32_t client;
	uint64_t seq;
	uint32_t len;		/* whole record, this header included */
	uint32_t reserved;
	uint64_t csum;		/* th_fnv1a of the bytes after the header */
};

#define TH_REC_MAGIC 0x7a637331u	/* "zcs1" */

/* Write a record of @len bytes (>= sizeof(struct th_rec)) at @buf. */
void th_rec_build(void *buf, size_t len, uint32_t client, uint64_t seq);

/* ---- receivers ---- */
#define TH_MAX_CLIENTS 64

struct th_recv {
	int family;		/* AF_INET or AF_INET6 */
	int proto;		/* ZCS_PROTO_TCP or ZCS_PROTO_UDP */
	int lfd;
	uint16_t port;
	pthread_t thread;	/* UDP reader, or TCP acceptor */
	pthread_mutex_t lock;
	int conns_expected;	/* TCP: connections to accept */
	int nconns;		/* TCP: accepted so far */
	int cfd[TH_MAX_CLIENTS];
	pthread_t readers[TH_MAX_CLIENTS];
	uint64_t udp_expected;	/* UDP: datagrams to wait for */
	volatile int stop;
	/* results, under lock */
	uint64_t records;
	uint64_t bytes;
	uint64_t errors;
	uint64_t next_seq[TH_MAX_CLIENTS];	/* TCP: per client */
	uint8_t *seen;		/* UDP: per seq, count (seq < seen_max) */
	uint64_t seen_max;
	char first_error[256];
};

/*
 * th_recv_start - bind 127.0.0.1 or ::1 on an ephemeral port and start
 * the thread. TCP: accept @n connections, each a stream of th_rec records
 * from one client in seq order. UDP: datagrams each one th_rec, seqs
 * below @n, each expected once.
 * Returns 0, -EAFNOSUPPORT/-EADDRNOTAVAIL when the family is missing, or
 * -errno.
 */
int th_recv_start(struct th_recv *rv, int family, int proto, uint64_t n);
/*
 * Wait until @records records arrived or @timeout_ms passed.
 * Returns 0, -ETIMEDOUT, or -EIO as soon as the receiver saw an error.
 */
int th_recv_wait(struct th_recv *rv, uint64_t records, int timeout_ms);
/* Stop and join; results stay readable. */
void th_recv_stop(struct th_recv *rv);
void th_recv_free(struct th_recv *rv);
/* "tcp://127.0.0.1:PORT" or "udp://[::1]:PORT" into @buf. */
void th_recv_dest(const struct th_recv *rv, char *buf, size_t size);

/*
 * th_listen_lo - a TCP listener on 127.0.0.1 that the test drives by hand
 * (accept, read or not). @rcvbuf: SO_RCVBUF for accepted sockets, 0 to
 * leave it. Returns the fd; fails the test on error.
 */
int th_listen_lo(uint16_t *port, int rcvbuf);

/*
 * th_send_fds - send @len bytes (0 allowed) as one packet on @sock with
 * @nfds (at most TH_FDS_MAX) descriptors in one SCM_RIGHTS. Returns the
 * bytes sent or -errno.
 */
#define TH_FDS_MAX 16
ssize_t th_send_fds(int sock, const void *buf, size_t len, const int *fds,
		    int nfds);

/* th_fd_count - open fds of @pid (entries of /proc/PID/fd), or -1. */
int th_fd_count(pid_t pid);

/* $BUILD or "build". */
const char *th_build_dir(void);

#endif /* ZCS_TEST_HELPERS_H */
