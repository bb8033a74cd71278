/* SPDX-License-Identifier: MIT */
/*
 * Shared pieces of the UDP GSO tests: positional payloads, a receiver that
 * keeps datagram boundaries, the matcher, raw status and policy, and the
 * two-namespace veth setup. See gso.h for the contracts.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gso.h"

#define RCVBUF		(64 << 20)
#define DGRAM_MAX	65536u
#define PAD		64	/* gap between records that must not touch */

/* One datagram expected: where it comes from, and whether it came. */
struct want {
	uint32_t key;
	uint64_t pos;
	uint32_t len;
	uint64_t hash;
	int seen;
};

/* A 32-bit mix of (key, position): cheap, and every bit counts. */
static uint8_t pattern_byte(uint32_t key, uint64_t pos)
{
	uint32_t x = key * 0x9e3779b1u ^ (uint32_t)pos * 0x85ebca77u ^
		     (uint32_t)(pos >> 32);

	x ^= x >> 15;
	x *= 0x2c1b3c6du;
	x ^= x >> 12;
	return (uint8_t)x;
}

void gso_fill(void *buf, size_t len, uint32_t key, uint64_t pos)
{
	uint8_t *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = pattern_byte(key, pos + i);
}

uint64_t gso_range_dgrams(const struct gso_range *r)
{
	return ((uint64_t)r->len + r->seg - 1) / r->seg;
}

/* ---- receiver ---- */

static void recv_keep(struct gso_recv *rv, const uint8_t *buf, size_t n)
{
	struct gso_dgram *d;

	pthread_mutex_lock(&rv->lock);
	if (rv->n == rv->cap) {
		rv->cap = rv->cap ? rv->cap * 2 : 256;
		rv->d = realloc(rv->d, rv->cap * sizeof(*rv->d));
		TH_CHECK(rv->d, "realloc");
	}
	d = &rv->d[rv->n++];
	d->len = (uint32_t)n;
	d->data = malloc(n ? n : 1);
	TH_CHECK(d->data, "malloc");
	memcpy(d->data, buf, n);
	pthread_mutex_unlock(&rv->lock);
}

static void *recv_main(void *arg)
{
	struct gso_recv *rv = arg;
	struct pollfd p = { .fd = rv->fd, .events = POLLIN };
	uint8_t *buf = malloc(DGRAM_MAX);
	ssize_t n;

	while (!rv->stop) {
		if (poll(&p, 1, 50) <= 0)
			continue;
		/* MSG_TRUNC: a datagram over 64 KB would show its real size. */
		while ((n = recv(rv->fd, buf, DGRAM_MAX,
				 MSG_DONTWAIT | MSG_TRUNC)) >= 0)
			recv_keep(rv, buf, (size_t)n > DGRAM_MAX ? DGRAM_MAX
							  : (size_t)n);
	}
	free(buf);
	return NULL;
}

static int recv_bind(struct gso_recv *rv, const char *addr)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	socklen_t sl = sizeof(ss);
	void *a = rv->family == AF_INET ? (void *)&in->sin_addr
					: (void *)&in6->sin6_addr;
	int big = RCVBUF;

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = (sa_family_t)rv->family;
	if (!addr)
		addr = rv->family == AF_INET ? "127.0.0.1" : "::1";
	if (inet_pton(rv->family, addr, a) != 1)
		return -EINVAL;
	snprintf(rv->addr, sizeof(rv->addr), "%s", addr);
	rv->fd = socket(rv->family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (rv->fd < 0)
		return -errno;
	/* Room for every datagram of a case, so the kernel drops none. */
	if (setsockopt(rv->fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)))
		setsockopt(rv->fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (bind(rv->fd, (struct sockaddr *)&ss, rv->family == AF_INET ?
		 sizeof(*in) : sizeof(*in6)) < 0 ||
	    getsockname(rv->fd, (struct sockaddr *)&ss, &sl) < 0) {
		int err = -errno;

		close(rv->fd);
		rv->fd = -1;
		return err;
	}
	rv->port = ntohs(rv->family == AF_INET ? in->sin_port : in6->sin6_port);
	return 0;
}

