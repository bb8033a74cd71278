/* SPDX-License-Identifier: MIT */
/*
 * The control socket: take it from systemd (socket activation) or bind the
 * configured path, refusing to steal it from a live daemon, and accept
 * clients: allowed peers (SO_PEERCRED, access.c) get a connection place
 * within their user's limit (admission.c) and their weight, refused ones
 * an answer and a close. Out of descriptors, accepting pauses instead of
 * spinning on a socket that stays readable.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zcsd.h"
#include "service/access.h"
#include "service/admission.h"

/* How long to stop accepting when out of descriptors. */
#define ACCEPT_PAUSE_MS	250

static int listener_addr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path))
		return -ENAMETOOLONG;
	strcpy(sun->sun_path, path);
	return 0;
}

/* A socket file nobody answers on is left over from a crash. */
static int listener_clear_stale(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	int err;

	if (fd < 0)
		return -errno;
	err = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) ? -errno
								       : 0;
	close(fd);
	if (err == 0)
		return -EADDRINUSE;
	if (err == -ENOENT)
		return 0;
	if (err != -ECONNREFUSED)
		return err;
	return unlink(sun->sun_path) ? -errno : 0;
}

static int listener_bind(struct zcsd *d)
{
	struct sockaddr_un sun;
	int fd, err;

	err = listener_addr(d->listener.path, &sun);
	if (!err)
		err = listener_clear_stale(&sun);
	if (err)
		return err;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) ||
	    chmod(sun.sun_path, d->cfg.socket_mode) ||
	    (d->cfg.socket_gid >= 0 &&
	     chown(sun.sun_path, (uid_t)-1, (gid_t)d->cfg.socket_gid)) ||
	    listen(fd, 128)) {
		err = -errno;
		close(fd);
		return err;
	}
	d->listener.unlink_at_close = true;
	return fd;
}

/*
 * Out of descriptors (or kernel memory): the pending connection stays in
 * the backlog and the socket stays readable, so retrying at once would
 * spin. Stop watching it for a moment; say so once per episode.
 */
static void listener_pause(struct zcsd *d, int err)
{
	struct timeval tv = timeval_ms(ACCEPT_PAUSE_MS);

	if (!d->listener.out_of_fds)
		log_warnx("accept: %s, with %u connections open: not "
			  "accepting for %d ms at a time until some close",
			  strerror(err), d->nconns, ACCEPT_PAUSE_MS);
	d->listener.out_of_fds = true;
	event_del(d->listener.ev);
	if (evtimer_add(d->listener.resume_timer, &tv)) {
		log_warnx("cannot arm the accept timer: accepting again now");
		if (event_add(d->listener.ev, NULL))
			log_warnx("cannot watch the listening socket");
	}
}

static void listener_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct zcsd *d = arg;

	if (d->listener.ev && event_add(d->listener.ev, NULL))
		log_warnx("cannot watch the listening socket");
}

/* Refused peers are answered and closed here, before they hold a place. */
static void listener_take(struct zcsd *d, int fd)
{
	struct client *c;
	struct peer p;

	if (access_peer_read(fd, &p)) {
		close(fd);
		return;
	}
	if (!access_may_connect(d, &p)) {
		access_refuse(fd, &p);
		close(fd);
	} else if (admission_conn(d, fd, &p)) {
		close(fd);	/* answered and logged there */
	} else if (!(c = conn_new(d, fd, &p))) {
		close(fd);
	} else {
		c->weight = access_weight(d, c);
		hello_deadline_watch(d, c);
		fdstore_add_client(d, c);	/* told why, should we crash */
	}
	access_peer_fini(&p);
}

static void listener_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct zcsd *d = arg;
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM)
			listener_pause(d, errno);
		else if (errno != EAGAIN && errno != EINTR &&
			 errno != ECONNABORTED)
			log_warn("accept");
		return;
	}
	if (d->listener.out_of_fds)
		log_info("accepting connections again");
	d->listener.out_of_fds = false;
	listener_take(d, fd);
}

/*
 * listener_init - no socket yet; @path (may be "") is where listener_open()
 * binds when systemd passes none. @path fits: main.c checked its length.
 */
void listener_init(struct zcsd *d, const char *path)
{
	d->listener.fd = -1;
	snprintf(d->listener.path, sizeof(d->listener.path), "%s", path);
}

/*
 * The control socket fdstore_init() found among what systemd passed us
 * (socket activation, or a hand-over's self-bound one): ours from now on.
 */
static int listener_take_passed(struct zcsd *d)
{
	int fd = d->fdstore.listen_fd;

	d->fdstore.listen_fd = -1;
	d->listener.unlink_at_close = d->fdstore.listen_owned;
	evutil_make_socket_nonblocking(fd);
	if (d->fdstore.listen_owned)
		log_info("listening on %s, handed over", d->listener.path);
	else
		log_info("using the socket passed by systemd");
	return fd;
}

/*
 * listener_open - use a socket passed by systemd, else bind our path.
 * Returns 0 or -errno (logged): -EADDRINUSE when a live daemon owns it,
 * -EINVAL when systemd passed a wrong socket or more than one.
 */
int listener_open(struct zcsd *d)
{
	int fd;

	if (d->fdstore.listen_err) {
		return d->fdstore.listen_err;	/* fdstore.c said why */
	} else if (d->fdstore.listen_fd >= 0) {
		fd = listener_take_passed(d);
	} else if (!d->listener.path[0]) {
		log_warnx("no socket path: use -s, set ZCSENDD_SOCKET or "
			  "XDG_RUNTIME_DIR, or start from zcsendd.socket");
		return -ENOENT;
	} else {
		fd = listener_bind(d);
		if (fd < 0) {
			log_errno(fd, "cannot listen on %s", d->listener.path);
			return fd;
		}
		log_info("listening on %s", d->listener.path);
	}
	admission_log_limits(d, "admission");
	d->listener.fd = fd;
	d->listener.ev = event_new(d->base, fd, EV_READ | EV_PERSIST,
				 listener_accept_cb, d);
	d->listener.resume_timer = evtimer_new(d->base, listener_resume_cb, d);
	if (!d->listener.ev || !d->listener.resume_timer ||
	    event_add(d->listener.ev, NULL)) {
		log_warnx("cannot watch the listening socket");
		return -ENOMEM;
	}
	return 0;
}

/* listener_close - stop accepting for good (drain, exit). */
void listener_close(struct zcsd *d)
{
	admission_fini(d);	/* no refusal left to count */
	if (d->listener.resume_timer) {
		event_free(d->listener.resume_timer);
		d->listener.resume_timer = NULL;
	}
	if (d->listener.ev) {
		event_free(d->listener.ev);
		d->listener.ev = NULL;
	}
	if (d->listener.fd >= 0)
		close(d->listener.fd);
	d->listener.fd = -1;
	if (d->listener.unlink_at_close)
		unlink(d->listener.path);
	d->listener.unlink_at_close = false;
}

/*
 * listener_hold - stop accepting for a while (@hold) or accept again:
 * during a hand-over, new connections wait in the backlog for the next
 * process, which takes the same socket.
 */
void listener_hold(struct zcsd *d, bool hold)
{
	if (!d->listener.ev)
		return;
	if (hold)
		event_del(d->listener.ev);
	else if (event_add(d->listener.ev, NULL))
		log_warnx("cannot watch the listening socket");
}
