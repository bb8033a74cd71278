/* SPDX-License-Identifier: MIT */
/*
 * Ring clients that break the rules or die: indices far out of bounds
 * (dropped, the daemon lives on), a client killed with sends in flight
 * through its ring, a full completion ring that is read late (nothing
 * lost) or never (dropped after reply_timeout_ms, even when the client
 * keeps its own socket alive inside the daemon and exits). Each time
 * every descriptor the client held in the daemon comes back.
 */
#include <sys/socket.h>
#include <sys/wait.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

#define POOL		(1u << 20)
#define INFLIGHT	32
#define TIMEOUT_MS	600

static struct th_daemon daemon_;
static char dest[64];

struct ring_client {
	struct th_raw r;
	struct th_rings rg;
	uint32_t flow;
};

static void client_open(struct ring_client *k, uint32_t entries,
			const char *to)
{
	long flow;

	TH_EQ(th_raw_connect(&k->r, daemon_.sock), 0);
	TH_EQ(th_raw_hello_rings(&k->r, POOL, entries, "hostile", &k->rg), 0);
	flow = th_raw_flow_open(&k->r, to);
	TH_CHECK(flow >= 0, "flow open %s: %ld", to, flow);
	k->flow = (uint32_t)flow;
}

static void client_close(struct ring_client *k)
{
	th_rings_close(&k->rg);
	th_raw_close(&k->r);
}

/* The daemon drops the client: an ERROR saying why, then EOF. */
static void expect_dropped(struct ring_client *k, const char *what)
{
	uint8_t buf[ZCS_MSG_MAX];
	struct zcs_error e;
	struct zcs_hdr h;
	int n, errors = 0;

	while ((n = th_raw_recv(&k->r, &h, buf, sizeof(buf), NULL, 5000)) >=
	       0) {
		if (h.type != ZCS_MSG_ERROR)
			continue;
		memcpy(&e, buf, sizeof(e));
		TH_EQ(e.err, -EPROTO);
		errors++;
	}
	TH_CHECK(n == -ECONNRESET && errors == 1,
		 "%s: not dropped (%d, %d ERRORs)", what, n, errors);
}

static void store_word(struct zcs_ring_word *w, uint32_t v)
{
	atomic_store((_Atomic uint32_t *)(void *)&w->v, v);
}

/* Wake the daemon whatever its flag says. */
static void poke(struct ring_client *k)
{
	uint64_t one = 1;

	TH_EQ(write(k->rg.daemon_efd, &one, sizeof(one)), sizeof(one));
}

/* sq_tail far ahead, or behind the head; cq_head past cq_tail. */
static void bad_indices(int fds)
{
	static const uint32_t sq_tails[] = { 1000000, 0xffffffffu, 17 };
	struct zcs_msg_send rec = { .tag = 1, .len = 64 };
	struct ring_client k;
	size_t i;

	for (i = 0; i < sizeof(sq_tails) / sizeof(sq_tails[0]); i++) {
		client_open(&k, 16, dest);
		store_word(&k.rg.ctl->sq_tail, sq_tails[i]);
		poke(&k);
		expect_dropped(&k, "sq_tail");
		client_close(&k);
		th_daemon_wait_released(&daemon_, fds, 5000);
	}
	client_open(&k, 16, dest);
	store_word(&k.rg.ctl->cq_head, 0x80000000u);
	rec.flow = k.flow;
	TH_EQ(th_rings_submit(&k.rg, &rec, 1), 1);
	poke(&k);
	expect_dropped(&k, "cq_head");
	client_close(&k);
	th_daemon_wait_released(&daemon_, fds, 5000);
	printf("bad indices: 4 clients dropped, everything freed\n");
}

/* Fill the SQ with 64 KiB records until the daemon stops taking them. */
static void fill(struct ring_client *k, uint32_t len, uint32_t count)
{
	struct zcs_msg_send rec = { .flow = k->flow, .len = len };
	uint64_t end = th_now_ms() + 10000;
	uint32_t i = 0;

	while (i < count && th_now_ms() < end) {
		rec.tag = i;
		rec.offset = (uint64_t)(i % (POOL / len)) * len;
		if (th_rings_submit(&k->rg, &rec, 1))
			i++;
		else
			th_sleep_ms(1);
	}
	TH_EQ(i, count);
}

/*
 * A child sends through its ring to a TCP peer that never reads, so sends
 * stay in the kernel, and is killed: they are aborted after linger_ms and
 * the client freed.
 */
