/* SPDX-License-Identifier: MIT */
/*
 * The control socket's listener (listener.c): its state, embedded in
 * struct zcsd as d->listener and touched only by listener.c, and the calls
 * main.c and the drain make.
 */
#ifndef ZCSD_LISTENER_H
#define ZCSD_LISTENER_H

#include <stdbool.h>

#include "config.h"

/* Control connections allowed beyond max_clients (status, admin). */
#define LISTENER_SPARE_CONNS	16

struct zcsd;

struct listener {
	int fd;			/* the listening socket, or -1 */
	char path[CONFIG_PATH_MAX];	/* where we bind, chosen by main.c */
	bool unlink_at_close;	/* we bound path ourselves: remove it */
	struct event *ev;	/* accepts */
	struct event *resume_timer;	/* accepting again after EMFILE */
	bool out_of_fds;	/* paused for want of fds: said once */
};

void listener_init(struct zcsd *d, const char *path);
int listener_open(struct zcsd *d);
void listener_close(struct zcsd *d);
void listener_hold(struct zcsd *d, bool hold);

#endif /* ZCSD_LISTENER_H */
