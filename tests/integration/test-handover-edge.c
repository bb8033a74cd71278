/* SPDX-License-Identifier: MIT */
/*
 * Hand-overs at awkward moments, with clients streaming (checked sends,
 * checked receivers): while a client process is SIGKILLed (before and
 * after the UPGRADE), back to back with a reload (both orders), a second
 * UPGRADE or a SIGUSR2 during one, an UPGRADE during a drain (an ERROR
 * or the connection closed, never a hang; the daemon exits 0 as a drain
 * does), and SIGKILL of the daemon at once and at a few delays after an
 * UPGRADE: every client then gets an error or EOF within 10 s.
 */
/* transports: default */
/* Each client sets its own transport (th_stream_open forces
 * ZCSEND_TRANSPORT per connection), so one pass covers both. */
#include <sys/socket.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "th/handover.h"
#include "th/stream.h"
#include "zcsend.h"

#define SURVIVORS	2
#define POOL		(4u << 20)
#define MAX_SENDS	(4u << 20)
#define PROGRESS	100
#define BOUND_MS	10000	/* a client must see the end within this */
#define WAIT_MS		30000	/* a hand-over must be done within this */

static const struct {
	const char *transport;
	int proto;
} kinds[SURVIVORS] = {
	{ "socket", ZCS_PROTO_TCP }, { "ring", ZCS_PROTO_UDP },
};

static struct th_daemon daemon_;
static char conf[256];
static struct th_recv rv[SURVIVORS];
static struct th_stream st[SURVIVORS];
static uint32_t count;	/* hand-overs the daemon has done */

static const char *kind_name(unsigned i)
{
	return kinds[i].proto == ZCS_PROTO_TCP ? "tcp" : "udp";
}

static void daemon_up(void)
{
	const char *extra[] = { "-c", conf, NULL };

	th_daemon_start(&daemon_, extra);
	count = 0;
}

/* Streaming client @i (id @id) with its receiver, started. */
static void stream_up(unsigned i, uint32_t id)
{
	struct th_stream_cfg cfg = {
		.sock = daemon_.sock, .transport = kinds[i].transport,
		.rv = &rv[i], .id = id, .pool = POOL, .window = 128,
		.rx_window = 512, .max_sends = MAX_SENDS,
		.lo = 64, .hi = 8192,
	};
	int tcp = kinds[i].proto == ZCS_PROTO_TCP;

	TH_EQ(th_recv_start(&rv[i], AF_INET, kinds[i].proto,
			    tcp ? 4 : MAX_SENDS), 0);
	TH_CHECK(th_stream_open(&st[i], &cfg) == 0, "client %u (%s %s) did "
		 "not open", id, kinds[i].transport, kind_name(i));
}

static void streams_up(uint32_t first_id)
{
	unsigned i;

	for (i = 0; i < SURVIVORS; i++)
		stream_up(i, first_id + i);
	for (i = 0; i < SURVIVORS; i++)
		TH_EQ(th_stream_start(&st[i]), 0);
}

/* Every survivor completes PROGRESS more sends within 10 s, unended. */
static void streams_move(const char *when)
{
	uint64_t base[SURVIVORS], end = th_now_ms() + BOUND_MS;
	unsigned i;

	for (i = 0; i < SURVIVORS; i++)
		base[i] = th_stream_completed(&st[i]);
	for (i = 0; i < SURVIVORS; i++) {
		while (th_stream_completed(&st[i]) < base[i] + PROGRESS) {
			TH_CHECK(!th_stream_wait_end(&st[i], 0), "client %u "
				 "(%s %s) ended %s: %s", st[i].cfg.id,
				 kinds[i].transport, kind_name(i), when,
				 st[i].first_error);
			TH_CHECK(th_now_ms() < end, "client %u (%s %s) did "
				 "not move in 10 s %s (in %s; %llu sent, the "
				 "receiver has %llu)", st[i].cfg.id,
				 kinds[i].transport, kind_name(i), when,
				 st[i].where, (unsigned long long)st[i].sent,
				 (unsigned long long)rv[i].records);
			th_sleep_ms(5);
		}
	}
}

