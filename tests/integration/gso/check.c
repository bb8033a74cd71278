/* SPDX-License-Identifier: MIT */
/*
 * What the UDP GSO tests expect and how they match it: payloads whose
 * every byte depends on (stream, position), the datagrams a range should
 * be cut into, and matching what the receiver kept against them one to
 * one, every byte compared.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gso.h"

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

/* Every datagram @r[0..n) should produce, with the hash of its bytes. */
static struct want *wants_build(const struct gso_range *r, size_t n,
				size_t *count)
{
	struct want *w;
	uint8_t *buf = malloc(GSO_DGRAM_MAX);
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
