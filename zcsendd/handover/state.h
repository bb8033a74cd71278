/* SPDX-License-Identifier: MIT */
/*
 * The hand-over state (handover/state_*.c): what one process writes into a
 * sealed memfd for the next, in host byte order, as fixed-size records
 * with explicit padding that must be 0:
 *
 *   hs_header | hs_service | hs_dest[ndests] | hs_client[nclients]
 *   | hs_flow[nflows] | outq: (hs_outmsg + data padded to 8)[noutmsgs]
 *
 * Descriptors travel beside it (handover/bundle.c) and are named by their
 * index among them: HS_NO_FD for none. The reader trusts nothing: it is
 * fuzzed (tests/fuzz/fuzz-state.c) as the wire protocol is, and a state
 * it refuses starts the daemon fresh, each client told why.
 */
#ifndef ZCSD_HANDOVER_STATE_H
#define ZCSD_HANDOVER_STATE_H

#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#include "zcs_proto.h"

#define HS_MAGIC		"zcsHOver"	/* 8 bytes, no NUL */
#define HS_VERSION		1u
#define HS_BYTES_MAX		(64u << 20)	/* a whole state */
#define HS_FDS_MAX		(1u << 20)	/* descriptors beside it */
#define HS_CLIENTS_MAX		65536u
#define HS_DESTS_MAX		65536u
#define HS_FLOWS_MAX		(1u << 20)
#define HS_OUTQ_BYTES_MAX	(1u << 20)	/* per client, as conn.c */
#define HS_NO_FD		UINT32_MAX
#define HS_ADDR_MAX		(1ull << 47)	/* user addresses below it */

struct hs_header {
	char magic[8];		/* HS_MAGIC */
	uint32_t version;	/* HS_VERSION */
	uint32_t header_bytes;	/* sizeof(struct hs_header) */
	uint64_t total_bytes;	/* the whole state, header included */
	uint64_t checksum;	/* hs_checksum() of all bytes after the header */
	uint32_t nfds;		/* descriptors beside the state */
	uint32_t ndests;
	uint32_t nclients;
	uint32_t nflows;
	uint32_t noutmsgs;
	uint32_t reserved;
};

/* The io_uring handed over: set up by the old process, not yet enabled. */
struct hs_ring {
	uint32_t fd;		/* index */
	uint32_t sq_entries;
	uint32_t cq_entries;
	uint32_t flags;		/* io_uring_params.flags */
	uint32_t features;	/* io_uring_params.features */
	uint32_t zcs_features;	/* ZCS_FEAT_* probed at the first start */
	uint32_t nslots;	/* its sparse buffer table */
	uint32_t gso_max_segs;
	uint32_t sq_off[10];	/* io_sqring_offsets, as the kernel gave them */
	uint32_t cq_off[10];	/* struct io_cqring_offsets */
};

struct hs_service {
	uint64_t service_start_ms;	/* CLOCK_MONOTONIC */
	uint64_t begin_ns;		/* CLOCK_MONOTONIC: intake stopped */
	uint32_t handovers;		/* before this one */
	uint32_t last_clients;
	uint64_t last_us;
	uint32_t next_client_id;
	uint32_t flow_gen;
	uint32_t listen_fd;		/* index, or HS_NO_FD: systemd's */
	uint32_t listen_owned;		/* 1: we bound listen_path; else 0 */
	char listen_path[256];		/* NUL-terminated; "" unless owned */
	struct hs_ring ring;
	struct zcs_counters st;
	struct zcs_ring_counters rings;
	struct zcs_sched_counters sched;
};

struct hs_dest {
	char name[64];		/* NUL-terminated */
	char address[64];	/* NUL-terminated */
	uint16_t proto;		/* ZCS_PROTO_UDP or ZCS_PROTO_TCP */
	uint8_t named;		/* from the config */
	uint8_t removed;	/* retired by a reload, its flows finishing:
				 * its name may be a live one's too */
	uint32_t udp_fd;	/* index for UDP, HS_NO_FD for TCP */
	uint32_t salen;		/* of sa: an AF_INET or AF_INET6 address */
	uint32_t reserved2;
	struct sockaddr_storage sa;
	struct zcs_counters st;
};

