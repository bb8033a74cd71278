/* SPDX-License-Identifier: MIT */
/*
 * Shared pieces of the UDP GSO tests (issue 11): payloads whose every byte
 * says where it belongs, a receiver that keeps each datagram whole, a
 * checker that matches what arrived against the datagrams expected, the
 * daemon's status and policy over the raw protocol, and a pair of network
 * namespaces joined by a veth with a 1500-byte MTU (lowered on request).
 * Defined in gso/, a file per job: recv.c, check.c, cases.c, ctl.c, net.c.
 */
#ifndef ZCS_TEST_GSO_H
#define ZCS_TEST_GSO_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "helpers.h"
#include "zcsend.h"

/* The largest datagram a receiver keeps or a check builds. */
#define GSO_DGRAM_MAX	65536u

/*
 * gso_fill - the bytes at positions [@pos, @pos+@len) of stream @key.
 * Each byte depends on both, so a datagram cut at the wrong place or from
 * the wrong send does not match.
 */
void gso_fill(void *buf, size_t len, uint32_t key, uint64_t pos);

/*
 * What a send should produce: @len bytes of stream @key from @pos, cut
 * into datagrams of @seg bytes (the last shorter). A plain send of one
 * datagram is seg == len.
 */
struct gso_range {
	uint32_t key;
	uint64_t pos;
	uint32_t len;
	uint32_t seg;
};

/* One datagram as it arrived. */
struct gso_dgram {
	uint32_t len;
	uint8_t *data;
};

/* A UDP socket and a thread that keeps every datagram it reads. */
struct gso_recv {
	int fd;
	int family;
	uint16_t port;
	char addr[64];		/* numeric, as bound */
	pthread_t thread;
	pthread_mutex_t lock;
	volatile int stop;
	struct gso_dgram *d;	/* under lock */
	size_t n, cap;
};

/*
 * gso_recv_start - bind @addr (numeric; NULL: 127.0.0.1 or ::1 for
 * @family) on port 0 with a large receive buffer, and start reading.
 * Returns 0 or -errno (-EAFNOSUPPORT/-EADDRNOTAVAIL: no such family).
 */
int gso_recv_start(struct gso_recv *rv, int family, const char *addr);
void gso_recv_stop(struct gso_recv *rv);
/* "udp://127.0.0.1:PORT" or "udp://[::1]:PORT", as status names it. */
void gso_recv_dest(const struct gso_recv *rv, char *buf, size_t size);
/* Datagrams kept so far. */
size_t gso_recv_count(struct gso_recv *rv);
/* Forget the datagrams kept so far. */
void gso_recv_clear(struct gso_recv *rv);

/*
 * gso_check - wait up to @timeout_ms for the datagrams @r[0..n) describe,
 * then a little longer for any extra, and match them one to one: every
 * expected datagram exactly once, each whole and with every byte right,
 * nothing else. Fails the test naming @what otherwise; clears @rv.
 * Returns how many arrived out of order (reported, not failed: UDP does
 * not promise order, though loopback and a veth keep it).
 */
size_t gso_check(struct gso_recv *rv, const struct gso_range *r, size_t n,
		 int timeout_ms, const char *what);
/* gso_expect_none - nothing arrives within @ms. */
void gso_expect_none(struct gso_recv *rv, unsigned ms, const char *what);
/* Datagrams @r describes. */
uint64_t gso_range_dgrams(const struct gso_range *r);

/*
 * gso_reap - collect exactly @n completions within 10 s into @out;
 * fails the test when they do not come or one comes twice.
 */
void gso_reap(struct zcs_client *c, struct zcs_completion *out, size_t n);
/* The completion of @tag among @n; fails the test when absent. */
const struct zcs_completion *gso_comp(const struct zcs_completion *cp,
				      size_t n, uint64_t tag);

/*
 * gso_status - the daemon's totals and, when @addr is not NULL, the
 * STATUS_DEST record whose address is @addr, over a control connection
 * of its own. Fails the test when the daemon does not answer or the
 * destination is not listed.
 */
