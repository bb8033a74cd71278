/* SPDX-License-Identifier: MIT */
/*
 * sockfuzz messages: each request type built valid or subtly wrong, SEND
 * records in several layouts (one of them the error-batch pattern), raw
 * junk, and mutations of any of these. Destination strings come only from
 * a grammar of loopback addresses and ports this run owns, and mutation
 * never touches their bytes: no packet can be aimed off this machine.
 */
#include <stdio.h>
#include <string.h>

#include "sockfuzz.h"

#define HDR	sizeof(struct zcs_hdr)

static const char *const bad_specs[] = {
	"", "udp://", "tcp://", "udp://127.0.0.1", "tcp://127.0.0.1:0",
	"udp://127.0.0.1:65536", "tcp://127.0.0.1:-1", "udp://[::1",
	"udp://::1:9", "sctp://127.0.0.1:9", "udp://localhost:",
	"nosuchdest", "udp://999.0.0.1:9", "tcp://[::1]:", "UDP://127.0.0.1:9",
	"udp://127.0.0.1:9x", "tcp:/127.0.0.1:9", "udp://[]:9",
	"udp://127.0.0.1:00000000000000000009",
};

static const char *const pol_keys[] = {
	"flush", "batch_max", "batch_usec", "zerocopy", "zerocopy_min_bytes",
	"udp_segment", "bogus", "address", "",
};

static const char *const pol_vals[] = {
	"immediate", "batch", "0", "1", "64", "4096", "100000", "on", "off",
	"auto", "-1", "abc", "", "99999999999999999999", "1K",
};

static size_t msg_head(struct fz_sess *s, uint8_t *buf, uint16_t type,
		       size_t payload)
{
	struct zcs_hdr h;

	zcs_hdr_init(&h, type, payload, ++s->cookie);
	memcpy(buf, &h, sizeof(h));
	return HDR + payload;
}

static void rand_bytes(struct fz_rng *r, uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)fz_next(r);
}

static uint64_t pick_pool(struct fz_rng *r)
{
	static const uint64_t sizes[] = { 4096, 65536, 1u << 20, 1u << 20,
					  300000, 1ull << 40, 1, 0 };
	uint32_t k = fz_below(r, 10);

	return k < 8 ? sizes[k] : fz_next(r) >> fz_below(r, 64);
}

/* SQ entries a ring session asks for: mostly ours to choose, or sane. */
static uint32_t pick_entries(struct fz_rng *r)
{
	static const uint32_t sizes[] = {
		1, 2, 7, 8, 9, 16, 63, 64, 65, 100, 256, 1000, 4096,
		4097, 65536, UINT32_MAX,
	};
	uint32_t k = fz_below(r, 100);

	if (k < 50)
		return 0;
	if (k < 90)
		return sizes[fz_below(r, sizeof(sizes) / sizeof(sizes[0]))];
	return k < 95 ? fz_below(r, ZCS_RING_ENTRIES_MAX + 1)
		      : (uint32_t)fz_next(r);
}

/* A ring session's HELLO asks for rings, sometimes in a wrong way. */
static void hello_rings(struct fz_rng *r, struct zcs_hello *m)
{
	m->flags |= ZCS_HELLO_F_RINGS;
	if (fz_pct(r, 2))
		m->flags |= 1u << (1 + fz_below(r, 31));
	m->ring_entries = pick_entries(r);
}

/* fz_gen_hello - HELLO, now and then with a bad field. Returns length. */
size_t fz_gen_hello(struct fz_sess *s, uint8_t *buf)
{
	struct fz_rng *r = &s->r;
	struct zcs_hello m;

	memset(&m, 0, sizeof(m));
	m.pool_bytes = fz_pct(r, 90) ? (fz_pct(r, 90) ? 1u << 20 : 65536)
				     : pick_pool(r);
	snprintf(m.name, sizeof(m.name), "fz%llu",
		 (unsigned long long)s->idx);
	if (fz_pct(r, 3))
		m.flags = 1u << fz_below(r, 32);
	if (fz_pct(r, 3))
		m.ring_entries = (uint32_t)fz_next(r) | 1;
	if (s->rings)
		hello_rings(r, &m);
	if (fz_pct(r, 3))
		memset(m.name, 'n', sizeof(m.name));	/* no NUL */
	if (fz_pct(r, 3))
		rand_bytes(r, (uint8_t *)m.name, sizeof(m.name) - 1);
	memcpy(buf + HDR, &m, sizeof(m));
	return msg_head(s, buf, ZCS_MSG_HELLO, sizeof(m));
}