int gso_recv_start(struct gso_recv *rv, int family, const char *addr)
{
	int err;

	memset(rv, 0, sizeof(*rv));
	rv->family = family;
	pthread_mutex_init(&rv->lock, NULL);
	err = recv_bind(rv, addr);
	if (err)
		return err;
	if (pthread_create(&rv->thread, NULL, recv_main, rv)) {
		close(rv->fd);
		rv->fd = -1;
		return -EAGAIN;
	}
	return 0;
}

void gso_recv_clear(struct gso_recv *rv)
{
	size_t i;

	pthread_mutex_lock(&rv->lock);
	for (i = 0; i < rv->n; i++)
		free(rv->d[i].data);
	rv->n = 0;
	pthread_mutex_unlock(&rv->lock);
}

void gso_recv_stop(struct gso_recv *rv)
{
	if (rv->fd < 0)
		return;
	rv->stop = 1;
	pthread_join(rv->thread, NULL);
	close(rv->fd);
	rv->fd = -1;
	gso_recv_clear(rv);
	free(rv->d);
	rv->d = NULL;
	rv->cap = 0;
	pthread_mutex_destroy(&rv->lock);
}

void gso_recv_dest(const struct gso_recv *rv, char *buf, size_t size)
{
	snprintf(buf, size, rv->family == AF_INET ? "udp://%s:%u"
						  : "udp://[%s]:%u",
		 rv->addr, rv->port);
}

size_t gso_recv_count(struct gso_recv *rv)
{
	size_t n;

	pthread_mutex_lock(&rv->lock);
	n = rv->n;
	pthread_mutex_unlock(&rv->lock);
	return n;
}

/* ---- matching ---- */

/* Every datagram @r[0..n) should produce, with the hash of its bytes. */
static struct want *wants_build(const struct gso_range *r, size_t n,
				size_t *count)
{
	struct want *w;
	uint8_t *buf = malloc(DGRAM_MAX);
	size_t total = 0, i, k = 0;
	uint64_t j, off;

	for (i = 0; i < n; i++)
		total += gso_range_dgrams(&r[i]);
	w = calloc(total ? total : 1, sizeof(*w));
	TH_CHECK(w && buf, "calloc");
	for (i = 0; i < n; i++) {
		for (j = 0; j < gso_range_dgrams(&r[i]); j++, k++) {
			off = j * r[i].seg;
			w[k].key = r[i].key;
			w[k].pos = r[i].pos + off;
			w[k].len = (uint32_t)(r[i].len - off < r[i].seg ?
					      r[i].len - off : r[i].seg);
			gso_fill(buf, w[k].len, w[k].key, w[k].pos);
			w[k].hash = th_fnv1a(buf, w[k].len);
		}
	}
	free(buf);
	*count = total;
	return w;
}

/* Index of the unseen want that @d is, trying @hint first; or -1. */
static long want_find(struct want *w, size_t nw, const struct gso_dgram *d,
		      size_t hint)
{
	uint64_t h = th_fnv1a(d->data, d->len);
	uint8_t *buf;
	size_t i, k;
	int same;

	for (i = 0; i < nw; i++) {
		k = (hint + i) % nw;
		if (w[k].seen || w[k].len != d->len || w[k].hash != h)
			continue;
		buf = malloc(d->len ? d->len : 1);
		gso_fill(buf, d->len, w[k].key, w[k].pos);
		same = memcmp(buf, d->data, d->len) == 0;
		free(buf);
		if (same)
			return (long)k;
	}
	return -1;
}

/* Wait for @n datagrams, then @settle ms more for any extra. */
static size_t recv_wait(struct gso_recv *rv, size_t n, int timeout_ms,
			unsigned settle)
{
	uint64_t end = th_now_ms() + (uint64_t)timeout_ms;

	while (gso_recv_count(rv) < n && th_now_ms() < end)
		th_sleep_ms(5);
	th_sleep_ms(settle);
	return gso_recv_count(rv);
}

