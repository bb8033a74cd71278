/* SPDX-License-Identifier: MIT */
/*
 * tests/th/raw.c: a client that speaks the wire format byte by byte,
 * and packets with descriptors attached.
 */
#ifndef ZCS_TH_RAW_H
#define ZCS_TH_RAW_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

#include "zcs_proto.h"

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
/*
 * th_raw_hello_flags - th_raw_hello with HELLO's @flags and @entries
 * (ring SQ entries) set; th_raw_hello_rings uses it for ZCS_HELLO_F_RINGS.
 */
int th_raw_hello_flags(struct th_raw *r, uint64_t pool_bytes, uint32_t flags,
		       uint32_t entries, const char *name);
/*
 * th_raw_hello_send - send a HELLO (header version @version, no flags)
 * with @pool_bytes and @name, and read no answer: for tests that check
 * what the daemon answers. 0 or -errno.
 */
int th_raw_hello_send(struct th_raw *r, uint8_t version, uint64_t pool_bytes,
		      const char *name);
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

/*
 * th_send_fds - send @len bytes (0 allowed) as one packet on @sock with
 * @nfds (at most TH_FDS_MAX) descriptors in one SCM_RIGHTS. Returns the
 * bytes sent or -errno.
 */
#define TH_FDS_MAX 16
ssize_t th_send_fds(int sock, const void *buf, size_t len, const int *fds,
		    int nfds);

#endif /* ZCS_TH_RAW_H */