/* Stop the survivors and check every send and every byte. */
static void streams_check(void)
{
	unsigned i, bad = 0;

	for (i = 0; i < SURVIVORS; i++)
		th_stream_stop(&st[i], 30000);
	for (i = 0; i < SURVIVORS; i++) {
		bad += th_stream_check(&st[i], 30000) != 0;
		printf("client %u (%s %s): %llu sends\n", st[i].cfg.id,
		       kinds[i].transport, kind_name(i),
		       (unsigned long long)st[i].sent);
		th_stream_close(&st[i]);
		th_recv_free(&rv[i]);
	}
	TH_CHECK(bad == 0, "%u clients saw something wrong (above)", bad);
}

/* Wait until SERVICE counts @n hand-overs. */
static void wait_count(struct th_raw *admin, uint32_t n, const char *what)
{
	struct zcs_service sv;
	int ret = th_handover_wait(admin, n, &sv, WAIT_MS);

	TH_CHECK(ret == 0, "%s: hand-over %u did not complete: %s", what, n,
		 strerror(-ret));
	TH_EQ(sv.pid, daemon_.pid);
	count = sv.handovers;
}

/* UPGRADE on @admin must be answered OK. */
static void upgrade_ok(struct th_raw *admin, const char *what)
{
	char why[ZCS_ERRMSG_MAX];
	int ret = th_handover_upgrade_answer(admin, why, sizeof(why), WAIT_MS);

	TH_CHECK(ret == 0, "%s: UPGRADE answered %s%s%s", what,
		 strerror(-ret), why[0] ? ": " : "", why);
}

/* Clients of process @pid holding pools, from STATUS. */
static unsigned clients_of(struct th_raw *r, pid_t pid)
{
	unsigned char buf[4096];
	struct zcs_status_client m;
	struct zcs_hdr h;
	unsigned n = 0;
	int len;

	TH_EQ(th_raw_send_msg(r, ZCS_MSG_STATUS, ZCS_PROTO_VERSION, NULL, 0),
	      0);
	for (;;) {
		len = th_raw_recv(r, &h, buf, sizeof(buf), NULL, WAIT_MS);
		TH_CHECK(len >= 0, "STATUS: %s", strerror(-len));
		if (h.type == ZCS_MSG_STATUS_END)
			return n;
		if (h.type != ZCS_MSG_STATUS_CLIENT)
			continue;
		memcpy(&m, buf, sizeof(m));
		n += m.pid == (uint32_t)pid && m.pool_bytes;
	}
}

/* The victim: a process of its own, streaming to a receiver of its own,
 * that says "r" on fd @ready once it moves and waits to be killed. */
static int victim_main(char **argv)
{
	struct th_stream_cfg cfg = {
		.sock = argv[2], .transport = argv[3], .id = 9, .pool = POOL,
		.window = 128, .rx_window = 512, .max_sends = MAX_SENDS,
		.lo = 64, .hi = 8192,
	};
	static struct th_recv vrv;
	static struct th_stream vs;
	int ready = atoi(argv[4]);

	TH_EQ(th_recv_start(&vrv, AF_INET, ZCS_PROTO_UDP, MAX_SENDS), 0);
	cfg.rv = &vrv;
	TH_EQ(th_stream_open(&vs, &cfg), 0);
	TH_EQ(th_stream_start(&vs), 0);
	while (th_stream_completed(&vs) < PROGRESS)
		th_sleep_ms(5);
	TH_EQ(write(ready, "r", 1), 1);
	for (;;)
		pause();
}

