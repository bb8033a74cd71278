/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the wire validator (proto/zcs_proto.c). Each input
 * is one received packet: it goes through zcs_msg_check() as the daemon and
 * libzcsend call it, and a message that passes then gets the per-record
 * checks a handler runs. Invariants the validator promises are asserted
 * with __builtin_trap() so that a broken promise is a crash, not a log line.
 */
#include <stdint.h>
#include <string.h>

#include "zcs_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

/* The receive buffer: aligned as a malloc'd one would be. */
static _Alignas(16) unsigned char rbuf[ZCS_MSG_MAX];

/*
 * A pool size for the range checks, taken from the input so that the
 * fuzzer can steer it: the cookie, which no validator looks at.
 */
static uint64_t pool_of(const struct zcs_hdr *h)
{
	return h->cookie;
}

/* Every record as the SEND handler would see it, copied out first. */
static void check_send(const struct zcs_hdr *h, const unsigned char *p)
{
	size_t n = zcs_send_count(h), i;
	size_t payload = h->len - sizeof(*h);
	struct zcs_msg_send s;
	uint64_t end;
	int ok;

	CHECK(n >= 1 && n <= ZCS_SEND_BATCH_MAX);
	CHECK(n * sizeof(s) == payload);
	for (i = 0; i < n; i++) {
		memcpy(&s, p + i * sizeof(s), sizeof(s));
		if (zcs_send_check(&s) == 0)
			CHECK(s.len >= 1 && s.len <= ZCS_SEND_LEN_MAX &&
			      !(s.flags & ~ZCS_SEND_F_ALL) &&
			      !(s.flags & ZCS_SEND_F_SEGMENT) == !s.segment);
		ok = zcs_range_check(s.offset, s.len, pool_of(h)) == 0;
		/* The range check must agree with overflow-free arithmetic. */
		CHECK(ok == (!__builtin_add_overflow(s.offset, s.len, &end) &&
			     end <= pool_of(h)));
	}
}

/* The fixed-size payloads with checks: those checks must pass. */
static void check_fixed(const struct zcs_hdr *h, const unsigned char *p)
{
	struct zcs_hello hello;
	struct zcs_flow_open open;
	struct zcs_flow_close close;
	struct zcs_policy policy;
	struct zcs_rings rings;
	struct zcs_service svc;

	switch (h->type) {
	case ZCS_MSG_HELLO:
		memcpy(&hello, p, sizeof(hello));
		CHECK(zcs_hello_check(&hello) == 0);
		CHECK(memchr(hello.name, 0, sizeof(hello.name)));
		break;
	case ZCS_MSG_FLOW_OPEN:
		memcpy(&open, p, sizeof(open));
		CHECK(zcs_flow_open_check(&open) == 0);
		CHECK(open.dest[0] && strlen(open.dest) < sizeof(open.dest));
		break;
	case ZCS_MSG_RINGS:	/* a layout the client may map and trust */
		memcpy(&rings, p, sizeof(rings));
		CHECK(zcs_rings_check(&rings) == 0);
		CHECK(rings.sq_entries && !(rings.sq_entries &
					    (rings.sq_entries - 1)));
		CHECK(rings.sq_off >= sizeof(struct zcs_ring_ctl));
		CHECK((uint64_t)rings.cq_off + (uint64_t)rings.cq_entries *
		      sizeof(struct zcs_msg_completion) <= rings.bytes);
		break;
	case ZCS_MSG_FLOW_CLOSE:
		memcpy(&close, p, sizeof(close));
		CHECK(zcs_flow_close_check(&close) == 0);
		break;
	case ZCS_MSG_POLICY:
		memcpy(&policy, p, sizeof(policy));
		CHECK(zcs_policy_check(&policy) == 0);
		CHECK(strlen(policy.dest) < sizeof(policy.dest));
		CHECK(strlen(policy.settings) < sizeof(policy.settings));
		break;
	case ZCS_MSG_SERVICE_INFO:
		memcpy(&svc, p, sizeof(svc));
		CHECK(svc.reserved == 0);
		break;
	}
}

/* What any message that passed zcs_msg_check() must look like. */
static void check_passed(const struct zcs_hdr *h, size_t n)
{
	CHECK(h->len == n);
	CHECK(h->len >= sizeof(*h) && h->len <= ZCS_MSG_MAX);
	CHECK(h->version == ZCS_PROTO_VERSION);
	CHECK(strcmp(zcs_msg_name(h->type), "UNKNOWN") != 0);
	CHECK(!(h->flags & ~ZCS_HDR_F_ALL));
	CHECK(!(h->flags & ZCS_HDR_F_FD) || h->type == ZCS_MSG_HELLO_OK ||
	      h->type == ZCS_MSG_RINGS);
	CHECK(zcs_hdr_check(h, n) == 0);
	CHECK(zcs_payload_check(h, rbuf + sizeof(*h)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zcs_hdr h, again;
	int err;

	if (size > ZCS_MSG_MAX)
		return 0;
	memcpy(rbuf, data, size);
	err = zcs_msg_check(rbuf, size, &h);
	CHECK(err <= 0);
	if (err) {
		/* Rejection is stable: the same bytes fail the same way. */
		CHECK(zcs_msg_check(rbuf, size, &again) == err);
		return 0;
	}
	check_passed(&h, size);
	if (h.type == ZCS_MSG_SEND)
		check_send(&h, rbuf + sizeof(h));
	else if (h.type == ZCS_MSG_COMPLETE)
		CHECK(zcs_send_count(&h) >= 1 &&
		      zcs_send_count(&h) * sizeof(struct zcs_msg_completion) ==
		      h.len - sizeof(h));
	else
		CHECK(zcs_send_count(&h) == 1);
	check_fixed(&h, rbuf + sizeof(h));
	return 0;
}
