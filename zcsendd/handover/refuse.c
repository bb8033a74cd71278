/* SPDX-License-Identifier: MIT */
/*
 * A hand-over that cannot be taken (another state version, a corrupt or
 * truncated state, descriptors missing): every descriptor that came is a
 * client's connection or something no longer wanted. Clients are told why
 * in an ERROR before their connection closes, so none waits on a daemon
 * that will never answer it; everything else is closed, and the daemon
 * starts fresh.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "zcsd.h"
#include "handover/internal.h"

/* A connected AF_UNIX SOCK_SEQPACKET socket: a client's, by its kind. */
static bool refuse_is_client(int fd)
{
	return sd_is_socket(fd, AF_UNIX, SOCK_SEQPACKET, 0) > 0;
}

/* Is @fd's socket one the fd store's orphans will answer anyway? */
static bool refuse_is_orphan(const struct zcsd *d, int fd)
{
	struct stat a, b;
	uint32_t i;

	if (fstat(fd, &a))
		return false;
	for (i = 0; i < d->fdstore.norphans; i++)
		if (d->fdstore.orphans[i] >= 0 &&
		    !fstat(d->fdstore.orphans[i], &b) &&
		    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
			return true;
	return false;
}

static void refuse_tell(int fd, const char *why)
{
	char text[ZCS_ERRMSG_MAX];

	snprintf(text, sizeof(text), "zcsendd restarted but refused the "
		 "hand-over (%s): connect again", why);
	conn_error_raw(fd, 0, -ECONNRESET, text);	/* or learn from EOF */
	shutdown(fd, SHUT_RDWR);	/* systemd may hold a copy */
}

/*
 * handover_refuse - tell every client among @fds (@nfds, closed here and
 * set to -1) why it is not carried, log it once, and answer the fd
 * store's client sockets too.
 */
void handover_refuse(struct zcsd *d, int *fds, uint32_t nfds,
		     const char *why)
{
	uint32_t i, told = 0;

	for (i = 0; i < nfds; i++) {
		if (fds[i] < 0)
			continue;
		if (refuse_is_client(fds[i]) && !refuse_is_orphan(d, fds[i])) {
			refuse_tell(fds[i], why);
			told++;
		}
		close(fds[i]);
		fds[i] = -1;
	}
	log_at(LOG_ERR, &(struct log_about){
			.msgid = LOG_ID_HANDOVER_REFUSED }, 0,
	       "hand-over refused: %s; starting fresh, %u clients told why",
	       why, told + d->fdstore.norphans);
	fdstore_answer_orphans(d, why);
}