/* A destination string; *@proto is 0 when it should be refused. */
static void pick_spec(struct fz_sess *s, char *dest, uint16_t *proto)
{
	struct fz_env *e = s->env;
	struct fz_rng *r = &s->r;
	const struct fz_dest *d;
	uint32_t k = fz_below(r, 100);

	*proto = 0;
	if (k < 3) {
		memset(dest, 'a', ZCS_DEST_MAX);	/* no NUL */
		return;
	}
	if (k < 20) {
		snprintf(dest, ZCS_DEST_MAX, "%s",
			 bad_specs[fz_below(r, sizeof(bad_specs) /
						   sizeof(bad_specs[0]))]);
		return;
	}
	d = k < 75 ? &e->named[fz_below(r, e->nnamed)]
		   : &e->adhoc[fz_below(r, e->nadhoc)];
	snprintf(dest, ZCS_DEST_MAX, "%s", d->spec);
	*proto = d->proto;
}

/* fz_gen_flow_open - FLOW_OPEN; *@proto tells what a FLOW_OK would be. */
size_t fz_gen_flow_open(struct fz_sess *s, uint8_t *buf, uint16_t *proto)
{
	struct fz_rng *r = &s->r;
	struct zcs_flow_open m;

	memset(&m, 0, sizeof(m));
	pick_spec(s, m.dest, proto);
	if (fz_pct(r, 3))
		m.flags = 1u << fz_below(r, 32);
	if (fz_pct(r, 3))
		m.reserved = 1;
	memcpy(buf + HDR, &m, sizeof(m));
	return msg_head(s, buf, ZCS_MSG_FLOW_OPEN, sizeof(m));
}

/* A flow id: ours, one just closed, someone else's, or nonsense. */
static uint32_t pick_flow(struct fz_sess *s, bool valid)
{
	struct fz_rng *r = &s->r;
	uint32_t k = fz_below(r, 100);

	if (s->nflows && (valid || k < 20))
		return s->flows[fz_below(r, s->nflows)];
	if (k < 40)
		return s->closed_flow;
	if (k < 70)
		return atomic_load(&s->env->sh->ids[fz_below(r,
							       FZ_SHARED_IDS)]);
	if (k < 80)
		return 0;
	return (uint32_t)fz_next(r) >> fz_below(r, 32);
}

size_t fz_gen_flow_close(struct fz_sess *s, uint8_t *buf)
{
	struct zcs_flow_close m = { pick_flow(s, fz_pct(&s->r, 70)), 0 };

	if (fz_pct(&s->r, 3))
		m.reserved = 1;
	memcpy(buf + HDR, &m, sizeof(m));
	return msg_head(s, buf, ZCS_MSG_FLOW_CLOSE, sizeof(m));
}

/* fz_gen_empty - a request without payload (STATUS, RELOAD, ...). */
size_t fz_gen_empty(struct fz_sess *s, uint8_t *buf, uint16_t type)
{
	return msg_head(s, buf, type, 0);
}

size_t fz_gen_policy(struct fz_sess *s, uint8_t *buf)
{
	struct fz_rng *r = &s->r;
	struct zcs_policy m;
	size_t off = 0;
	unsigned i, n = 1 + fz_below(r, 3);

	memset(&m, 0, sizeof(m));
	if (fz_pct(r, 80))
		snprintf(m.dest, sizeof(m.dest), "%s",
			 s->env->named[fz_below(r, s->env->nnamed)].spec);
	else
		snprintf(m.dest, sizeof(m.dest), "nosuch%u", fz_below(r, 9));
	for (i = 0; i < n && off < sizeof(m.settings); i++)
		off += (size_t)snprintf(m.settings + off,
					sizeof(m.settings) - off, "%s%s=%s",
					i ? " " : "",
					pol_keys[fz_below(r, 9)],
					pol_vals[fz_below(r, 15)]);
	if (fz_pct(r, 3))
		memset(m.settings, 'x', sizeof(m.settings));
	memcpy(buf + HDR, &m, sizeof(m));
	return msg_head(s, buf, ZCS_MSG_POLICY, sizeof(m));
}

/* A record the daemon should take: our flow, inside the pool. */
static void rec_valid(struct fz_sess *s, struct zcs_msg_send *m, int want)
{
	struct fz_rng *r = &s->r;
	uint64_t pool = s->pool ? s->pool : 4096, cap, len;
	unsigned i = s->nflows ? fz_below(r, s->nflows) : 0, k;

	for (k = 0; want && k < s->nflows; k++)
		if (s->fproto[(i + k) % s->nflows] == want) {
			i = (i + k) % s->nflows;
			break;
		}
	m->flow = s->nflows ? s->flows[i] : pick_flow(s, false);
	cap = s->nflows && s->fproto[i] == ZCS_PROTO_UDP ? 65507 : 262144;
	if (cap > pool)
		cap = pool;
	len = fz_pct(r, 60) ? 2048 : fz_pct(r, 75) ? 16384 : cap;
	len = 1 + fz_below(r, (uint32_t)(len < cap ? len : cap));
	m->len = (uint32_t)len;
	m->offset = fz_below(r, (uint32_t)(pool - len + 1));
	if (fz_pct(r, 50))
		m->offset &= ~4095ull;
	if (fz_pct(r, 20)) {	/* datagrams: cut by UDP GSO or one by one */
		m->flags = ZCS_SEND_F_SEGMENT;
		m->segment = 1 + fz_below(r, fz_pct(r, 80) ? 1472 : 65535);
	}
}

