/* SPDX-License-Identifier: MIT */
/*
 * A small ring under many zerocopy sends: with ring_entries = 8 the CQ has
 * 64 entries while up to 1024 sends (two CQEs each) are in flight, so the
 * kernel keeps CQEs on its overflow list. In every ring set-up (defer,
 * coop, plain) every send must still complete and every datagram reach a
 * loopback receiver once and intact. Stalling is a failure, not a hang:
 * no progress for 10 s ends the test.
 */
/* transports: socket ring */
#include <sys/socket.h>
#include <sys/wait.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "zcsend.h"

#define COUNT		6000
#define DGRAM_MIN	200
#define DGRAM_MAX	2000
#define POOL		(8u << 20)
#define STALL_MS	10000

static const char conf_text[] =
	"[daemon]\n"
	"ring_entries = 8\n"
	"max_inflight = 1024\n"
	"pool_bytes = 8M\n"
	"[defaults]\n"
	"flush = batch\n"
	"zerocopy = on\n"
	"zerocopy_min_bytes = 0\n";

struct run {
	const char *mode;
	struct th_recv rv;
	struct th_daemon dmn;
	struct zcs_client *c;
	uint32_t flow;
	uint64_t sent, completed;
	void *bufs[COUNT];
	uint32_t lens[COUNT];
	uint8_t done[COUNT];
};

static int send_one(struct run *r)
{
	size_t len = th_size(7, r->sent, DGRAM_MIN, DGRAM_MAX);
	void *buf;
	int ret;

	ret = zcs_alloc(r->c, len, &buf);
	if (ret == -ENOMEM)
		return 0;
	TH_CHECK(ret == 0, "alloc: %s", strerror(-ret));
	th_rec_build(buf, len, 7, r->sent);
	ret = zcs_send(r->c, r->flow, buf, len, r->sent);
	if (ret == -EAGAIN) {
		TH_EQ(zcs_free(r->c, buf), 0);
		return 0;
	}
	TH_CHECK(ret == 0, "send: %s", strerror(-ret));
	r->bufs[r->sent] = buf;
	r->lens[r->sent] = (uint32_t)len;
	r->sent++;
	return 1;
}

static void complete_one(struct run *r, const struct zcs_completion *cp)
{
	uint64_t seq = cp->tag;

	TH_CHECK(seq < r->sent && !r->done[seq], "%s: bad or repeated tag %llu",
		 r->mode, (unsigned long long)seq);
	TH_CHECK(cp->result == (int32_t)r->lens[seq], "%s: tag %llu: result "
		 "%d, sent %u", r->mode, (unsigned long long)seq, cp->result,
		 r->lens[seq]);
	r->done[seq] = 1;
	r->completed++;
	TH_EQ(zcs_free(r->c, r->bufs[seq]), 0);
}

/* Keep as many sends in flight as the daemon allows until all are done. */
static void pump(struct run *r)
{
	struct zcs_completion comps[256];
	uint64_t last = th_now_ms();
	int i, n;

	while (r->completed < COUNT) {
		while (r->sent < COUNT && send_one(r))
			;
		n = zcs_reap(r->c, comps, 256, 200);
		TH_CHECK(n >= 0, "%s: reap: %s", r->mode, strerror(-n));
		for (i = 0; i < n; i++)
			complete_one(r, &comps[i]);
		if (n > 0)
			last = th_now_ms();
		TH_CHECK(th_now_ms() - last < STALL_MS, "ring set-up %s: %llu of "
			 "%llu sent completed, %llu in flight with no completion "
			 "for %d s", r->mode, (unsigned long long)r->completed,
			 (unsigned long long)r->sent,
			 (unsigned long long)(r->sent - r->completed),
			 STALL_MS / 1000);
	}
}

static void write_conf(const char *path)
{
	FILE *f = fopen(path, "w");

	TH_CHECK(f && fputs(conf_text, f) >= 0 && fclose(f) == 0,
		 "writing %s", path);
}

/* The daemon logs (with -v) which set-up it got; insist on @mode. */
static void check_mode(const struct run *r)
{
	char line[256], want[64];
	FILE *f = fopen(r->dmn.log, "r");
	int found = 0;

	TH_CHECK(f, "open %s", r->dmn.log);
	snprintf(want, sizeof(want), "io_uring set up with %s flags", r->mode);
	while (fgets(line, sizeof(line), f))
		found |= strstr(line, want) != NULL;
	fclose(f);
	if (!found)
		th_skip("this kernel does not take the %s set-up", r->mode);
}

static void run_mode(struct run *r, const char *conf)
{
	const char *extra[] = { "-v", "-c", conf, NULL };
	char dest[64];
	uint64_t i, missing = 0;
	int err;

	err = th_recv_start(&r->rv, AF_INET, ZCS_PROTO_UDP, COUNT);
	TH_CHECK(err == 0, "udp receiver: %s", strerror(-err));
	setenv("ZCSENDD_RING_SETUP", r->mode, 1);
	th_daemon_start(&r->dmn, extra);
	check_mode(r);
	err = zcs_connect(r->dmn.sock, POOL, &r->c);
	TH_CHECK(err == 0, "connect: %s", strerror(-err));
	th_recv_dest(&r->rv, dest, sizeof(dest));
	err = zcs_flow_open(r->c, dest, &r->flow);
	TH_CHECK(err == ZCS_PROTO_UDP, "flow %s: %d", dest, err);
	pump(r);
	th_recv_wait(&r->rv, COUNT, 10000);
	th_recv_stop(&r->rv);
	TH_CHECK(r->rv.errors == 0, "%s: receiver: %llu errors, first: %s",
		 r->mode, (unsigned long long)r->rv.errors, r->rv.first_error);
	for (i = 0; i < COUNT; i++)
		missing += r->rv.seen[i] != 1;
	TH_CHECK(missing == 0, "%s: %llu of %d datagrams missing", r->mode,
		 (unsigned long long)missing, COUNT);
	zcs_close(r->c);
	err = th_daemon_stop(&r->dmn);
	TH_CHECK(WIFEXITED(err) && WEXITSTATUS(err) == 0,
		 "%s: daemon exit status %#x on SIGTERM", r->mode, err);
	th_recv_free(&r->rv);
	printf("ring set-up %s, 8 SQEs, 64 CQEs: %d sends, every one completed"
	       " and received\n", r->mode, COUNT);
}

int main(void)
{
	static const char *const modes[] = { "defer", "coop", "plain" };
	/* Static: th_daemon_start() keeps a pointer to each daemon. */
	static struct run runs[3];
	const char *tmp = getenv("TMPDIR");
	char conf[256];
	size_t i;

	snprintf(conf, sizeof(conf), "%s/ring-overflow.%d.conf",
		 tmp ? tmp : "/tmp", (int)getpid());
	write_conf(conf);
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		runs[i].mode = modes[i];
		run_mode(&runs[i], conf);
	}
	unlink(conf);
	return 0;
}
