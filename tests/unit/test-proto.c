/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the wire protocol validators in proto/zcs_proto.c: every
 * header field at and beyond its bounds, every fixed-size payload one byte
 * short and long, SEND record counts, strings, reserved fields and flags,
 * send lengths and pool ranges (uint64 overflow included).
 * Exit 0 when all checks pass, 1 otherwise.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expect.h"
#include "zcs_proto.h"


/* Buffer big enough for one message one record past the SEND maximum. */
#define BUF_SIZE (sizeof(struct zcs_hdr) + \
	(ZCS_SEND_BATCH_MAX + 2) * sizeof(struct zcs_msg_send))

static unsigned char buf[BUF_SIZE];

/* Fixed-size message types and their payload sizes. */
static const struct {
	uint16_t type;
	size_t size;
} fixed[] = {
	{ ZCS_MSG_HELLO, sizeof(struct zcs_hello) },
	{ ZCS_MSG_HELLO_OK, sizeof(struct zcs_hello_ok) },
	{ ZCS_MSG_VERSION, sizeof(struct zcs_msg_version) },
	{ ZCS_MSG_ERROR, sizeof(struct zcs_error) },
	{ ZCS_MSG_FLOW_OPEN, sizeof(struct zcs_flow_open) },
	{ ZCS_MSG_FLOW_OK, sizeof(struct zcs_flow_ok) },
	{ ZCS_MSG_FLOW_CLOSE, sizeof(struct zcs_flow_close) },
	{ ZCS_MSG_FLOW_CLOSED, sizeof(struct zcs_flow_close) },
	{ ZCS_MSG_STATUS, 0 },
	{ ZCS_MSG_STATUS_DAEMON, sizeof(struct zcs_status_daemon) },
	{ ZCS_MSG_STATUS_CLIENT, sizeof(struct zcs_status_client) },
	{ ZCS_MSG_STATUS_DEST, sizeof(struct zcs_status_dest) },
	{ ZCS_MSG_STATUS_END, 0 },
	{ ZCS_MSG_OK, 0 },
	{ ZCS_MSG_RELOAD, 0 },
	{ ZCS_MSG_POLICY, sizeof(struct zcs_policy) },
	{ ZCS_MSG_SERVICE, 0 },
	{ ZCS_MSG_SERVICE_INFO, sizeof(struct zcs_service) },
	{ ZCS_MSG_UPGRADE, 0 },
};

#define NFIXED (sizeof(fixed) / sizeof(fixed[0]))

/*
 * Build a message of @type with @payload zero bytes in buf and return its
 * total length. All-zero payloads are valid for every fixed type except
 * FLOW_OPEN (empty destination), which callers fill in.
 */
static size_t build(uint16_t type, size_t payload)
{
	struct zcs_hdr h;

	memset(buf, 0, sizeof(struct zcs_hdr) + payload);
	zcs_hdr_init(&h, type, payload, 42);
	memcpy(buf, &h, sizeof(h));
	return sizeof(h) + payload;
}

/* Run zcs_msg_check on buf for @len bytes. */
static int check(size_t len)
{
	struct zcs_hdr out;

	return zcs_msg_check(buf, len, &out);
}

static struct zcs_hdr *hdr(void)
{
	return (struct zcs_hdr *)buf;
}

/* Give FLOW_OPEN and POLICY a destination so that only size matters. */
static void fill_payload(uint16_t type)
{
	if (type == ZCS_MSG_FLOW_OPEN)
		strcpy((char *)buf + sizeof(struct zcs_hdr) +
		       offsetof(struct zcs_flow_open, dest), "udp://[::1]:9");
	if (type == ZCS_MSG_POLICY)
		strcpy((char *)buf + sizeof(struct zcs_hdr) +
		       offsetof(struct zcs_policy, dest), "sink");
}

static void test_hdr_init(void)
{
	struct zcs_hdr h;

	memset(&h, 0xff, sizeof(h));
	zcs_hdr_init(&h, ZCS_MSG_SEND, 64, 0x1122334455667788ull);
	EXPECT_EQ(h.len, sizeof(h) + 64);
	EXPECT_EQ(h.type, ZCS_MSG_SEND);
	EXPECT_EQ(h.version, ZCS_PROTO_VERSION);
	EXPECT_EQ(h.flags, 0);
	EXPECT_EQ(h.cookie == 0x1122334455667788ull, 1);
}

