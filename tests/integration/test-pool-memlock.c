/* SPDX-License-Identifier: MIT */
/*
 * Pools past RLIMIT_MEMLOCK (6 MiB, for a daemon without CAP_IPC_LOCK)
 * with 4 MiB pools: two clients get a pool at HELLO, since nothing is
 * pinned yet; once one has sent (its pool pinned), a third is refused at
 * HELLO with -ENOMEM, as when the daemon registered every pool at HELLO,
 * and the second one's first SEND gets ERROR -ENOMEM naming SEND.
 * Once the sender leaves, a new client gets a pool and sends.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <linux/capability.h>

#include "helpers.h"

#define POOL	(4u << 20)
#define MEMLOCK	(6u << 20)

static struct th_daemon daemon_;

/* The daemon's effective capabilities include CAP_IPC_LOCK. */
static int daemon_has_ipc_lock(void)
{
	char path[64], line[256];
	unsigned long long eff = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)daemon_.pid);
	f = fopen(path, "r");
	TH_CHECK(f, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(f);
	return !!(eff & (1ull << CAP_IPC_LOCK));
}

/* HELLO must be refused with ERROR @want. */
static void hello_refused(const char *name, int want)
{
	struct zcs_error e;
	struct zcs_hdr h;
	struct th_raw r;
	int n;

	TH_EQ(th_raw_connect(&r, daemon_.sock), 0);
	TH_EQ(th_raw_hello_send(&r, ZCS_PROTO_VERSION, POOL, name), 0);
	n = th_raw_recv(&r, &h, &e, sizeof(e), NULL, 5000);
	TH_CHECK(n == (int)sizeof(e) && h.type == ZCS_MSG_ERROR,
		 "%s: HELLO answered by %s (%d)", name, zcs_msg_name(h.type),
		 n);
	TH_EQ(e.err, want);
	th_raw_close(&r);
}

/* Datagram @seq, 1000 bytes on @flow; returns its completion's result. */
static int32_t send_one(struct th_raw *r, uint32_t flow, uint64_t seq)
{
	struct zcs_msg_send s = { .tag = 1, .len = 1000, .flow = flow };
	struct zcs_msg_completion cp;

	th_rec_build(r->pool, 1000, 1, seq);
	TH_EQ(th_raw_send(r, &s, 1), 0);
	TH_EQ(th_raw_completions(r, &cp, 1, 10000), 1);
	return cp.result;
}

/* The first SEND of @r must get ERROR -ENOMEM naming SEND. */
static void send_refused(struct th_raw *r, uint32_t flow)
{
	struct zcs_msg_send s = { .tag = 1, .len = 1000, .flow = flow };
	struct zcs_error e;
	struct zcs_hdr h;
	int n;

	TH_EQ(th_raw_send(r, &s, 1), 0);
	n = th_raw_recv(r, &h, &e, sizeof(e), NULL, 5000);
	TH_CHECK(n == (int)sizeof(e) && h.type == ZCS_MSG_ERROR,
		 "SEND answered by %s (%d)", zcs_msg_name(h.type), n);
	TH_EQ(e.err, -ENOMEM);
	TH_EQ(e.req_type, ZCS_MSG_SEND);
	printf("first SEND refused: %s\n", e.msg);
}

/* Until no client holds a pool; 10 s at most. */
static void wait_no_pools(void)
{
	uint64_t end = th_now_ms() + 10000;

	while (th_daemon_clients(&daemon_)) {
		TH_CHECK(th_now_ms() < end, "pools still held after 10 s");
		th_sleep_ms(20);
	}
}

static void client(struct th_raw *r, const char *name, const char *dest,
		   uint32_t *flow)
{
	long id;

	TH_EQ(th_raw_connect(r, daemon_.sock), 0);
	TH_EQ(th_raw_hello(r, POOL, name), 0);
	TH_EQ(r->pool_bytes, POOL);
	id = th_raw_flow_open(r, dest);
	TH_CHECK(id >= 0, "%s: flow %s: %s", name, dest, strerror((int)-id));
	*flow = (uint32_t)id;
}

int main(void)
{
	struct rlimit rl = { MEMLOCK, MEMLOCK };
	struct th_raw a, b, d;
	struct th_recv rv;
	char conf[256], dest[64];
	const char *args[] = { "-c", conf, NULL };
	uint32_t fa, fb, fd;
	int err;

	TH_CHECK(!setrlimit(RLIMIT_MEMLOCK, &rl), "RLIMIT_MEMLOCK: %s",
		 strerror(errno));
	/* Root: keep CAP_IPC_LOCK from the daemon, so the limit counts. */
	prctl(PR_CAPBSET_DROP, CAP_IPC_LOCK, 0, 0, 0);
	err = th_recv_start(&rv, AF_INET, ZCS_PROTO_UDP, 2);
	TH_CHECK(err == 0, "udp receiver: %s", strerror(-err));
	th_recv_dest(&rv, dest, sizeof(dest));
	th_conf_write(conf, sizeof(conf), "[daemon]\npool_bytes = 4M\n");
	th_daemon_start(&daemon_, args);
	if (daemon_has_ipc_lock())
		th_skip("the daemon has CAP_IPC_LOCK: RLIMIT_MEMLOCK does "
			"not count");
	client(&a, "a", dest, &fa);
	client(&b, "b", dest, &fb);	/* nothing pinned yet: fits */
	TH_EQ(send_one(&a, fa, 0), 1000);	/* a's 4 MiB pinned */
	hello_refused("c", -ENOMEM);	/* 4 + 4 MiB > 6 MiB */
	send_refused(&b, fb);
	th_raw_close(&b);
	th_raw_close(&a);
	wait_no_pools();		/* a's pinned pool goes with a */
	client(&d, "d", dest, &fd);
	TH_EQ(send_one(&d, fd, 1), 1000);
	th_raw_close(&d);
	th_daemon_stop_clean(&daemon_);
	th_recv_wait(&rv, 2, 5000);
	th_recv_stop(&rv);
	TH_CHECK(rv.errors == 0 && rv.records == 2, "receiver: %llu records, "
		 "%llu errors, first: %s", (unsigned long long)rv.records,
		 (unsigned long long)rv.errors, rv.first_error);
	th_recv_free(&rv);
	printf("test-pool-memlock: pools past RLIMIT_MEMLOCK refused at "
	       "HELLO or at the first SEND\n");
	return 0;
}