/* A record with one thing wrong. */
static void rec_bad(struct fz_sess *s, struct zcs_msg_send *m)
{
	struct fz_rng *r = &s->r;
	uint64_t pool = s->pool ? s->pool : 4096;

	rec_valid(s, m, 0);
	switch (fz_below(r, 11)) {
	case 0: m->flow = pick_flow(s, false); break;
	case 1: m->flow = s->closed_flow; break;
	case 2: m->offset = pool + fz_below(r, 8192); break;
	case 3: m->offset = UINT64_MAX - fz_below(r, 64); break;
	case 4: m->len = 0; break;
	case 5: m->len = (1u << 30) + 1 + fz_below(r, 1000); break;
	case 6: m->len = 262144 + 1 + fz_below(r, 65536); break;
	case 7: m->flags = 1u << fz_below(r, 32); break;
	case 8: m->segment = (uint32_t)fz_next(r) | 1; m->flags = 0; break;
	case 9: m->offset = pool - fz_below(r, 16); m->len = 4096; break;
	default: m->flow = (uint32_t)fz_next(r); break;
	}
}

/* fz_gen_rec - one SEND record, @valid or with one thing wrong. */
void fz_gen_rec(struct fz_sess *s, struct zcs_msg_send *m, bool valid)
{
	memset(m, 0, sizeof(*m));
	m->tag = ++s->rg.tag;
	if (valid)
		rec_valid(s, m, 0);
	else
		rec_bad(s, m);
}

/*
 * fz_gen_send - a SEND message. Layouts: all valid, all bad, mixed, the
 * largest batch, and (@uaf) a valid TCP record followed by at least
 * FZ_ERR_BATCH bad ones, so that an error batch is written while the
 * message is still being walked.
 */
size_t fz_gen_send(struct fz_sess *s, uint8_t *buf, bool uaf)
{
	struct fz_rng *r = &s->r;
	struct zcs_msg_send m;
	uint32_t n, i, nvalid = 0, layout = fz_below(r, 100);
	bool capped = s->env->avoid & FZ_AVOID_UAF;

	if (uaf) {
		n = FZ_ERR_BATCH + 1 + fz_below(r, 400);
		nvalid = 1 + fz_below(r, 3);
		atomic_fetch_add(&s->env->sh->uaf, 1);
	} else if (layout < 40) {
		n = 1 + fz_below(r, 32);
	} else if (layout < 90) {
		n = 1 + fz_below(r, 300);
	} else {
		n = (uint32_t)ZCS_SEND_BATCH_MAX - fz_below(r, 2);
	}
	for (i = 0; i < n; i++) {
		memset(&m, 0, sizeof(m));
		m.tag = s->cookie * 4096 + i;
		if (uaf ? i < nvalid : layout < 40 ? fz_pct(r, 90)
						   : fz_pct(r, 50))
			rec_valid(s, &m, uaf ? ZCS_PROTO_TCP : 0);
		else
			rec_bad(s, &m);
		memcpy(buf + HDR + i * sizeof(m), &m, sizeof(m));
	}
	/* Without the pattern: never FZ_ERR_BATCH records in one message. */
	if (capped && n >= FZ_ERR_BATCH)
		n = FZ_ERR_BATCH - 1 - fz_below(r, 8);
	return msg_head(s, buf, ZCS_MSG_SEND, n * sizeof(m));
}

/* fz_gen_any - a well-framed message of any type, known or not. */
size_t fz_gen_any(struct fz_sess *s, uint8_t *buf)
{
	static const uint16_t types[] = {
		ZCS_MSG_HELLO, ZCS_MSG_HELLO_OK, ZCS_MSG_VERSION,
		ZCS_MSG_ERROR, ZCS_MSG_OK, ZCS_MSG_FLOW_OK,
		ZCS_MSG_FLOW_CLOSED, ZCS_MSG_STATUS_DAEMON, ZCS_MSG_STATUS_END,
		ZCS_MSG_SERVICE, ZCS_MSG_SERVICE_INFO,
		ZCS_MSG_COMPLETE, 0, 1, 99, 199, 201, 299, 301, 0xffff,
	};
	struct fz_rng *r = &s->r;
	uint16_t t = types[fz_below(r, sizeof(types) / sizeof(types[0]))];
	size_t n = fz_pct(r, 50) ? 16u * fz_below(r, 8) : fz_below(r, 400);
	uint16_t proto;

	switch (fz_below(r, 8)) {
	case 0: return fz_gen_hello(s, buf);
	case 1: return fz_gen_flow_open(s, buf, &proto);
	case 2: return fz_gen_flow_close(s, buf);
	case 3: return fz_gen_empty(s, buf, ZCS_MSG_STATUS);
	case 4: return fz_gen_send(s, buf, false);
	case 5: return fz_gen_policy(s, buf);
	}
	rand_bytes(r, buf + HDR, n);
	return msg_head(s, buf, t, n);
}

