/* SPDX-License-Identifier: MIT */
/*
 * Fair scheduling between clients: a canary sending one 1,000-byte
 * datagram at a time (to a receiver that checks every byte) completes its
 * sends while an abuser's flood, already in the daemon, is still going:
 * a SEND list of records of 64 KiB cut into 16-byte datagrams, then lists
 * of plain 60,000-byte records, to a UDP sink that never reads. Asserted
 * by counts (the abuser's completions when the canary's last came), not
 * time; the abuser is killed then, its flood dropped by the daemon.
 * STATUS counts the canary's cost and waits (zcs_sched_counters).
 */
/* transports: socket ring */
#include <sys/socket.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "zcsend.h"

#define CANARY_SENDS	20
#define CANARY_LEN	1000
#define MAX_INFLIGHT	65536

/*
 * One abuser's flood: @lists SEND lists of @per records, far more work
 * than the abuser can do alone while the canary sends (about 2 million
 * datagrams, or 3.6 GB), so that only a canary waiting for it fails.
 */
struct flood {
	const char *what;
	uint32_t lists, per;
	uint32_t len, segment;	/* segment 0: plain records */
};

static const struct flood floods[] = {
	{ "segmented", 1, 512, 65536, 16 },
	{ "plain", 30, 2047, 60000, 0 },
};

static struct th_daemon daemon_;

/* A loopback UDP socket nobody reads: sends to it are dropped there. */
static int sink_open(char *dest, size_t size)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t salen = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), small = 4096;

	TH_CHECK(fd >= 0, "socket: %s", strerror(errno));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	TH_EQ(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	TH_EQ(getsockname(fd, (struct sockaddr *)&sa, &salen), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	snprintf(dest, size, "udp://127.0.0.1:%u", ntohs(sa.sin_port));
	return fd;
}

/* Queue and send one list of the flood. */
static void abuser_list(struct zcs_client *c, uint32_t flow, void *buf,
			const struct flood *fl, uint32_t list)
{
	uint32_t i;
	int ret;

	for (i = 0; i < fl->per; i++) {
		uint64_t tag = (uint64_t)list * fl->per + i;

		ret = fl->segment ?
		      zcs_send_segmented(c, flow, buf, fl->len, fl->segment,
					 tag) :
		      zcs_send(c, flow, buf, fl->len, tag);
		TH_CHECK(ret == 0, "abuser send %u: %s", i, strerror(-ret));
	}
}

/*
 * The abuser, a process of its own so that STATUS tells it by pid: floods
 * @sink, says so on @ready as its first list goes (a ring flush waits for
 * room), and waits to be killed.
 */
static void abuser(const struct flood *fl, const char *sink, int ready)
{
	struct zcs_client *c;
	uint32_t flow, l;
	void *buf;
	char b = 1;

	TH_EQ(zcs_connect(daemon_.sock, 1u << 20, &c), 0);
	TH_EQ(zcs_flow_open(c, sink, &flow), ZCS_PROTO_UDP);
	TH_EQ(zcs_alloc(c, fl->len, &buf), 0);
	memset(buf, 0x5a, fl->len);
	for (l = 0; l < fl->lists; l++) {
		abuser_list(c, flow, buf, fl, l);
		if (l == 0)
			TH_EQ(write(ready, &b, 1), 1);
		TH_EQ(zcs_flush(c), 0);
	}
	for (;;)
		pause();
}

/* The STATUS_CLIENT record of the client of process @pid. */
static void status_of(struct th_raw *r, pid_t pid,
		      struct zcs_status_client *out)
{
	unsigned char buf[4096];
	struct zcs_status_client m;
	struct zcs_hdr h;
	int n, have = 0;

	TH_EQ(th_raw_send_msg(r, ZCS_MSG_STATUS, ZCS_PROTO_VERSION, NULL, 0),
	      0);
	for (;;) {
		n = th_raw_recv(r, &h, buf, sizeof(buf), NULL, 10000);
		TH_CHECK(n >= 0, "status: %s", strerror(-n));
		if (h.type == ZCS_MSG_STATUS_END)
			break;
		if (h.type != ZCS_MSG_STATUS_CLIENT)
			continue;
		memcpy(&m, buf, sizeof(m));
		/* Our STATUS connection has no pool. */
		if (m.pid == (uint32_t)pid && m.pool_bytes) {
			*out = m;
			have = 1;
		}
	}
	TH_CHECK(have, "no client of pid %d in STATUS", (int)pid);
}

/* One canary send, and its completion, of record @seq. */
static void canary_one(struct zcs_client *c, uint32_t flow, void *buf,
		       uint64_t seq)
{
	struct zcs_completion comp;
	int n;

	th_rec_build(buf, CANARY_LEN, 1, seq);
	TH_EQ(zcs_send(c, flow, buf, CANARY_LEN, seq), 0);
	n = zcs_reap(c, &comp, 1, 60000);
	TH_CHECK(n == 1, "canary send %llu: reap %d",
		 (unsigned long long)seq, n);
	TH_EQ(comp.tag, seq);
	TH_EQ(comp.result, CANARY_LEN);
}

/*
 * The canary beside flood @fl: once the abuser's first list reached the
 * daemon, CANARY_SENDS sends one at a time must complete while the flood
 * is not all complete. Returns the next canary seq.
 */
static uint64_t beside(struct zcs_client *canary, uint32_t flow, void *buf,
		       uint64_t seq, const struct flood *fl, const char *sink,
		       struct th_raw *st)
{
	uint64_t first = seq, total = (uint64_t)fl->lists * fl->per;
	struct zcs_status_client a;
	int ready[2], status, i;
	pid_t pid;

	TH_EQ(pipe(ready), 0);
	pid = fork();
	TH_CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0)
		abuser(fl, sink, ready[1]);
	TH_EQ(th_wait_readable(ready[0], 30000), 0);
	do {	/* its first list is in the daemon's hands */
		status_of(st, pid, &a);
	} while (!a.inflight && !a.st.sends);
	for (i = 0; i < CANARY_SENDS; i++)
		canary_one(canary, flow, buf, seq++);
	status_of(st, pid, &a);
	printf("%s flood: the canary's %llu sends completed while the "
	       "abuser had %llu of %llu complete\n", fl->what,
	       (unsigned long long)(seq - first),
	       (unsigned long long)a.st.sends, (unsigned long long)total);
	TH_EQ(kill(pid, SIGKILL), 0);
	TH_EQ(waitpid(pid, &status, 0), pid);
	close(ready[0]);
	close(ready[1]);
	TH_CHECK(a.st.sends < total, "%s flood: the canary's %d sends "
		 "waited for the abuser's flood (%llu of %llu complete)",
		 fl->what, CANARY_SENDS, (unsigned long long)a.st.sends,
		 (unsigned long long)total);
	return seq;
}