static void killed_in_flight(int fds)
{
	int lfd, st;
	uint16_t port;
	char to[64];
	pid_t pid;

	lfd = th_listen_lo(&port, 4096);
	snprintf(to, sizeof(to), "tcp://127.0.0.1:%u", port);
	pid = fork();
	TH_CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		struct ring_client k;

		client_open(&k, 16, to);
		fill(&k, 65536, 40);
		th_sleep_ms(100);
		kill(getpid(), SIGKILL);
	}
	TH_CHECK(waitpid(pid, &st, 0) == pid && WIFSIGNALED(st),
		 "client child: status %#x", st);
	printf("killed with sends in flight: freed %llu ms after\n",
	       (unsigned long long)th_daemon_wait_released(&daemon_, fds,
							    5000));
	close(lfd);
}

/*
 * Fill a CQ of 16 (SQ 8) without reading it: the rest wait in the daemon
 * (as many as the in-flight bound) and in the SQ.
 * Read nothing for half the reply timeout, then everything: all come.
 */
static void late_reader(int fds)
{
	struct zcs_msg_completion v[56];
	struct ring_client k;
	uint8_t seen[56] = { 0 };
	int i, got = 0;

	client_open(&k, 8, dest);
	fill(&k, 512, 56);	/* 16 in the CQ, 32 in flight, 8 in the SQ */
	th_sleep_ms(TIMEOUT_MS / 2);
	while (got < 56) {
		i = th_rings_completions(&k.rg, v, (size_t)(56 - got), 5000);
		TH_CHECK(i > 0, "%d of 56 completions", got);
		while (i--) {
			TH_CHECK(v[i].tag < 56 && !seen[v[i].tag], "tag %llu",
				 (unsigned long long)v[i].tag);
			seen[v[i].tag] = 1;
			got++;
		}
	}
	client_close(&k);
	th_daemon_wait_released(&daemon_, fds, 5000);
	printf("late reader: 56 completions through a CQ of 16\n");
}

/* Pass @fd itself in a message the daemon will not read: it is paused. */
static void send_own_socket(int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct zcs_hdr h;
	struct iovec iov = { &h, sizeof(h) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cm.buf,
			     .msg_controllen = sizeof(cm.buf) };
	struct cmsghdr *c;

	memset(&cm, 0, sizeof(cm));
	zcs_hdr_init(&h, ZCS_MSG_STATUS, 0, 1);
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	TH_CHECK(sendmsg(fd, &mh, MSG_NOSIGNAL) == (ssize_t)sizeof(h),
		 "sendmsg: %s", strerror(errno));
}

/*
 * A client that fills its CQ and its in-flight quota (so its socket is no
 * longer read), passes its own socket in a message, and exits: its
 * socket lives on inside the daemon, its cq_head never moves. Dropped
 * after reply_timeout_ms.
 */
static void never_reads(int fds)
{
	pid_t pid;
	int st;

	pid = fork();
	TH_CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		struct ring_client k;

		client_open(&k, 8, dest);
		fill(&k, 512, 16 + INFLIGHT + 8);	/* CQ, quota, SQ */
		th_sleep_ms(100);
		send_own_socket(k.r.fd);
		_exit(0);
	}
	TH_CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
		 WEXITSTATUS(st) == 0, "client child: status %#x", st);
	printf("full CQ never read, socket kept alive: freed %llu ms after "
	       "the client exited\n",
	       (unsigned long long)th_daemon_wait_released(&daemon_, fds,
							    TIMEOUT_MS + 3000));
}

int main(void)
{
	char conf[256];
	const char *args[] = { "-c", conf, NULL };
	struct ring_client first;
	int fds;

	snprintf(dest, sizeof(dest), "udp://127.0.0.1:9");
	th_conf_write(conf, sizeof(conf),
		      "[daemon]\nmax_inflight = %u\nreply_timeout_ms = %u\n"
		      "linger_ms = 200\nallow_adhoc = yes\n\n"
		      "[defaults]\nflush = batch\nzerocopy = on\n",
		      INFLIGHT, TIMEOUT_MS);
	th_daemon_start(&daemon_, args);
	/* The destination (and its socket) stays once a flow made it. */
	client_open(&first, 8, dest);
	client_close(&first);
	th_sleep_ms(200);
	fds = th_fd_count(daemon_.pid);
	bad_indices(fds);
	killed_in_flight(fds);
	late_reader(fds);
	never_reads(fds);
	TH_CHECK(th_daemon_alive(&daemon_), "daemon died");
	TH_EQ(th_daemon_stop(&daemon_), 0);
	return 0;
}