/* Start a victim over @transport; returns its pid once it streams. */
static pid_t victim_start(const char *transport)
{
	static char name[] = "test-handover-edge", mode[] = "victim";
	char fdarg[16], tr[16], *argv[6];
	int p[2];
	pid_t pid;

	TH_EQ(pipe(p), 0);	/* no CLOEXEC: the victim writes p[1] */
	snprintf(fdarg, sizeof(fdarg), "%d", p[1]);
	snprintf(tr, sizeof(tr), "%s", transport);
	argv[0] = name;
	argv[1] = mode;
	argv[2] = daemon_.sock;
	argv[3] = tr;
	argv[4] = fdarg;
	argv[5] = NULL;
	pid = fork();
	TH_CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	close(p[1]);
	TH_CHECK(th_wait_readable(p[0], BOUND_MS) == 0, "the %s victim did "
		 "not start streaming", transport);
	close(p[0]);
	return pid;
}

/* A client process dies right as the UPGRADE goes (@kill_first: just
 * before it). The hand-over completes, the victim is gone from STATUS,
 * the others go on. */
static void while_dying(struct th_raw *admin, const char *transport,
			int kill_first)
{
	pid_t pid = victim_start(transport);
	uint64_t end;
	int status;

	if (kill_first)
		TH_EQ(kill(pid, SIGKILL), 0);
	TH_EQ(th_handover_upgrade_send(admin), 0);
	if (!kill_first)
		TH_EQ(kill(pid, SIGKILL), 0);
	upgrade_ok(admin, "a client dying");
	wait_count(admin, count + 1, "a client dying");
	TH_EQ(waitpid(pid, &status, 0), pid);
	end = th_now_ms() + BOUND_MS;
	while (clients_of(admin, pid)) {
		TH_CHECK(th_now_ms() < end, "the killed %s client is still "
			 "listed 10 s after the hand-over", transport);
		th_sleep_ms(20);
	}
	streams_move("after a hand-over while a client died");
	printf("hand-over while a %s client was killed (%s the UPGRADE): "
	       "ok\n", transport, kill_first ? "before" : "after");
}

/* SIGHUP and UPGRADE back to back, in either order: the UPGRADE is
 * answered (OK: a hand-over follows; ERROR: none), clients see nothing. */
static void with_reload(struct th_raw *admin, int hup_first)
{
	char why[ZCS_ERRMSG_MAX];
	int ret;

	if (hup_first)
		TH_EQ(kill(daemon_.pid, SIGHUP), 0);
	TH_EQ(th_handover_upgrade_send(admin), 0);
	if (!hup_first)
		TH_EQ(kill(daemon_.pid, SIGHUP), 0);
	ret = th_handover_upgrade_answer(admin, why, sizeof(why), WAIT_MS);
	TH_CHECK(ret == 0 || (ret < 0 && ret != -ETIMEDOUT &&
			      ret != -ECONNRESET), "UPGRADE beside a reload: "
		 "%s %s", strerror(-ret), why);
	if (ret == 0)
		wait_count(admin, count + 1, "beside a reload");
	TH_CHECK(th_daemon_alive(&daemon_), "daemon died: SIGHUP %s UPGRADE",
		 hup_first ? "before" : "after");
	streams_move("after a hand-over beside a reload");
	printf("SIGHUP %s UPGRADE: UPGRADE %s%s%s\n", hup_first ? "before" :
	       "after", ret ? "refused: " : "done", ret ? strerror(-ret) : "",
	       ret ? why : "");
}

/* Two UPGRADEs back to back: the first is done, the second is refused
 * -EBUSY or done after it. */
static void second_upgrade(struct th_raw *a1, struct th_raw *a2)
{
	char why[ZCS_ERRMSG_MAX];
	int ret;

	TH_EQ(th_handover_upgrade_send(a1), 0);
	TH_EQ(th_handover_upgrade_send(a2), 0);
	upgrade_ok(a1, "the first of two UPGRADEs");
	ret = th_handover_upgrade_answer(a2, why, sizeof(why), WAIT_MS);
	TH_CHECK(ret == 0 || ret == -EBUSY, "the second UPGRADE: %s%s%s "
		 "(want OK or -EBUSY)", strerror(-ret), why[0] ? ": " : "",
		 why);
	wait_count(a1, count + (ret ? 1 : 2), "two UPGRADEs");
	streams_move("after two UPGRADEs");
	printf("second UPGRADE during one: %s\n", ret ? "EBUSY" : "done");
}

