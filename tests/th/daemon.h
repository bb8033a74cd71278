/* SPDX-License-Identifier: MIT */
/*
 * tests/th/daemon.c: a real zcsendd started in a private directory,
 * stopped and reaped; config files for it; its clients as STATUS says.
 */
#ifndef ZCS_TH_DAEMON_H
#define ZCS_TH_DAEMON_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

struct th_daemon {
	pid_t pid;
	char dir[128];		/* private temp dir, removed on stop */
	char sock[160];
	char log[160];
};

/*
 * th_daemon_start - run $BUILD/zcsendd -s DIR/zcs.sock [extra...] with
 * stderr to DIR/zcsendd.log, and wait up to 10 s until the socket accepts.
 * @extra: NULL-terminated extra arguments, or NULL.
 * Exits the test (fail) when it does not come up. Registers the daemon so
 * that th_fail() prints its log and exit kills it.
 */
void th_daemon_start(struct th_daemon *d, const char *const *extra);
/*
 * th_conf_write - write a config file from @fmt into $TMPDIR (a new name
 * each call) and put its path in @path, for th_daemon_start's "-c".
 * Fails the test when it cannot.
 */
void th_conf_write(char *path, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * th_daemon_wait_exit - wait up to @ms for the daemon to exit by itself
 * (no signal sent). Returns its wait status, or -1 if it still runs.
 */
int th_daemon_wait_exit(struct th_daemon *d, unsigned ms);
/* SIGTERM, wait up to 15 s, then SIGKILL; reap. Returns the wait status. */
int th_daemon_stop(struct th_daemon *d);
/* th_daemon_stop_clean - the daemon must still run, and exit 0 on
 * SIGTERM; a check fails otherwise. */
void th_daemon_stop_clean(struct th_daemon *d);
/* Print the daemon's log to stderr (last @max bytes; 0 for all). */
void th_daemon_dump_log(const struct th_daemon *d, size_t max);
/* 1 while the daemon process is alive. */
int th_daemon_alive(struct th_daemon *d);
/* th_daemon_clients - clients holding a pool, from a STATUS of its own. */
unsigned th_daemon_clients(struct th_daemon *d);
/*
 * th_daemon_wait_released - wait up to @ms until no client holds a pool
 * and the daemon's open fds are @fds again. Returns the ms it took; fails
 * the test when that does not happen.
 */
uint64_t th_daemon_wait_released(struct th_daemon *d, int fds, unsigned ms);
/*
 * th_daemon_wait_idle - poll STATUS until @clients clients hold pools of
 * @pool bytes in all, no flow is open and no send is in flight; fails
 * the test when that does not happen within @ms.
 */
void th_daemon_wait_idle(struct th_daemon *d, unsigned clients,
			 uint64_t pool, unsigned ms);

#endif /* ZCS_TH_DAEMON_H */