static void test_hdr_len(void)
{
	struct zcs_hdr h;

	zcs_hdr_init(&h, ZCS_MSG_STATUS, 0, 1);
	EXPECT_EQ(zcs_hdr_check(&h, sizeof(h)), 0);
	h.len = sizeof(h) - 1;
	EXPECT_EQ(zcs_hdr_check(&h, sizeof(h) - 1), -EBADMSG);
	h.len = 0;
	EXPECT_EQ(zcs_hdr_check(&h, 0), -EBADMSG);
	h.len = ZCS_MSG_MAX;
	EXPECT_EQ(zcs_hdr_check(&h, ZCS_MSG_MAX), 0);
	h.len = ZCS_MSG_MAX + 1;
	EXPECT_EQ(zcs_hdr_check(&h, ZCS_MSG_MAX + 1), -EMSGSIZE);
	h.len = UINT32_MAX;
	EXPECT_EQ(zcs_hdr_check(&h, UINT32_MAX), -EMSGSIZE);
	/* len must equal what was received, both ways. */
	h.len = sizeof(h) + 8;
	EXPECT_EQ(zcs_hdr_check(&h, sizeof(h) + 7), -EBADMSG);
	EXPECT_EQ(zcs_hdr_check(&h, sizeof(h) + 9), -EBADMSG);
	EXPECT_EQ(zcs_hdr_check(&h, sizeof(h)), -EBADMSG);
	/* Fewer bytes than a header never reach the header check. */
	build(ZCS_MSG_STATUS, 0);
	EXPECT_EQ(check(sizeof(struct zcs_hdr) - 1), -EBADMSG);
	EXPECT_EQ(check(0), -EBADMSG);
	EXPECT_EQ(check(sizeof(struct zcs_hdr)), 0);
}

static void test_hdr_version(void)
{
	struct zcs_hdr h;

	zcs_hdr_init(&h, ZCS_MSG_HELLO, sizeof(struct zcs_hello), 1);
	h.version = 0;
	EXPECT_EQ(zcs_hdr_check(&h, h.len), -EPROTONOSUPPORT);
	h.version = ZCS_PROTO_VERSION + 1;
	EXPECT_EQ(zcs_hdr_check(&h, h.len), -EPROTONOSUPPORT);
	h.version = 0xff;
	EXPECT_EQ(zcs_hdr_check(&h, h.len), -EPROTONOSUPPORT);
	/* Length is bounded before the version is trusted. */
	h.len = ZCS_MSG_MAX + 1;
	EXPECT_EQ(zcs_hdr_check(&h, h.len), -EMSGSIZE);
}

static void test_hdr_type(void)
{
	static const uint16_t unknown[] = {
		0, 1, 99, 106, 109, 114, 119, 127, 129, 133, 199, 201, 299, 301,
		0xffff
	};
	struct zcs_hdr h;
	size_t i;

	for (i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		zcs_hdr_init(&h, unknown[i], 0, 1);
		EXPECT_EQ(zcs_hdr_check(&h, sizeof(h)), -EPROTO);
		EXPECT_EQ(strcmp(zcs_msg_name(unknown[i]), "UNKNOWN"), 0);
	}
	for (i = 0; i < NFIXED; i++) {
		zcs_hdr_init(&h, fixed[i].type, fixed[i].size, 1);
		EXPECT_EQ(zcs_hdr_check(&h, h.len), 0);
		EXPECT_EQ(strcmp(zcs_msg_name(fixed[i].type), "UNKNOWN") != 0, 1);
	}
	EXPECT_EQ(strcmp(zcs_msg_name(ZCS_MSG_SEND), "SEND"), 0);
	EXPECT_EQ(strcmp(zcs_msg_name(ZCS_MSG_COMPLETE), "COMPLETE"), 0);
}

/* Every flag bit is refused, except ZCS_HDR_F_FD on HELLO_OK. */
static void test_hdr_flags(void)
{
	struct zcs_hdr h;
	unsigned bit;
	size_t i;

	for (i = 0; i < NFIXED; i++) {
		zcs_hdr_init(&h, fixed[i].type, fixed[i].size, 1);
		for (bit = 0; bit < 8; bit++) {
			int want = -EPROTO;

			h.flags = (uint8_t)(1u << bit);
			if (fixed[i].type == ZCS_MSG_HELLO_OK &&
			    h.flags == ZCS_HDR_F_FD)
				want = 0;
			EXPECT_EQ(zcs_hdr_check(&h, h.len), want);
		}
		h.flags = 0xff;
		EXPECT_EQ(zcs_hdr_check(&h, h.len), -EPROTO);
	}
	zcs_hdr_init(&h, ZCS_MSG_SEND, sizeof(struct zcs_msg_send), 1);
	h.flags = ZCS_HDR_F_FD;
	EXPECT_EQ(zcs_hdr_check(&h, h.len), -EPROTO);
	zcs_hdr_init(&h, ZCS_MSG_HELLO_OK, sizeof(struct zcs_hello_ok), 1);
	h.flags = ZCS_HDR_F_FD | 0x02;
	EXPECT_EQ(zcs_hdr_check(&h, h.len), -EPROTO);
}

