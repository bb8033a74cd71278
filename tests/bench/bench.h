/* SPDX-License-Identifier: MIT */
/*
 * zcsend-bench shared declarations: the run's options and context, one
 * round's measurement of a row (struct sample), the row table entry and
 * the per-file entry points. Every function returns 0/count or -errno.
 */
#ifndef ZCS_BENCH_H
#define ZCS_BENCH_H

#include <sys/types.h>
#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

struct zcs_ring_counters;	/* zcs_proto.h */
struct zcs_counters;

#define BENCH_SIZE_MAX		65507u	/* largest UDP payload over IPv4 */
#define BENCH_ROUNDS_MAX	1000u
#define BENCH_SECONDS_MAX	3600.0
#define BENCH_DRAIN_SECONDS	10.0	/* bound on waiting for stragglers */
#define BENCH_POOL_BYTES	(64u << 20)

enum bench_sink { SINK_IFB, SINK_LOOPBACK };

/* What a run measures: throughput rows, per-send latency, an idle daemon,
 * MTU-sized datagrams on two variants of the ifb sink, a light client
 * beside floods and many equal clients (fairness.c), the rows beside many
 * idle clients (idle_clients.c). */
enum bench_mode { MODE_RATE, MODE_LATENCY, MODE_IDLE, MODE_DGRAM,
		  MODE_FAIRNESS, MODE_CLIENTS_IDLE, MODE_HANDOVER };

#define BENCH_BUSY_MAX		64u	/* --busy */
#define BENCH_FAIR_CLIENTS_MAX	1000u	/* --fair-clients */
#define BENCH_CI_STEPS_MAX	8u	/* --clients-idle N,N,... */
#define BENCH_CI_CLIENTS_MAX	4000u	/* ... each at most */
#define BENCH_CONF_SETS_MAX	16u	/* --daemon-set */
#define BENCH_HANDOVERS_MAX	10000u	/* --handover N */

/* --dgram: datagrams that fill a 1500-byte MTU (less IPv4 and UDP
 * headers), and the UDP GSO sends that carry them. */
#define BENCH_DGRAM_MTU		1500u
#define BENCH_DGRAM_SIZE	1472u
#define BENCH_GSO_BYTES_MAX	65507u	/* one GSO send is one UDP datagram */
#define BENCH_GSO_SEGS_MAX	64u	/* the kernel's UDP_MAX_SEGMENTS >= 64 */

#define BENCH_LAT_MAX		(1u << 22)	/* latency samples per row */
#define BENCH_IDLE_CLIENTS_MAX	64u
#define BENCH_IDLE_POOL_BYTES	(1u << 20)

/* Per-send latency: when each slot's send was called, and the samples
 * (ns, send call to completion) of the row being measured. */
struct lat {
	uint64_t *t0;		/* per slot, ns */
	unsigned nslots;
	uint32_t *ns;		/* samples, saturated at UINT32_MAX */
	size_t n, cap;
};

/* The run: options, where the sink is, and the daemon behind the rows. */
struct bench {
	size_t size;
	double seconds;
	unsigned rounds;
	int json;
	uint32_t row_mask;	/* bit i: row i of the table is measured */
	enum bench_mode mode;
	unsigned clients;	/* --idle: connections kept open */
	const char *transport;	/* --idle: "ring" or "socket" */
	long poll_usec;		/* the daemon's poll_usec, -1: its default */
	long spin_usec;		/* zcs_set_spin_usec, -1: the library's */
	int pin;		/* --pin: daemon and bench on CPUs apart */
	unsigned busy_n;	/* --busy: loops beside every row */
	struct busy *busy;	/* ... running (busy.c), else NULL */
	double busy_alone_its_s;	/* ... their iterations/s alone */
	unsigned fair_clients;	/* --fairness: the equal clients */
	unsigned ci_steps[BENCH_CI_STEPS_MAX];	/* --clients-idle, ascending */
	unsigned nci_steps;
	const char *conf_set[BENCH_CONF_SETS_MAX];	/* --daemon-set K=V */
	unsigned nconf_set;
	unsigned handovers;	/* --handover N (handover.c) */
	struct lat *lat;	/* --latency: where rows record, else NULL */

