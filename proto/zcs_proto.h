/* SPDX-License-Identifier: MIT */
/*
 * zcsendd wire protocol: the only code the daemon and libzcsend share.
 * Messages travel over an AF_UNIX SOCK_SEQPACKET socket, one message per
 * packet, in host byte order (both ends are on the same host). Every field
 * is fixed-width and naturally aligned; padding is explicit and must be 0.
 * See proto/PROTOCOL.md for the conversation.
 */
#ifndef ZCS_PROTO_H
#define ZCS_PROTO_H

#include <stddef.h>
#include <stdint.h>

/*
 * Bump ZCS_PROTO_VERSION on any change to the structs or their meaning.
 * Type numbers are append-only; a retired one stays as a comment.
 */
#define ZCS_PROTO_VERSION	5

/* Largest message either side sends or accepts, header included. */
#define ZCS_MSG_MAX		65536u
#define ZCS_NAME_MAX		32u	/* client name, NUL included */
#define ZCS_DEST_MAX		256u	/* destination string, NUL included */
#define ZCS_ERRMSG_MAX		112u	/* error text, NUL included */
#define ZCS_SEND_LEN_MAX	(1u << 30)	/* one send record, bytes */

struct zcs_hdr {
	uint32_t len;		/* whole message, header included */
	uint16_t type;		/* ZCS_MSG_* */
	uint8_t version;	/* ZCS_PROTO_VERSION */
	uint8_t flags;		/* ZCS_HDR_F_* */
	uint64_t cookie;	/* chosen by the requester, echoed in replies */
};

#define ZCS_HDR_F_FD		0x01u	/* descriptors ride along: 1, RINGS 3 */
#define ZCS_HDR_F_ALL		ZCS_HDR_F_FD

/* control: 1xx */
#define ZCS_MSG_HELLO		100	/* c->d: zcs_hello */
#define ZCS_MSG_HELLO_OK	101	/* d->c: zcs_hello_ok (+ pool memfd) */
#define ZCS_MSG_VERSION		102	/* d->c: zcs_version, then close */
#define ZCS_MSG_ERROR		103	/* d->c: zcs_error */
#define ZCS_MSG_OK		104	/* d->c: no payload, a request done */
#define ZCS_MSG_RINGS		105	/* d->c: zcs_rings (+ 3 fds), after HELLO_OK */
#define ZCS_MSG_FLOW_OPEN	110	/* c->d: zcs_flow_open */
#define ZCS_MSG_FLOW_OK		111	/* d->c: zcs_flow_ok */
#define ZCS_MSG_FLOW_CLOSE	112	/* c->d: zcs_flow_close */
#define ZCS_MSG_FLOW_CLOSED	113	/* d->c: zcs_flow_close */
#define ZCS_MSG_STATUS		120	/* c->d: no payload */
#define ZCS_MSG_STATUS_DAEMON	121	/* d->c: zcs_status_daemon */
#define ZCS_MSG_STATUS_CLIENT	122	/* d->c: zcs_status_client, one each */
#define ZCS_MSG_STATUS_DEST	123	/* d->c: zcs_status_dest, one each */
#define ZCS_MSG_STATUS_END	124	/* d->c: no payload, ends a STATUS reply */
#define ZCS_MSG_SERVICE		125	/* c->d: no payload */
#define ZCS_MSG_SERVICE_INFO	126	/* d->c: zcs_service */
#define ZCS_MSG_RELOAD		130	/* c->d: no payload; OK or ERROR */
#define ZCS_MSG_POLICY		131	/* c->d: zcs_policy; OK or ERROR */
#define ZCS_MSG_UPGRADE		132	/* c->d: no payload; OK once begun, or ERROR */
/* send: 2xx */
#define ZCS_MSG_SEND		200	/* c->d: zcs_send[1..ZCS_SEND_BATCH_MAX] */
/* events: 3xx */
#define ZCS_MSG_COMPLETE	300	/* d->c: zcs_completion[1..ZCS_COMPLETE_BATCH_MAX] */

struct zcs_hello {
	uint64_t pool_bytes;	/* wanted; 0 for a control-only connection */
	uint32_t flags;		/* ZCS_HELLO_F_* */
	uint32_t ring_entries;	/* with F_RINGS: SQ entries wanted, 0 default */
	char name[ZCS_NAME_MAX];	/* NUL-terminated, for status and logs */
};

