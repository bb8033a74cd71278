/* SPDX-License-Identifier: MIT */
/*
 * sockfuzz: a protocol fuzzer over zcsendd's real control socket. A few
 * forked workers run sessions that walk random paths through the protocol
 * (valid, invalid and mutated messages, ancillary data) and die at random
 * points in random ways, while the controller watches the daemon: alive,
 * answering STATUS, no sanitizer report, and its fds back to baseline.
 * Every session is a pure function of (seed, session index).
 */
#ifndef ZCS_SOCKFUZZ_H
#define ZCS_SOCKFUZZ_H

#include <sys/types.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "zcs_proto.h"

#define FZ_JOBS_MAX	16
#define FZ_FLOWS_MAX	16	/* flows a session remembers */
#define FZ_SHARED_IDS	64	/* flow ids seen by all sessions */
#define FZ_PASS_FDS	5	/* fds a worker has ready to attach */
#define FZ_DESTS_MAX	12
#define FZ_LAST		4	/* recent sessions remembered per worker */
#define FZ_TXBUF	(ZCS_MSG_MAX + 8192)
/* A record count at which the daemon writes an error batch mid-message. */
#define FZ_ERR_BATCH	128

/* Patterns a run can leave out, to look past a known finding. */
#define FZ_AVOID_UAF	0x01u	/* valid TCP record + >= 128 bad in one SEND */
#define FZ_AVOID_ZEROFD	0x02u	/* zero-length packets carrying fds */
#define FZ_AVOID_KILL	0x04u	/* SIGKILL of a forked session */
#define FZ_AVOID_FDS	0x08u	/* any SCM_RIGHTS */
#define FZ_AVOID_RINGS	0x10u	/* sessions with shared-memory rings */

enum fz_death {
	DIE_NONE,	/* a polite end: close after the last step */
	DIE_CLOSE,	/* close() at a random step */
	DIE_SHUT_RD,	/* shutdown(SHUT_RD), a few more requests, close */
	DIE_SHUT_WR,	/* shutdown(SHUT_WR), read a little, close */
	DIE_NO_READ,	/* stop reading replies, keep asking until dropped */
	DIE_KILL,	/* SIGKILL of the forked session at a random moment */
	DIE_KINDS
};

/* Cheap, well-mixed, and the same on every machine: splitmix64. */
struct fz_rng {
	uint64_t s;
};

