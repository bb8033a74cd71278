/* SPDX-License-Identifier: MIT */
/*
 * systemd's file descriptor store: at start, the descriptors systemd passed
 * us are sorted by name (the control socket, a hand-over's two ends, client
 * sockets a crashed process kept there); while we run, each client socket
 * is kept in the store too, so that after a crash the next process can
 * tell each client why its connection ends instead of leaving it hanging
 * on a socket systemd still holds. Only this file knows the names.
 */
#include <sys/socket.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "zcsd.h"

/* $FDSTORE above this is taken for garbage: we never hold that many. */
#define FDSTORE_MAX_BOUND	65536u
/* Places kept free for a hand-over's two ends (handover/bundle.c). */
#define FDSTORE_HANDOVER_FDS	2u
/* "FDSTORE=1\nFDNAME=" plus a name systemd accepts (255 bytes at most). */
#define FDSTORE_MSG_MAX		288

/*
 * $FDSTORE: how many descriptors systemd keeps for us (systemd 254 sets it
 * from FileDescriptorStoreMax=; our unit sets it for 252). Without
 * $NOTIFY_SOCKET nobody would receive them, so there is no store.
 */
static uint32_t fdstore_env_max(void)
{
	const char *v = getenv("FDSTORE");
	unsigned long n;
	char *end;

	if (!v || !getenv("NOTIFY_SOCKET"))
		return 0;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || end == v || *end || v[0] == '-' || n > FDSTORE_MAX_BOUND) {
		log_warnx("FDSTORE=%.32s is not a count up to %u: not using "
			  "systemd's fd store", v, FDSTORE_MAX_BOUND);
		return 0;
	}
	return (uint32_t)n;
}

/* One FDSTORE=1 (or FDSTOREREMOVE=1) message. 0 or -errno. */
static int fdstore_notify(const char *what, const char *name, const int *fds,
			  unsigned nfds)
{
	char msg[FDSTORE_MSG_MAX];
	int n, r;

	n = snprintf(msg, sizeof(msg), "%s=1\nFDNAME=%s", what, name);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return -ENAMETOOLONG;
	r = sd_pid_notify_with_fds(0, 0, msg, fds, nfds);
	if (r == 0)
		return -ENOSYS;	/* $NOTIFY_SOCKET went away */
	return r < 0 ? r : 0;
}

/*
 * The control socket systemd passed (socket activation): it must be the
 * kind listener_open() binds, and there must be one. Anything wrong makes
 * listener_open() fail, as a wrong unit should.
 */
static void fdstore_take_listener(struct fdstore *s, int fd, const char *name)
{
	if (s->listen_fd >= 0 || s->listen_err) {
		log_warnx("systemd passed a second socket (%s): expected one",
			  name);
		s->listen_err = -EINVAL;
		close(fd);
		return;
	}
	if (sd_is_socket(fd, AF_UNIX, SOCK_SEQPACKET, 1) <= 0) {
		log_warnx("the passed socket (%s) is not a listening AF_UNIX "
			  "SOCK_SEQPACKET socket", name);
		s->listen_err = -EINVAL;
		close(fd);
		return;
	}
	s->listen_fd = fd;
	s->listen_owned = false;
}

static void fdstore_take_handover(struct fdstore *s, int fd)
{
	if (s->handover_fds[0] < 0) {
		s->handover_fds[0] = fd;
	} else if (s->handover_fds[1] < 0) {
		s->handover_fds[1] = fd;
	} else {
		log_warnx("systemd passed more than two \"%s\" descriptors: "
			  "closing the extra one", FDSTORE_HANDOVER);
		close(fd);
	}
}

/* @fd, named @name, goes where its name says. 0 or -ENOMEM. */
static int fdstore_sort(struct fdstore *s, int fd, const char *name)
{
	char *copy;

	if (!strcmp(name, FDSTORE_HANDOVER)) {
		fdstore_take_handover(s, fd);
	} else if (!strncmp(name, FDSTORE_CLIENT, strlen(FDSTORE_CLIENT))) {
		copy = strdup(name);
		if (!copy) {
			close(fd);
			return -ENOMEM;
		}
		s->orphans[s->norphans] = fd;
		s->orphan_names[s->norphans++] = copy;
	} else {
		fdstore_take_listener(s, fd, name);
	}
	return 0;
}

