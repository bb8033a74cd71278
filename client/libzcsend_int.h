/* SPDX-License-Identifier: MIT */
/*
 * libzcsend private header: the handle layout and the zcsi_* helpers the
 * library files share. zcsendctl links the static archive and uses the
 * request/reply helpers for its control-only status connection; nothing
 * here is exported from the shared library (zcsi_ does not match zcs_*).
 */
#ifndef LIBZCSEND_INT_H
#define LIBZCSEND_INT_H

#include <stddef.h>
#include <stdint.h>

#include "libzcsend_ring.h"
#include "zcs_spare.h"
#include "zcs_proto.h"
#include "zcsend.h"

/* Only functions marked so leave the shared library (-fvisibility=hidden). */
#define ZCS_EXPORT __attribute__((visibility("default")))

#define ZCSI_POOL_DEFAULT	(4u << 20)	/* zcs_connect(path, 0, ...) */
#define ZCSI_GRANULE		64u		/* allocator unit, bytes */
#define ZCSI_INFLIGHT_CAP	(1u << 20)	/* local bound on max_inflight */
#define ZCSI_PATH_MAX		108u		/* sizeof(sun_path) */
#define ZCSI_CONNECT_TIMEOUT_MS	10000		/* connect + HELLO, by default */
#define ZCSI_MSG_FDS		3		/* most fds a message carries: RINGS */
#define ZCSI_SPIN_USEC		20		/* zcs_set_spin_usec() default: measured */
#define ZCSI_EP_SOCKET		0u		/* epoll data: the socket woke us */
#define ZCSI_EP_EVENTFD		1u		/* ... or the client eventfd */
#define ZCSI_SPIN_USEC_MAX	1000000		/* spinning longer is a bug */

/* A reason for a failed connect that is the library's own, not the
 * daemon's, starts with this, so that no caller blames the daemon. */
#define ZCSI_OWN_REASON		"libzcsend: "

/* ZCSEND_TRANSPORT: which path zcs_connect() takes. */
enum zcsi_transport {
	ZCSI_TRANSPORT_AUTO,	/* ask for rings, fall back to the socket */
	ZCSI_TRANSPORT_SOCKET,	/* never ask */
	ZCSI_TRANSPORT_RING,	/* rings or no connection */
};

/* Ring transport state, allocated only when the daemon granted rings. */
struct zcsi_rings {
	struct zcsi_ring r;
	void *map;
	size_t map_bytes;
	int evfd_daemon;	/* we write it to wake the daemon */
	int evfd_client;	/* the daemon writes it to wake us */
	int armed;		/* we set WAITING and have not taken it back */
	struct zcs_spare spare;	/* a CPU to spare for spinning? */
};

/*
 * The descriptor of zcs_get_fd(), for both transports (libzcsend_wake.c):
 * an epoll fd over the socket and an eventfd that is readable while the
 * library holds completions back. A separate object, so that
 * zcs_get_fd(), which takes a const handle, can note that the caller now
 * sleeps on it.
 */
struct zcsi_wake {
	int epfd;		/* socket + evfd */
	int evfd;		/* rings: their evfd_client; socket: our own */
	int own_evfd;		/* evfd is ours to close */
	int exported;		/* zcs_get_fd() was called: park on return */
	unsigned held;		/* socket: cq_count at our last write, 0: none */
};

/* Pool allocator state: two bits per granule, in use and first of an
 * allocation; an allocation ends where the next one starts or at a free
 * granule. */
struct zcsi_alloc {
	uint64_t *bitmap;	/* in use */
	uint64_t *starts;	/* first granule of an allocation */
	size_t granules;
	size_t cursor;		/* next-fit start: sends finish about in order */
};

struct zcs_client {
	int fd;			/* SOCK_SEQPACKET, non-blocking */
	int err;		/* sticky: once the connection broke, 0 before */
	char errmsg[ZCS_ERRMSG_MAX];	/* the daemon's reason for a refusal */
	uint64_t next_cookie;	/* never 0: COMPLETE messages use cookie 0 */

	unsigned char *pool;
	size_t pool_bytes;
	uint32_t client_id;
	uint32_t features;
	uint32_t max_inflight;	/* daemon's limit, capped locally */
	uint32_t max_flows;
	uint32_t max_send_bytes;

