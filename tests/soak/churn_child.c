/* SPDX-License-Identifier: MIT */
/*
 * One churn client, in its own process, doing one kind of thing until the
 * manager SIGKILLs it. Whatever it gets back must still be right: a flow
 * opens with the right protocol, and every completion it reaps names a
 * tag it sent, once, with the length it sent. On anything else it says so
 * on stderr and exits 2, which the manager counts as a failure.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "soak.h"
#include "zcsend.h"

#define CHILD_SENDS_MAX	5000
#define CHILD_LIFE_MS	60000	/* bound, should the manager never kill */

struct child_run {
	struct zcs_client *c;
	uint64_t rng;
	uint64_t sent;
	uint32_t len[CHILD_SENDS_MAX];
	void *buf[CHILD_SENDS_MAX];
	uint8_t done[CHILD_SENDS_MAX];
};

static uint64_t child_rnd(struct child_run *r)
{
	r->rng ^= r->rng << 13;
	r->rng ^= r->rng >> 7;
	r->rng ^= r->rng << 17;
	return r->rng;
}

static __attribute__((noreturn)) void child_fail(const char *what, int err)
{
	fprintf(stderr, "churn child %d: %s: %s\n", (int)getpid(), what,
		err < 0 ? strerror(-err) : "unexpected");
	_exit(2);
}

/* Wait to be killed, within a bound. */
static __attribute__((noreturn)) void child_idle(void)
{
	uint64_t end = th_now_ms() + CHILD_LIFE_MS;

	while (th_now_ms() < end)
		th_sleep_ms(100);
	_exit(0);
}

/* Connect, then nothing, half a HELLO, or a HELLO whose answer is unread. */
static void child_raw_hello(struct child_run *r, const char *sock)
{
	unsigned char msg[sizeof(struct zcs_hdr) + sizeof(struct zcs_hello)];
	struct zcs_hello m;
	struct zcs_hdr h;
	struct th_raw raw;
	int err = th_raw_connect(&raw, sock);

	if (err)
		child_fail("raw connect", err);
	memset(&m, 0, sizeof(m));
	m.pool_bytes = 1u << 20;
	snprintf(m.name, sizeof(m.name), "churn-raw");
	zcs_hdr_init(&h, ZCS_MSG_HELLO, sizeof(m), 1);
	memcpy(msg, &h, sizeof(h));
	memcpy(msg + sizeof(h), &m, sizeof(m));
	switch (child_rnd(r) % 3) {
	case 1:	/* a short packet: the daemon drops us, we do not care */
		th_raw_send_bytes(&raw, msg, 1 + child_rnd(r) % (sizeof(msg) - 1));
		break;
	case 2:
		th_raw_send_bytes(&raw, msg, sizeof(msg));
		break;
	}
	child_idle();
}

static void child_connect(struct child_run *r, const char *sock, size_t pool)
{
	int err = zcs_connect(sock, pool, &r->c);

	if (err)
		child_fail("connect", err);
}

static uint32_t child_flow(struct child_run *r, const char *proto,
			   uint16_t port)
{
	int want = proto[0] == 't' ? ZCS_PROTO_TCP : ZCS_PROTO_UDP;
	char dest[64];
	uint32_t flow;
	int ret;

	sink_dest(proto, port, dest, sizeof(dest));
	ret = zcs_flow_open(r->c, dest, &flow);
	if (ret != want)
		child_fail("flow open", ret);
	return flow;
}

/* Check and take back what completed; waits up to @timeout_ms. */
static void child_reap(struct child_run *r, int timeout_ms)
{
	struct zcs_completion comps[256];
	uint64_t tag;
	int n, i;

	n = zcs_reap(r->c, comps, 256, timeout_ms);
	if (n < 0)
		child_fail("reap", n);
	for (i = 0; i < n; i++) {
		tag = comps[i].tag;
		if (tag >= r->sent || r->done[tag])
			child_fail("completion for a tag not in flight", 0);
		if (comps[i].result != (int32_t)r->len[tag])
			child_fail("completion result", comps[i].result);
		r->done[tag] = 1;
		if (zcs_free(r->c, r->buf[tag]))
			child_fail("free", -EINVAL);
	}
}

