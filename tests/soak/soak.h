/* SPDX-License-Identifier: MIT */
/*
 * zcsend-soak: a long run of a real zcsendd under steady verified traffic
 * and client churn (clients killed at random moments), ending with a check
 * that every send completed once, every byte arrived in order, and the
 * daemon is back to its baseline of fds, memory and pool bytes.
 */
#ifndef ZCS_SOAK_H
#define ZCS_SOAK_H

#include <sys/types.h>
#include <pthread.h>
#include <stdint.h>

#include "helpers.h"

#define SOAK_RING	8192	/* tag slots per steady client (> in flight) */
#define SOAK_UDP_WINDOW	1024	/* datagrams sent but not yet received */

/* Where the churn children send: the manager's draining listeners. */
struct sink {
	int drain_lfd;		/* TCP: read everything at once */
	int slow_lfd;		/* TCP: small window, read a little at a time */
	int udp_fd;		/* UDP: read and drop */
	uint16_t drain_port, slow_port, udp_port;
	int nconns;
	int conn[512];
	uint8_t slow[512];	/* conn[i] came from slow_lfd */
	int fast;		/* churn over: slow connections drain too */
	uint64_t slow_next_ms;	/* next time slow connections may read */
	uint64_t bytes, accepted, closed;
};

/* One steady client: its own thread and libzcsend handle. */
struct steady {
	pthread_t thread;
	uint32_t id;		/* client id in the records */
	int proto;		/* ZCS_PROTO_TCP or ZCS_PROTO_UDP */
	uint32_t udp_index;	/* UDP: record seq = index + stride * n */
	uint32_t udp_stride;
	uint64_t udp_limit;	/* UDP: the receiver tracks seqs below this */
	uint64_t *udp_sent;	/* UDP: datagrams sent by all UDP clients */
	uint64_t udp_seen;	/* UDP: receiver's count when last looked */
	uint64_t udp_seen_ms;	/* ... and when it last moved */
	const char *sock;
	char dest[64];
	struct th_recv *rv;
	volatile int *stop;
	struct steady_slot *slots;
	/* results, read after join */
	uint64_t sent, completed, bytes, zc;
	unsigned max_inflight;
};

/* What a churn child does before it is killed. */
enum churn_kind {
	CHURN_RAW_HELLO,	/* raw connect, no/partial/full HELLO */
	CHURN_CONNECT,		/* killed in or just after zcs_connect() */
	CHURN_FLOW_IDLE,	/* flows open, no send yet */
	CHURN_SENDS,		/* a random number of verified sends */
	CHURN_SLOW_FLOOD,	/* thousands in flight to a slow reader */
	CHURN_KINDS
};

struct churn_stats {
	uint64_t started;
	uint64_t killed;	/* ended by our SIGKILL */
	uint64_t finished;	/* exited 0 on their own */
	uint64_t failed;	/* exited otherwise: an error they saw */
	uint64_t kinds[CHURN_KINDS];
	uint64_t sink_bytes, sink_conns, sink_closed;
};

#define CHURN_LIVE_LIMIT	32	/* --churn-live at most */

/* The manager process that runs the churn and the sinks. */
struct churn {
	int live_max;		/* churn clients alive at once */
	unsigned per_sec;	/* starts per second at most */
	pid_t pid;
	int cmd_fd;		/* parent -> manager: 's' start, 'e' end */
	int res_fd;		/* manager -> parent: struct churn_stats */
};

#define SOAK_CLIENTS_MAX	16
#define SOAK_RSS_SLACK_KB	(8 * 1024)	/* --rss-slack's default */
#define SOAK_SETTLE_MS		15000

struct soak {
	unsigned seconds, nclients;
	long rss_slack;			/* KiB over baseline allowed */
	struct th_daemon d;
	struct th_raw ctl;		/* control-only, open all along */
	struct sink sink;
	struct churn churn;
	struct churn_stats cst;
	struct th_recv tcp_rv[SOAK_CLIENTS_MAX];
	struct th_recv udp_rv;
	struct steady st[SOAK_CLIENTS_MAX];
	uint64_t udp_sent, udp_missing, udp_drops;
	volatile int stop;
	int fds_before, fds_after;
	long rss_before, rss_after, rss_peak;
	struct zcs_status_daemon last;
	unsigned last_clients;
	char confdir[128], conf[192];
	uint64_t run_ms, settle_ms;
	int asan;			/* daemon sanitized: RSS not checked */
	int failed;
};

/* soak.c */
void soak_expect(struct soak *s, int ok, const char *what);
int soak_idle(struct soak *s);

/* soak_check.c */
void soak_check_streams(struct soak *s);
void soak_settle(struct soak *s);
void soak_report(const struct soak *s);

/* steady.c */
void steady_start(struct steady *s);
void steady_join(struct steady *s);

/* churn.c */
void churn_start(struct churn *ch, struct sink *k, const char *sock);
void churn_go(struct churn *ch);
int churn_end(struct churn *ch, struct churn_stats *st);
void churn_quit(struct churn *ch);

/* churn_child.c */
__attribute__((noreturn)) void churn_child(int kind, const char *sock,
					   const struct sink *k);

/* sink.c */
void sink_open(struct sink *k);
int sink_poll(struct sink *k, int extra_fd, int timeout_ms);
void sink_close(struct sink *k);
void sink_dest(const char *proto, uint16_t port, char *buf, size_t size);

/* procstat.c */
uint64_t proc_udp_drops(uint16_t port);
int proc_maps_has(pid_t pid, const char *what);

#endif /* ZCS_SOAK_H */
