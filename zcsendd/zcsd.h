/* SPDX-License-Identifier: MIT */
/*
 * The daemon's one context, struct zcsd, and the objects hanging off it:
 * clients, their pools, flows, destinations and send requests. Every
 * libevent callback gets the context (or an object pointing back to it) as
 * its argument; there are no other globals but the log level. A service
 * module's own state is a struct in its header under service/, embedded
 * here, and only that module touches it.
 */
#ifndef ZCSD_H
#define ZCSD_H

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>
#include <liburing.h>

#include "addr.h"
#include "config.h"
#include "service/log.h"
#include "util.h"
#include "zcs_proto.h"
#include "zcs_spare.h"

/* Service modules whose own state is embedded below; only they touch it. */
#include "service/admission.h"
#include "service/drain.h"
#include "service/fdstore.h"
#include "handover/handover.h"
#include "service/hello_deadline.h"
#include "service/listener.h"
#include "service/notify.h"
#include "service/signals.h"
#include "service/unread.h"

/* Newer than liburing 2.3's headers; probed at start. */
#ifndef IORING_SEND_ZC_REPORT_USAGE
#define IORING_SEND_ZC_REPORT_USAGE	(1U << 3)
#endif
#ifndef IORING_NOTIF_USAGE_ZC_COPIED
#define IORING_NOTIF_USAGE_ZC_COPIED	(1U << 31)
#endif

/* Newer than some libc headers: <linux/udp.h> has them since 4.18. */
#ifndef SOL_UDP
#define SOL_UDP			17
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT		103
#endif

/* The largest UDP payload one send may carry (IPv4 bounds it). */
#define UDP_PAYLOAD_MAX		65507u

/* One registered-buffer slot holds at most this much of a pool. */
#define POOL_SLOT_BYTES		(1ull << 30)

struct zcsd;
struct client;
struct flow;
struct shring;
struct sqarena;
struct delivery_ops;

/*
 * What operation a request goes out as, which decides what its CQEs mean
 * and when it is finished (completion/finish.c).
 */
enum req_kind {
	REQ_PLAIN = 0,		/* UDP: one send of its own */
	REQ_TCP,		/* TCP: in its flow's queue, or done */
	REQ_TCP_CHAIN,		/* TCP: in a linked chain in the kernel */
	REQ_GSO_SEGMENT,	/* UDP with a segment size: GSO sends */
	REQ_GSO_LEAD,		/* UDP: heads records coalesced into one send */
	REQ_GSO_MEMBER,		/* UDP: rides in its lead's send */
};
struct peer;

/*
 * One send record on its way. It is done when every op it issued has its
 * result CQE and every zerocopy op its notification CQE; then it waits in
 * its flow's batch until the completion is written to the client.
 */
struct req {
	struct client *c;
	struct flow *f;
	struct req *next;	/* free list, flow queue, chain or batch */
	uint64_t tag;
	uint64_t off;
	uint32_t len;
	uint32_t done;		/* bytes the kernel took */
	int32_t err;
	uint16_t ops;		/* ops submitted, result CQE pending */
	int16_t notifs;		/* F_MORE results minus F_NOTIF CQEs */
	uint8_t zc;		/* some op was a zerocopy send */
	uint8_t op_zc;		/* the op in the kernel is one */
	uint8_t copied;		/* the kernel reported copying */
	uint8_t kind;		/* enum req_kind */
	uint8_t op_gso;		/* the op in the kernel is a GSO send */
	uint16_t refused;	/* its GSO sends the kernel refused */
	uint16_t segment;	/* UDP datagram size: explicit, or a run's */
	uint16_t gso_ops;	/* GSO sends it went out in */
	uint32_t sent;		/* segmented: bytes handed to the kernel */
	uint32_t dgrams;	/* UDP datagrams the kernel took */
	struct req *grp;	/* coalesced: the next record of the send */
	uint64_t put_ns;	/* when it joined c->sched (sched.c's clock) */
	uint8_t queued;		/* on c->sched: completion waits for it */
	uint8_t started;	/* its first send was handed out */
	uint8_t windowed;	/* segmented, one datagram per send */
	/* The UDP_SEGMENT cmsg: the kernel may read it until the result. */
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} cmsg;
};

