/* SPDX-License-Identifier: MIT */
/*
 * Talking to systemd: READY=1 once the socket listens, STATUS= with live
 * counts every second, WATCHDOG=1 from the event loop itself (so a stuck
 * loop stops the pings), RELOADING=1 and STOPPING=1 from reload.c and
 * drain.c. Without NOTIFY_SOCKET every call is a cheap no-op.
 */
#include <errno.h>
#include <stdio.h>

#include <systemd/sd-daemon.h>

#include "zcsd.h"

#define STATUS_EVERY_US	1000000ull

/*
 * notify_send - one sd_notify state line. A failure is logged once: the
 * status tick would otherwise repeat it every second.
 */
void notify_send(struct zcsd *d, const char *state)
{
	int ret = sd_notify(0, state);

	if (ret < 0 && !d->notify.failed_logged) {
		log_errno(ret, "sd_notify %s", state);
		d->notify.failed_logged = true;
	}
}

/* One STATUS= line: what an operator wants from `systemctl status`. */
static void notify_status(struct zcsd *d, uint64_t elapsed_us)
{
	uint64_t bytes = d->st.bytes - d->notify.status_bytes;
	double mbps = elapsed_us ? (double)bytes / (double)elapsed_us : 0;
	uint32_t clients, inflight;
	char line[160];

	conn_count(d, &clients, &inflight);
	d->notify.status_bytes = d->st.bytes;
	snprintf(line, sizeof(line), "STATUS=%s%u clients, %u flows, %u sends "
		 "in flight, %.1f MB/s", d->draining ? "draining: " : "",
		 clients, d->nflows, inflight, mbps);
	notify_send(d, line);
}

static void notify_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct zcsd *d = arg;
	uint64_t now = now_ms() * 1000;

	if (d->notify.watchdog_us)
		notify_send(d, "WATCHDOG=1");
	if (now - d->notify.status_us >= STATUS_EVERY_US) {
		notify_status(d, now - d->notify.status_us);
		d->notify.status_us = now;
	}
}

/*
 * notify_start - tell systemd we are ready and start the periodic tick:
 * every second, or twice per watchdog period when that is shorter.
 * Returns 0 or -errno.
 */
int notify_start(struct zcsd *d)
{
	struct notify *n = &d->notify;
	uint64_t usec = STATUS_EVERY_US, wd = 0;
	struct timeval tv;

	if (sd_watchdog_enabled(0, &wd) > 0) {
		n->watchdog_us = wd;
		if (wd / 2 < usec)
			usec = wd / 2;
		log_info("watchdog every %llu ms", (unsigned long long)wd / 1000);
	}
	n->status_us = now_ms() * 1000;
	tv = timeval_us(usec);
	n->tick = event_new(d->base, -1, EV_PERSIST, notify_tick_cb, d);
	if (!n->tick || event_add(n->tick, &tv))
		return -ENOMEM;
	notify_send(d, "READY=1");
	notify_status(d, 0);
	return 0;
}

void notify_stop(struct zcsd *d)
{
	if (d->notify.tick)
		event_free(d->notify.tick);
	d->notify.tick = NULL;
}