	enum bench_sink sink;
	struct sockaddr_in sink_addr;
	int sink_fd;		/* loopback only: the never-read receiver */
	struct sockaddr_in flood_addr;	/* --fairness: the floods' sink, */
	int flood_fd;		/* ... a loopback receiver never read */

	unsigned gso_segs;	/* --dgram: datagrams per GSO send */
	int sink_gso_sw;	/* --dgram: ifb0 made to segment in software */

	pid_t daemon_pid;	/* 0 when no daemon runs */
	int daemon_err;		/* --dgram: it did not start; its rows fail */
	char dir[64];		/* mkdtemp dir holding conf, socket and log */
	char sock[108];		/* fits sun_path */
};

/* One row measured once: totals over the timed interval. */
struct sample {
	double secs;		/* wall time, first send to last completion */
	double cpu_s;		/* bench + daemon CPU over the same span */
	uint64_t bytes;		/* payload bytes sent successfully */
	uint64_t msgs;
	uint64_t zc_sends;	/* sends the kernel was asked to do zerocopy */
	uint64_t zc_copied;	/* ... of which it reported copying */
	uint64_t errors;
	uint64_t ring_records;	/* SEND records the daemon took from rings */
	double p50_us, p99_us;	/* --latency: this row's percentiles */
	size_t lat_n;		/* ... over this many sends */
	uint64_t d_datagrams;	/* --dgram: datagrams the daemon says it sent */
	uint64_t d_gso_sends;	/* ... and the GSO sends that carried them */
	uint64_t sink_pkts;	/* --dgram: packets the ifb sink counted */
	uint64_t sink_bytes;	/* ... and their bytes, headers included */
	double busy_its;	/* --busy: the loops' iterations meanwhile */
	int err;		/* the row failed: -errno, nothing measured */
};

/* Interval bookkeeping for struct sample: wall clock and CPU at start. */
struct meter {
	double t0;
	double cpu0;
	double deadline;
	uint64_t pkts0, bytes0;	/* --dgram: the sink's counters at start */
	uint64_t busy0;		/* --busy: the loops' iterations at start */
};

struct row_def;
typedef int (*row_fn)(struct bench *b, const struct row_def *r,
		      struct sample *s);

/* One line of the table: how to measure it and with what depth. */
struct row_def {
	const char *name;
	row_fn run;
	unsigned nr;		/* sends kept in flight */
	const char *dest;	/* zcsendd destination, NULL if none */
	const char *transport;	/* ZCSEND_TRANSPORT for its connection */
};

/* The median over rounds of one row, as reported. */
struct row_result {
	const char *name;
	double mb_s;
	double msgs_s;
	double speedup;
	double cpu_s_per_gb;
	double zc_copied_pct;
	double p50_us, p99_us;	/* --latency */
	size_t lat_n;
	double dgrams_s;	/* --dgram: datagrams/s at the sink */
	double sink_pct;	/* --dgram: sink payload / bytes sent, % */
	double dgrams_per_gso;	/* --dgram: daemon datagrams per GSO send */
	double busy_its_s;	/* --busy: the loops' iterations/s */
	int err;		/* a round failed: the row is not measured */
};

/* --idle: the daemon's CPU while its clients do nothing. */
struct idle_result {
	double secs;		/* the window, median round */
	double cpu_pct;		/* daemon utime+stime, % of one CPU */
	uint64_t wakeups_in, wakeups_out;	/* ring wake-ups in the window */
	int err;
};

/* main.c: set by SIGINT/SIGTERM; loops stop early and main cleans up. */
extern volatile sig_atomic_t bench_stop;