/* A singly linked FIFO of requests. */
struct req_list {
	struct req *head;
	struct req **tailp;
	uint32_t n;
};

struct pool {
	int memfd;
	void *base;
	uint64_t size;
	uint32_t first_slot;	/* in the ring's sparse buffer table */
	uint32_t nslots;
	bool pinned;		/* sealed and registered: pool_pin() */
	bool readonly;		/* sealed, never to be pinned (pool_adopt) */
};

/*
 * zerocopy = auto: whether zerocopy is in force for a destination, judged
 * from the kernel's copied reports over windows of sends.
 */
struct zcauto {
	bool active;		/* zerocopy sends in force */
	char reason[64];	/* why, for status */
	uint32_t seen;		/* zerocopy completions in this window */
	uint32_t copied;	/* ... that the kernel copied */
	uint32_t probe_left;	/* zerocopy sends still to try while off */
	uint64_t next_probe_ms;	/* when to try zerocopy again */
};

/* UDP segmentation offload for a destination: in force or not, and why. */
struct gsostate {
	bool active;		/* GSO sends in force */
	bool refused;		/* the kernel refused one: logged once */
	char reason[64];	/* why, for status */
	uint32_t max_segment;	/* largest datagram within the path MTU */
	uint64_t retry_ms;	/* udp_segment=auto: when to try GSO again */
};

/* A configured or ad-hoc destination; UDP flows share its socket. */
struct dest {
	TAILQ_ENTRY(dest) entry;
	char name[64];
	char address[64];
	uint16_t proto;		/* ZCS_PROTO_* */
	struct sockaddr_storage sa;
	socklen_t salen;
	int udp_fd;		/* connected UDP socket, or -1 */
	uint32_t flows;
	bool named;		/* from the config */
	bool removed;		/* gone from the config: no new flows */
	struct zcsd_policy policy;
	struct zcauto zc;
	struct gsostate gso;
	struct zcs_counters st;
	uint64_t wake_mark;	/* d->st.wakeups when last counted here */
};
TAILQ_HEAD(dest_list, dest);

enum flow_state { FLOW_CONNECTING, FLOW_OPEN, FLOW_CLOSING };

struct flow {
	TAILQ_ENTRY(flow) entry;	/* in its client */
	struct client *c;
	struct dest *dest;
	uint32_t id;
	enum flow_state state;
	int fd;			/* own TCP socket, or the dest's UDP one */
	int32_t err;		/* a failed TCP stream fails every send */
	uint64_t open_cookie;	/* FLOW_OPEN to answer once connected */
	uint32_t inflight;	/* requests not yet in the batch */
	struct req_list queue;	/* TCP: waiting for the chain to end */
	struct req_list chain;	/* TCP: linked sends in the kernel */
	uint32_t chain_ops;	/* result CQEs the chain still owes */
	struct req_list batch;	/* done, completion not yet written */
	struct event *batch_timer;
	bool flush_due;		/* write the batch when the socket allows */
	uint32_t wake_n;	/* ring: published, its client not yet woken */
	bool touched;		/* in this SEND message's flow set */
	bool sq_wait;		/* on d->sq_waiters: chain waits for SQ room */
	TAILQ_ENTRY(flow) sq_entry;
	bool connect_pending;	/* its connect CQE is still to come */
	struct __kernel_timespec connect_ts;	/* read at submit */
};
TAILQ_HEAD(flow_list, flow);

/* A queued control reply the socket had no room for. */
struct outmsg {
	STAILQ_ENTRY(outmsg) entry;
	uint32_t len;
	uint8_t data[];
};
STAILQ_HEAD(outmsg_list, outmsg);

