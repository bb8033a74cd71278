/* SPDX-License-Identifier: MIT */
/*
 * SIGTERM with thousands of sends in flight. The TCP peer does not read,
 * so the sends pile up in the daemon and the kernel; then the daemon gets
 * SIGTERM and the peer starts reading. Every send must complete with its
 * full length, the peer must get every byte in order, and the daemon must
 * exit 0 by itself once drained (no second signal).
 */
/* transports: socket ring */
#include <sys/socket.h>
#include <sys/wait.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "zcsend.h"

#define N	4000
#define LEN	16384
#define CLIENT	9

static struct th_daemon daemon_;

/* Read and check the whole stream: N records of LEN bytes, in order. */
static void *reader(void *arg)
{
	static unsigned char rec[LEN];
	int fd = *(int *)arg;
	struct th_rec h;
	uint64_t seq;
	size_t got;
	ssize_t n;

	for (seq = 0; seq < N; seq++) {
		for (got = 0; got < LEN; got += (size_t)n) {
			n = read(fd, rec + got, LEN - got);
			TH_CHECK(n > 0, "stream ended at record %llu: %s",
				 (unsigned long long)seq, strerror(errno));
		}
		memcpy(&h, rec, sizeof(h));
		TH_CHECK(h.magic == TH_REC_MAGIC && h.client == CLIENT &&
			 h.seq == seq && h.len == LEN, "record %llu: bad header"
			 " (seq %llu)", (unsigned long long)seq,
			 (unsigned long long)h.seq);
		TH_CHECK(th_fnv1a(rec + sizeof(h), LEN - sizeof(h)) == h.csum,
			 "record %llu: bytes differ", (unsigned long long)seq);
	}
	return NULL;
}

static void write_config(char *path, size_t size)
{
	FILE *f;

	snprintf(path, size, "%s/drain.conf", getenv("TMPDIR") ?
		 getenv("TMPDIR") : "/tmp");
	f = fopen(path, "w");
	TH_CHECK(f != NULL, "%s: %s", path, strerror(errno));
	fprintf(f, "[daemon]\npool_bytes = 96M\npool_total_bytes = 128M\n"
		   "max_inflight = 8192\ndrain_timeout_ms = 60000\n");
	fclose(f);
}

/* Queue all N sends; return how many completed before SIGTERM. */
static unsigned send_all(struct zcs_client *c, uint32_t flow)
{
	struct zcs_completion comps[64];
	void *buf;
	int k, i;

	for (i = 0; i < N; i++) {
		TH_EQ(zcs_alloc(c, LEN, &buf), 0);
		th_rec_build(buf, LEN, CLIENT, (uint64_t)i);
		TH_EQ(zcs_send(c, flow, buf, LEN, (uint64_t)i), 0);
	}
	TH_EQ(zcs_flush(c), 0);
	th_sleep_ms(300);	/* let the daemon fill the socket */
	k = zcs_reap(c, comps, 64, 0);
	TH_CHECK(k >= 0, "reap: %s", strerror(-k));
	for (i = 0; i < k; i++)
		TH_EQ(comps[i].result, LEN);
	return (unsigned)k;
}

static unsigned reap_rest(struct zcs_client *c, unsigned got)
{
	struct zcs_completion comps[256];
	uint64_t end = th_now_ms() + 60000;
	int k, i;

	while (got < N && th_now_ms() < end) {
		k = zcs_reap(c, comps, 256, 1000);
		TH_CHECK(k >= 0, "reap after SIGTERM: %s", strerror(-k));
		for (i = 0; i < k; i++)
			TH_CHECK(comps[i].result == LEN, "tag %llu: %d",
				 (unsigned long long)comps[i].tag,
				 comps[i].result);
		got += (unsigned)k;
	}
	return got;
}

int main(void)
{
	const char *args[] = { "-c", NULL, NULL };
	char conf[512], dest[64];
	struct zcs_client *c;
	pthread_t thread;
	unsigned before, got;
	uint32_t flow;
	uint16_t port;
	int lfd, fd, status;

	write_config(conf, sizeof(conf));
	args[1] = conf;
	th_daemon_start(&daemon_, args);
	lfd = th_listen_lo(&port, 65536);
	snprintf(dest, sizeof(dest), "tcp://127.0.0.1:%u", port);
	TH_EQ(zcs_connect(daemon_.sock, 96u << 20, &c), 0);
	TH_EQ(zcs_flow_open(c, dest, &flow), ZCS_PROTO_TCP);
	fd = accept(lfd, NULL, NULL);
	TH_CHECK(fd >= 0, "accept: %s", strerror(errno));
	before = send_all(c, flow);
	TH_CHECK(N - before >= 1000, "only %u sends in flight at SIGTERM",
		 N - before);
	kill(daemon_.pid, SIGTERM);
	TH_EQ(pthread_create(&thread, NULL, reader, &fd), 0);
	got = reap_rest(c, before);
	TH_CHECK(got == N, "%u of %u completions after SIGTERM", got, N);
	TH_EQ(pthread_join(thread, NULL), 0);
	zcs_close(c);
	status = th_daemon_wait_exit(&daemon_, 10000);
	TH_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		 "daemon did not exit 0 by itself after draining (%#x)",
		 status);
	printf("test-drain: %u sends in flight at SIGTERM, all %u completed\n",
	       N - before, N);
	th_daemon_stop(&daemon_);
	close(fd);
	close(lfd);
	return 0;
}