static void dgram_report(const struct gso_dgram *d, size_t i, const char *what)
{
	fprintf(stderr, "%s: datagram %zu (%u bytes, first bytes %02x %02x "
		"%02x %02x) is no expected datagram, or came twice\n", what, i,
		d->len, d->len > 0 ? d->data[0] : 0, d->len > 1 ? d->data[1] : 0,
		d->len > 2 ? d->data[2] : 0, d->len > 3 ? d->data[3] : 0);
}

size_t gso_check(struct gso_recv *rv, const struct gso_range *r, size_t n,
		 int timeout_ms, const char *what)
{
	size_t nw, got, i, bad = 0, missing = 0, reordered = 0, next = 0;
	struct want *w = wants_build(r, n, &nw);
	long k;

	got = recv_wait(rv, nw, timeout_ms, 100);
	pthread_mutex_lock(&rv->lock);
	for (i = 0; i < rv->n; i++) {
		k = want_find(w, nw, &rv->d[i], next);
		if (k < 0) {
			if (bad++ < 5)
				dgram_report(&rv->d[i], i, what);
			continue;
		}
		reordered += (size_t)k != next;
		w[k].seen = 1;
		next = (size_t)k + 1;
	}
	pthread_mutex_unlock(&rv->lock);
	for (i = 0; i < nw; i++) {
		if (!w[i].seen && missing++ < 5)
			fprintf(stderr, "%s: missing datagram of %u bytes at "
				"position %llu of stream %u\n", what, w[i].len,
				(unsigned long long)w[i].pos, w[i].key);
	}
	free(w);
	TH_CHECK(bad == 0 && missing == 0 && got == nw,
		 "%s: %zu datagrams arrived, %zu expected; %zu wrong or extra, "
		 "%zu missing", what, got, nw, bad, missing);
	printf("  %s: %zu datagrams intact%s\n", what, nw,
	       reordered ? " (some out of order)" : ", in order");
	gso_recv_clear(rv);
	return reordered;
}

void gso_expect_none(struct gso_recv *rv, unsigned ms, const char *what)
{
	size_t n;

	th_sleep_ms(ms);
	pthread_mutex_lock(&rv->lock);
	n = rv->n;
	pthread_mutex_unlock(&rv->lock);
	TH_CHECK(n == 0, "%s: %zu datagrams arrived, want none (first: %u "
		 "bytes)", what, n, rv->d[0].len);
	printf("  %s: nothing arrived\n", what);
}

/* ---- completions ---- */

void gso_reap(struct zcs_client *c, struct zcs_completion *out, size_t n)
{
	uint64_t end = th_now_ms() + 10000;
	struct zcs_completion extra[4];
	size_t got = 0, i, j;
	int r;

	while (got < n && th_now_ms() < end) {
		r = zcs_reap(c, out + got, (unsigned)(n - got), 200);
		TH_CHECK(r >= 0, "reap: %s", strerror(-r));
		got += (size_t)r;
	}
	TH_CHECK(got == n, "%zu of %zu completions within 10 s", got, n);
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			TH_CHECK(out[i].tag != out[j].tag,
				 "two completions for tag %llu",
				 (unsigned long long)out[i].tag);
	/* Nothing beyond: one completion per record, not one per datagram. */
	r = zcs_reap(c, extra, 4, 50);
	TH_CHECK(r == 0, "%d completions more than the %zu records (tag %llu)",
		 r, n, r > 0 ? (unsigned long long)extra[0].tag : 0ull);
}

const struct zcs_completion *gso_comp(const struct zcs_completion *cp,
				      size_t n, uint64_t tag)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (cp[i].tag == tag)
			return &cp[i];
	TH_CHECK(0, "no completion for tag %llu", (unsigned long long)tag);
	return NULL;
}


/* ---- cases shared by the tests ---- */

static uint32_t next_key = 1;	/* a new payload stream per case */
static uint64_t next_tag = 1;

uint32_t gso_key(void)
{
	return next_key++;
}

