/* SPDX-License-Identifier: MIT */
/*
 * Cases the UDP GSO tests share: an explicit segmented send and a run of
 * plain sends coalesced, each checked at the receiver, in completions and
 * in the daemon's counters; reaping and finding completions; a flow to a
 * new receiver; and running a part in a child process of its own.
 */
#include <sys/types.h>
#include <sys/wait.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gso.h"

#define PAD		64	/* gap between records that must not touch */

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