/* Each fixed type: exact size passes, one byte short or long fails. */
static void test_fixed_sizes(void)
{
	size_t i, len;

	for (i = 0; i < NFIXED; i++) {
		len = build(fixed[i].type, fixed[i].size);
		fill_payload(fixed[i].type);
		EXPECT_EQ(check(len), 0);
		len = build(fixed[i].type, fixed[i].size + 1);
		fill_payload(fixed[i].type);
		EXPECT_EQ(check(len), -EBADMSG);
		if (fixed[i].size == 0)
			continue;
		len = build(fixed[i].type, fixed[i].size - 1);
		fill_payload(fixed[i].type);
		EXPECT_EQ(check(len), -EBADMSG);
	}
}

/* SEND and COMPLETE carry 1..max whole records. */
static void test_records(uint16_t type, size_t rec, size_t max)
{
	size_t len;

	len = build(type, 0);
	EXPECT_EQ(check(len), -EBADMSG);
	len = build(type, rec);
	EXPECT_EQ(check(len), 0);
	EXPECT_EQ(zcs_send_count(hdr()), 1);
	len = build(type, rec - 1);
	EXPECT_EQ(check(len), -EBADMSG);
	len = build(type, rec + 1);
	EXPECT_EQ(check(len), -EBADMSG);
	len = build(type, 2 * rec);
	EXPECT_EQ(check(len), 0);
	EXPECT_EQ(zcs_send_count(hdr()), 2);
	len = build(type, max * rec);
	EXPECT_EQ(len <= ZCS_MSG_MAX, 1);
	EXPECT_EQ(check(len), 0);
	EXPECT_EQ(zcs_send_count(hdr()), max);
	/* One record more no longer fits in a message: the header says so. */
	len = build(type, (max + 1) * rec);
	EXPECT_EQ(len > ZCS_MSG_MAX, 1);
	EXPECT_EQ(check(len), -EMSGSIZE);
	/* Behind a header that passed, the payload check still counts. */
	hdr()->len = (uint32_t)len;
	EXPECT_EQ(zcs_payload_check(hdr(), buf + sizeof(struct zcs_hdr)),
		  -EMSGSIZE);
}

static void test_send_batches(void)
{
	EXPECT_EQ(ZCS_SEND_BATCH_MAX,
		  (ZCS_MSG_MAX - sizeof(struct zcs_hdr)) /
		  sizeof(struct zcs_msg_send));
	test_records(ZCS_MSG_SEND, sizeof(struct zcs_msg_send),
		     ZCS_SEND_BATCH_MAX);
	test_records(ZCS_MSG_COMPLETE, sizeof(struct zcs_msg_completion),
		     ZCS_COMPLETE_BATCH_MAX);
	/* Bad records inside a SEND are the daemon's, one by one. */
	build(ZCS_MSG_SEND, sizeof(struct zcs_msg_send));
	memset(buf + sizeof(struct zcs_hdr), 0xff, sizeof(struct zcs_msg_send));
	EXPECT_EQ(check(hdr()->len), 0);
}