struct client {
	TAILQ_ENTRY(client) entry;
	struct zcsd *d;
	uint32_t id;
	int fd;
	struct event *rev, *wev;
	struct event *hup;	/* paused: it hung up (EV_CLOSED) */
	struct event *linger;	/* a dead client's stuck sends: abort them */
	struct unread unread;	/* replies left unread: unread.c's */
	pid_t pid;		/* credentials: struct peer at accept */
	uid_t uid;
	gid_t gid;
	uint64_t accept_ms;	/* HELLO is due hello_timeout_ms later */
	char name[ZCS_NAME_MAX];
	bool hello_done;
	bool read_paused;	/* at the in-flight bound */
	uint32_t want_slots;	/* paused: free slots the next SEND needs */
	bool dead;		/* socket gone: the reaper frees it once idle */
	bool counted;		/* holds one of max_clients */
	bool fdstored;		/* its socket is in systemd's fd store */
	struct pool pool;
	struct req *reqs;	/* nreqs of them */
	uint32_t nreqs;		/* max_inflight at HELLO */
	struct req *free_reqs;	/* empty until the first SEND: req_arm */
	struct req_list sched;	/* checked, not yet submitted: sched.c */
	uint32_t weight;	/* its share of the scheduler (config), >= 1 */
	/* The scheduler's (sched.c): on d->sched.active while it has work. */
	TAILQ_ENTRY(client) sched_entry;
	bool sched_on;		/* on d->sched.active */
	bool sched_cont;	/* its turn was cut: its quantum is not spent */
	int64_t deficit;	/* cost it may still submit this round */
	uint64_t sched_cost;	/* cost of what waits on c->sched */
	struct zcs_sched_counters sched_st;	/* sched.c's, for status */
	uint32_t inflight;	/* requests taken from reqs */
	/*
	 * CQEs the kernel still owes this client: one per SQE handed out for
	 * it (ring_sqe), one more per notification a zerocopy result said
	 * will follow; each CQE pays one back (completion/cqe.c). The reaper
	 * frees the client only at 0, since those CQEs point into it.
	 */
	uint32_t cqes_owed;
	struct flow_list flows;
	uint32_t nflows;
	uint32_t closing_flows;	/* of nflows, closing: for the reaper */
	bool reaping;		/* on d->reap_list */
	TAILQ_ENTRY(client) reap_entry;
	struct outmsg_list outq;
	uint32_t outq_bytes;
	struct zcs_counters st;
	struct shring *sr;	/* shared-memory rings, or NULL */
	const struct delivery_ops *deliver;	/* socket or ring: HELLO's */
	TAILQ_ENTRY(client) ring_entry;	/* on d->ring_clients while alive */
	uint32_t ngroups;	/* supplementary groups, SO_PEERGROUPS */
	gid_t groups[];		/* sized at conn_new; keep last */
};
TAILQ_HEAD(client_list, client);
TAILQ_HEAD(shring_list, shring);	/* shring.h's */

struct ring {
	struct io_uring uring;
	int efd;
	struct event *ev;
	uint32_t features;	/* ZCS_FEAT_* */
	struct io_uring_params params;	/* as set up: a hand-over's exec needs it */
	uint32_t entries;
	uint32_t nslots;	/* sparse buffer table size */
	uint8_t *slot_used;
	bool pending;		/* SQEs prepared, not yet submitted */
	bool closed;		/* torn down at exit: no CQE comes now */
	uint64_t cqes;		/* CQEs handled: the loop sees work by it */
	uint32_t gso_max_segs;	/* datagrams per GSO send; 0: no UDP GSO */
	struct sqarena *arena;	/* SENDMSG headers: ops/ops.h */
};

/*
 * The scheduler's state (sched/sched.c): the clients with work waiting, in
 * round-robin order, and the event that runs another turn while any has.
 */
