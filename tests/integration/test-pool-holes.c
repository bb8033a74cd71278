/* SPDX-License-Identifier: MIT */
/*
 * A client punches holes in its pool (fallocate PUNCH_HOLE on the memfd,
 * or madvise MADV_REMOVE on its mapping) and writes its payload again.
 * The same pool range then goes to two UDP destinations: "zc" with
 * zerocopy = on and "copy" with zerocopy = off. Whatever the client did,
 * both receivers must get the bytes the client last wrote: a zerocopy
 * send must not read pages the kernel pinned earlier while a copying send
 * reads the pages the client sees now. After its first SEND the pool
 * refuses holes and new writable shared mappings; a client that sealed
 * the seals before that gets an error for its SEND.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

#define POOL	(256u << 10)
#define LEN	8192

static struct th_daemon dmn;

/* A UDP socket on 127.0.0.1 with a 5 s receive timeout. */
static int udp_sink(uint16_t *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct timeval tv = { .tv_sec = 5 };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	TH_CHECK(fd >= 0 && !bind(fd, (struct sockaddr *)&sa, sizeof(sa)) &&
		 !getsockname(fd, (struct sockaddr *)&sa, &len) &&
		 !setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)),
		 "udp socket: %s", strerror(errno));
	*port = ntohs(sa.sin_port);
	return fd;
}

static void write_conf(const char *path, uint16_t zc, uint16_t copy)
{
	FILE *f = fopen(path, "w");

	TH_CHECK(f, "%s: %s", path, strerror(errno));
	fprintf(f, "[daemon]\npool_bytes = 1M\n"
		"[destination zc]\naddress = udp://127.0.0.1:%u\n"
		"zerocopy = on\nzerocopy_min_bytes = 0\nflush = immediate\n"
		"[destination copy]\naddress = udp://127.0.0.1:%u\n"
		"zerocopy = off\nflush = immediate\n", zc, copy);
	TH_CHECK(fclose(f) == 0, "%s: %s", path, strerror(errno));
}

/* Send [0, LEN) on both flows; check both completions. */
static void send_both(struct th_raw *r, const uint32_t flow[2], uint64_t tag)
{
	struct zcs_msg_send s[2];
	struct zcs_msg_completion cp[2];
	int i, n;

	memset(s, 0, sizeof(s));
	for (i = 0; i < 2; i++) {
		s[i].tag = tag + (uint64_t)i;
		s[i].len = LEN;
		s[i].flow = flow[i];
	}
	TH_EQ(th_raw_send(r, s, 2), 0);
	n = th_raw_completions(r, cp, 2, 10000);
	TH_EQ(n, 2);
	for (i = 0; i < 2; i++) {
		TH_EQ(cp[i].result, LEN);
		/* tag +0 went to "zc", +1 to "copy" */
		TH_EQ(!!(cp[i].flags & ZCS_COMP_F_ZC), cp[i].tag == tag);
	}
}

/* Receive one datagram on @fd; say which byte it is made of, or '?'. */
static char recv_fill(int fd)
{
	static char buf[LEN + 1];
	ssize_t n = recv(fd, buf, sizeof(buf), 0);
	ssize_t i;

	TH_CHECK(n == LEN, "recv: %zd (%s)", n, n < 0 ? strerror(errno) : "");
	for (i = 1; i < n; i++)
		if (buf[i] != buf[0])
			return '?';
	return buf[0];
}

/*
 * One round: the client makes holes with @how (or none), writes @fill,
 * sends to both. Returns how many receivers got something else.
 */
static int round_(struct th_raw *r, const uint32_t flow[2], const int sink[2],
		  const char *how, char fill, uint64_t tag)
{
	char got[2];
	int ret = 0, i, bad = 0;

	if (!strcmp(how, "fallocate"))
		ret = fallocate(r->pool_fd, FALLOC_FL_PUNCH_HOLE |
				FALLOC_FL_KEEP_SIZE, 0, POOL);
	else if (!strcmp(how, "madvise"))
		ret = madvise(r->pool, POOL, MADV_REMOVE);
	memset(r->pool, fill, LEN);
	send_both(r, flow, tag);
	for (i = 0; i < 2; i++) {
		got[i] = recv_fill(sink[i]);
		bad += got[i] != fill;
	}
	printf("%-9s %s: wrote '%c'; zerocopy sent '%c', copying sent '%c'%s\n",
	       how, ret ? strerror(errno) : "done", fill, got[0], got[1],
	       bad ? "  <- not what the client wrote" : "");
	return bad;
}