/* Ask for shared-memory rings (needs pool_bytes > 0). */
#define ZCS_HELLO_F_RINGS	0x01u
#define ZCS_HELLO_F_ALL		ZCS_HELLO_F_RINGS

struct zcs_hello_ok {
	uint64_t pool_bytes;	/* granted; the memfd has exactly this size */
	uint32_t client_id;
	uint32_t features;	/* ZCS_FEAT_* */
	uint32_t max_inflight;	/* sends the client may have outstanding */
	uint32_t max_flows;
	uint32_t max_send_bytes;	/* longest single send record */
	uint32_t reserved;
};

#define ZCS_FEAT_SEND_ZC	0x01u	/* IORING_OP_SEND_ZC */
#define ZCS_FEAT_SENDMSG_ZC	0x02u	/* IORING_OP_SENDMSG_ZC */
#define ZCS_FEAT_REPORT_USAGE	0x04u	/* kernel says when it copied */
#define ZCS_FEAT_DEFER_TASKRUN	0x08u	/* ring set up with DEFER_TASKRUN */
#define ZCS_FEAT_SINGLE_ISSUER	0x10u
#define ZCS_FEAT_UDP_GSO	0x20u	/* UDP_SEGMENT cuts one send into datagrams */
#define ZCS_FEAT_SENDMSG_ZC_FIXED 0x40u	/* SENDMSG_ZC from registered buffers */

struct zcs_msg_version {
	uint8_t min;		/* oldest protocol version the daemon speaks */
	uint8_t max;		/* newest */
	uint8_t reserved[6];
};

struct zcs_error {
	int32_t err;		/* negative errno */
	uint16_t req_type;	/* type of the message that failed */
	uint16_t reserved;
	char msg[ZCS_ERRMSG_MAX];	/* NUL-terminated, human-readable */
};

struct zcs_flow_open {
	uint32_t flags;		/* none defined yet: must be 0 */
	uint32_t reserved;
	char dest[ZCS_DEST_MAX];	/* "udp://HOST:PORT", "tcp://[V6]:PORT", name */
};

#define ZCS_PROTO_UDP		17
#define ZCS_PROTO_TCP		6

struct zcs_flow_ok {
	uint32_t flow;		/* id to name in zcs_send records */
	uint16_t proto;		/* ZCS_PROTO_UDP or ZCS_PROTO_TCP */
	uint16_t reserved;
	uint32_t max_send_bytes;	/* longest record this flow takes */
	uint32_t max_segment;	/* UDP: largest datagram within the path MTU */
};

struct zcs_flow_close {
	uint32_t flow;
	uint32_t reserved;
};

/* One request: send bytes [offset, offset+len) of the client's pool. */
struct zcs_msg_send {
	uint64_t tag;		/* opaque, returned in the completion */
	uint64_t offset;
	uint32_t len;
	uint32_t flow;
	uint32_t flags;		/* ZCS_SEND_F_* */
	uint32_t segment;	/* with F_SEGMENT: datagram size; else 0 */
};

/*
 * UDP only: send the range as datagrams of `segment` bytes (the last may be
 * shorter), with UDP segmentation offload where the kernel has it. The
 * completion's result counts every byte sent.
 */
#define ZCS_SEND_F_SEGMENT	0x01u
#define ZCS_SEND_F_ALL		ZCS_SEND_F_SEGMENT
/* Datagrams one segmented record may make: it is sent all at once. */
#define ZCS_SEGMENT_DATAGRAMS_MAX	4096u

/*
 * One finished request. The pool bytes it named are the client's again:
 * the kernel has released them (notification CQE seen).
 */
struct zcs_msg_completion {
	uint64_t tag;
	int32_t result;		/* bytes sent, or negative errno */
	uint32_t flags;		/* ZCS_COMP_F_* */
};

#define ZCS_COMP_F_ZC		0x01u	/* sent with a zerocopy send */
#define ZCS_COMP_F_COPIED	0x02u	/* ... but the kernel copied the data */
#define ZCS_COMP_F_USAGE	0x04u	/* ZC/COPIED are known, not guessed */