static void test_hello(void)
{
	struct zcs_hello m;
	size_t len;

	memset(&m, 0, sizeof(m));
	EXPECT_EQ(zcs_hello_check(&m), 0);
	strcpy(m.name, "client");
	EXPECT_EQ(zcs_hello_check(&m), 0);
	memset(m.name, 'x', sizeof(m.name) - 1);
	EXPECT_EQ(zcs_hello_check(&m), 0);
	memset(m.name, 'x', sizeof(m.name));
	EXPECT_EQ(zcs_hello_check(&m), -EBADMSG);
	memset(&m, 0, sizeof(m));
	m.flags = ZCS_HELLO_F_RINGS;
	EXPECT_EQ(zcs_hello_check(&m), 0);
	m.ring_entries = ZCS_RING_ENTRIES_MAX;
	EXPECT_EQ(zcs_hello_check(&m), 0);
	m.ring_entries = ZCS_RING_ENTRIES_MAX + 1;
	EXPECT_EQ(zcs_hello_check(&m), -EINVAL);
	m.flags = 2;
	m.ring_entries = 0;
	EXPECT_EQ(zcs_hello_check(&m), -EINVAL);
	m.flags = 0x80000000u;
	EXPECT_EQ(zcs_hello_check(&m), -EINVAL);
	m.flags = 0;
	m.ring_entries = 1;	/* sizes rings that were not asked for */
	EXPECT_EQ(zcs_hello_check(&m), -EINVAL);
	/* Through the message path every payload failure is -EBADMSG. */
	m.ring_entries = 0;
	memset(m.name, 'y', sizeof(m.name));
	len = build(ZCS_MSG_HELLO, sizeof(m));
	memcpy(buf + sizeof(struct zcs_hdr), &m, sizeof(m));
	EXPECT_EQ(check(len), -EBADMSG);
	memset(m.name, 0, sizeof(m.name));
	m.flags = 4;
	memcpy(buf + sizeof(struct zcs_hdr), &m, sizeof(m));
	EXPECT_EQ(check(len), -EBADMSG);
}

static void test_flow_open(void)
{
	struct zcs_flow_open m;
	size_t len;

	memset(&m, 0, sizeof(m));
	EXPECT_EQ(zcs_flow_open_check(&m), -EINVAL);	/* empty dest */
	strcpy(m.dest, "tcp://127.0.0.1:9");
	EXPECT_EQ(zcs_flow_open_check(&m), 0);
	memset(m.dest, 'd', sizeof(m.dest) - 1);
	EXPECT_EQ(zcs_flow_open_check(&m), 0);
	memset(m.dest, 'd', sizeof(m.dest));
	EXPECT_EQ(zcs_flow_open_check(&m), -EINVAL);
	memset(&m, 0, sizeof(m));
	strcpy(m.dest, "name");
	m.flags = 1;
	EXPECT_EQ(zcs_flow_open_check(&m), -EINVAL);
	m.flags = 0;
	m.reserved = 0x100;
	EXPECT_EQ(zcs_flow_open_check(&m), -EINVAL);
	len = build(ZCS_MSG_FLOW_OPEN, sizeof(m));
	memcpy(buf + sizeof(struct zcs_hdr), &m, sizeof(m));
	EXPECT_EQ(check(len), -EBADMSG);
	m.reserved = 0;
	memcpy(buf + sizeof(struct zcs_hdr), &m, sizeof(m));
	EXPECT_EQ(check(len), 0);
	len = build(ZCS_MSG_FLOW_OPEN, sizeof(m));	/* empty dest */
	EXPECT_EQ(check(len), -EBADMSG);
}

static void test_policy(void)
{
	struct zcs_policy m;
	size_t len;

	memset(&m, 0, sizeof(m));
	EXPECT_EQ(zcs_policy_check(&m), -EINVAL);	/* no destination */
	strcpy(m.dest, "sink");
	EXPECT_EQ(zcs_policy_check(&m), 0);
	memset(m.settings, 'x', sizeof(m.settings));
	EXPECT_EQ(zcs_policy_check(&m), -EINVAL);	/* unterminated */
	memset(m.settings, 0, sizeof(m.settings));
	memset(m.dest, 'd', sizeof(m.dest));
	EXPECT_EQ(zcs_policy_check(&m), -EINVAL);
	len = build(ZCS_MSG_POLICY, sizeof(m));
	memcpy(buf + sizeof(struct zcs_hdr), &m, sizeof(m));
	EXPECT_EQ(check(len), -EBADMSG);
}

static void test_flow_close(void)
{
	struct zcs_flow_close m;
	size_t len;

	memset(&m, 0, sizeof(m));
	m.flow = UINT32_MAX;
	EXPECT_EQ(zcs_flow_close_check(&m), 0);
	m.reserved = 1;
	EXPECT_EQ(zcs_flow_close_check(&m), -EINVAL);
	len = build(ZCS_MSG_FLOW_CLOSE, sizeof(m));
	memcpy(buf + sizeof(struct zcs_hdr), &m, sizeof(m));
	EXPECT_EQ(check(len), -EBADMSG);
	len = build(ZCS_MSG_FLOW_CLOSED, sizeof(m));
	memcpy(buf + sizeof(struct zcs_hdr), &m, sizeof(m));
	EXPECT_EQ(check(len), -EBADMSG);
}