static void fdstore_free_names(char **names, int n)
{
	int i;

	for (i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}

/*
 * fdstore_init - read $FDSTORE, and sort what systemd passed us (its
 * environment is consumed, so a re-executed daemon does not see it again):
 * "handover" (up to two), "client-*" (orphans until a hand-over says what
 * they are), anything else the control socket. Returns 0, or -ENOMEM
 * (every passed descriptor closed then).
 */
int fdstore_init(struct zcsd *d)
{
	struct fdstore *s = &d->fdstore;
	char **names = NULL;
	int n, i, err = 0;

	memset(s, 0, sizeof(*s));
	s->listen_fd = s->handover_fds[0] = s->handover_fds[1] = -1;
	s->max = fdstore_env_max();
	n = sd_listen_fds_with_names(1, &names);
	if (n < 0) {
		log_errno(n, "cannot read the descriptors systemd passed");
		return 0;
	}
	if (n > 0) {
		s->orphans = calloc((size_t)n, sizeof(*s->orphans));
		s->orphan_names = calloc((size_t)n, sizeof(*s->orphan_names));
		if (!s->orphans || !s->orphan_names)
			err = -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		if (err)
			close(SD_LISTEN_FDS_START + i);
		else
			err = fdstore_sort(s, SD_LISTEN_FDS_START + i,
					   names && names[i] ? names[i]
							     : "unknown");
	}
	fdstore_free_names(names, n);
	if (s->max)
		log_info("systemd's fd store holds up to %u descriptors", s->max);
	return err;
}

/* fdstore_fini - close what nobody took; the store is not used again. */
void fdstore_fini(struct zcsd *d)
{
	struct fdstore *s = &d->fdstore;

	fdstore_close_orphans(d);
	free(s->orphans);
	free(s->orphan_names);
	s->orphans = NULL;
	s->orphan_names = NULL;
	if (s->handover_fds[0] >= 0)
		close(s->handover_fds[0]);
	if (s->handover_fds[1] >= 0)
		close(s->handover_fds[1]);
	s->handover_fds[0] = s->handover_fds[1] = -1;
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	s->listen_fd = -1;
	s->max = 0;	/* clients killed after this leave the store alone */
}

/*
 * fdstore_add_client - keep @c's socket in the store while it is
 * connected, leaving room for a hand-over's two ends. Adding a socket
 * the store already holds (a client carried by a hand-over) is harmless:
 * systemd keeps one entry per socket. A no-op without a store.
 */
void fdstore_add_client(struct zcsd *d, struct client *c)
{
	struct fdstore *s = &d->fdstore;
	char name[32];
	int err;

	if (!s->max || c->fdstored || c->fd < 0)
		return;
	if (s->max <= FDSTORE_HANDOVER_FDS ||
	    s->stored >= s->max - FDSTORE_HANDOVER_FDS) {
		if (!s->full_logged)
			log_warnx("systemd's fd store is full (%u client "
				  "sockets): clients beyond them will not be "
				  "told why should zcsendd crash",
				  s->stored);
		s->full_logged = true;
		return;
	}
	snprintf(name, sizeof(name), FDSTORE_CLIENT "%u", c->id);
	err = fdstore_notify("FDSTORE", name, &c->fd, 1);
	if (err) {
		log_errno(err, "cannot keep client %u's socket in systemd's "
			  "fd store", c->id);
		return;
	}
	c->fdstored = true;
	s->stored++;
}

/*
 * fdstore_remove_client - take @c's socket out of the store as it goes
 * (before its close), so that systemd's copy does not keep the
 * connection open. A no-op for a socket that is not there.
 */
void fdstore_remove_client(struct zcsd *d, struct client *c)
{
	struct fdstore *s = &d->fdstore;
	char name[32];
	int err;

	if (!c->fdstored)
		return;
	c->fdstored = false;
	if (s->stored)
		s->stored--;
	if (!s->max)
		return;
	snprintf(name, sizeof(name), FDSTORE_CLIENT "%u", c->id);
	err = fdstore_notify("FDSTOREREMOVE", name, NULL, 0);
	if (err)
		log_errno(err, "cannot take client %u's socket out of "
			  "systemd's fd store", c->id);
}

/*
 * Tell the peer of @fd, if it is a client's connection, why it ends.
 * Returns 1 when told, 0 when @fd is no client socket or cannot take it.
 */
static int fdstore_tell(int fd, const char *why)
{
	char text[ZCS_ERRMSG_MAX];

	if (sd_is_socket(fd, AF_UNIX, SOCK_SEQPACKET, 0) <= 0)
		return 0;
	snprintf(text, sizeof(text), "zcsendd restarted (%s): connection "
		 "closed, connect again", why);
	return conn_error_raw(fd, 0, -ECONNRESET, text) ? 0 : 1;
}

/* Drop orphan @i: out of the store, and closed. */
static void fdstore_drop_orphan(struct fdstore *s, uint32_t i)
{
	int err;

	/* It came from the store, so there is one, $FDSTORE or not. */
	err = fdstore_notify("FDSTOREREMOVE", s->orphan_names[i], NULL, 0);
	if (err && err != -ENOSYS)
		log_errno(err, "cannot take %s out of systemd's fd store",
			  s->orphan_names[i]);
	close(s->orphans[i]);
	free(s->orphan_names[i]);
	s->orphans[i] = -1;
	s->orphan_names[i] = NULL;
}

/*
 * fdstore_answer_orphans - no state was taken (a crash, or a state that
 * was refused): each client socket found in the store gets one ERROR
 * saying why (-ECONNRESET, @why in its text) and is shut down, taken out
 * of the store and closed, so the client sees the reason and then EOF.
 * Call it after fdstore_init() and handover_take(), when no state is
 * resumed; a second call does nothing.
 */
void fdstore_answer_orphans(struct zcsd *d, const char *why)
{
	struct fdstore *s = &d->fdstore;
	uint32_t i, told = 0, n = s->norphans;

	for (i = 0; i < n; i++) {
		told += (uint32_t)fdstore_tell(s->orphans[i], why);
		shutdown(s->orphans[i], SHUT_RDWR);	/* systemd's copy too */
		fdstore_drop_orphan(s, i);
	}
	s->norphans = 0;
	if (n)
		log_at(LOG_WARNING, &(struct log_about){
				.msgid = LOG_ID_HANDOVER_REFUSED }, 0,
		       "%u client connections kept by systemd, %u told why "
		       "they end: %s", n, told, why);
}

/*
 * fdstore_close_orphans - a state was taken: the clients it carries
 * arrived with it, so our copies of their stored sockets are closed
 * without a word and without shutdown() (that would end the carried
 * connections). Their entries stay in the store; fdstore_add_client() on
 * a carried client finds its socket there already.
 */
void fdstore_close_orphans(struct zcsd *d)
{
	struct fdstore *s = &d->fdstore;
	uint32_t i;

	for (i = 0; i < s->norphans; i++) {
		close(s->orphans[i]);
		free(s->orphan_names[i]);
	}
	s->norphans = 0;
}

/*
 * fdstore_push - put @nfds descriptors into the store under @name in one
 * message (the hand-over: its bundle's two ends). Returns 0, -ENOSYS
 * without a store, or sd_pid_notify_with_fds()'s -errno.
 */
int fdstore_push(struct zcsd *d, const char *name, const int *fds,
		 unsigned nfds)
{
	if (!d->fdstore.max)
		return -ENOSYS;
	return fdstore_notify("FDSTORE", name, fds, nfds);
}

/*
 * fdstore_drop_handover - the bundle has been read: out of the store with
 * it, and our copies closed.
 */
void fdstore_drop_handover(struct zcsd *d)
{
	struct fdstore *s = &d->fdstore;
	int err, i;

	if (s->handover_fds[0] < 0 && s->handover_fds[1] < 0)
		return;
	err = fdstore_notify("FDSTOREREMOVE", FDSTORE_HANDOVER, NULL, 0);
	if (err && err != -ENOSYS)
		log_errno(err, "cannot take the hand-over out of systemd's "
			  "fd store");
	for (i = 0; i < 2; i++) {
		if (s->handover_fds[i] >= 0)
			close(s->handover_fds[i]);
		s->handover_fds[i] = -1;
	}
}
