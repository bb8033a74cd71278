/* SPDX-License-Identifier: MIT */
/*
 * Admission is shared: one user's programs cannot lock out another's or
 * the admin's. An allowed uid that opens connections and stays silent
 * gets its max_user_connections and then an ERROR (-EUSERS) naming the
 * limit and its uid, while another allowed user and root's `zcsendctl
 * status` still get in at once; when several users fill the daemon, the
 * places kept for admins stay free for root. A uid's pools stop at
 * user_pool_total_bytes (-EDQUOT, named). [weights] give a user's and a
 * group's clients their weight, in STATUS_CLIENT, changed by a reload.
 * Needs root to switch uid.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

#define USER_A		65534
#define USER_B		65533
#define USER_C		65532
#define GROUP_W		4343	/* a group with a weight */
#define OPEN_MAX	80	/* old bound: max_clients 64 + 16 */

static struct th_daemon daemon_;
static char conf_path[200];

static void start(const char *text)
{
	const char *args[] = { "-c", conf_path, NULL };

	th_conf_write(conf_path, sizeof(conf_path), "%s", text);
	th_daemon_start(&daemon_, args);
	/* The other users must reach the socket (mode 0666 from the config). */
	TH_CHECK(chmod(daemon_.dir, 0755) == 0, "chmod: %s", strerror(errno));
}

static void become(uid_t uid, gid_t group)
{
	gid_t g[1] = { group };

	if (setgroups(group ? 1 : 0, g) || setgid(uid) || setuid(uid))
		_exit(10);
	prctl(PR_SET_PDEATHSIG, SIGKILL);	/* cleared by setuid */
}

/*
 * The daemon's answer on @r is one ERROR for HELLO with @err and every
 * word of @want (a NULL-terminated list) in its text. 0 or a reason code.
 */
static int check_error(struct th_raw *r, int err, const char *const *want)
{
	struct zcs_error e;
	struct zcs_hdr h;
	int n = th_raw_recv(r, &h, &e, sizeof(e), NULL, 5000);

	if (n != (int)sizeof(e) || h.type != ZCS_MSG_ERROR) {
		fprintf(stderr, "refused peer: got %d (type %u), not ERROR\n",
			n, n >= 0 ? h.type : 0);
		return 2;
	}
	if (e.req_type != ZCS_MSG_HELLO || e.err != err) {
		fprintf(stderr, "refused: %d '%s', want %d\n", e.err, e.msg,
			err);
		return 3;
	}
	for (; *want; want++) {
		if (strstr(e.msg, *want))
			continue;
		fprintf(stderr, "refused: '%s' lacks '%s'\n", e.msg, *want);
		return 4;
	}
	return 0;
}

/*
 * In a child as @uid: open @ok silent connections, then up to @tries
 * more, each of which must be refused with -EUSERS naming @want; none of
 * the first @ok may have been answered. Then tell @ready and hold them
 * until @go says so.
 */
static void user_child(uid_t uid, int ok, int tries, const char *const *want,
		       int ready, int go)
{
	struct th_raw r[OPEN_MAX];
	int i, rc;
	char b;

	become(uid, 0);
	for (i = 0; i < ok + tries; i++) {
		if (th_raw_connect(&r[i], daemon_.sock))
			_exit(11);
		if (i >= ok && (rc = check_error(&r[i], -EUSERS, want))) {
			fprintf(stderr, "uid %u: connection %d of %d: not the "
				"refusal wanted\n", (unsigned)uid, i + 1,
				ok + tries);
			_exit(rc);
		}
	}
	for (i = 0; i < ok; i++) {
		struct zcs_hdr h;
		char buf[256];

		if (th_raw_recv(&r[i], &h, buf, sizeof(buf), NULL, 0) !=
		    -ETIMEDOUT)
			_exit(5);	/* let in connections stay quiet */
	}
	if (write(ready, "R", 1) != 1 || read(go, &b, 1) != 1)
		_exit(12);
	_exit(0);
}

struct kid {
	pid_t pid;
	int ready, go;
};

/*
 * Fork a kid with two pipes: it writes to @k->ready once it holds what it
 * opened, and holds it until @k->go says so (kid_end). Each side gets its
 * own ends in @k. Returns 0 in the kid, its pid in the parent.
 */
