/* SPDX-License-Identifier: MIT */
/*
 * The next process's first step: find a hand-over (across an exec by
 * ZCSENDD_HANDOVER_FD, from systemd's fd store by name), receive the
 * bundle, and load the state as strictly as wire input. What is refused
 * is answered (refuse.c) and the daemon starts fresh.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zcsd.h"
#include "handover/internal.h"
#include "handover/state.h"

/* A descriptor an exec passed in @name, if any: the variable goes. */
static int take_exec_fd(const char *name)
{
	const char *v = getenv(name);
	char *end;
	long fd;

	if (!v)
		return -1;
	errno = 0;
	fd = strtol(v, &end, 10);
	if (errno || *end || fd < 3 || fd > 1 << 20) {
		log_warnx("%s=%s is not a descriptor: ignored", name, v);
		fd = -1;
	}
	unsetenv(name);
	return (int)fd;
}

/* Receive the bundle from whichever end of it has the messages. */
static int take_bundle(struct zcsd *d, int *fds_out[], uint32_t *n,
		       char *why, size_t whylen)
{
	int fd = take_exec_fd(HANDOVER_FD_ENV), i, err = -ENOENT;

	d->handover.ring_fd = take_exec_fd(HANDOVER_RING_ENV);
	if (fd >= 0) {
		err = bundle_recv(fd, fds_out, n, why, whylen);
		close(fd);
		return err;
	}
	for (i = 0; i < 2 && err == -ENOENT; i++) {
		fd = d->fdstore.handover_fds[i];
		if (fd < 0)
			continue;
		err = bundle_recv(fd, fds_out, n, why, whylen);
		if (err == -EAGAIN && i == 0 && d->fdstore.handover_fds[1] >= 0)
			err = -ENOENT;	/* the writing end: try the other */
	}
	fdstore_drop_handover(d);
	return err;
}

/*
 * handover_take - at start, before the ring is set up: a hand-over to
 * resume in d->handover.adopted (and its descriptors), or none. Returns
 * 1 when there is one, 0 when not (refused ones are answered here).
 */
int handover_take(struct zcsd *d)
{
	struct handover *h = &d->handover;
	char why[160] = "";
	int *fds = NULL, err;
	uint32_t n = 0;

	err = take_bundle(d, &fds, &n, why, sizeof(why));
	if (err == -ENOENT) {
		if (h->ring_fd >= 0)
			close(h->ring_fd);
		h->ring_fd = -1;
		return 0;	/* main.c answers what a crash left */
	}
	if (!err)
		err = hs_state_load(fds[0], n - 1, &h->adopted, why,
				    sizeof(why));
	if (err) {
		handover_refuse(d, fds, n, why[0] ? why : strerror(-err));
		free(fds);
		if (h->ring_fd >= 0)
			close(h->ring_fd);
		h->ring_fd = -1;
		return 0;
	}
	close(fds[0]);
	memmove(fds, fds + 1, (n - 1) * sizeof(int));
	h->fds = fds;
	h->nfds = n - 1;
	if (h->ring_fd >= 0)
		handover_reserve(h);
	fdstore_close_orphans(d);	/* the bundle has them all */
	return 1;
}