/* SIGUSR2 right after an UPGRADE: one hand-over or two, no hang. */
static void usr2_during(struct th_raw *admin)
{
	struct zcs_service sv;
	uint32_t base = count;

	TH_EQ(th_handover_upgrade_send(admin), 0);
	upgrade_ok(admin, "UPGRADE then SIGUSR2");
	TH_EQ(kill(daemon_.pid, SIGUSR2), 0);
	wait_count(admin, base + 1, "UPGRADE then SIGUSR2");
	th_sleep_ms(500);
	TH_EQ(th_handover_service(admin, &sv, NULL, 0, WAIT_MS), 0);
	TH_CHECK(sv.handovers == base + 1 || sv.handovers == base + 2,
		 "UPGRADE then SIGUSR2: %u hand-overs, want %u or %u",
		 sv.handovers, base + 1, base + 2);
	if (sv.handovers == base + 2)
		count = sv.handovers;
	streams_move("after UPGRADE and SIGUSR2");
	printf("SIGUSR2 during an UPGRADE: %u hand-overs\n",
	       sv.handovers - base);
}

/* The last 64 KiB of the daemon's log name @what (within @ms). */
static int log_says(const char *what, unsigned ms)
{
	uint64_t end = th_now_ms() + ms;
	char buf[1 << 16];
	off_t size;
	ssize_t n;
	int fd;

	do {
		fd = open(daemon_.log, O_RDONLY | O_CLOEXEC);
		size = fd >= 0 ? lseek(fd, 0, SEEK_END) : 0;
		size = size > (off_t)sizeof(buf) - 1 ?
		       size - ((off_t)sizeof(buf) - 1) : 0;
		n = fd >= 0 ? pread(fd, buf, sizeof(buf) - 1, size) : -1;
		if (fd >= 0)
			close(fd);
		buf[n > 0 ? n : 0] = '\0';
		if (strstr(buf, what))
			return 1;
		th_sleep_ms(10);
	} while (th_now_ms() < end);
	return 0;
}

/* SIGTERM, then UPGRADE once the daemon drains: an ERROR or the
 * connection closed, never OK, never a hang; each client ends with EOF
 * or an error, no send completed twice or wrongly; the daemon exits 0. */
static void during_drain(struct th_raw *admin)
{
	char why[ZCS_ERRMSG_MAX];
	unsigned i;
	int ret, status;

	TH_EQ(kill(daemon_.pid, SIGTERM), 0);
	/* signals.c's line: the drain has begun before the UPGRADE goes. */
	TH_CHECK(log_says("signal 15: draining", BOUND_MS),
		 "no drain in the log");
	/* A short drain may have closed the connection already. */
	why[0] = '\0';
	ret = th_handover_upgrade_send(admin);
	TH_CHECK(ret == 0 || ret == -EPIPE || ret == -ECONNRESET,
		 "sending UPGRADE during a drain: %s", strerror(-ret));
	if (!ret)
		ret = th_handover_upgrade_answer(admin, why, sizeof(why),
						 WAIT_MS);
	TH_CHECK(ret < 0 && ret != -ETIMEDOUT, "UPGRADE during a drain: %s"
		 "%s%s (want an ERROR or the connection closed)",
		 ret ? strerror(-ret) : "OK", why[0] ? ": " : "", why);
	for (i = 0; i < SURVIVORS; i++) {
		TH_CHECK(th_stream_wait_end(&st[i], 2 * WAIT_MS) != 0,
			 "client %u (%s) still runs after the drain (in %s)",
			 st[i].cfg.id, kinds[i].transport, st[i].where);
		TH_CHECK(!st[i].dups && !st[i].bad, "client %u (%s): %llu "
			 "duplicated, %llu wrong; first: %s", st[i].cfg.id,
			 kinds[i].transport, (unsigned long long)st[i].dups,
			 (unsigned long long)st[i].bad, st[i].first_error);
		th_stream_close(&st[i]);
		th_recv_free(&rv[i]);
	}
	status = th_daemon_wait_exit(&daemon_, WAIT_MS);
	TH_CHECK(status >= 0 && WIFEXITED(status) && !WEXITSTATUS(status),
		 "the daemon did not exit 0 after the drain (%#x)", status);
	printf("UPGRADE during a drain: %s%s%s; daemon exited 0\n",
	       strerror(-ret), why[0] ? ": " : "", why);
}