/* SERVICE_INFO: any numbers pass, a reserved word that is not 0 fails. */
static void test_service(void)
{
	struct zcs_service m;
	size_t len;

	memset(&m, 0xff, sizeof(m));
	m.reserved = 0;
	len = build(ZCS_MSG_SERVICE_INFO, sizeof(m));
	memcpy(buf + sizeof(struct zcs_hdr), &m, sizeof(m));
	EXPECT_EQ(check(len), 0);
	m.reserved = 1;
	memcpy(buf + sizeof(struct zcs_hdr), &m, sizeof(m));
	EXPECT_EQ(check(len), -EBADMSG);
	EXPECT_EQ(strcmp(zcs_msg_name(ZCS_MSG_SERVICE), "SERVICE"), 0);
	EXPECT_EQ(strcmp(zcs_msg_name(ZCS_MSG_SERVICE_INFO), "SERVICE_INFO"),
		  0);
	EXPECT_EQ(strcmp(zcs_msg_name(ZCS_MSG_UPGRADE), "UPGRADE"), 0);
}

/* Fill the string at @off (size @size) of a @type payload with no NUL. */
static void unterminated(uint16_t type, size_t payload, size_t off,
			 size_t size)
{
	size_t len = build(type, payload);

	EXPECT_EQ(check(len), 0);
	memset(buf + sizeof(struct zcs_hdr) + off, 'z', size);
	EXPECT_EQ(check(len), -EBADMSG);
	buf[sizeof(struct zcs_hdr) + off + size - 1] = 0;
	EXPECT_EQ(check(len), 0);
}

static void test_strings(void)
{
	unterminated(ZCS_MSG_ERROR, sizeof(struct zcs_error),
		     offsetof(struct zcs_error, msg), ZCS_ERRMSG_MAX);
	unterminated(ZCS_MSG_STATUS_DAEMON, sizeof(struct zcs_status_daemon),
		     offsetof(struct zcs_status_daemon, version),
		     sizeof(((struct zcs_status_daemon *)0)->version));
	unterminated(ZCS_MSG_STATUS_CLIENT, sizeof(struct zcs_status_client),
		     offsetof(struct zcs_status_client, name), ZCS_NAME_MAX);
	unterminated(ZCS_MSG_STATUS_DEST, sizeof(struct zcs_status_dest),
		     offsetof(struct zcs_status_dest, name),
		     sizeof(((struct zcs_status_dest *)0)->name));
	unterminated(ZCS_MSG_STATUS_DEST, sizeof(struct zcs_status_dest),
		     offsetof(struct zcs_status_dest, address),
		     sizeof(((struct zcs_status_dest *)0)->address));
}

static void test_send_check(void)
{
	struct zcs_msg_send s;

	memset(&s, 0, sizeof(s));
	s.len = 0;
	EXPECT_EQ(zcs_send_check(&s), -EMSGSIZE);
	s.len = 1;
	EXPECT_EQ(zcs_send_check(&s), 0);
	s.len = ZCS_SEND_LEN_MAX;
	EXPECT_EQ(zcs_send_check(&s), 0);
	s.len = ZCS_SEND_LEN_MAX + 1;
	EXPECT_EQ(zcs_send_check(&s), -EMSGSIZE);
	s.len = UINT32_MAX;
	EXPECT_EQ(zcs_send_check(&s), -EMSGSIZE);
	s.len = 100;
	s.flags = ZCS_SEND_F_SEGMENT;	/* without a segment size */
	EXPECT_EQ(zcs_send_check(&s), -EINVAL);
	s.segment = 1472;
	EXPECT_EQ(zcs_send_check(&s), 0);
	s.flags = 2;			/* not defined */
	EXPECT_EQ(zcs_send_check(&s), -EINVAL);
	s.flags = 0;			/* a segment size without the flag */
	EXPECT_EQ(zcs_send_check(&s), -EINVAL);
	s.segment = 0x80000000u;
	EXPECT_EQ(zcs_send_check(&s), -EINVAL);
	/* Offsets, tags and flow ids are not this function's business; nor
	 * is a segment size's fit to the flow. */
	s.flags = ZCS_SEND_F_SEGMENT;
	s.segment = UINT32_MAX;
	EXPECT_EQ(zcs_send_check(&s), 0);
	s.flags = 0;
	s.segment = 0;
	s.offset = UINT64_MAX;
	s.tag = UINT64_MAX;
	s.flow = UINT32_MAX;
	EXPECT_EQ(zcs_send_check(&s), 0);
}

