/* SPDX-License-Identifier: MIT */
/*
 * Admission: connection places and pool memory are shared between users,
 * so that one user's programs cannot lock out another's or the admin's. A
 * uid holds at most max_user_connections connections (counted from accept,
 * HELLO or not) and user_pool_total_bytes of pools; the last
 * admin_reserved_connections places are kept for admins, who are held to
 * no per-user limit. A refusal is answered with an ERROR naming the limit
 * and the uid, and logged once per burst, not once per connection.
 */
#include <errno.h>
#include <stdio.h>

#include "zcsd.h"
#include "service/access.h"
#include "service/admission.h"

/* Refusals closer together than this share one log line. */
#define BURST_MS	10000

_Static_assert(CONFIG_ADMIN_RESERVED_MAX <= LISTENER_SPARE_CONNS,
	       "the admins' reserve comes out of the spare places");

/* @uid's open connections; a dead client's socket is closed already. */
static uint32_t user_conns(const struct zcsd *d, uid_t uid)
{
	const struct client *c;
	uint32_t n = 0;

	TAILQ_FOREACH(c, &d->clients, entry)
		n += c->uid == uid && !c->dead;
	return n;
}

/* @uid's pools, dead clients' too: their pages stay until the reaper. */
static uint64_t user_pool_bytes(const struct zcsd *d, uid_t uid)
{
	const struct client *c;
	uint64_t n = 0;

	TAILQ_FOREACH(c, &d->clients, entry)
		if (c->uid == uid && c->counted)
			n += c->pool.size;
	return n;
}

/* BURST_MS after a refusal line: how many refusals it stood for. */
static void tally_cb(evutil_socket_t fd, short what, void *arg)
{
	struct zcsd *d = arg;
	struct admission *a = &d->admission;

	if (!a->unlogged)
		return;
	log_at(LOG_WARNING, &(struct log_about){
			.msgid = LOG_ID_CLIENT_REFUSED }, 0,
	       "refused %u more connections or pools in the %llu s after "
	       "the last refusal logged", a->unlogged,
	       (unsigned long long)(now_ms() - a->logged_ms + 500) / 1000);
	a->unlogged = 0;
	a->logged_ms = now_ms();
}

/* Count a refusal not logged; the tally says how many when BURST_MS is up. */
static void refusal_count(struct zcsd *d, uint64_t now)
{
	struct admission *a = &d->admission;
	struct timeval tv = timeval_ms(a->logged_ms + BURST_MS - now);

	a->unlogged++;
	if (!a->tally)
		a->tally = evtimer_new(d->base, tally_cb, d);
	if (a->tally && !evtimer_pending(a->tally, NULL) &&
	    evtimer_add(a->tally, &tv))
		log_warnx("no timer to count refusals: the next refusal "
			  "logged will say how many");
}

/*
 * The first refusal of a burst is logged in full; later ones only count
 * until BURST_MS has passed since that line, and then one line says how
 * many there were, so a program retrying in a loop cannot flood the
 * journal: at most one line per BURST_MS.
 */
static void refusal_log(struct zcsd *d, pid_t pid, uid_t uid, const char *why)
{
	struct admission *a = &d->admission;
	uint64_t now = now_ms();
	char more[96] = "";

	if (a->logged_ms && now - a->logged_ms < BURST_MS) {
		refusal_count(d, now);
		return;
	}
	if (a->unlogged)
		snprintf(more, sizeof(more), " (and %u more refusals since "
			 "the last such line, %llu s ago)", a->unlogged,
			 (unsigned long long)(now - a->logged_ms) / 1000);
	log_at(LOG_WARNING, &(struct log_about){
			.msgid = LOG_ID_CLIENT_REFUSED, .client = true,
			.pid = pid, .uid = uid }, 0,
	       "refusing client pid %d uid %u: %s%s", (int)pid,
	       (unsigned)uid, why, more);
	a->logged_ms = now;
	a->unlogged = 0;
}

/*
 * admission_conn - at accept, before the peer on @fd holds a place: all
 * places (max_clients plus the spare control places) are for anyone,
 * all but the admins' reserve for non-admins, and a non-admin's uid gets
 * config_user_conns() of them. Returns 0, or -EUSERS after answering the
 * peer (the caller closes @fd).
 */
