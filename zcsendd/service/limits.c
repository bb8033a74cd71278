/* SPDX-License-Identifier: MIT */
/*
 * Resource limits the daemon depends on: locked memory for registered
 * buffers, and file descriptors for clients, pools and TCP flows. Take the
 * hard limits at start, and say plainly when the config asks for more than
 * they allow, rather than failing one client at a time later.
 */
#include <sys/resource.h>
#include <unistd.h>

#include "zcsd.h"
#include "service/limits.h"

/* The daemon's own: stdio, ring, eventfd, epoll, signals, the listener. */
#define FDS_RESERVE	32

/*
 * limits_memlock_raise - registered buffers are pinned memory counted
 * against RLIMIT_MEMLOCK without CAP_IPC_LOCK: take the hard limit, and
 * say so when it is small.
 */
void limits_memlock_raise(const struct zcsd *d)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_MEMLOCK, &rl))
		return;
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_MEMLOCK, &rl);
	if (rl.rlim_cur != RLIM_INFINITY && geteuid() != 0 &&
	    rl.rlim_cur < d->cfg.pool_bytes * 2)
		log_warnx("RLIMIT_MEMLOCK is %llu bytes: pools of %llu bytes "
			  "will fit only a few clients",
			  (unsigned long long)rl.rlim_cur,
			  (unsigned long long)d->cfg.pool_bytes);
}

/*
 * limits_nofile_raise - the soft RLIMIT_NOFILE (often 1024) is far below
 * what max_clients x max_flows may need; the hard one is what the admin
 * granted (LimitNOFILE=). libevent uses epoll, so no FD_SETSIZE bound.
 */
void limits_nofile_raise(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		log_warn("cannot raise RLIMIT_NOFILE to %llu",
			 (unsigned long long)rl.rlim_max);
}

/*
 * Per pool-holding client: its socket, its pool's memfd, one socket per
 * TCP flow and, with rings, their memfd (kept for a hand-over) and two
 * eventfds; then the spare control connections, one UDP socket per
 * destination, and our own. Widened before multiplying.
 */
static uint64_t nofile_need(const struct zcsd_config *cfg)
{
	return (uint64_t)cfg->max_clients * ((uint64_t)cfg->max_flows + 5) +
	       LISTENER_SPARE_CONNS + cfg->max_dests + FDS_RESERVE;
}

/*
 * limits_nofile_check - at start and at reload: warn, with the numbers,
 * when the config may need more descriptors than RLIMIT_NOFILE allows.
 * The daemon still runs; at the limit it stops accepting for a while
 * (listener.c) and a flow that cannot get a socket fails alone.
 */
void limits_nofile_check(const struct zcsd *d)
{
	uint64_t need = nofile_need(&d->cfg);
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur >= need)
		return;
	log_warnx("RLIMIT_NOFILE is %llu: %u clients with %u flows each may "
		  "need %llu descriptors; raise LimitNOFILE= (or the hard "
		  "limit) or lower max_clients or max_flows",
		  (unsigned long long)rl.rlim_cur, d->cfg.max_clients,
		  d->cfg.max_flows, (unsigned long long)need);
}