static inline uint64_t fz_next(struct fz_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline uint32_t fz_below(struct fz_rng *r, uint32_t n)
{
	return n ? (uint32_t)(fz_next(r) % n) : 0;
}

static inline bool fz_pct(struct fz_rng *r, unsigned pct)
{
	return fz_below(r, 100) < pct;
}

/* Counters and coordination, in memory shared by all processes. */
struct fz_shared {
	atomic_uint_least64_t next;	/* next session index to run */
	atomic_uint_least64_t done;	/* sessions finished */
	atomic_uint_least64_t msgs;	/* packets sent to the daemon */
	atomic_uint_least64_t replies;	/* messages received from it */
	atomic_uint_least64_t dropped;	/* sessions the daemon closed */
	atomic_uint_least64_t fds_sent;	/* descriptors attached */
	atomic_uint_least64_t zero_fd;	/* zero-length packets with fds */
	atomic_uint_least64_t uaf;	/* valid TCP record + error batch */
	atomic_uint_least64_t hello_ok, flow_ok, completions;
	/* rings: sessions that asked, got them, were refused them */
	atomic_uint_least64_t ring_asked, ring_mapped, ring_refused;
	atomic_uint_least64_t ring_records;	/* SEND records published */
	atomic_uint_least64_t ring_scribbles;	/* nonsense written in */
	atomic_uint_least64_t ring_reaped, ring_errors;	/* CQ entries read */
	atomic_uint_least64_t ring_dropped;	/* ring clients the daemon closed */
	atomic_uint_least64_t ring_violations;	/* sure protocol breaks */
	/* Daemon faults a session saw: 1 + the first session that saw one */
	atomic_uint_least64_t ring_kept;	/* a sure break went unpunished */
	atomic_uint_least64_t ring_bad;		/* a bad RINGS or unsealed memfd */
	/* The canary: a well-behaved ring client that runs throughout. */
	atomic_uint_least64_t canary_rounds, canary_records;
	atomic_int canary_stop, canary_fail;
	char canary_why[192];
	atomic_uint_least64_t deaths[DIE_KINDS];
	atomic_int stop;
	atomic_uint_least64_t gone_at;	/* 1 + session that found it gone */
	atomic_uint_least64_t cur[FZ_JOBS_MAX];	/* 1 + session running */
	/* 1 + the sessions each worker finished last, for the report */
	atomic_uint_least64_t last[FZ_JOBS_MAX][FZ_LAST];
	atomic_uint_least32_t ids[FZ_SHARED_IDS];
	atomic_uint_least32_t id_next;
};

struct fz_dest {
	char spec[80];		/* what FLOW_OPEN names */
	uint16_t proto;		/* ZCS_PROTO_*, 0 for a bad spec */
};

/* Ports of the loopback receivers the sink process serves. */
struct fz_ports {
	uint16_t drain, drain6, slow, stall, full;
	uint16_t udp[3], udp6;	/* udp[0] named; udp[2] never read */
};

struct fz_env {
	uint64_t seed, sessions, first;
	unsigned jobs, check_every, avoid, settle_ms, max_ms;
	bool verbose, keep_log;
	const char *sock;
	struct fz_shared *sh;
	struct fz_ports ports;
	struct fz_dest named[FZ_DESTS_MAX];
	unsigned nnamed;
	struct fz_dest adhoc[FZ_DESTS_MAX];
	unsigned nadhoc;
	int pass_fds[FZ_PASS_FDS];
};

/* A session's view of its shared-memory rings (PROTOCOL.md, "Rings"). */
struct fz_ring {
	uint8_t *mem;		/* NULL: none mapped */
	struct zcs_rings lay;
	struct zcs_ring_ctl *ctl;
	struct zcs_msg_send *sq;
	struct zcs_msg_completion *cq;
	int memfd;		/* kept, to punch holes in */
	int efd_daemon;		/* we write it to wake the daemon */
	int efd_client;		/* the daemon writes it to wake us */
	uint32_t sq_tail, cq_head;	/* ours, as a good client keeps them */
	uint64_t tag;
	bool got;		/* mapped (and maybe let go of since) */
	bool reaps;		/* this session reads its CQ at all */
	bool broken;		/* an SQ word was scribbled: head unknown */
	bool cq_broken;		/* a CQ word was scribbled */
};

/* One session: a connection and what it learned from the replies. */
struct fz_sess {
	struct fz_env *env;
	struct fz_rng r;
	uint64_t idx;
	int fd;
	bool hello_sent, ready, gone, no_read, calm;
	uint64_t pool;
	uint32_t flows[FZ_FLOWS_MAX];
	uint16_t fproto[FZ_FLOWS_MAX];
	unsigned nflows;
	uint32_t closed_flow;	/* the last one closed, for stale sends */
	unsigned flow_replies;	/* FLOW_OK or ERROR to FLOW_OPEN seen */
	uint64_t cookie;
	int keep_fd;		/* a pool memfd kept to pass back */
	uint64_t deadline_ms;
	bool rings;		/* asks for rings in HELLO */
	bool dying;		/* in die(): a drop now is no news */
	bool rings_answered;	/* RINGS or an ERROR for HELLO came */
	struct fz_ring rg;
};

/* Ancillary data variants for fz_send_pkt(). */
enum fz_anc_kind {
	ANC_NONE,
	ANC_RIGHTS,	/* SCM_RIGHTS with n fds (over 16 truncates) */
	ANC_CREDS,	/* SCM_CREDENTIALS, our own */
	ANC_CREDS_ODD,	/* SCM_CREDENTIALS naming someone else */
	ANC_BOTH,	/* credentials then fds */
	ANC_TWO_RIGHTS,	/* two SCM_RIGHTS headers */
	ANC_SHORT,	/* cmsg_len not a whole number of ints */
	ANC_BAD_LEN,	/* cmsg_len past msg_controllen */
	ANC_KINDS
};

struct fz_anc {
	enum fz_anc_kind kind;
	unsigned nfds;
};

/* wire.c */
int fz_send_pkt(struct fz_sess *s, const void *buf, size_t len,
		const struct fz_anc *anc, bool dontwait);
int fz_drain(struct fz_sess *s, int wait_ms);
int fz_wait_flow(struct fz_sess *s, unsigned before, int wait_ms);
void fz_anc_pick(struct fz_sess *s, struct fz_anc *anc);

/* gen.c */
size_t fz_gen_hello(struct fz_sess *s, uint8_t *buf);
size_t fz_gen_flow_open(struct fz_sess *s, uint8_t *buf, uint16_t *proto);
size_t fz_gen_flow_close(struct fz_sess *s, uint8_t *buf);
size_t fz_gen_empty(struct fz_sess *s, uint8_t *buf, uint16_t type);
size_t fz_gen_policy(struct fz_sess *s, uint8_t *buf);
size_t fz_gen_send(struct fz_sess *s, uint8_t *buf, bool uaf);
size_t fz_gen_any(struct fz_sess *s, uint8_t *buf);
size_t fz_gen_random(struct fz_sess *s, uint8_t *buf);
size_t fz_mutate(struct fz_sess *s, uint8_t *buf, size_t len);
void fz_gen_rec(struct fz_sess *s, struct zcs_msg_send *m, bool valid);

/* ring.c */
void fz_ring_init(struct fz_ring *g);
bool fz_ring_take(struct fz_sess *s, const uint8_t *payload, size_t len,
		  int *fds, unsigned nfds);
void fz_ring_step(struct fz_sess *s);
void fz_ring_close(struct fz_sess *s);
void fz_ring_found(struct fz_sess *s, atomic_uint_least64_t *what);

/* canary.c */
pid_t fz_canary_start(struct fz_env *e);
int fz_canary_stop(struct fz_env *e, pid_t pid);

/* session.c */
void fz_session(struct fz_env *e, uint64_t idx);
uint64_t fz_now_ms(void);

/* sink.c */
int fz_sink_open(struct fz_ports *p);
pid_t fz_sink_start(int *ctl);
int fz_sink_stop(pid_t pid, int ctl);

/* daemon.c */
int fz_config_write(const struct fz_env *e, const char *path);
void fz_dests_init(struct fz_env *e);
int fz_status(const char *sock, struct zcs_status_daemon *sd,
	      unsigned *adhoc_udp, int timeout_ms);
int fz_log_scan(const char *log, bool print);

#endif /* ZCS_SOCKFUZZ_H */