/* meter.c */
double meter_now(void);
int meter_start(const struct bench *b, struct meter *m);
int meter_expired(const struct meter *m);
int meter_stop(const struct bench *b, const struct meter *m,
	       struct sample *s);

/* pin.c */
int pin_start(const struct bench *b);
void pin_release(void);

/* busy.c */
struct busy;
int busy_start(struct bench *b);
void busy_stop(struct bench *b);
uint64_t busy_count(const struct busy *y);
int busy_alone(struct bench *b);

/* net.c */
int net_sink_setup(struct bench *b);
void net_sink_close(struct bench *b);
int net_udp_open(const struct bench *b);
int net_sink_url(const struct bench *b, char *buf, size_t size);
int net_flood_url(const struct bench *b, char *buf, size_t size);
int net_sink_url_port(const struct bench *b, unsigned off, char *buf,
		      size_t size);
int net_sink_counters(const struct bench *b, uint64_t *pkts, uint64_t *bytes);
int net_sink_set_gso_sw(struct bench *b, int sw);

/* daemon.c: the daemon's memory, kB (/proc/PID/status, smaps_rollup) */
struct daemon_mem {
	double rss_kb, pss_kb, pss_shmem_kb;
};
/* daemon.c */
int daemon_start(struct bench *b);
void daemon_stop(struct bench *b);
int daemon_cpu(const struct bench *b, double *secs);
int daemon_mem(const struct bench *b, struct daemon_mem *m);

/* errq.c: MSG_ZEROCOPY notifications of one socket */
struct errq {
	int fd;
	uint64_t sent;		/* successful sends = notification ids used */
	uint64_t done;		/* ids covered by notifications so far */
	uint64_t copied;	/* ... of which the kernel reported copying */
};
int errq_send(struct errq *z, const void *buf, size_t len);
int errq_drain(struct errq *z);
int errq_loop(struct bench *b, struct errq *z, const void *buf, size_t len,
	      unsigned dgrams, struct sample *s);

/* status.c */
int status_rings(const struct bench *b, struct zcs_ring_counters *out);
int status_daemon(const struct bench *b, struct zcs_ring_counters *rings,
		  struct zcs_counters *st);

/* latency.c */
struct lat *lat_new(unsigned nslots, size_t cap);
void lat_free(struct lat *l);
void lat_reset(struct lat *l);
void lat_start(struct lat *l, unsigned slot);
void lat_end(struct lat *l, unsigned slot);
void lat_summary(struct lat *l, struct sample *s);

/* idle.c */
int idle_run(struct bench *b, struct idle_result *out);

/* rows_plain.c */
void *rows_plain_payload(size_t size);
int rows_plain_send(struct bench *b, const struct row_def *r,
		    struct sample *s);
int rows_plain_msg_zerocopy(struct bench *b, const struct row_def *r,
			    struct sample *s);

/* rows_uring.c */
int rows_uring_zc(struct bench *b, const struct row_def *r, struct sample *s);
int rows_uring_gso_zc(struct bench *b, const struct row_def *r,
		      struct sample *s);

/* rows_dgram.c */
int rows_dgram_sendmmsg(struct bench *b, const struct row_def *r,
			struct sample *s);
int rows_dgram_udp_gso(struct bench *b, const struct row_def *r,
		       struct sample *s);
int rows_dgram_udp_gso_zc(struct bench *b, const struct row_def *r,
			  struct sample *s);
int rows_dgram_gso_open(const struct bench *b);

/* rows_daemon.c */
int rows_daemon_zcs(struct bench *b, const struct row_def *r,
		    struct sample *s);
int rows_daemon_coalesce(struct bench *b, const struct row_def *r,
			 struct sample *s);
int rows_daemon_gso(struct bench *b, const struct row_def *r,
		    struct sample *s);