static pid_t kid_fork(struct kid *k)
{
	int ready[2], go[2];

	TH_CHECK(pipe(ready) == 0 && pipe(go) == 0, "pipe");
	k->pid = fork();
	TH_CHECK(k->pid >= 0, "fork: %s", strerror(errno));
	close(k->pid ? ready[1] : ready[0]);
	close(k->pid ? go[0] : go[1]);
	k->ready = k->pid ? ready[0] : ready[1];
	k->go = k->pid ? go[1] : go[0];
	return k->pid;
}

static void kid_start(struct kid *k, uid_t uid, int ok, int tries,
		      const char *const *want)
{
	char b;

	if (!kid_fork(k))
		user_child(uid, ok, tries, want, k->ready, k->go);
	TH_CHECK(read(k->ready, &b, 1) == 1, "uid %u: child failed",
		 (unsigned)uid);
}

static void kid_end(struct kid *k)
{
	int status;

	TH_EQ(write(k->go, "G", 1), 1);
	TH_EQ(waitpid(k->pid, &status, 0), k->pid);
	TH_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		 "child status %#x", status);
	close(k->ready);
	close(k->go);
}

/* @uid (0: root) says HELLO with a pool now; root also runs status. */
static void still_served(uid_t uid)
{
	char cmd[512];
	pid_t pid;
	int status;

	pid = fork();
	TH_CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		struct th_raw r;

		if (uid)
			become(uid, 0);
		if (th_raw_connect(&r, daemon_.sock) ||
		    th_raw_hello(&r, 1 << 20, "other"))
			_exit(1);
		_exit(0);
	}
	TH_EQ(waitpid(pid, &status, 0), pid);
	TH_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		 "uid %u was not let in: status %#x", (unsigned)uid, status);
	if (uid)
		return;
	snprintf(cmd, sizeof(cmd), "timeout 10 %s/zcsendctl -s %s status "
		 ">/dev/null", th_build_dir(), daemon_.sock);
	TH_EQ(system(cmd), 0);
}