uint64_t gso_tag(void)
{
	return next_tag++;
}

static void totals(const char *sock, struct zcs_status_daemon *d)
{
	gso_status(sock, d, NULL, NULL);
}

void *gso_alloc_fill(struct zcs_client *c, size_t len, uint32_t key,
			uint64_t pos)
{
	void *buf;
	int err = zcs_alloc(c, len, &buf);

	TH_CHECK(err == 0, "alloc %zu: %s", len, strerror(-err));
	gso_fill(buf, len, key, pos);
	return buf;
}

/* @gso: 1 gso_sends must have risen between @s0 and @s1, 0 it must not
 * have, -1 either; says how much in any case. */
static void gso_expect_gso(const struct zcs_status_daemon *s0,
			   const struct zcs_status_daemon *s1, int gso,
			   const char *what)
{
	uint64_t d = s1->st.gso_sends - s0->st.gso_sends;

	printf("  %s: gso_sends +%llu\n", what, (unsigned long long)d);
	TH_CHECK(gso != 1 || d > 0, "%s: no GSO send", what);
	TH_CHECK(gso != 0 || d == 0, "%s: gso_sends +%llu, want none", what,
		 (unsigned long long)d);
}

/*
 * One explicit segmented send of @len bytes in @seg-byte datagrams: one
 * completion with every byte, the datagrams at the receiver, and the
 * daemon's datagram count up by exactly as many.
 */
void gso_explicit(struct zcs_client *c, const char *sock,
		  struct gso_flow *f, uint32_t len, uint32_t seg, int gso)
{
	struct gso_range r = { next_key++, 0, len, seg };
	struct zcs_status_daemon s0, s1;
	struct zcs_completion cp;
	uint64_t tag = next_tag++, n = gso_range_dgrams(&r);
	char what[96];
	void *buf = gso_alloc_fill(c, len, r.key, 0);
	int err;

	snprintf(what, sizeof(what), "%s explicit len %u seg %u", f->name,
		 len, seg);
	totals(sock, &s0);
	err = zcs_send_segmented(c, f->flow, buf, len, seg, tag);
	TH_CHECK(err == 0, "%s: %s", what, strerror(-err));
	gso_reap(c, &cp, 1);
	TH_CHECK(cp.tag == tag && cp.result == (int32_t)len,
		 "%s: completion tag %llu result %d, want %u", what,
		 (unsigned long long)cp.tag, cp.result, len);
	gso_check(&f->rv, &r, 1, 10000, what);
	totals(sock, &s1);
	TH_CHECK(s1.st.datagrams - s0.st.datagrams == n,
		 "%s: status datagrams +%llu, want +%llu", what,
		 (unsigned long long)(s1.st.datagrams - s0.st.datagrams),
		 (unsigned long long)n);
	/* A GSO send carries at most 64 KB: two datagrams of over 32 KB
	 * never share one, so each leaves as a send of its own. */
	gso_expect_gso(&s0, &s1, n > 1 && seg <= 32000 ? gso : -1, what);
	TH_EQ(zcs_free(c, buf), 0);
}

/*
 * @n plain sends of @lens[i] bytes queued before one flush: one
 * completion each with its own length, one datagram each. @gap leaves
 * PAD bytes between records in the pool. @gso: 1 the daemon must have
 * coalesced (gso_sends rose), 0 it must not have, -1 either.
 */
