/* SPDX-License-Identifier: MIT */
/*
 * zcsend-soak --seconds N [--clients K] [--churn-live L] [--churn-rate R]
 * [--rss-slack KIB]: run a private zcsendd for N seconds under K steady
 * verified clients (half TCP, half UDP) and a churn of clients (L alive at
 * once, R started a second at most) killed at random moments, then check
 * that every send completed once, every stream arrived whole and in order,
 * and the daemon went back to its baseline (no clients, flows, sends or
 * pool bytes; the same fds; RSS within KIB). Exit 0 only if all of it holds.
 */
#include <sys/socket.h>
#include <sys/wait.h>
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "soak.h"
#include "zcsend.h"

/* soak_expect - a final check: say what failed, go on so all figures print. */
void soak_expect(struct soak *s, int ok, const char *what)
{
	if (!ok) {
		printf("FAIL: %s\n", what);
		s->failed++;
	}
}

static void soak_usage(const char *argv0)
{
	fprintf(stderr, "usage: %s --seconds N [--clients K] [--churn-live L] "
		"[--churn-rate R] [--rss-slack KIB]\n"
		"  K steady clients (2..%d, default 4), half TCP, half UDP\n"
		"  L churn clients alive at once (1..%d, default 8)\n"
		"  R churn clients started a second at most (1..1000, "
		"default 25)\n"
		"  KIB daemon RSS over its baseline allowed at the end "
		"(default %d)\n",
		argv0, SOAK_CLIENTS_MAX, CHURN_LIVE_LIMIT, SOAK_RSS_SLACK_KB);
	exit(2);
}

static void soak_args(struct soak *s, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "clients", required_argument, NULL, 'c' },
		{ "churn-live", required_argument, NULL, 'l' },
		{ "churn-rate", required_argument, NULL, 'r' },
		{ "rss-slack", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int o;

	s->seconds = 60;
	s->nclients = 4;
	s->churn.live_max = 8;
	s->churn.per_sec = 25;
	s->rss_slack = SOAK_RSS_SLACK_KB;
	while ((o = getopt_long(argc, argv, "s:c:h", opts, NULL)) != -1) {
		if (o == 's')
			s->seconds = (unsigned)strtoul(optarg, NULL, 10);
		else if (o == 'c')
			s->nclients = (unsigned)strtoul(optarg, NULL, 10);
		else if (o == 'l')
			s->churn.live_max = atoi(optarg);
		else if (o == 'r')
			s->churn.per_sec = (unsigned)strtoul(optarg, NULL, 10);
		else if (o == 'k')
			s->rss_slack = atol(optarg);
		else
			soak_usage(argv[0]);
	}
	if (optind != argc || !s->seconds || s->seconds > 7 * 86400 ||
	    s->nclients < 2 || s->nclients > SOAK_CLIENTS_MAX ||
	    s->churn.live_max < 1 || s->churn.live_max > CHURN_LIVE_LIMIT ||
	    !s->churn.per_sec || s->churn.per_sec > 1000 || s->rss_slack < 0)
		soak_usage(argv[0]);
}

/*
 * The helpers start $BUILD/zcsendd. Without $BUILD, take the directory of
 * $ZCSENDD (as `make soak` sets it), else the one this program is in.
 */
static void soak_build_env(void)
{
	char path[PATH_MAX];
	const char *daemon = getenv("ZCSENDD");
	ssize_t n;

	if (getenv("BUILD") && *getenv("BUILD"))
		return;
	if (daemon && *daemon) {
		snprintf(path, sizeof(path), "%s", daemon);
		TH_CHECK(!strcmp(basename(path), "zcsendd"), "ZCSENDD=%s: the "
			 "helpers run BUILD/zcsendd; set BUILD instead", daemon);
		snprintf(path, sizeof(path), "%s", daemon);
		setenv("BUILD", dirname(path), 1);
		return;
	}
	n = readlink("/proc/self/exe", path, sizeof(path) - 1);
	TH_CHECK(n > 0, "readlink: %s", strerror(errno));
	path[n] = '\0';
	setenv("BUILD", dirname(path), 1);
}