struct sched_state {
	struct client_list active;
	uint32_t nactive;
	struct event *ev;
	uint64_t now_ns;	/* the clock read of this batch or round */
	int64_t pass_left;	/* cost this pass of the loop may still submit */
	uint32_t last_id;	/* the client visited last */
	uint64_t last_ns;	/* ... when */
	uint64_t contended_ns;	/* another client was visited soon after */
	bool busy;		/* a turn is running: do not nest one */
};

/* Exit statuses, as zcsendd(8) EXIT STATUS gives them. */
#define ZCSD_EXIT_OK		0	/* drained: every send completed */
#define ZCSD_EXIT_ERROR		1	/* start-up error, second signal */
#define ZCSD_EXIT_ABANDONED	3	/* drain timed out: sends abandoned */

struct zcsd {
	struct event_base *base;
	struct zcsd_config cfg;
	struct ring ring;
	char config_path[CONFIG_PATH_MAX * 4];	/* "" = embedded defaults */
	uid_t uid;		/* our own: always allowed, an admin */
	struct listener listener;	/* listener.c's */
	struct admission admission;	/* admission.c's */
	struct hello_deadline hello;	/* hello_deadline.c's */
	struct signals signals;	/* signals.c's */
	struct drain drain;	/* drain.c's */
	struct handover handover;	/* handover/'s */
	struct fdstore fdstore;	/* fdstore.c's */
	bool draining;		/* no request is read now */
	int exit_status;	/* main's: ZCSD_EXIT_* */
	struct client_list clients;
	struct client_list ring_clients;	/* live clients with rings */
	struct shring_list ring_hot;	/* rings each turn reads: shring_take.c */
	struct shring_list ring_due;	/* completions to publish */
	uint64_t ring_beat_ns;	/* a hot client's beat last moved */
	struct zcs_spare spare;	/* a CPU to spare for polling? loop.c's */
	uint32_t nrings;
	struct zcs_ring_counters rings;	/* all clients', freed ones too */
	struct event *reap_ev;
	struct client_list reap_list;	/* dead, or with closing flows */
	struct flow_list sq_waiters;	/* TCP chains waiting for SQ room */
	struct sched_state sched;	/* sched.c's */
	uint32_t nconns;	/* connections, with or without a pool */
	uint32_t nclients;	/* pool-holding clients */
	uint32_t next_client_id;
	uint64_t pool_bytes;
	uint64_t pool_pinned;	/* of pool_bytes, pinned: pool.c */
	struct dest_list dests;
	uint32_t ndests;
	struct flow **flow_table;	/* by flow id's index bits */
	uint32_t flow_table_size;
	uint32_t flow_gen;
	uint32_t nflows;
	struct zcs_counters st;
	struct zcs_sched_counters sched_st;	/* all clients', sched.c's */
	uint64_t start_ms;
	struct notify notify;	/* notify.c's */
	uint8_t rxbuf[ZCS_MSG_MAX];
	uint8_t txbuf[ZCS_MSG_MAX];
};

/* CQE user_data kinds, in the low bits of an aligned pointer. */
#define UD_REQ		0ul
#define UD_CONNECT	1ul
#define UD_IGNORE	2ul	/* no owner: cancels */
#define UD_CLIENT	3ul	/* a client's, nothing to do: link timeouts */
#define UD_MASK		3ul

/* ops/ring.c */
int ring_init(struct zcsd *d);
void ring_fini(struct zcsd *d);
int ring_cancel_all(struct zcsd *d);
void ring_close(struct zcsd *d);
struct io_uring_sqe *ring_sqe(struct zcsd *d, struct client *owner);
void ring_submit(struct zcsd *d);
int ring_slots_alloc(struct zcsd *d, uint32_t n, uint32_t *first);
int ring_slots_take(struct zcsd *d, uint32_t first, uint32_t n);
void ring_slots_clear(struct zcsd *d, uint32_t first, uint32_t n);
void ring_slots_free(struct zcsd *d, uint32_t first, uint32_t n);