int admission_conn(struct zcsd *d, int fd, const struct peer *p)
{
	const struct zcsd_config *cfg = &d->cfg;
	uint32_t places = cfg->max_clients + LISTENER_SPARE_CONNS, n = 0;
	bool admin = access_peer_is_admin(d, p);
	char why[ZCS_ERRMSG_MAX];

	if (d->nconns >= places)
		snprintf(why, sizeof(why), "uid %u: all %u connection places "
			 "are taken (max_clients %u + %u); raise max_clients",
			 (unsigned)p->uid, places, cfg->max_clients,
			 LISTENER_SPARE_CONNS);
	else if (!admin && d->nconns >= places - cfg->admin_reserved_conns)
		snprintf(why, sizeof(why), "uid %u: the last %u of %u "
			 "connection places are kept for admins; raise "
			 "max_clients", (unsigned)p->uid,
			 cfg->admin_reserved_conns, places);
	else if (!admin && (n = user_conns(d, p->uid)) >= config_user_conns(cfg))
		snprintf(why, sizeof(why), "uid %u has %u connections open, "
			 "its max_user_connections; raise it in zcsendd.conf",
			 (unsigned)p->uid, n);
	else
		return 0;
	refusal_log(d, p->pid, p->uid, why);
	access_answer(fd, p, -EUSERS, why);
	return -EUSERS;
}

/*
 * admission_pool - at HELLO, before a pool of about @want bytes is made:
 * a non-admin's uid within config_user_pool_bytes(), then everyone within
 * max_clients pool-holding clients and pool_total_bytes. Returns 0, or
 * -EDQUOT (the user's limit), -EUSERS or -ENOMEM after answering the
 * HELLO (@cookie) with the reason; the caller drops the client.
 */
int admission_pool(struct client *c, uint64_t cookie, uint64_t want)
{
	struct zcsd *d = c->d;
	const struct zcsd_config *cfg = &d->cfg;
	uint64_t size = pool_grant(d, want), mine = 0;
	char why[ZCS_ERRMSG_MAX];
	int err;

	if (!access_is_admin(d, c))
		mine = user_pool_bytes(d, c->uid) + size;
	if (mine > config_user_pool_bytes(cfg)) {
		err = -EDQUOT;
		snprintf(why, sizeof(why), "uid %u would hold %llu pool bytes, "
			 "over its user_pool_total_bytes (%llu) in zcsendd.conf",
			 (unsigned)c->uid, (unsigned long long)mine,
			 (unsigned long long)config_user_pool_bytes(cfg));
	} else if (d->nclients >= cfg->max_clients) {
		err = -EUSERS;
		snprintf(why, sizeof(why), "uid %u: all %u pool places "
			 "(max_clients) are taken; raise max_clients",
			 (unsigned)c->uid, cfg->max_clients);
	} else if (d->pool_bytes + size > cfg->pool_total_bytes) {
		err = -ENOMEM;
		snprintf(why, sizeof(why), "uid %u: a pool of %llu bytes would "
			 "pass pool_total_bytes (%llu); raise it",
			 (unsigned)c->uid, (unsigned long long)size,
			 (unsigned long long)cfg->pool_total_bytes);
	} else {
		return 0;
	}
	refusal_log(d, c->pid, c->uid, why);
	conn_error(c, ZCS_MSG_HELLO, cookie, err, "%s", why);
	return err;
}

/* admission_fini - free the tally's timer (at exit; it may come again). */
void admission_fini(struct zcsd *d)
{
	if (d->admission.tally)
		event_free(d->admission.tally);
	d->admission.tally = NULL;
}

/* admission_log_limits - the limits in force, at start and each reload. */
void admission_log_limits(const struct zcsd *d, const char *when)
{
	const struct zcsd_config *cfg = &d->cfg;

	log_info("%s: each user may hold %u connections and %llu bytes of "
		 "pools (admins: no limit); %u of %u connection places kept "
		 "for admins; %u weights configured", when,
		 config_user_conns(cfg),
		 (unsigned long long)config_user_pool_bytes(cfg),
		 cfg->admin_reserved_conns,
		 cfg->max_clients + LISTENER_SPARE_CONNS, cfg->nweights);
}
