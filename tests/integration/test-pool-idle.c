/* SPDX-License-Identifier: MIT */
/*
 * Idle clients cost the daemon no pool memory: 64 clients with default
 * 4 MiB pools connect, open a flow and send nothing, and the daemon's
 * VmRSS (its pool mappings show in RssShmem, part of it) may grow by at
 * most 256 KiB each. Then one of them sends and a receiver checks every
 * byte (its pool is pinned at that first send), and once all are gone the
 * daemon counts no pool bytes.
 */
/* transports: socket ring */
#include <sys/socket.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "zcsend.h"

#define IDLE		64
#define POOL		(4u << 20)	/* the default pool_bytes */
#define PER_CLIENT_KB	256
#define COUNT		300		/* datagrams the woken client sends */
#define DGRAM_MIN	1000
#define DGRAM_MAX	8192

static struct th_daemon daemon_;

/* A field of /proc/PID/status in kB, e.g. "VmRSS"; fails when absent. */
static long proc_kb(pid_t pid, const char *key)
{
	long v = th_proc_status_kb(pid, key);

	TH_CHECK(v >= 0, "no %s in /proc/%d/status", key, (int)pid);
	return v;
}

/* A client with a default-sized pool and one flow to @dest. */
static struct zcs_client *idle_client(const char *dest, uint32_t *flow)
{
	struct zcs_client *c;
	int err;

	err = zcs_connect(daemon_.sock, POOL, &c);
	TH_CHECK(err == 0, "connect: %s", strerror(-err));
	TH_EQ(zcs_pool_size(c), POOL);
	err = zcs_flow_open(c, dest, flow);
	TH_CHECK(err == ZCS_PROTO_UDP, "flow %s: %d", dest, err);
	return c;
}

/* Reap one completion; it must say the whole datagram went. */
static void reap_one(struct zcs_client *c, void **bufs, const uint32_t *lens)
{
	struct zcs_completion cp;
	int n = zcs_reap(c, &cp, 1, 10000);

	TH_CHECK(n == 1, "reap: %d (%s)", n, n < 0 ? strerror(-n) : "none");
	TH_CHECK(cp.tag < COUNT && bufs[cp.tag], "unknown tag %llu",
		 (unsigned long long)cp.tag);
	TH_CHECK(cp.result == (int32_t)lens[cp.tag], "tag %llu: result %d, "
		 "sent %u", (unsigned long long)cp.tag, cp.result,
		 lens[cp.tag]);
	TH_EQ(zcs_free(c, bufs[cp.tag]), 0);
	bufs[cp.tag] = NULL;
}

/* The first send of a client that was idle: every datagram, intact. */
static void send_all(struct zcs_client *c, uint32_t flow, struct th_recv *rv)
{
	static void *bufs[COUNT];
	static uint32_t lens[COUNT];
	uint64_t seq, i;
	size_t len;
	int err;

	for (seq = 0; seq < COUNT; seq++) {
		len = th_size(1, seq, DGRAM_MIN, DGRAM_MAX);
		for (;;) {
			err = zcs_inflight(c) >= 32 ? -ENOMEM :
			      zcs_alloc(c, len, &bufs[seq]);
			if (err != -ENOMEM)
				break;
			reap_one(c, bufs, lens);
		}
		TH_CHECK(err == 0, "alloc: %s", strerror(-err));
		th_rec_build(bufs[seq], len, 1, seq);
		lens[seq] = (uint32_t)len;
		err = zcs_send(c, flow, bufs[seq], len, seq);
		TH_CHECK(err == 0, "send %llu: %s", (unsigned long long)seq,
			 strerror(-err));
	}
	while (zcs_inflight(c))
		reap_one(c, bufs, lens);
	th_recv_wait(rv, COUNT, 10000);
	th_recv_stop(rv);
	TH_CHECK(rv->errors == 0, "receiver: %llu errors, first: %s",
		 (unsigned long long)rv->errors, rv->first_error);
	for (i = 0; i < COUNT; i++)
		TH_CHECK(rv->seen[i] == 1, "datagram %llu seen %u times",
			 (unsigned long long)i, rv->seen[i]);
}

int main(void)
{
	static struct zcs_client *idle[IDLE];
	struct zcs_client *first;
	struct th_recv rv;
	char conf[256], dest[64];
	const char *args[] = { "-c", conf, NULL };
	long rss0, rss1, shm0, shm1, grew;
	uint32_t flow, flows[IDLE];
	int i, err;

	err = th_recv_start(&rv, AF_INET, ZCS_PROTO_UDP, COUNT);
	TH_CHECK(err == 0, "udp receiver: %s", strerror(-err));
	th_recv_dest(&rv, dest, sizeof(dest));
	th_conf_write(conf, sizeof(conf), "[daemon]\nmax_clients = %d\n"
		      "pool_total_bytes = 1G\n", IDLE + 8);
	th_daemon_start(&daemon_, args);
	/* One client first, so what every client shares is counted before. */
	first = idle_client(dest, &flow);
	rss0 = proc_kb(daemon_.pid, "VmRSS");
	shm0 = proc_kb(daemon_.pid, "RssShmem");
	for (i = 0; i < IDLE; i++)
		idle[i] = idle_client(dest, &flows[i]);
	rss1 = proc_kb(daemon_.pid, "VmRSS");
	shm1 = proc_kb(daemon_.pid, "RssShmem");
	grew = rss1 - rss0;
	printf("%d idle clients: daemon VmRSS %ld -> %ld kB (%ld kB each), "
	       "RssShmem %ld -> %ld kB\n", IDLE, rss0, rss1, grew / IDLE,
	       shm0, shm1);
	TH_CHECK(grew <= (long)IDLE * PER_CLIENT_KB, "VmRSS grew %ld kB for "
		 "%d idle clients: over %d kB each", grew, IDLE,
		 PER_CLIENT_KB);
	send_all(idle[IDLE / 2], flows[IDLE / 2], &rv);
	printf("one woke: RssShmem %ld kB, every datagram intact\n",
	       proc_kb(daemon_.pid, "RssShmem"));
	for (i = 0; i < IDLE; i++)
		zcs_close(idle[i]);
	zcs_close(first);
	th_daemon_wait_idle(&daemon_, 0, 0, 20000);
	th_daemon_stop_clean(&daemon_);
	th_recv_free(&rv);
	printf("test-pool-idle: %d idle clients within %d KiB each\n", IDLE,
	       PER_CLIENT_KB);
	return 0;
}