struct zcs_client;
int rows_daemon_connect(const struct bench *b, const char *transport,
			size_t pool_bytes, struct zcs_client **c);
int rows_daemon_check_transport(const char *what, const char *transport,
				uint64_t records, uint64_t msgs);

/* dgram.c */
extern const struct row_def dgram_rows[];
extern const unsigned dgram_nrows;
unsigned dgram_gso_segs(size_t size);
void dgram_result(const struct bench *b, const char *row, int sw,
		  const struct sample *s, struct row_result *r);

/* peer.c: a client process of its own (--fairness) */
struct peer;
struct peer_spec {
	const char *transport;	/* ZCSEND_TRANSPORT */
	const char *dest;	/* the daemon's destination */
	size_t size;		/* bytes per send */
	size_t segment;		/* zcs_send_segmented's datagram, 0: none */
	size_t pool;		/* pool asked for */
	unsigned nr;		/* sends kept in flight */
	unsigned lat_cap;	/* latency samples kept */
	int hold;		/* send only once recording starts */
	int drain;		/* at the stop, let sends finish (bounded) */
};
/* A client's timed sends; all doubles (medians over rounds field by
 * field, fairness.c). */
struct peer_lat {
	double n;		/* completions timed */
	double p50_us, p99_us, max_us;
	double stuck_ms;	/* a timed send still pending at the stop */
};
int peer_spawn(struct bench *b, const struct peer_spec *sp, struct peer **out);
int peer_ready(struct peer *p, double deadline);
void peer_record(struct peer *p, int on);
void peer_counts(const struct peer *p, uint64_t *sends, uint64_t *bytes);
int peer_stop(struct peer *p);
void peer_lat(struct peer *p, struct peer_lat *out);
void peer_free(struct peer *p);

/* fairness.c: one round of --fairness, all doubles (see peer_lat) */
#define FAIR_NFLOODS	4	/* plain and segmented, socket and ring */
#define FAIR_NRUNS	3	/* equal clients: socket, ring, half each */
struct fair_flood {
	double alone_mb_s, alone_rec_s;	/* no canary */
	double beside_mb_s[2];		/* beside the canary on socket, ring */
};
struct fair_equal {
	double clients;		/* of this transport in the run; 0: none */
	double sends_s;		/* all of them together */
	double min, max;	/* sends per client in the window */
	double p99_med_us, p99_max_us;	/* over the clients' p99s */
};
struct fair_round {
	struct peer_lat canary[2][1 + FAIR_NFLOODS];	/* [socket, ring] */
	struct fair_flood flood[FAIR_NFLOODS];
	struct fair_equal equal[FAIR_NRUNS][2];
};
/* The first failure of each part over the rounds. */
struct fair_errs {
	int canary[2][1 + FAIR_NFLOODS];
	int flood[FAIR_NFLOODS];
	int equal[FAIR_NRUNS];
};
extern const char *const fairness_floods[FAIR_NFLOODS];
extern const char *const fairness_runs[FAIR_NRUNS];
extern const char *const fairness_transports[2];
int fairness_run(struct bench *b);

/* report_fair.c */
void report_fair(const struct bench *b, const struct fair_round *r,
		 const struct fair_errs *e);

/* idle_clients.c */
int idle_clients_run(struct bench *b);

/* handover.c */
int handover_run(struct bench *b);

/* report.c */
void report_header(const struct bench *b, const char *mode);
void report_table(const struct bench *b, const struct row_result *res,
		  unsigned n);
void report_json(const struct bench *b, const struct row_result *res,
		 unsigned n);
void report_latency(const struct bench *b, const struct row_result *res,
		    unsigned n);
void report_idle(const struct bench *b, const struct idle_result *r);

/* report_dgram.c: [0] the whole-GSO sink, [1] the software-segmenting one */
void report_dgram(const struct bench *b, const struct row_result *res[2],
		  unsigned n);

#endif /* ZCS_BENCH_H */