/*
 * Shared-memory rings (PROTOCOL.md, "Rings"). After HELLO_OK, a client
 * that asked gets RINGS with three descriptors, in this order: the ring
 * memfd (map it PROT_READ|PROT_WRITE, MAP_SHARED, zcs_rings.bytes long),
 * the eventfd that wakes the daemon (the client writes it), and the
 * eventfd that wakes the client (the daemon writes it).
 */
struct zcs_rings {
	uint64_t bytes;		/* memfd size, whole pages */
	uint32_t sq_entries;	/* power of two */
	uint32_t cq_entries;	/* power of two */
	uint32_t sq_off;	/* byte offset of zcs_msg_send[sq_entries] */
	uint32_t cq_off;	/* byte offset of zcs_msg_completion[cq_entries] */
	uint32_t flags;		/* none defined yet: 0 */
	uint32_t reserved;
};

#define ZCS_RING_ENTRIES_MIN	8u
#define ZCS_RING_ENTRIES_MAX	4096u	/* SQ; the CQ has twice as many */

/* One index or flag word alone on its 64-byte cache line. */
struct zcs_ring_word {
	uint32_t v;		/* accessed only with C11 atomics */
	uint32_t pad[15];
};

/*
 * At offset 0 of the ring memfd. Indices run free (mod 2^32); entry i is
 * at [i & (entries - 1)]. Each word has one writer.
 */
struct zcs_ring_ctl {
	struct zcs_ring_word sq_head;	/* daemon: records taken */
	struct zcs_ring_word sq_tail;	/* client: records written */
	struct zcs_ring_word cq_head;	/* client: completions read */
	struct zcs_ring_word cq_tail;	/* daemon: completions written */
	struct zcs_ring_word daemon_flags;	/* ZCS_RING_NEED_WAKEUP */
	struct zcs_ring_word client_flags;	/* ZCS_RING_WAITING */
	struct zcs_ring_word daemon_beat;	/* daemon: +1 a turn, awake */
	struct zcs_ring_word client_beat;	/* client: +1 a spin, awake */
};

/* The daemon sleeps: write its eventfd after new records or CQ room. */
#define ZCS_RING_NEED_WAKEUP	0x01u
/* The client sleeps: the daemon writes its eventfd after completions. */
#define ZCS_RING_WAITING	0x01u

/* Change a destination's policy at run time (administrators only). */
struct zcs_policy {
	char dest[64];		/* destination name or address */
	char settings[256];	/* "key=value key=value ...", as in the config */
};

#define ZCS_SEND_BATCH_MAX \
	((ZCS_MSG_MAX - sizeof(struct zcs_hdr)) / sizeof(struct zcs_msg_send))
#define ZCS_COMPLETE_BATCH_MAX \
	((ZCS_MSG_MAX - sizeof(struct zcs_hdr)) / sizeof(struct zcs_msg_completion))

/*
 * What the scheduler did, per client and in all: the work submitted, in
 * cost units (PROTOCOL.md, "Scheduling"), and how long requests waited
 * between intake and their first submission.
 */
struct zcs_sched_counters {
	uint64_t cost;		/* cost units submitted */
	uint64_t queue_ns;	/* waits summed over @queued requests */
	uint64_t queued;	/* requests submitted after a wait */
	uint64_t queue_max_ns;	/* the longest wait */
};

/* What status counts, per daemon, client and destination. */
struct zcs_counters {
	uint64_t sends;		/* completed requests */
	uint64_t bytes;		/* bytes the kernel took */
	uint64_t errors;	/* requests that failed */
	uint64_t zc_sends;	/* succeeded as a zerocopy send */
	uint64_t zc_copied;	/* ... that the kernel copied anyway */
	uint64_t completions;	/* completion records written */
	uint64_t completion_msgs;	/* COMPLETE messages written */
	uint64_t datagrams;	/* UDP datagrams sent */
	uint64_t gso_sends;	/* ... by sends cut into several (UDP GSO) */
	uint64_t wakeups;	/* ring clients woken (eventfd) for completions */
};