/* Lines of the daemon's log holding @needle. */
static int log_lines(const char *needle)
{
	FILE *f = fopen(daemon_.log, "r");
	char line[1024];
	int n = 0;

	TH_CHECK(f != NULL, "%s: %s", daemon_.log, strerror(errno));
	while (fgets(line, sizeof(line), f))
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

/*
 * Defaults: max_clients 64, so 16 connections for each user; the 64
 * refusals come in one burst: one line for the first, and one, when the
 * 10 s burst window is up, for the 63 others.
 */
static void per_user_connections(void)
{
	static const char *const want[] = {
		"uid 65534", "max_user_connections", NULL
	};
	struct kid a;
	int i;

	start("[daemon]\nsocket_mode = 0666\nallowed_users = 65534, 65533\n"
	      "hello_timeout_ms = 60000\n");
	kid_start(&a, USER_A, 16, OPEN_MAX - 16, want);
	still_served(USER_B);
	still_served(0);
	kid_end(&a);
	TH_EQ(log_lines("uid 65534 has 16 connections open"), 1);
	for (i = 0; i < 150 && !log_lines("refused 63 more"); i++)
		usleep(100 * 1000);
	TH_EQ(log_lines("refused 63 more"), 1);
	TH_EQ(log_lines("refus"), 2);
	TH_EQ(th_daemon_stop(&daemon_), 0);
	unlink(conf_path);
}

/*
 * 24 places, 3 for admins: users take 21, and root's HELLO and status get
 * in (two places, or one if the first has gone by then).
 */
static void admins_reserve(void)
{
	static const char *const none[] = { NULL };
	static const char *const want[] = {
		"uid 65532", "kept for admins", "raise max_clients", NULL
	};
	struct kid a, b, c;

	start("[daemon]\nsocket_mode = 0666\n"
	      "allowed_users = 65534, 65533, 65532\n"
	      "hello_timeout_ms = 60000\nmax_clients = 8\n"
	      "max_user_connections = 8\nadmin_reserved_connections = 3\n");
	kid_start(&a, USER_A, 8, 0, none);
	kid_start(&b, USER_B, 8, 0, none);
	kid_start(&c, USER_C, 5, 3, want);
	still_served(0);
	kid_end(&c);
	kid_end(&b);
	kid_end(&a);
	TH_EQ(th_daemon_stop(&daemon_), 0);
	unlink(conf_path);
}

/*
 * In a child as @uid in group @group: clients with 4 MiB pools until
 * one is refused (that one must be the third, -EDQUOT, named); report
 * the first one's client id on @ready, hold them until @go.
 */
static void pool_child(uid_t uid, gid_t group, int ready, int go)
{
	static const char *const want[] = {
		"uid 65534", "user_pool_total_bytes", NULL
	};
	struct th_raw r[3];
	int i, rc;
	char b;

	become(uid, group);
	for (i = 0; i < 2; i++)
		if (th_raw_connect(&r[i], daemon_.sock) ||
		    th_raw_hello(&r[i], 4 << 20, "pool"))
			_exit(11);
	if (uid == USER_A) {
		if (th_raw_connect(&r[2], daemon_.sock) ||
		    th_raw_hello_send(&r[2], ZCS_PROTO_VERSION, 4 << 20, ""))
			_exit(13);
		rc = check_error(&r[2], -EDQUOT, want);
		if (rc)
			_exit(rc);
	}
	if (write(ready, &r[0].ok.client_id, 4) != 4 || read(go, &b, 1) != 1)
		_exit(12);
	_exit(0);
}

static uint32_t weight_of(uint32_t id)
{
	struct zcs_status_client sc;
	struct th_raw r;

	TH_EQ(th_raw_connect(&r, daemon_.sock), 0);
	TH_EQ(th_raw_hello(&r, 0, "root"), 0);
	TH_EQ(th_raw_status_client(&r, id, &sc), 0);
	th_raw_close(&r);
	return sc.weight;
}

static uint32_t pool_kid_start(struct kid *k, uid_t uid, gid_t group)
{
	uint32_t id;

	if (!kid_fork(k))
		pool_child(uid, group, k->ready, k->go);
	TH_CHECK(read(k->ready, &id, 4) == 4, "uid %u: pool child failed",
		 (unsigned)uid);
	return id;
}

#define POOL_CONF "[daemon]\nsocket_mode = 0666\n"			\
	"allowed_users = 65534, 65533\npool_bytes = 4M\n"		\
	"user_pool_total_bytes = 8M\n[weights]\n"

/* 8M of pools per user; weights by user and by group, then reloaded. */
static void pools_and_weights(void)
{
	struct kid a, b;
	uint32_t ida, idb;
	struct th_raw r;
	char cmd[512];

	start(POOL_CONF "user 65534 = 4\ngroup 4343 = 3\ngroup 65534 = 9\n");
	ida = pool_kid_start(&a, USER_A, 0);
	idb = pool_kid_start(&b, USER_B, GROUP_W);
	TH_EQ(th_raw_connect(&r, daemon_.sock), 0);
	TH_EQ(th_raw_hello(&r, 1 << 20, "root"), 0);
	TH_EQ(weight_of(ida), 4);	/* its own entry, not its group's 9 */
	TH_EQ(weight_of(idb), 3);	/* its group's */
	TH_EQ(weight_of(r.ok.client_id), 1);
	/* A reload gives connected clients their new weights. */
	th_conf_write(cmd, sizeof(cmd), POOL_CONF "user 65534 = 7\n");
	TH_EQ(rename(cmd, conf_path), 0);
	snprintf(cmd, sizeof(cmd), "%s/zcsendctl -s %s reload",
		 th_build_dir(), daemon_.sock);
	TH_EQ(system(cmd), 0);
	TH_EQ(weight_of(ida), 7);
	TH_EQ(weight_of(idb), 1);
	th_raw_close(&r);
	kid_end(&b);
	kid_end(&a);
	TH_EQ(th_daemon_stop(&daemon_), 0);
	unlink(conf_path);
}

int main(void)
{
	if (geteuid() != 0)
		th_skip("needs root (connects as other uids)");
	/* A daemon directory and config other users can reach. */
	setenv("TMPDIR", "/tmp", 1);
	per_user_connections();
	admins_reserve();
	pools_and_weights();
	printf("admission: per-user limits, admins' reserve, weights: ok\n");
	return 0;
}