void gso_coalesce(struct zcs_client *c, const char *sock,
		  struct gso_flow *f, const uint32_t *lens, size_t n,
			  int gap, int gso, const char *what)
{
	struct gso_range *r = calloc(n, sizeof(*r));
	struct zcs_completion *cp = calloc(n, sizeof(*cp));
	void **bufs = calloc(n, sizeof(*bufs)), **pads = calloc(n, sizeof(*pads));
	struct zcs_status_daemon s0, s1;
	uint64_t tag0 = next_tag, pos = 0, dg;
	uint32_t key = next_key++;
	size_t i;
	int err;

	TH_CHECK(r && cp && bufs && pads, "calloc");
	for (i = 0; i < n; i++) {
		r[i] = (struct gso_range){ key, pos, lens[i], lens[i] };
		bufs[i] = gso_alloc_fill(c, lens[i], key, pos);
		if (gap)
			TH_EQ(zcs_alloc(c, PAD, &pads[i]), 0);
		pos += lens[i];
	}
	totals(sock, &s0);
	for (i = 0; i < n; i++) {
		err = zcs_send(c, f->flow, bufs[i], lens[i], tag0 + i);
		TH_CHECK(err == 0, "%s: send %zu: %s", what, i, strerror(-err));
	}
	next_tag += n;
	TH_EQ(zcs_flush(c), 0);
	gso_reap(c, cp, n);
	for (i = 0; i < n; i++)
		TH_CHECK(gso_comp(cp, n, tag0 + i)->result == (int32_t)lens[i],
			 "%s: record %zu: result %d, want %u", what, i,
			 gso_comp(cp, n, tag0 + i)->result, lens[i]);
	gso_check(&f->rv, r, n, 10000, what);
	totals(sock, &s1);
	dg = s1.st.datagrams - s0.st.datagrams;
	TH_CHECK(dg == n, "%s: status datagrams +%llu, want +%zu", what,
		 (unsigned long long)dg, n);
	gso_expect_gso(&s0, &s1, gso, what);
	for (i = 0; i < n; i++) {
		TH_EQ(zcs_free(c, bufs[i]), 0);
		if (pads[i])
			TH_EQ(zcs_free(c, pads[i]), 0);
	}
	free(pads);
	free(bufs);
	free(cp);
	free(r);
}

/* Same length, a shorter last: @n records in all. */
uint32_t *gso_lens(size_t n, uint32_t len, uint32_t last)
{
	uint32_t *l = calloc(n, sizeof(*l));
	size_t i;

	TH_CHECK(l, "calloc");
	for (i = 0; i < n; i++)
		l[i] = len;
	l[n - 1] = last;
	return l;
}

int gso_flow_open(struct zcs_client *c, struct gso_flow *f, const char *name,
		  int family, struct gso_net *net)
{
	int err;

	memset(f, 0, sizeof(*f));
	f->name = name;
	err = net ? gso_net_recv_start(net, &f->rv, family)
		  : gso_recv_start(&f->rv, family, NULL);
	if (err)
		return err;
	gso_recv_dest(&f->rv, f->dest, sizeof(f->dest));
	err = zcs_flow_open(c, f->dest, &f->flow);
	TH_CHECK(err == ZCS_PROTO_UDP, "flow %s: %d (%s)", f->dest, err,
		 strerror(-err));
	return 0;
}

/* ---- status and policy ---- */

/* One STATUS exchange; keeps the daemon record and the one for @addr. */
static int status_read(struct th_raw *r, struct zcs_status_daemon *d,
		       const char *addr, struct zcs_status_dest *dest)
{
	unsigned char buf[sizeof(struct zcs_status_dest) * 2];
	struct zcs_status_dest sd;
	struct zcs_hdr h;
	int n, found = !addr;

	n = th_raw_send_msg(r, ZCS_MSG_STATUS, ZCS_PROTO_VERSION, NULL, 0);
	while (n == 0) {
		n = th_raw_recv(r, &h, buf, sizeof(buf), NULL, 5000);
		if (n < 0)
			return n;
		n = 0;
		if (h.type == ZCS_MSG_STATUS_DAEMON) {
			memcpy(d, buf, sizeof(*d));
		} else if (h.type == ZCS_MSG_STATUS_DEST && addr) {
			memcpy(&sd, buf, sizeof(sd));
			if (!strncmp(sd.address, addr, sizeof(sd.address))) {
				*dest = sd;
				found = 1;
			}
		} else if (h.type == ZCS_MSG_STATUS_END) {
			return found ? 0 : -ENOENT;
		}
	}
	return n;
}