/* The shared-memory fast path, per client and in all. */
struct zcs_ring_counters {
	uint64_t records;	/* SEND records taken from the ring */
	uint64_t wakeups_in;	/* the client woke the daemon */
	uint64_t wakeups_out;	/* the daemon woke the client */
	uint64_t poll_ns;	/* daemon time spent polling rings */
};

struct zcs_status_daemon {
	char version[16];	/* daemon version string */
	uint64_t uptime_ms;
	uint32_t pid;
	uint32_t features;	/* ZCS_FEAT_* */
	uint32_t clients;
	uint32_t dests;
	uint32_t flows;
	uint32_t inflight;
	uint32_t ring_entries;
	uint32_t poll_usec;	/* rings polled this long after work */
	uint32_t gso_max_segments;	/* datagrams per GSO send, 0: no GSO */
	uint32_t reserved;
	uint64_t pool_bytes;	/* all clients' pools */
	struct zcs_counters st;
	struct zcs_ring_counters rings;
	struct zcs_sched_counters sched;
};

struct zcs_status_client {
	uint32_t id;
	uint32_t pid;
	uint32_t uid;
	uint32_t gid;
	uint64_t pool_bytes;
	uint32_t inflight;
	uint32_t flows;
	char name[ZCS_NAME_MAX];
	struct zcs_counters st;
	uint32_t flags;		/* ZCS_CLIENT_F_* */
	uint32_t ring_entries;	/* SQ entries, with rings */
	struct zcs_ring_counters rings;
	uint32_t weight;	/* its scheduling weight, from the config */
	uint32_t reserved;
	struct zcs_sched_counters sched;
};

/*
 * The service across restarts: a hand-over (zcsendctl upgrade, systemctl
 * restart) keeps clients and starts a new process, so the service's age
 * and the process's differ.
 */
struct zcs_service {
	uint64_t service_uptime_ms;	/* since the service first started */
	uint64_t process_uptime_ms;	/* since this process started */
	uint64_t last_handover_us;	/* the last hand-over's blackout; 0: none */
	uint32_t handovers;		/* hand-overs since the first start */
	uint32_t last_clients;		/* clients the last one carried */
	uint32_t pid;
	uint32_t reserved;
};

#define ZCS_CLIENT_F_RINGS	0x01u	/* uses shared-memory rings */

#define ZCS_FLUSH_IMMEDIATE	0
#define ZCS_FLUSH_BATCH		1

#define ZCS_ZC_OFF		0
#define ZCS_ZC_ON		1
#define ZCS_ZC_AUTO		2

/* udp_segment policy: coalescing records into GSO sends (same values). */
#define ZCS_SEG_OFF		0
#define ZCS_SEG_ON		1
#define ZCS_SEG_AUTO		2

#define ZCS_DEST_F_NAMED	0x01u	/* from the config, not ad-hoc */
#define ZCS_DEST_F_REMOVED	0x02u	/* gone from the config: no new flows */

struct zcs_status_dest {
	char name[64];
	char address[64];	/* "udp://[::1]:9000" form */
	uint16_t proto;		/* ZCS_PROTO_* */
	uint8_t flush;		/* ZCS_FLUSH_* */
	uint8_t zerocopy;	/* ZCS_ZC_*, as configured */
	uint32_t batch_max;
	uint32_t batch_usec;
	uint32_t zerocopy_min_bytes;
	uint32_t flows;
	uint8_t zc_active;	/* zerocopy sends in force now */
	uint8_t flags;		/* ZCS_DEST_F_* */
	uint8_t udp_segment;	/* ZCS_SEG_*, as configured */
	uint8_t gso_active;	/* GSO sends in force now */
	char zc_reason[64];	/* why zerocopy is or is not in force */
	uint32_t max_segment;	/* UDP: largest datagram within the path MTU */
	uint32_t reserved;
	char gso_reason[64];	/* why GSO is or is not in force */
	struct zcs_counters st;
};