/* After the first SEND: no more holes, no new writable shared mapping. */
static void check_sealed(struct th_raw *r)
{
	void *m;

	TH_CHECK(fallocate(r->pool_fd, FALLOC_FL_PUNCH_HOLE |
			   FALLOC_FL_KEEP_SIZE, 0, POOL) < 0 && errno == EPERM,
		 "a hole was punched after the first SEND");
	m = mmap(NULL, POOL, PROT_READ | PROT_WRITE, MAP_SHARED, r->pool_fd, 0);
	TH_CHECK(m == MAP_FAILED && errno == EPERM,
		 "a new writable shared mapping after the first SEND");
	m = mmap(NULL, POOL, PROT_READ, MAP_SHARED, r->pool_fd, 0);
	TH_CHECK(m != MAP_FAILED, "read-only mapping: %s", strerror(errno));
	munmap(m, POOL);
}

/* A client that seals the seals before its first SEND cannot send. */
static void check_sealed_by_client(void)
{
	struct zcs_msg_send s = { .tag = 1, .len = LEN };
	struct zcs_error e;
	struct zcs_hdr h;
	struct th_raw r;
	long id;
	int n;

	TH_EQ(th_raw_connect(&r, dmn.sock), 0);
	TH_EQ(th_raw_hello(&r, POOL, "pool-seal-seal"), 0);
	id = th_raw_flow_open(&r, "copy");
	TH_CHECK(id >= 0, "flow copy: %s", strerror((int)-id));
	s.flow = (uint32_t)id;
	TH_EQ(fcntl(r.pool_fd, F_ADD_SEALS, F_SEAL_SEAL), 0);
	TH_EQ(th_raw_send(&r, &s, 1), 0);
	n = th_raw_recv(&r, &h, &e, sizeof(e), NULL, 5000);
	TH_CHECK(n > 0 && h.type == ZCS_MSG_ERROR && e.err == -EPERM,
		 "SEND after F_SEAL_SEAL: reply %d, type %u", n, h.type);
	printf("F_SEAL_SEAL by the client: SEND refused: %s\n", e.msg);
	th_raw_close(&r);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	const char *extra[4] = { "-c", NULL, NULL };
	uint16_t port[2];
	uint32_t flow[2];
	int sink[2], bad = 0;
	char conf[256];
	struct th_raw r;
	long id;

	sink[0] = udp_sink(&port[0]);
	sink[1] = udp_sink(&port[1]);
	snprintf(conf, sizeof(conf), "%s/pool-holes.%d.conf",
		 tmp ? tmp : "/tmp", (int)getpid());
	write_conf(conf, port[0], port[1]);
	extra[1] = conf;
	th_daemon_start(&dmn, extra);
	TH_EQ(th_raw_connect(&r, dmn.sock), 0);
	TH_EQ(th_raw_hello(&r, POOL, "pool-holes"), 0);
	TH_EQ(r.pool_bytes, POOL);
	id = th_raw_flow_open(&r, "zc");
	TH_CHECK(id >= 0, "flow zc: %s", strerror((int)-id));
	flow[0] = (uint32_t)id;
	id = th_raw_flow_open(&r, "copy");
	TH_CHECK(id >= 0, "flow copy: %s", strerror((int)-id));
	flow[1] = (uint32_t)id;

	/* Holes before the first send, then after sends have gone out. */
	memset(r.pool, 'A', POOL);
	bad += round_(&r, flow, sink, "fallocate", 'B', 10);
	bad += round_(&r, flow, sink, "none", 'C', 20);
	bad += round_(&r, flow, sink, "fallocate", 'D', 30);
	bad += round_(&r, flow, sink, "madvise", 'E', 40);
	bad += round_(&r, flow, sink, "none", 'F', 50);
	TH_CHECK(bad == 0, "%d datagrams differ from the pool the client "
		 "sees", bad);
	check_sealed(&r);
	check_sealed_by_client();

	th_raw_close(&r);
	TH_CHECK(th_daemon_alive(&dmn), "daemon died");
	TH_CHECK(WIFEXITED(th_daemon_stop(&dmn)), "daemon stop");
	unlink(conf);
	printf("test-pool-holes: zerocopy and copying sends agree\n");
	return 0;
}