/* Room for thousands in flight per client; a short linger for the dead. */
static void soak_config(struct soak *s)
{
	const char *tmp = getenv("TMPDIR");
	FILE *f;

	snprintf(s->confdir, sizeof(s->confdir), "%s/zcs-soak.XXXXXX",
		 tmp ? tmp : "/tmp");
	TH_CHECK(mkdtemp(s->confdir), "mkdtemp: %s", strerror(errno));
	snprintf(s->conf, sizeof(s->conf), "%s/soak.conf", s->confdir);
	f = fopen(s->conf, "w");
	TH_CHECK(f, "%s: %s", s->conf, strerror(errno));
	fprintf(f, "[daemon]\nmax_clients = 64\npool_bytes = 16M\n"
		"pool_total_bytes = 1G\nmax_inflight = 4096\n"
		"linger_ms = 3000\nallow_adhoc = yes\n"
		"adhoc_networks = 127.0.0.0/8, ::1/128\n");
	TH_CHECK(fclose(f) == 0, "%s: %s", s->conf, strerror(errno));
}

static void soak_receivers(struct soak *s)
{
	unsigned i, ntcp = (s->nclients + 1) / 2;
	uint64_t limit = (uint64_t)s->seconds * 200000 + 1000000;
	int fam, err;

	for (i = 0; i < ntcp; i++) {
		fam = i & 1 ? AF_INET6 : AF_INET;
		err = th_recv_start(&s->tcp_rv[i], fam, ZCS_PROTO_TCP, 1);
		if (err && fam == AF_INET6)
			err = th_recv_start(&s->tcp_rv[i], AF_INET,
					    ZCS_PROTO_TCP, 1);
		TH_CHECK(err == 0, "tcp receiver: %s", strerror(-err));
	}
	limit = limit < (1ull << 31) ? limit : (1ull << 31);
	err = th_recv_start(&s->udp_rv, AF_INET, ZCS_PROTO_UDP, limit);
	TH_CHECK(err == 0, "udp receiver: %s", strerror(-err));
}

static void soak_steady_start(struct soak *s)
{
	unsigned i, ntcp = (s->nclients + 1) / 2;
	struct steady *st;

	for (i = 0; i < s->nclients; i++) {
		st = &s->st[i];
		st->id = i;
		st->sock = s->d.sock;
		st->stop = &s->stop;
		st->proto = i < ntcp ? ZCS_PROTO_TCP : ZCS_PROTO_UDP;
		st->rv = i < ntcp ? &s->tcp_rv[i] : &s->udp_rv;
		th_recv_dest(st->rv, st->dest, sizeof(st->dest));
		st->udp_index = i - ntcp;
		st->udp_stride = s->nclients - ntcp;
		st->udp_limit = s->udp_rv.seen_max;
		st->udp_sent = &s->udp_sent;
		steady_start(st);
	}
}

/* soak_idle - daemon state from STATUS; 1 when idle: nothing held at all. */
int soak_idle(struct soak *s)
{
	int err = th_raw_status(&s->ctl, &s->last, &s->last_clients,
				&(unsigned){ 0 });

	TH_CHECK(err == 0, "status: %s", strerror(-err));
	return s->last.clients == 0 && s->last_clients == 0 &&
	       s->last.flows == 0 && s->last.inflight == 0 &&
	       s->last.pool_bytes == 0;
}

/*
 * Meet every destination the run uses that holds an fd (UDP ones stay,
 * with their counters, after their flows), so that the baseline has them.
 */
static void soak_warmup(struct soak *s)
{
	char dest[64];
	struct zcs_client *c;
	uint32_t flow;
	int ret;

	ret = zcs_connect(s->d.sock, 1u << 20, &c);
	TH_CHECK(ret == 0, "warm-up connect: %s", strerror(-ret));
	th_recv_dest(&s->udp_rv, dest, sizeof(dest));
	TH_EQ(zcs_flow_open(c, dest, &flow), ZCS_PROTO_UDP);
	sink_dest("udp", s->sink.udp_port, dest, sizeof(dest));
	TH_EQ(zcs_flow_open(c, dest, &flow), ZCS_PROTO_UDP);
	sink_dest("tcp", s->sink.drain_port, dest, sizeof(dest));
	TH_EQ(zcs_flow_open(c, dest, &flow), ZCS_PROTO_TCP);
	zcs_close(c);
}