void gso_status(const char *sock, struct zcs_status_daemon *d,
		const char *addr, struct zcs_status_dest *dest)
{
	struct th_raw r;
	int err;

	TH_EQ(th_raw_connect(&r, sock), 0);
	TH_EQ(th_raw_hello(&r, 0, "gso-status"), 0);
	err = status_read(&r, d, addr, dest);
	th_raw_close(&r);
	TH_CHECK(err == 0, "status for %s: %s", addr ? addr : "daemon",
		 strerror(-err));
}

int gso_policy(const char *sock, const char *dest, const char *settings)
{
	struct zcs_policy m;
	struct zcs_error e;
	struct zcs_hdr h;
	struct th_raw r;
	int n;

	memset(&m, 0, sizeof(m));
	snprintf(m.dest, sizeof(m.dest), "%s", dest);
	snprintf(m.settings, sizeof(m.settings), "%s", settings);
	TH_EQ(th_raw_connect(&r, sock), 0);
	TH_EQ(th_raw_hello(&r, 0, "gso-policy"), 0);
	n = th_raw_send_msg(&r, ZCS_MSG_POLICY, ZCS_PROTO_VERSION, &m,
			    sizeof(m));
	if (!n)
		n = th_raw_recv(&r, &h, &e, sizeof(e), NULL, 5000);
	th_raw_close(&r);
	if (n < 0)
		return n;
	if (h.type == ZCS_MSG_OK)
		return 0;
	if (h.type == ZCS_MSG_ERROR) {
		fprintf(stderr, "policy %s %s: %.*s\n", dest, settings,
			(int)sizeof(e.msg), e.msg);
		return e.err < 0 ? e.err : -EPROTO;
	}
	return -EPROTO;
}

/* ---- network namespaces ---- */

/* What exit deletes: not the caller's struct, which may be gone by then. */
static char net_del[160];

static void net_atexit(void)
{
	if (net_del[0] && system(net_del) != 0)
		fprintf(stderr, "%s: failed\n", net_del);
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Run a shell command; its exit status (0 on success). */
static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	if (st != 0)
		fprintf(stderr, "'%s' failed: status %#x\n", cmd, st);
	return st;
}

/*
 * TX checksum offload off through the legacy ethtool request (as
 * `ethtool -K DEV tx off`), then read back: the kernel maps it onto the
 * device's checksum features, and UDP GSO needs those.
 */
static void net_tx_csum_off(const char *dev)
{
	struct ethtool_value ev = { .cmd = ETHTOOL_STXCSUM, .data = 0 };
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	TH_CHECK(fd >= 0, "socket: %s", strerror(errno));
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	ifr.ifr_data = (char *)&ev;
	TH_CHECK(ioctl(fd, SIOCETHTOOL, &ifr) == 0,
		 "ETHTOOL_STXCSUM %s off: %s", dev, strerror(errno));
	ev.cmd = ETHTOOL_GTXCSUM;
	ev.data = 1;
	TH_CHECK(ioctl(fd, SIOCETHTOOL, &ifr) == 0 && ev.data == 0,
		 "%s: tx checksum still %u (%s)", dev, ev.data,
		 strerror(errno));
	close(fd);
}

/* Addresses, permanent neighbours, links up; 0 or the failing status. */
static int net_links(const struct gso_net *n)
{
	const char *a = n->a, *b = n->b;

	return sh("ip link add va address 02:00:00:00:00:0a netns %s type "
		  "veth peer name vb address 02:00:00:00:00:0b netns %s",
		  a, b) ||
	       sh("ip -n %s link set lo up && ip -n %s link set lo up", a, b) ||
	       sh("ip -n %s addr add " GSO_NS_A_V4 "/24 dev va && ip -n %s "
		  "addr add " GSO_NS_B_V4 "/24 dev vb", a, b) ||
	       sh("ip -n %s link set va up && ip -n %s link set vb up", a, b) ||
	       sh("ip -n %s neigh replace " GSO_NS_B_V4 " lladdr "
		  "02:00:00:00:00:0b dev va nud permanent", a) ||
	       sh("ip -n %s neigh replace " GSO_NS_A_V4 " lladdr "
		  "02:00:00:00:00:0a dev vb nud permanent", b);
}