/* STATUS counts the canary's @n sends: their cost, each one's wait. */
static void sched_counted(struct th_raw *st, uint64_t n)
{
	struct zcs_status_client me;

	status_of(st, getpid(), &me);
	TH_EQ(me.weight, 1);
	TH_EQ(me.sched.queued, n);
	TH_EQ(me.sched.cost, n * (CANARY_LEN + 4096));
	TH_CHECK(me.sched.queue_max_ns * n >= me.sched.queue_ns,
		 "max wait %llu ns, sum %llu ns",
		 (unsigned long long)me.sched.queue_max_ns,
		 (unsigned long long)me.sched.queue_ns);
}

int main(void)
{
	const char *extra[] = { "-c", NULL, NULL };
	uint64_t n = 2 * CANARY_SENDS + 1, seq = 0;
	char conf[256], sink[64], dest[64];
	struct zcs_client *canary;
	struct th_recv rv;
	struct th_raw st;
	uint32_t flow;
	void *buf;
	int sfd;
	size_t i;

	sfd = sink_open(sink, sizeof(sink));
	TH_EQ(th_recv_start(&rv, AF_INET, ZCS_PROTO_UDP, n), 0);
	th_recv_dest(&rv, dest, sizeof(dest));
	th_conf_write(conf, sizeof(conf), "[daemon]\nmax_inflight = %d\n",
		      MAX_INFLIGHT);
	extra[1] = conf;
	th_daemon_start(&daemon_, extra);
	TH_EQ(th_raw_connect(&st, daemon_.sock), 0);
	TH_EQ(th_raw_hello(&st, 0, "status"), 0);
	TH_EQ(zcs_connect(daemon_.sock, 1u << 20, &canary), 0);
	TH_EQ(zcs_flow_open(canary, dest, &flow), ZCS_PROTO_UDP);
	TH_EQ(zcs_alloc(canary, CANARY_LEN, &buf), 0);
	canary_one(canary, flow, buf, seq++);	/* alone */
	for (i = 0; i < sizeof(floods) / sizeof(floods[0]); i++)
		seq = beside(canary, flow, buf, seq, &floods[i], sink, &st);
	sched_counted(&st, n);
	TH_EQ(th_recv_wait(&rv, n, 10000), 0);
	th_recv_stop(&rv);
	TH_CHECK(rv.errors == 0, "canary receiver: %s", rv.first_error);
	TH_EQ(rv.records, n);
	zcs_close(canary);
	th_raw_close(&st);
	th_daemon_stop_clean(&daemon_);
	th_recv_free(&rv);
	close(sfd);
	printf("test-sched-fair: the canary's sends completed beside each "
	       "flood\n");
	return 0;
}