static void test_range_check(void)
{
	EXPECT_EQ(zcs_range_check(0, 0, 0), 0);
	EXPECT_EQ(zcs_range_check(0, 1, 0), -ERANGE);
	EXPECT_EQ(zcs_range_check(0, 4096, 4096), 0);
	EXPECT_EQ(zcs_range_check(0, 4097, 4096), -ERANGE);
	EXPECT_EQ(zcs_range_check(1, 4095, 4096), 0);
	EXPECT_EQ(zcs_range_check(1, 4096, 4096), -ERANGE);
	EXPECT_EQ(zcs_range_check(4095, 1, 4096), 0);
	EXPECT_EQ(zcs_range_check(4096, 1, 4096), -ERANGE);
	EXPECT_EQ(zcs_range_check(4096, 0, 4096), 0);
	EXPECT_EQ(zcs_range_check(4097, 0, 4096), -ERANGE);
	EXPECT_EQ(zcs_range_check(UINT64_MAX, 1, UINT64_MAX), -ERANGE);
	EXPECT_EQ(zcs_range_check(UINT64_MAX, 0, UINT64_MAX), 0);
	EXPECT_EQ(zcs_range_check(UINT64_MAX - 9, 100, 1 << 20), -ERANGE);
	EXPECT_EQ(zcs_range_check(1, UINT64_MAX, UINT64_MAX), -ERANGE);
	EXPECT_EQ(zcs_range_check(UINT64_MAX / 2 + 1, UINT64_MAX / 2 + 1,
				  UINT64_MAX), -ERANGE);
	EXPECT_EQ(zcs_range_check(UINT64_MAX / 2, UINT64_MAX / 2 + 1,
				  UINT64_MAX), 0);
}

/* A RINGS layout: sizes, order and bounds, each broken once. */
static void test_rings_check(void)
{
	const struct zcs_rings good = {
		.bytes = 8192, .sq_entries = 64, .cq_entries = 128,
		.sq_off = 512, .cq_off = 512 + 64 * 32,
	};
	struct zcs_rings m = good;

	EXPECT_EQ(zcs_rings_check(&m), 0);
	m.cq_off = 512 + 64 * 32 + 64;	/* a gap is fine */
	EXPECT_EQ(zcs_rings_check(&m), 0);
	m = good;
	m.sq_entries = 48;
	m.cq_entries = 96;
	EXPECT_EQ(zcs_rings_check(&m), -EINVAL);
	m = good;
	m.sq_entries = 4;
	m.cq_entries = 8;
	EXPECT_EQ(zcs_rings_check(&m), -EINVAL);
	m = good;
	m.cq_entries = 64;
	EXPECT_EQ(zcs_rings_check(&m), -EINVAL);
	m = good;
	m.sq_off = 448;		/* over the control words */
	EXPECT_EQ(zcs_rings_check(&m), -EINVAL);
	m = good;
	m.sq_off = 520;		/* not on a cache line */
	EXPECT_EQ(zcs_rings_check(&m), -EINVAL);
	m = good;
	m.cq_off = 512 + 64 * 32 - 64;	/* overlaps the SQ */
	EXPECT_EQ(zcs_rings_check(&m), -EINVAL);
	m = good;
	m.bytes = 512 + 64 * 32 + 128 * 16 - 1;	/* CQ past the end */
	EXPECT_EQ(zcs_rings_check(&m), -EINVAL);
	m = good;
	m.cq_off = UINT32_MAX - 63;	/* no wrap */
	EXPECT_EQ(zcs_rings_check(&m), -EINVAL);
	m = good;
	m.flags = 1;
	EXPECT_EQ(zcs_rings_check(&m), -EINVAL);
}

int main(void)
{
	test_hdr_init();
	test_hdr_len();
	test_hdr_version();
	test_hdr_type();
	test_hdr_flags();
	test_fixed_sizes();
	test_send_batches();
	test_hello();
	test_flow_open();
	test_flow_close();
	test_policy();
	test_service();
	test_strings();
	test_send_check();
	test_range_check();
	test_rings_check();
	printf("test-proto: %u checks, %u failed\n", checks, failures);
	return failures ? EXIT_FAILURE : EXIT_SUCCESS;
}