/* fz_gen_random - bytes, sometimes behind a plausible header. */
size_t fz_gen_random(struct fz_sess *s, uint8_t *buf)
{
	struct fz_rng *r = &s->r;
	uint32_t k = fz_below(r, 10);
	size_t n = k < 4 ? fz_below(r, 64) : k < 9 ? fz_below(r, 2000)
						   : fz_below(r, FZ_TXBUF);
	struct zcs_hdr h;

	rand_bytes(r, buf, n);
	if (n >= HDR && fz_pct(r, 50)) {
		zcs_hdr_init(&h, (uint16_t)(100 + fz_below(r, 40)), n - HDR,
			     ++s->cookie);
		if (h.type == ZCS_MSG_FLOW_OPEN)
			h.type = ZCS_MSG_STATUS;
		memcpy(buf, &h, sizeof(h));
	}
	return n;
}

/* One change to a message; returns its new length. */
static size_t mutate_one(struct fz_rng *r, uint8_t *buf, size_t len)
{
	struct zcs_hdr h;
	size_t k;

	if (len < HDR)
		return len;
	memcpy(&h, buf, sizeof(h));
	switch (fz_below(r, 10)) {
	case 0: h.len = fz_pct(r, 50) ? (uint32_t)len + fz_below(r, 3) - 1
				      : (uint32_t)fz_next(r); break;
	case 1: h.type = fz_pct(r, 50) ? (uint16_t)(100 + fz_below(r, 201))
				       : (uint16_t)fz_next(r); break;
	case 2: h.version = (uint8_t)fz_next(r); break;
	case 3: h.flags = (uint8_t)(1u << fz_below(r, 8)); break;
	case 4: /* a bit of the payload */
		if (len > HDR) {
			k = HDR + fz_below(r, (uint32_t)(len - HDR));
			buf[k] ^= (uint8_t)(1u << fz_below(r, 8));
		}
		break;
	case 5: return fz_below(r, (uint32_t)len + 1);	/* truncate */
	case 6: /* extend */
		k = 1 + fz_below(r, 64);
		if (len + k <= FZ_TXBUF) {
			memset(buf + len, (int)fz_below(r, 256), k);
			len += k;
		}
		break;
	case 7: /* one record or field more, and the header agrees */
		if (len + 32 <= FZ_TXBUF && len > HDR + 32) {
			memcpy(buf + len, buf + HDR, 32);
			len += 32;
			h.len = (uint32_t)len;
		}
		break;
	default: /* a payload byte set to an edge value */
		if (len > HDR) {
			static const uint8_t edge[] = { 0, 1, 0x7f, 0x80, 0xff };

			k = HDR + fz_below(r, (uint32_t)(len - HDR));
			buf[k] = edge[fz_below(r, 5)];
		}
		break;
	}
	memcpy(buf, &h, sizeof(h));
	return len;
}

/*
 * fz_mutate - one to three changes to the message in @buf. The bytes of a
 * FLOW_OPEN destination are put back afterwards (or spoilt, when the type
 * became FLOW_OPEN by mutation), so a mutant never names a new address.
 */
size_t fz_mutate(struct fz_sess *s, uint8_t *buf, size_t len)
{
	char dest[ZCS_DEST_MAX];
	struct zcs_hdr h;
	bool was_open = false;
	size_t off = HDR + offsetof(struct zcs_flow_open, dest), n;
	unsigned i, times = 1 + fz_below(&s->r, 3);

	if (len >= off + sizeof(dest)) {
		memcpy(&h, buf, sizeof(h));
		was_open = h.type == ZCS_MSG_FLOW_OPEN;
		memcpy(dest, buf + off, sizeof(dest));
	}
	for (i = 0; i < times; i++)
		len = mutate_one(&s->r, buf, len);
	if (len < HDR)
		return len;
	memcpy(&h, buf, sizeof(h));
	if (h.type != ZCS_MSG_FLOW_OPEN || len <= off)
		return len;
	n = len - off < sizeof(dest) ? len - off : sizeof(dest);
	if (was_open)
		memcpy(buf + off, dest, n);
	else
		buf[off] = '!';
	return len;
}