#define HS_CLIENT_HELLO		0x01u	/* said HELLO */
#define HS_CLIENT_POOL		0x02u	/* holds a pool */
#define HS_CLIENT_PINNED	0x04u	/* its pool is in the ring's table */
#define HS_CLIENT_RINGS		0x08u	/* has shared-memory rings */
#define HS_CLIENT_SEALED	0x10u	/* its pool can never be pinned again
					 * (F_SEAL_FUTURE_WRITE), but is not */
#define HS_CLIENT_ALL		0x1fu

struct hs_client {
	uint32_t id;		/* nonzero, below hs_service.next_client_id */
	uint32_t fd;		/* index: the control socket */
	uint32_t flags;		/* HS_CLIENT_* */
	uint32_t nflows;	/* hs_flow records naming it */
	char name[ZCS_NAME_MAX];	/* NUL-terminated */
	/* HS_CLIENT_POOL */
	uint32_t pool_fd;	/* index */
	uint32_t pool_first_slot;	/* HS_CLIENT_PINNED: in the table */
	uint32_t pool_nslots;
	uint32_t reserved;
	uint64_t pool_bytes;	/* whole pages */
	uint64_t pool_addr;	/* HS_CLIENT_PINNED: where it was registered */
	/* HS_CLIENT_RINGS */
	uint32_t ring_fd;	/* index: the rings' memfd */
	uint32_t efd_in;	/* index: the client wakes us */
	uint32_t efd_out;	/* index: we wake the client */
	uint32_t sq_entries;	/* a power of two */
	uint32_t sq_head;	/* ours: where we take next */
	uint32_t cq_tail;	/* ours: where we publish next */
	uint64_t ring_bytes;
	uint32_t noutmsgs;	/* hs_outmsg records naming it */
	uint32_t outq_bytes;
	struct zcs_counters st;
	struct zcs_sched_counters sched;
	struct zcs_ring_counters rings;
};

struct hs_flow {
	uint32_t id;
	uint32_t client;	/* its client's id */
	uint32_t dest;		/* index into the hs_dest records */
	uint32_t fd;		/* TCP: index of its socket; UDP: HS_NO_FD */
	int32_t err;		/* a failed TCP stream: -errno, else 0 */
	uint32_t reserved;
};

/* A reply the old process had queued for a client's socket. */
struct hs_outmsg {
	uint32_t client;	/* its client's id */
	uint32_t len;		/* a whole message: zcs_hdr included */
};

/* A state the reader accepted: arrays copied out, aligned, checked. */
struct hs_state {
	struct hs_header hdr;
	struct hs_service svc;
	struct hs_dest *dests;
	struct hs_client *clients;
	struct hs_flow *flows;
	struct hs_outmsg *outmsgs;	/* noutmsgs of them */
	uint8_t **outdata;		/* each message's bytes */
};

_Static_assert(sizeof(struct hs_header) == 56, "hs_header");
_Static_assert(sizeof(struct hs_ring) == 112, "hs_ring");
_Static_assert(sizeof(struct hs_flow) == 24, "hs_flow");
_Static_assert(sizeof(struct hs_outmsg) == 8, "hs_outmsg");
_Static_assert(sizeof(struct hs_client) % 8 == 0, "hs_client");
_Static_assert(sizeof(struct hs_dest) % 8 == 0, "hs_dest");
_Static_assert(sizeof(struct hs_service) % 8 == 0, "hs_service");

/* state_read.c: pure checks, no I/O but hs_state_load's. */
uint64_t hs_checksum(const void *buf, size_t len);
int hs_state_parse(const uint8_t *buf, size_t len, uint32_t nfds,
		   struct hs_state **out, char *why, size_t whylen);
int hs_state_load(int memfd, uint32_t nfds, struct hs_state **out,
		  char *why, size_t whylen);
void hs_state_free(struct hs_state *s);


#endif /* ZCSD_HANDOVER_STATE_H */
