/* SPDX-License-Identifier: MIT */
/*
 * Passing the state on, once the kernel holds nothing of ours: the state
 * in a sealed memfd and the bundle of descriptors; then either execve()
 * of our binary with the bundle's reading end and the ring (which keeps
 * the pinned pools: ops/ring_handover.c), or both ends of the bundle into
 * systemd's fd store and exit without tearing anything down (the sockets
 * are the next process's now: aborting or shutting one down here would
 * cut it there too).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <linux/close_range.h>

#include "zcsd.h"
#include "handover/internal.h"
#include "handover/state.h"

extern char **environ;

static int pass_env(const char *name, int fd)
{
	char num[16];

	snprintf(num, sizeof(num), "%d", fd);
	return setenv(name, num, 1) ? -errno : 0;
}

/* Re-execute our binary: only the bundle's reading end and the ring go. */
static int pass_exec(struct zcsd *d, int ends[2])
{
	struct handover *h = &d->handover;
	sigset_t set, old;
	int ring, err;

	close(ends[0]);
	ends[0] = -1;
	/* systemd's descriptors are not close-on-exec: they go with the
	 * bundle, and a second copy of each must not pile up per exec. */
	if (close_range(3, ~0u, CLOSE_RANGE_CLOEXEC) ||
	    fcntl(ends[1], F_SETFD, 0))
		return -errno;
	ring = ring_keep(d);
	err = ring < 0 ? ring : pass_env(HANDOVER_FD_ENV, ends[1]);
	if (!err)
		err = pass_env(HANDOVER_RING_ENV, ring);
	if (err)
		return err;
	log_info("hand-over: executing %s", h->exe);
	/* Signals wait, blocked, until the new image handles them: its
	 * default for SIGUSR2 or SIGHUP would end it. */
	sigprocmask(SIG_BLOCK, signals_handled(&set), &old);
	execve(h->exe, h->argv, environ);
	err = -errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	unsetenv(HANDOVER_FD_ENV);
	unsetenv(HANDOVER_RING_ENV);
	fcntl(ring, F_SETFD, FD_CLOEXEC);
	return err;
}

/* Into systemd's fd store, then out: systemd starts the next process. */
static int pass_fdstore(struct zcsd *d, int ends[2])
{
	int err = fdstore_push(d, FDSTORE_HANDOVER, ends, 2);

	if (err)
		return err;
	log_info("hand-over: the state is in systemd's fd store; exiting");
	_exit(ZCSD_EXIT_OK);
}

/*
 * handover_pass - pass everything on. Returns only on failure, -errno
 * (logged); then nothing was given away and the daemon can carry on.
 */
int handover_pass(struct zcsd *d)
{
	int memfd = -1, ends[2] = { -1, -1 }, *fds = NULL, err;
	uint32_t nfds = 0, skip;

	shring_wake_all(d);	/* none sleeps on what a policy held back */
	log_info("hand-over: the kernel returned every send after %.1f ms",
		 (double)(now_ns() - d->handover.begin_ns) / 1e6);
	err = hs_state_write(d, &memfd, &fds, &nfds);
	if (err)
		log_errno(err, "hand-over: writing the state");
	skip = err ? 0 : handover_test_hook_fds(nfds);
	if (!err && (err = bundle_send(memfd, fds + skip, nfds - skip, ends)))
		log_errno(err, "hand-over: passing %u descriptors", nfds + 1);
	if (memfd >= 0)
		close(memfd);	/* the bundle holds what it carries */
	free(fds);
	if (!err)
		err = d->handover.mode == HANDOVER_EXEC ? pass_exec(d, ends)
						        : pass_fdstore(d, ends);
	if (ends[0] >= 0)
		close(ends[0]);
	if (ends[1] >= 0)
		close(ends[1]);
	return err;
}