/* IPv6 too when the namespaces have it: nodad, so usable at once. */
static int net_links6(const struct gso_net *n)
{
	const char *a = n->a, *b = n->b;

	return sh("ip -n %s addr add " GSO_NS_A_V6 "/64 dev va nodad && "
		  "ip -n %s addr add " GSO_NS_B_V6 "/64 dev vb nodad", a, b) ||
	       sh("ip -n %s neigh replace " GSO_NS_B_V6 " lladdr "
		  "02:00:00:00:00:0b dev va nud permanent", a) ||
	       sh("ip -n %s neigh replace " GSO_NS_A_V6 " lladdr "
		  "02:00:00:00:00:0a dev vb nud permanent", b);
}

static int net_open(const char *name)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	TH_CHECK(fd >= 0, "%s: %s", path, strerror(errno));
	return fd;
}

void gso_net_setup(struct gso_net *n, int tx_csum_off)
{
	if (geteuid() != 0)
		th_skip("needs root (network namespaces, veth)");
	if (system("ip -V >/dev/null 2>&1") != 0)
		th_skip("no ip(8)");
	memset(n, 0, sizeof(*n));
	snprintf(n->a, sizeof(n->a), "zcsgso-a-%d", (int)getpid());
	snprintf(n->b, sizeof(n->b), "zcsgso-b-%d", (int)getpid());
	if (sh("ip netns add %s && ip netns add %s", n->a, n->b) != 0) {
		sh("ip netns del %s 2>/dev/null", n->a);
		th_skip("ip netns add failed");
	}
	snprintf(net_del, sizeof(net_del), "ip netns del %s 2>/dev/null; "
		 "ip netns del %s 2>/dev/null", n->a, n->b);
	atexit(net_atexit);
	if (net_links(n) != 0)
		th_skip("no veth pair in a network namespace");
	n->v6 = net_links6(n) == 0;
	n->fd_a = net_open(n->a);
	n->fd_b = net_open(n->b);
	TH_CHECK(setns(n->fd_a, CLONE_NEWNET) == 0, "setns %s: %s", n->a,
		 strerror(errno));
	if (tx_csum_off)
		net_tx_csum_off("va");
}

void gso_net_mtu(struct gso_net *n, unsigned mtu)
{
	TH_CHECK(sh("ip -n %s link set va mtu %u && ip -n %s link set vb mtu "
		    "%u", n->a, mtu, n->b, mtu) == 0, "MTU %u on the veth", mtu);
}

int gso_net_recv_start(struct gso_net *n, struct gso_recv *rv, int family)
{
	int err;

	/* The socket stays in B; the thread that reads it may live anywhere. */
	TH_CHECK(setns(n->fd_b, CLONE_NEWNET) == 0, "setns %s: %s", n->b,
		 strerror(errno));
	err = gso_recv_start(rv, family, family == AF_INET ? GSO_NS_B_V4
							   : GSO_NS_B_V6);
	TH_CHECK(setns(n->fd_a, CLONE_NEWNET) == 0, "setns %s: %s", n->a,
		 strerror(errno));
	return err;
}

/*
 * gso_part - run @fn in a child: it may leave this process's namespaces,
 * and its exit handlers (daemon, namespaces) are its own. 1 on pass, 0 on
 * skip (TH_SKIP), -1 on failure, so that other parts still run.
 */
int gso_part(const char *name, void (*fn)(void))
{
	pid_t pid;
	int st;

	fflush(NULL);
	pid = fork();
	TH_CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		fn();
		exit(0);
	}
	TH_CHECK(waitpid(pid, &st, 0) == pid, "waitpid");
	if (WIFEXITED(st) && WEXITSTATUS(st) == TH_SKIP) {
		printf("%s: skipped\n", name);
		return 0;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		printf("%s: FAILED (status %#x)\n", name, st);
		return -1;
	}
	printf("%s: ok\n", name);
	return 1;
}