static void soak_baseline(struct soak *s)
{
	uint64_t end = th_now_ms() + 5000;
	int err = th_raw_connect(&s->ctl, s->d.sock);

	TH_CHECK(err == 0, "status connect: %s", strerror(-err));
	err = th_raw_hello(&s->ctl, 0, "zcsend-soak");
	TH_CHECK(err == 0, "status hello: %s", strerror(-err));
	soak_warmup(s);
	while (!soak_idle(s) && th_now_ms() < end)
		th_sleep_ms(50);
	TH_CHECK(soak_idle(s), "daemon not idle after the warm-up");
	s->fds_before = th_fd_count(s->d.pid);
	s->rss_before = th_proc_status_kb(s->d.pid, "VmRSS");
	s->rss_peak = s->rss_before;
	s->asan = proc_maps_has(s->d.pid, "libasan");
	TH_CHECK(s->fds_before > 0 && s->rss_before > 0, "cannot read "
		 "/proc/%d", (int)s->d.pid);
}

static void soak_sample(struct soak *s, unsigned t)
{
	long rss = th_proc_status_kb(s->d.pid, "VmRSS");

	if (rss > s->rss_peak)
		s->rss_peak = rss;
	if (t % 10)
		return;
	soak_idle(s);
	printf("t=%4us clients %u flows %u inflight %u sends %llu MiB %llu "
	       "rss %ld KiB fds %d\n", t, s->last.clients, s->last.flows,
	       s->last.inflight, (unsigned long long)s->last.st.sends,
	       (unsigned long long)(s->last.st.bytes >> 20), rss,
	       th_fd_count(s->d.pid));
	fflush(stdout);
}

/* The run itself: watch the daemon while the threads and churn work. */
static void soak_run(struct soak *s)
{
	uint64_t start = th_now_ms(), end = start + s->seconds * 1000ull;
	unsigned t, last = 0;

	while (th_now_ms() < end) {
		th_sleep_ms(250);
		TH_CHECK(th_daemon_alive(&s->d), "the daemon died");
		t = (unsigned)((th_now_ms() - start) / 1000);
		if (t != last)
			soak_sample(s, t);
		last = t;
	}
}

static void soak_stop(struct soak *s)
{
	unsigned i;
	int err;

	s->stop = 1;
	err = churn_end(&s->churn, &s->cst);
	soak_expect(s, err == 0, "the churn manager did not report");
	for (i = 0; i < s->nclients; i++)
		steady_join(&s->st[i]);
}

static void soak_cleanup(struct soak *s)
{
	int status;

	th_raw_close(&s->ctl);
	status = th_daemon_stop(&s->d);
	soak_expect(s, WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "daemon exit status on SIGTERM");
	unlink(s->conf);
	rmdir(s->confdir);
}

int main(int argc, char **argv)
{
	static struct soak s;
	const char *extra[] = { "-c", s.conf, NULL };
	uint64_t t0;

	soak_args(&s, argc, argv);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	soak_build_env();
	soak_config(&s);
	sink_open(&s.sink);
	th_daemon_start(&s.d, extra);
	/* Before any thread: the churn manager forks its own children. */
	churn_start(&s.churn, &s.sink, s.d.sock);
	soak_receivers(&s);
	soak_baseline(&s);
	printf("zcsend-soak: %u s, %u steady clients, daemon pid %d: %d fds, "
	       "RSS %ld KiB\n", s.seconds, s.nclients, (int)s.d.pid,
	       s.fds_before, s.rss_before);
	t0 = th_now_ms();
	soak_steady_start(&s);
	churn_go(&s.churn);
	soak_run(&s);
	soak_stop(&s);
	s.run_ms = th_now_ms() - t0;
	soak_check_streams(&s);
	soak_settle(&s);
	churn_quit(&s.churn);
	soak_expect(&s, s.cst.failed == 0, "churn clients saw errors");
	soak_report(&s);
	soak_cleanup(&s);
	printf("%s\n", s.failed ? "zcsend-soak: FAILED" : "zcsend-soak: OK");
	return s.failed ? 1 : 0;
}