/* The wire layout is pinned: a change here is a protocol version bump. */
_Static_assert(sizeof(struct zcs_hdr) == 16, "zcs_hdr");
_Static_assert(offsetof(struct zcs_hdr, len) == 0, "zcs_hdr.len");
_Static_assert(offsetof(struct zcs_hdr, type) == 4, "zcs_hdr.type");
_Static_assert(offsetof(struct zcs_hdr, version) == 6, "zcs_hdr.version");
_Static_assert(offsetof(struct zcs_hdr, flags) == 7, "zcs_hdr.flags");
_Static_assert(offsetof(struct zcs_hdr, cookie) == 8, "zcs_hdr.cookie");
_Static_assert(sizeof(struct zcs_hello) == 48, "zcs_hello");
_Static_assert(sizeof(struct zcs_hello_ok) == 32, "zcs_hello_ok");
_Static_assert(sizeof(struct zcs_msg_version) == 8, "zcs_version");
_Static_assert(sizeof(struct zcs_error) == 120, "zcs_error");
_Static_assert(sizeof(struct zcs_flow_open) == 264, "zcs_flow_open");
_Static_assert(sizeof(struct zcs_flow_ok) == 16, "zcs_flow_ok");
_Static_assert(sizeof(struct zcs_flow_close) == 8, "zcs_flow_close");
_Static_assert(sizeof(struct zcs_msg_send) == 32, "zcs_send");
_Static_assert(offsetof(struct zcs_msg_send, offset) == 8, "zcs_send.offset");
_Static_assert(offsetof(struct zcs_msg_send, len) == 16, "zcs_send.len");
_Static_assert(offsetof(struct zcs_msg_send, flow) == 20, "zcs_send.flow");
_Static_assert(sizeof(struct zcs_msg_completion) == 16, "zcs_completion");
_Static_assert(sizeof(struct zcs_counters) == 80, "zcs_counters");
_Static_assert(sizeof(struct zcs_ring_counters) == 32, "zcs_ring_counters");
_Static_assert(sizeof(struct zcs_status_daemon) == 216, "zcs_status_daemon");
_Static_assert(sizeof(struct zcs_status_client) == 224, "zcs_status_client");
_Static_assert(sizeof(struct zcs_rings) == 32, "zcs_rings");
_Static_assert(sizeof(struct zcs_ring_word) == 64, "zcs_ring_word");
_Static_assert(sizeof(struct zcs_ring_ctl) == 512, "zcs_ring_ctl");
_Static_assert(offsetof(struct zcs_ring_ctl, sq_tail) == 64, "sq_tail");
_Static_assert(offsetof(struct zcs_ring_ctl, cq_head) == 128, "cq_head");
_Static_assert(offsetof(struct zcs_ring_ctl, cq_tail) == 192, "cq_tail");
_Static_assert(offsetof(struct zcs_ring_ctl, daemon_flags) == 256,
	       "daemon_flags");
_Static_assert(offsetof(struct zcs_ring_ctl, client_flags) == 320,
	       "client_flags");
_Static_assert(offsetof(struct zcs_ring_ctl, daemon_beat) == 384,
	       "daemon_beat");
_Static_assert(offsetof(struct zcs_ring_ctl, client_beat) == 448,
	       "client_beat");
_Static_assert(sizeof(struct zcs_status_dest) == 368, "zcs_status_dest");
_Static_assert(sizeof(struct zcs_policy) == 320, "zcs_policy");
_Static_assert(sizeof(struct zcs_service) == 40, "zcs_service");

/* Validation: pure functions, no I/O; 0 or a negative errno. */
int zcs_hdr_check(const struct zcs_hdr *h, size_t avail);
int zcs_payload_check(const struct zcs_hdr *h, const void *payload);
int zcs_hello_check(const struct zcs_hello *m);
int zcs_rings_check(const struct zcs_rings *m);
int zcs_flow_open_check(const struct zcs_flow_open *m);
int zcs_flow_close_check(const struct zcs_flow_close *m);
int zcs_policy_check(const struct zcs_policy *m);
int zcs_send_check(const struct zcs_msg_send *s);
int zcs_range_check(uint64_t off, uint64_t len, uint64_t region);
int zcs_msg_check(const void *buf, size_t avail, struct zcs_hdr *out);
size_t zcs_send_count(const struct zcs_hdr *h);
const char *zcs_msg_name(uint16_t type);
void zcs_hdr_init(struct zcs_hdr *h, uint16_t type, size_t payload,
		  uint64_t cookie);

#endif /* ZCS_PROTO_H */
