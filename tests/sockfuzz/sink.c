/* SPDX-License-Identifier: MIT */
/*
 * sockfuzz's loopback receivers, served by one forked process: a TCP peer
 * that reads everything (IPv4 and IPv6), one that reads a little now and
 * then through a tiny window, one that never reads (each resets its
 * connections after a while: the daemon may not free a client stuck
 * behind a peer that never lets go), a listener with a full accept queue (connects
 * time out), and UDP sockets, one of which is never read. At the end every
 * connection is reset, so nothing the daemon sends stays stuck.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "sockfuzz.h"

#define SINK_CONNS	1024
#define STALL_MS	1000	/* a never-reading peer gives up after this */
#define SLOW_LIFE_MS	3000	/* and a slow one after this */
#define FULL_MS		2000	/* the full queue is emptied this often */
#define SLOW_MS		100	/* a slow peer reads this often ... */
#define SLOW_BYTES	512	/* ... this much */

enum { L_DRAIN, L_DRAIN6, L_SLOW, L_STALL, L_FULL, L_N };
enum { U_0, U_1, U_DEAF, U_6, U_N };

struct conn {
	int fd;
	int kind;	/* L_* it came from */
	uint64_t since;
};

static int lfd[L_N] = { -1, -1, -1, -1, -1 };
static int ufd[U_N] = { -1, -1, -1, -1 };
static struct conn conns[SINK_CONNS];
static unsigned nconns;