/*
 * SIGKILL of the daemon @delay_ms after an UPGRADE (0: at once): every
 * client and the admin connection see an error or EOF within 10 s.
 */
static void killed_during(unsigned delay_ms, uint32_t first_id)
{
	unsigned char buf[256];
	struct zcs_hdr h;
	struct th_raw admin;
	uint64_t t0, end;
	unsigned i;
	int ret;

	daemon_up();
	streams_up(first_id);
	TH_EQ(th_handover_admin(&admin, daemon_.sock), 0);
	streams_move("before the UPGRADE");
	TH_EQ(th_handover_upgrade_send(&admin), 0);
	if (delay_ms)
		th_sleep_ms(delay_ms);
	TH_EQ(kill(daemon_.pid, SIGKILL), 0);
	t0 = th_now_ms();
	for (i = 0; i < SURVIVORS; i++) {
		ret = th_stream_wait_end(&st[i], BOUND_MS);
		TH_CHECK(ret != 0, "SIGKILL %u ms after UPGRADE: client %u "
			 "(%s %s) still blocked after 10 s (in %s)", delay_ms,
			 st[i].cfg.id, kinds[i].transport, kind_name(i),
			 st[i].where);
	}
	end = t0 + BOUND_MS;
	do	/* an OK may come first; then the end */
		ret = th_raw_recv(&admin, &h, buf, sizeof(buf), NULL,
				  (int)(end - th_now_ms()));
	while (ret >= 0 && th_now_ms() < end);
	TH_CHECK(ret < 0 && ret != -ETIMEDOUT, "SIGKILL %u ms after UPGRADE:"
		 " the admin connection saw no end (%s)", delay_ms,
		 ret >= 0 ? "messages" : strerror(-ret));
	printf("SIGKILL %u ms after UPGRADE: every client ended within %llu "
	       "ms\n", delay_ms, (unsigned long long)(th_now_ms() - t0));
	for (i = 0; i < SURVIVORS; i++) {
		th_stream_close(&st[i]);
		th_recv_free(&rv[i]);
	}
	th_raw_close(&admin);
	th_daemon_stop(&daemon_);
}

/* The live daemon's part: everything but the drain keeps it running. */
static void live_part(struct th_raw *a1, struct th_raw *a2)
{
	while_dying(a1, "socket", 0);
	while_dying(a1, "ring", 1);
	with_reload(a1, 1);
	with_reload(a1, 0);
	second_upgrade(a1, a2);
	usr2_during(a1);
	streams_check();
}

int main(int argc, char **argv)
{
	static const unsigned delays[] = { 0, 1, 5, 20, 100 };
	struct th_raw a1, a2;
	size_t i;

	if (argc == 5 && !strcmp(argv[1], "victim"))
		return victim_main(argv);
	th_conf_write(conf, sizeof(conf), "[daemon]\npool_bytes = 8M\n"
		      "pool_total_bytes = 128M\ndrain_timeout_ms = 10000\n");
	daemon_up();
	streams_up(1);
	TH_EQ(th_handover_admin(&a1, daemon_.sock), 0);
	TH_EQ(th_handover_admin(&a2, daemon_.sock), 0);
	streams_move("before any hand-over");
	live_part(&a1, &a2);
	streams_up(3);
	streams_move("before the drain");
	during_drain(&a1);
	th_raw_close(&a1);
	th_raw_close(&a2);
	for (i = 0; i < sizeof(delays) / sizeof(delays[0]); i++)
		killed_during(delays[i], 10 + 2 * (uint32_t)i);
	printf("test-handover-edge: no client hung, none saw a wrong "
	       "result\n");
	return 0;
}