/* Queue one send of @len on @flow; 0, or 1 when the pool/quota is full. */
static int child_send(struct child_run *r, uint32_t flow, size_t len)
{
	void *buf;
	int ret = zcs_alloc(r->c, len, &buf);

	if (ret == -ENOMEM)
		return 1;
	if (ret)
		child_fail("alloc", ret);
	memset(buf, (int)(r->sent & 0xff), len);
	ret = zcs_send(r->c, flow, buf, len, r->sent);
	if (ret == -EAGAIN) {
		zcs_free(r->c, buf);
		return 1;
	}
	if (ret)
		child_fail("send", ret);
	r->buf[r->sent] = buf;
	r->len[r->sent] = (uint32_t)len;
	r->sent++;
	return 0;
}

/* A random number of sends over TCP (and maybe UDP), all reaped. */
static void child_sends(struct child_run *r, const char *sock,
			const struct sink *k)
{
	uint64_t count = 1 + child_rnd(r) % CHILD_SENDS_MAX;
	uint64_t end = th_now_ms() + CHILD_LIFE_MS;
	uint32_t tcp, udp = UINT32_MAX, flow;
	size_t len;
	int ret;

	child_connect(r, sock, 4u << 20);
	tcp = child_flow(r, "tcp", k->drain_port);
	if (child_rnd(r) & 1)
		udp = child_flow(r, "udp", k->udp_port);
	while (r->sent < count && th_now_ms() < end) {
		flow = udp != UINT32_MAX && (child_rnd(r) & 1) ? udp : tcp;
		len = 64 + child_rnd(r) % (flow == udp ? 8192 : 32768);
		child_reap(r, child_send(r, flow, len) ? 100 : 0);
	}
	/* Sometimes close the TCP flow under its sends: they still finish. */
	ret = child_rnd(r) % 4 ? 0 : zcs_flow_close(r->c, tcp);
	if (ret)
		child_fail("flow close", ret);
	while (zcs_inflight(r->c) && th_now_ms() < end)
		child_reap(r, 100);
	if (child_rnd(r) & 1) {
		zcs_close(r->c);
		_exit(0);
	}
}

/* Fill the in-flight quota with small sends to the slow reader. */
static void child_slow_flood(struct child_run *r, const char *sock,
			     const struct sink *k)
{
	uint64_t end = th_now_ms() + CHILD_LIFE_MS;
	uint32_t flow;
	unsigned want;
	int ret;

	child_connect(r, sock, 16u << 20);
	flow = child_flow(r, "tcp", k->slow_port);
	want = zcs_max_inflight(r->c);
	want = want < CHILD_SENDS_MAX ? want : CHILD_SENDS_MAX;
	while (r->sent < want &&
	       !child_send(r, flow, 1024 + child_rnd(r) % 3072))
		;
	ret = zcs_flush(r->c);
	if (ret)
		child_fail("flush", ret);
	while (th_now_ms() < end)
		child_reap(r, 100);
}

/*
 * churn_child - the body of a churn process; never returns. Closes what
 * it inherited from the manager (sinks, pipes) first.
 */
void churn_child(int kind, const char *sock, const struct sink *k)
{
	static struct child_run r;

	close_range(3, ~0u, 0);
	r.rng = 0x2545f4914f6cdd1dull ^ ((uint64_t)getpid() << 16) ^
		th_now_ms();
	switch (kind) {
	case CHURN_RAW_HELLO:
		child_raw_hello(&r, sock);
		break;
	case CHURN_CONNECT:
		child_connect(&r, sock, 1u << 20);
		break;
	case CHURN_FLOW_IDLE:
		child_connect(&r, sock, 1u << 20);
		if (child_rnd(&r) & 1)
			child_flow(&r, "tcp", k->drain_port);
		else
			child_flow(&r, "udp", k->udp_port);
		break;
	case CHURN_SENDS:
		child_sends(&r, sock, k);
		break;
	case CHURN_SLOW_FLOOD:
		child_slow_flood(&r, sock, k);
		break;
	}
	child_idle();
}
