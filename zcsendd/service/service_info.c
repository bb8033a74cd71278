/* SPDX-License-Identifier: MIT */
/*
 * The SERVICE reply: the service's age beside this process's, and what the
 * hand-overs so far did. A hand-over keeps the clients and starts a new
 * process, so the service began before the process did; the hand-over
 * state (d->handover, carried from process to process) says when.
 */
#include <string.h>
#include <unistd.h>

#include "zcsd.h"
#include "service/service_info.h"

/*
 * When the service began: the carried first start, or this process's when
 * nothing was carried (0). A carried start after our own cannot be, so it
 * is not believed.
 */
static uint64_t service_start(const struct zcsd *d)
{
	uint64_t first = d->handover.service_start_ms;

	return first && first <= d->start_ms ? first : d->start_ms;
}

/*
 * service_info_reply - answer SERVICE on @c with one SERVICE_INFO under
 * @cookie. Returns 0 or -errno as conn_reply().
 */
int service_info_reply(struct client *c, uint64_t cookie)
{
	const struct zcsd *d = c->d;
	struct zcs_service m;
	uint64_t now = now_ms();

	memset(&m, 0, sizeof(m));
	m.service_uptime_ms = now - service_start(d);
	m.process_uptime_ms = now - d->start_ms;
	m.handovers = d->handover.count;
	m.last_handover_us = d->handover.last_us;
	m.last_clients = d->handover.last_clients;
	m.pid = (uint32_t)getpid();
	return conn_reply(c, ZCS_MSG_SERVICE_INFO, cookie, &m, sizeof(m));
}