void gso_status(const char *sock, struct zcs_status_daemon *d,
		const char *addr, struct zcs_status_dest *dest);
/* gso_policy - POLICY @dest @settings; 0 or the ERROR's -errno. */
int gso_policy(const char *sock, const char *dest, const char *settings);

/* ---- cases shared by the tests ---- */

/* A UDP receiver and the flow that reaches it. */
struct gso_flow {
	const char *name;
	struct gso_recv rv;
	uint32_t flow;
	char dest[96];
};

struct gso_net;

/*
 * gso_flow_open - start @f's receiver (on loopback, or in namespace B of
 * @net when not NULL) and open a UDP flow to it on @c.
 * Returns 0, or the receiver's -errno (no such family); fails the test
 * when the daemon refuses the flow.
 */
int gso_flow_open(struct zcs_client *c, struct gso_flow *f, const char *name,
		  int family, struct gso_net *net);
/* A new payload stream key, and a new tag. */
uint32_t gso_key(void);
uint64_t gso_tag(void);
/* zcs_alloc @len bytes and fill them with stream @key from @pos. */
void *gso_alloc_fill(struct zcs_client *c, size_t len, uint32_t key,
		     uint64_t pos);
/*
 * gso_explicit - one zcs_send_segmented of @len bytes in @seg-byte
 * datagrams: one completion with every byte, the datagrams intact at the
 * receiver, the daemon's datagram count up by exactly as many.
 * @gso: 1 gso_sends must rise (when there is more than one datagram),
 *       0 it must not, -1 either.
 */
void gso_explicit(struct zcs_client *c, const char *sock, struct gso_flow *f,
		  uint32_t len, uint32_t seg, int gso);
/*
 * gso_coalesce - @n plain zcs_send of @lens[i] bytes queued before one
 * flush: a completion each with its own length, a datagram each.
 * @gap: leave 64 bytes between records in the pool. @gso as above.
 */
void gso_coalesce(struct zcs_client *c, const char *sock, struct gso_flow *f,
		  const uint32_t *lens, size_t n, int gap, int gso,
		  const char *what);
/* @n lengths: @len each, and @last for the last (free() them). */
uint32_t *gso_lens(size_t n, uint32_t len, uint32_t last);

/* ---- network namespaces ---- */

#define GSO_NS_A_V4	"198.18.0.1"	/* daemon side (veth "va") */
#define GSO_NS_B_V4	"198.18.0.2"	/* receiver side ("vb") */
#define GSO_NS_A_V6	"2001:db8:1::1"
#define GSO_NS_B_V6	"2001:db8:1::2"

struct gso_net {
	char a[32], b[32];	/* namespace names */
	int fd_a, fd_b;		/* /run/netns/NAME, open */
	int v6;			/* IPv6 addresses are up */
};

/*
 * gso_net_setup - two new namespaces, A and B, joined by a veth pair with
 * the default 1500-byte MTU, addresses of both families, and neighbours
 * made permanent (no packet waits on ARP or ND, so none is dropped). This
 * process then lives in A, so a daemon it starts does too; traffic from A
 * to B crosses the veth (addresses local to one namespace would go by lo).
 * @tx_csum_off: turn TX checksum offload off on "va" (SIOCETHTOOL), so
 *        the kernel refuses UDP GSO there with EIO.
 * Skips the test (77) without root or ip(8); deleted at exit.
 */
void gso_net_setup(struct gso_net *n, int tx_csum_off);
/*
 * gso_net_mtu - set the MTU of both ends of the veth ("va" in A, "vb" in
 * B) to @mtu, as a route change would. Sockets connected before keep
 * their route and see the new MTU on their next send. Fails the test.
 */
void gso_net_mtu(struct gso_net *n, unsigned mtu);
/* gso_net_recv_start - gso_recv_start() inside namespace B. */
int gso_net_recv_start(struct gso_net *n, struct gso_recv *rv, int family);

/* gso_part - @fn in a child process: 1 passed, 0 skipped, -1 failed. */
int gso_part(const char *name, void (*fn)(void));

#endif /* ZCS_TEST_GSO_H */