/* ops/ring_handover.c: the ring a hand-over keeps across an exec */
struct hs_ring;
void ring_save(const struct zcsd *d, struct hs_ring *out);
int ring_keep(struct zcsd *d);
int ring_adopt(struct zcsd *d, int fd, const struct hs_ring *hr);


/* conn.c */
struct client *conn_new(struct zcsd *d, int fd, const struct peer *p);
void conn_kill(struct client *c, const char *why);
void conn_lost(struct client *c, int err);
void conn_free(struct client *c);
int conn_send(struct client *c, const void *msg, size_t len);
int conn_send_fds(struct client *c, const void *msg, size_t len,
		  const int *fds, unsigned nfds);
int conn_reply(struct client *c, uint16_t type, uint64_t cookie,
	       const void *payload, size_t len);
int conn_error(struct client *c, uint16_t req_type, uint64_t cookie,
	       int err, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
int conn_error_raw(int fd, uint16_t req_type, int err, const char *text);
void conn_pause(struct client *c);
void conn_resume(struct client *c);
void conn_want_write(struct client *c);
void conn_free_all(struct zcsd *d);
void conn_count(const struct zcsd *d, uint32_t *clients, uint32_t *inflight);

/* shring.c */
int shring_open(struct client *c, uint32_t want, uint64_t cookie);
void shring_stop(struct client *c);
void shring_free(struct client *c);
void shring_status(const struct client *c, struct zcs_status_client *m);
struct hs_client;
void shring_save(const struct client *c, struct hs_client *hc, int fds[3]);
int shring_adopt(struct client *c, const struct hs_client *hc, int memfd,
		 int efd_in, int efd_out);

/* shring_io.c */
uint32_t shring_turn(struct zcsd *d, uint64_t now_ns);
bool shring_may_sleep(struct zcsd *d);
void shring_awake(struct zcsd *d);

/* shring_publish.c, shring_wake.c */
void shring_due(struct flow *f);
void shring_wake_due(struct flow *f);
void shring_wake_all(struct zcsd *d);
void shring_errors(struct client *c, const struct zcs_msg_completion *v,
		   uint32_t n);
bool shring_blocked(const struct client *c);
void shring_cq_mark(struct client *c);
bool shring_cq_moved(const struct client *c);

/* dispatch.c */
int dispatch_msg(struct client *c, const uint8_t *buf, size_t len);

/* pool.c */
uint64_t pool_grant(struct zcsd *d, uint64_t want);
int pool_open(struct client *c, uint64_t want);
int pool_pin(struct client *c);
int pool_adopt(struct client *c, int memfd, const struct hs_client *hc,
	       bool keep_pinned);
void pool_close(struct client *c);

/* dest.c */
int dest_get(struct zcsd *d, const char *spec, struct dest **out);
void dest_put(struct zcsd *d, struct dest *dst);
struct dest *dest_find_any(struct zcsd *d, const char *spec);
int dest_apply_config(struct zcsd *d);
void dest_set_policy(struct zcsd *d, struct dest *dst,
		     const struct zcsd_policy *p);
void dest_free_all(struct zcsd *d);
struct hs_dest;
struct dest *dest_adopt(struct zcsd *d, const struct hs_dest *hd, int fd,
			uint32_t flows);

/* zcauto.c */
void zcauto_reset(struct zcsd *d, struct dest *dst);
bool zcauto_use(struct zcsd *d, struct dest *dst);
void zcauto_report(struct zcsd *d, struct dest *dst, bool copied);

/* gso.c */
void gso_reset(struct zcsd *d, struct dest *dst);
void gso_path_mtu(struct dest *dst);
bool gso_use(struct dest *dst);
bool gso_coalesce(struct dest *dst);
void gso_refused(struct dest *dst, int err);

/* ops/udpseg.c */
int udpseg_check(const struct flow *f, const struct zcs_msg_send *s);

/* flow.c */
int flow_table_init(struct zcsd *d);
int flow_open(struct client *c, const char *spec, uint64_t cookie);
int flow_close(struct client *c, uint32_t id);
int flow_lookup(struct client *c, uint32_t id, struct flow **out);
int flow_adopt(struct client *c, uint32_t id, struct dest *dst, int fd,
	       int32_t err);
void flow_connect_done(struct flow *f, int res);
void flow_abort(struct flow *f);
void flow_kill(struct flow *f);
void flow_free(struct flow *f);

/* fd_check.c */
bool fd_check_anon(int fd, const char *kind);
bool fd_check_memfd(int fd, uint64_t size, int seals);

/* pages.c */
void *pages_calloc(size_t n, size_t size);
void pages_free(void *p);

/* intake/intake.c */
/* Where SEND records came from: their error completions go back there. */
enum intake_src { INTAKE_SOCKET, INTAKE_RING };
int intake_begin(struct client *c, uint64_t cookie);
int intake_records(struct client *c, const uint8_t *payload, size_t n,
		   enum intake_src src);

/* req.c */
int req_init(struct client *c);
void req_arm(struct client *c);
void req_fini(struct client *c);
void req_release(struct req *r);

/* completion/cqe.c */
int cqe_init(struct zcsd *d);
void cqe_run(struct zcsd *d);
void cqe_wait(struct zcsd *d, unsigned ms);

/* completion/finish.c */
void finish_check(struct req *r);
void finish_list(struct req *r);
void finish_fail_flow(struct flow *f, int err);
void finish_start_chain(struct flow *f);
void finish_chain(struct flow *f);
void finish_sq_room(struct zcsd *d);

/* sched/sched.c (the rest in sched/sched.h) */
bool sched_full(const struct client *c);

/* reap.c */
int reap_init(struct zcsd *d);
void reap_fini(struct zcsd *d);
void reap_schedule(struct zcsd *d);
void reap_add(struct client *c);
void reap_now(struct zcsd *d);

/* completion/complete.c */
void complete_req(struct req *r);

/* delivery/deliver.c */
void deliver_due(struct flow *f);
void deliver_flush(struct flow *f);
void deliver_flush_client(struct client *c);
void deliver_errors(struct client *c, const struct zcs_msg_completion *v,
		    uint32_t n);
void deliver_drop(struct flow *f);
void deliver_record(const struct req *r, struct zcs_msg_completion *v);
bool deliver_now(const struct flow *f, uint32_t n);
int deliver_arm(struct flow *f);
void deliver_count(struct client *c, struct dest *dest, uint32_t k,
		   uint32_t msgs);

/* req_list helpers */
static inline void req_list_init(struct req_list *l)
{
	l->head = NULL;
	l->tailp = &l->head;
	l->n = 0;
}

static inline void req_list_push(struct req_list *l, struct req *r)
{
	r->next = NULL;
	*l->tailp = r;
	l->tailp = &r->next;
	l->n++;
}

static inline struct req *req_list_pop(struct req_list *l)
{
	struct req *r = l->head;

	if (!r)
		return NULL;
	l->head = r->next;
	if (!l->head)
		l->tailp = &l->head;
	l->n--;
	return r;
}

/* A client, for the journal's CLIENT_* fields (its name once it said it). */
static inline struct log_about about_client(const struct client *c,
					    const char *msgid)
{
	return (struct log_about){ .msgid = msgid, .client = true,
				   .pid = c->pid, .uid = c->uid,
				   .name = c->hello_done ? c->name : NULL };
}

/* A destination, for the journal's DESTINATION field. */
static inline struct log_about about_dest(const struct dest *dst,
					  const char *msgid)
{
	return (struct log_about){ .msgid = msgid, .dest = dst->name };
}

#endif /* ZCSD_H */