	/*
	 * Outstanding records: queued (in txbuf) + sent (awaiting COMPLETE) +
	 * done (completion buffered, not reaped) never exceed max_inflight,
	 * which also bounds the completion ring below.
	 */
	unsigned queued;
	unsigned sent;
	unsigned char *txbuf;	/* header + queued send records */
	unsigned char *rxbuf;	/* one received message, ZCS_MSG_MAX */

	struct zcs_completion *cq;
	unsigned cq_head;
	unsigned cq_count;

	struct zcsi_alloc alloc;

	struct zcsi_rings *rings;	/* NULL: everything goes by the socket */
	struct zcsi_wake *wake;	/* NULL: control only, no completions */
	unsigned spin_usec;	/* ring mode: spin this long before sleeping */

	struct zcsi_flow *flows;	/* open flows, from FLOW_OK */
	unsigned nflows;
};

/* What the library remembers of an open flow. */
struct zcsi_flow {
	uint32_t id;
	uint16_t proto;
	uint32_t max_segment;
};

/* libzcsend.c */
int zcsi_open(const char *path, uint64_t pool_bytes, struct zcs_client **out,
	      char *errbuf, size_t errbuf_size);
int zcsi_open_start(const char *path, struct zcs_client **out);
int zcsi_open_step(struct zcs_client *c, char *errbuf, size_t errbuf_size);
int zcsi_socket_path(char *buf, size_t size);
int zcsi_fail(struct zcs_client *c, int err);
int zcsi_remote_errno(int32_t err);

/* libzcsend_msg.c */
int zcsi_msg_write(struct zcs_client *c, const void *buf, size_t len);
int zcsi_msg_read(struct zcs_client *c, struct zcs_hdr *hdr, int *fds);
int zcsi_msg_wait(struct zcs_client *c, struct zcs_hdr *hdr, int *fds,
		  int64_t deadline);
int zcsi_poll(struct zcs_client *c, short events, int timeout_ms);
int64_t zcsi_deadline(int timeout_ms);
int zcsi_remaining(int64_t deadline);
int zcsi_request(struct zcs_client *c, uint16_t type, const void *payload,
		 size_t size, uint64_t *cookie);
int zcsi_wait_reply(struct zcs_client *c, uint64_t cookie,
		    struct zcs_hdr *hdr, int64_t deadline);
const void *zcsi_payload(const struct zcs_client *c);

/* libzcsend_io.c */
int zcsi_recv(struct zcs_client *c, struct zcs_hdr *hdr);
int zcsi_drain(struct zcs_client *c);
int zcsi_unexpected(struct zcs_client *c, const struct zcs_hdr *hdr);
int zcsi_take_completions(struct zcs_client *c,
			  const void *recs, size_t n);
int zcsi_wait_io(struct zcs_client *c, int timeout_ms);

/* libzcsend_rings.c */
int zcsi_transport(struct zcs_client *c, enum zcsi_transport *out);
int zcsi_rings_recv(struct zcs_client *c, int64_t deadline, int forced);
void zcsi_rings_free(struct zcsi_rings *rs);

/* libzcsend_ringio.c */
int zcsi_ring_flush(struct zcs_client *c);
int zcsi_ring_sync(struct zcs_client *c);
int zcsi_ring_collect(struct zcs_client *c);
int zcsi_ring_wait(struct zcs_client *c, int timeout_ms);
int zcsi_ring_sleep(struct zcs_client *c, int timeout_ms);
int zcsi_ring_park(struct zcs_client *c);
void zcsi_ring_export(struct zcsi_rings *rs, unsigned buffered);

/* libzcsend_wake.c */
int zcsi_wake_open(struct zcs_client *c, int evfd);
void zcsi_wake_close(struct zcsi_wake *w);
int zcsi_evfd_write(int fd);
int zcsi_wake_park(struct zcs_client *c, int reaped);

/* libzcsend_alloc.c */
int zcsi_alloc_init(struct zcsi_alloc *a, size_t pool_bytes);
void zcsi_alloc_fini(struct zcsi_alloc *a);

#endif /* LIBZCSEND_INT_H */