/* Bind @type on loopback (@v6: ::1); the port, or 0 when unavailable. */
static uint16_t bind_lo(int type, bool v6, int backlog, int rcvbuf, int *fd)
{
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6,
				   .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct sockaddr_in a4 = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct sockaddr *sa = v6 ? (struct sockaddr *)&a6
				 : (struct sockaddr *)&a4;

	*fd = socket(v6 ? AF_INET6 : AF_INET,
		     type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (*fd < 0)
		return 0;
	if (rcvbuf)
		setsockopt(*fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(*fd, sa, v6 ? sizeof(a6) : sizeof(a4)) ||
	    (type == SOCK_STREAM && listen(*fd, backlog)) ||
	    getsockname(*fd, (struct sockaddr *)&ss, &len)) {
		close(*fd);
		*fd = -1;
		return 0;
	}
	return ntohs(v6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
			: ((struct sockaddr_in *)&ss)->sin_port);
}

/*
 * fz_sink_open - bind every receiver and say where. IPv6 ones are left
 * out (port 0) when ::1 is missing. Returns 0 or -1 (IPv4 missing).
 */
int fz_sink_open(struct fz_ports *p)
{
	memset(p, 0, sizeof(*p));
	p->drain = bind_lo(SOCK_STREAM, false, 128, 0, &lfd[L_DRAIN]);
	p->drain6 = bind_lo(SOCK_STREAM, true, 128, 0, &lfd[L_DRAIN6]);
	p->slow = bind_lo(SOCK_STREAM, false, 128, 4096, &lfd[L_SLOW]);
	p->stall = bind_lo(SOCK_STREAM, false, 128, 0, &lfd[L_STALL]);
	p->full = bind_lo(SOCK_STREAM, false, 0, 0, &lfd[L_FULL]);
	p->udp[0] = bind_lo(SOCK_DGRAM, false, 0, 0, &ufd[U_0]);
	p->udp[1] = bind_lo(SOCK_DGRAM, false, 0, 0, &ufd[U_1]);
	p->udp[2] = bind_lo(SOCK_DGRAM, false, 0, 4096, &ufd[U_DEAF]);
	p->udp6 = bind_lo(SOCK_DGRAM, true, 0, 0, &ufd[U_6]);
	if (!p->drain || !p->slow || !p->stall || !p->full || !p->udp[0] ||
	    !p->udp[1] || !p->udp[2])
		return -1;
	return 0;
}

/* Close with a reset: the daemon's queued bytes are dropped at once. */
static void rst_close(int fd)
{
	struct linger l = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

static void conn_drop(unsigned i)
{
	rst_close(conns[i].fd);
	conns[i] = conns[--nconns];
}

static void accept_all(int kind, uint64_t now)
{
	int fd;

	while ((fd = accept4(lfd[kind], NULL, NULL,
			     SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		if (kind == L_FULL || nconns == SINK_CONNS) {
			rst_close(fd);
			continue;
		}
		conns[nconns++] = (struct conn){ fd, kind, now };
	}
}

/* Read from a connection; drop it at EOF or error. */
static void conn_read(unsigned i, size_t max)
{
	static char buf[65536];
	ssize_t n;
	size_t got = 0;

	while (got < max) {
		n = recv(conns[i].fd, buf, max - got < sizeof(buf)
					       ? max - got : sizeof(buf), 0);
		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			conn_drop(i);
		return;
	}
}

/* The timed part: slow reads, stalled peers' patience, the full queue. */
static void sink_tick(uint64_t now, uint64_t *slow_at, uint64_t *full_at)
{
	unsigned i;
	bool slow = now >= *slow_at;

	if (slow)
		*slow_at = now + SLOW_MS;
	for (i = nconns; i-- > 0;) {
		if ((conns[i].kind == L_STALL &&
		     now - conns[i].since > STALL_MS) ||
		    (conns[i].kind == L_SLOW &&
		     now - conns[i].since > SLOW_LIFE_MS))
			conn_drop(i);
		else if (conns[i].kind == L_SLOW && slow)
			conn_read(i, SLOW_BYTES);
	}
	if (now >= *full_at) {
		*full_at = now + FULL_MS;
		accept_all(L_FULL, now);
	}
}

static void sink_udp(void)
{
	static char buf[65536];
	int i;

	for (i = 0; i < U_N; i++)
		while (i != U_DEAF && ufd[i] >= 0 &&
		       recv(ufd[i], buf, sizeof(buf), MSG_DONTWAIT) > 0)
			;
}

/* Poll listeners, UDP and the draining connections; until @ctl speaks. */
static void sink_loop(int ctl)
{
	struct pollfd p[1 + L_N + U_N + SINK_CONNS];
	uint64_t slow_at = 0, full_at = 0, now;
	unsigned i, n;

	for (;;) {
		n = 0;
		p[n++] = (struct pollfd){ ctl, POLLIN, 0 };
		for (i = 0; i < L_FULL; i++)
			p[n++] = (struct pollfd){ lfd[i], POLLIN, 0 };
		for (i = 0; i < U_N; i++)
			p[n++] = (struct pollfd){ i == U_DEAF ? -1 : ufd[i],
						  POLLIN, 0 };
		for (i = 0; i < nconns; i++)
			p[n++] = (struct pollfd){
				conns[i].kind == L_DRAIN ||
				conns[i].kind == L_DRAIN6 ? conns[i].fd : -1,
				POLLIN, 0 };
		poll(p, n, 20);
		if (p[0].revents)
			return;
		now = fz_now_ms();
		for (i = 0; i < L_FULL; i++)
			if (lfd[i] >= 0 && p[1 + i].revents)
				accept_all((int)i, now);
		sink_udp();
		for (i = nconns; i-- > 0;)
			if (conns[i].kind == L_DRAIN || conns[i].kind == L_DRAIN6)
				conn_read(i, 1u << 20);
		sink_tick(now, &slow_at, &full_at);
	}
}

static void close_all(void)
{
	unsigned i;

	for (i = 0; i < L_N; i++)
		if (lfd[i] >= 0)
			close(lfd[i]);
	for (i = 0; i < U_N; i++)
		if (ufd[i] >= 0)
			close(ufd[i]);
	while (nconns)
		conn_drop(nconns - 1);
}

/*
 * fz_sink_start - fork the receiver process. *@ctl: write a byte or close
 * it to stop it. Returns its pid or -errno.
 */
pid_t fz_sink_start(int *ctl)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(p[1]);
		sink_loop(p[0]);
		close_all();
		_exit(0);
	}
	close(p[0]);
	*ctl = p[1];
	/* Only the sink holds the receivers from now on. */
	nconns = 0;
	close_all();
	return pid;
}

/* fz_sink_stop - reset every connection and reap the sink. */
int fz_sink_stop(pid_t pid, int ctl)
{
	int status = 0;

	if (write(ctl, "q", 1) < 0)
		kill(pid, SIGTERM);
	close(ctl);
	waitpid(pid, &status, 0);
	return status;
}
