/* SPDX-License-Identifier: MIT */
/*
 * Clients summed per user and program name, across status updates: the
 * series of `metrics` grow with the programs on the host, not with the
 * connections they made. A client that leaves adds what it had done (as
 * the update before saw it) to its group, so counters never go down.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_status.h"
#include "metrics.h"

/* One contribution to a group while the groups are rebuilt. */
struct part {
	uint32_t uid;
	char program[METRICS_PROGRAM_MAX];
	const struct metrics_group *group;	/* an existing group */
	const struct zcs_status_client *live;	/* or a connected client */
	const struct zcs_status_client *gone;	/* or one that left */
};

/* Every field of @n u64 counters at @a += @b. */
static void add_u64s(void *a, const void *b, size_t n)
{
	uint64_t x, y;
	size_t i;

	for (i = 0; i < n; i++) {
		memcpy(&x, (char *)a + i * 8, 8);
		memcpy(&y, (const char *)b + i * 8, 8);
		x += y;
		memcpy((char *)a + i * 8, &x, 8);
	}
}

static void sums_add_client(struct metrics_sums *s,
			    const struct zcs_status_client *c)
{
	add_u64s(&s->st, &c->st, sizeof(s->st) / 8);
	s->rings.records += c->rings.records;
	s->rings.wakeups_in += c->rings.wakeups_in;
	s->rings.wakeups_out += c->rings.wakeups_out;
	s->sched.cost += c->sched.cost;
	s->sched.queue_ns += c->sched.queue_ns;
	s->sched.queued += c->sched.queued;
	if (c->sched.queue_max_ns > s->sched.queue_max_ns)
		s->sched.queue_max_ns = c->sched.queue_max_ns;
}

static void sums_add(struct metrics_sums *s, const struct metrics_sums *o)
{
	add_u64s(&s->st, &o->st, sizeof(s->st) / 8);
	add_u64s(&s->rings, &o->rings, sizeof(s->rings) / 8);
	s->sched.cost += o->sched.cost;
	s->sched.queue_ns += o->sched.queue_ns;
	s->sched.queued += o->sched.queued;
	if (o->sched.queue_max_ns > s->sched.queue_max_ns)
		s->sched.queue_max_ns = o->sched.queue_max_ns;
}

/*
 * metrics_clean - the label value a name of @size bytes (NUL or not)
 * prints as, without the format's escapes: bytes that are not UTF-8
 * become U+FFFD, control bytes other than line feed '?'. Names that print
 * the same must share a group, or the exposition would repeat a series.
 */
void metrics_clean(const char *in, size_t size, char *out, size_t outsize)
{
	char buf[METRICS_PROGRAM_MAX];
	const unsigned char *s;
	size_t n, o = 0;

	if (size > ZCS_NAME_MAX)
		size = ZCS_NAME_MAX;	/* the bound METRICS_PROGRAM_MAX is for */
	s = (const unsigned char *)metrics_str(in, size, buf);
	for (; *s; s += n ? n : 1) {
		n = ctl_utf8_seq(s);
		if (o + (n > 1 ? n : 3) >= outsize)
			break;
		if (n == 0)
			memcpy(out + o, "\xef\xbf\xbd", 3);
		else if (n > 1)
			memcpy(out + o, s, n);
		else
			out[o] = *s != '\n' && (*s < 0x20 || *s == 0x7f) ?
				 '?' : (char)*s;
		o += n == 0 ? 3 : n;
	}
	out[o] = '\0';
}

static int by_id(const void *a, const void *b)
{
	const struct zcs_status_client *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static int by_key(const void *a, const void *b)
{
	const struct part *x = a, *y = b;

	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	return strcmp(x->program, y->program);
}

/* The same connection in two updates: ids are not reused while the
 * daemon runs, but a wrapped id would not have the same pid and uid. */
static int same_client(const struct zcs_status_client *a,
		       const struct zcs_status_client *b)
{
	return a->id == b->id && a->pid == b->pid && a->uid == b->uid;
}

static void part_client(struct part *p, const struct zcs_status_client *c,
			int live)
{
	memset(p, 0, sizeof(*p));
	p->uid = c->uid;
	metrics_clean(c->name, sizeof(c->name), p->program,
		      sizeof(p->program));
	if (live)
		p->live = c;
	else
		p->gone = c;
}

/* The seen clients that @cur (sorted by id) lacks, as parts at @p.
 * Returns how many. */
static size_t parts_gone(const struct metrics_agg *a,
			 const struct zcs_status_client *cur, size_t ncur,
			 struct part *p)
{
	size_t i, j = 0, n = 0;

	for (i = 0; i < a->nseen; i++) {
		while (j < ncur && cur[j].id < a->seen[i].id)
			j++;
		if (j < ncur && same_client(&cur[j], &a->seen[i]))
			continue;
		part_client(&p[n++], &a->seen[i], 0);
	}
	return n;
}

/* The parts from @i on that share its key, folded into @g. The index
 * after them. */
static size_t fold(const struct part *p, size_t np, size_t i, uint64_t gen,
		   struct metrics_group *g)
{
	const struct zcs_status_client *c;
	size_t j;

	memset(g, 0, sizeof(*g));
	g->uid = p[i].uid;
	memcpy(g->program, p[i].program, sizeof(g->program));
	for (j = i; j < np && !by_key(&p[i], &p[j]); j++) {
		if (p[j].group) {
			sums_add(&g->gone, &p[j].group->gone);
			if (p[j].group->live_gen > g->live_gen)
				g->live_gen = p[j].group->live_gen;
		} else if (p[j].gone) {
			sums_add_client(&g->gone, p[j].gone);
		} else if ((c = p[j].live)) {
			sums_add_client(&g->sum, c);
			g->clients[!!(c->flags & ZCS_CLIENT_F_RINGS)]++;
			g->weight += c->weight;
			g->flows += c->flows;
			g->inflight += c->inflight;
			g->pool_bytes += c->pool_bytes;
			g->live_gen = gen;
		}
	}
	sums_add(&g->sum, &g->gone);
	return j;
}

static int by_age(const void *a, const void *b)
{
	const struct metrics_group *x = *(const struct metrics_group *const *)a;
	const struct metrics_group *y = *(const struct metrics_group *const *)b;

	return x->live_gen < y->live_gen ? -1 : x->live_gen > y->live_gen;
}

/*
 * Groups with no client now beyond METRICS_IDLE_GROUPS_MAX go, those idle
 * longest first: names a program made up once must not pile up. Their
 * series end. Returns 0 or -ENOMEM.
 */
static int evict(struct metrics_agg *a)
{
	struct metrics_group **idle;
	size_t i, j, n = 0;

	for (i = 0; i < a->ngroups; i++)
		n += a->groups[i].live_gen != a->gen;
	if (n <= METRICS_IDLE_GROUPS_MAX)
		return 0;
	idle = malloc(n * sizeof(*idle));
	if (!idle)
		return -ENOMEM;
	for (i = 0, j = 0; i < a->ngroups; i++)
		if (a->groups[i].live_gen != a->gen)
			idle[j++] = &a->groups[i];
	qsort(idle, n, sizeof(*idle), by_age);
	for (i = 0; i < n - METRICS_IDLE_GROUPS_MAX; i++)
		idle[i]->live_gen = UINT64_MAX;	/* marked to go */
	free(idle);
	for (i = 0, j = 0; i < a->ngroups; i++)
		if (a->groups[i].live_gen != UINT64_MAX)
			a->groups[j++] = a->groups[i];
	a->ngroups = j;
	return 0;
}

/* The groups anew from the old ones, the clients gone and @cur. */
static int regroup(struct metrics_agg *a, const struct zcs_status_client *cur,
		   size_t ncur)
{
	struct metrics_group *groups = NULL;
	struct part *p;
	size_t i, np, ng = 0;

	p = calloc(a->ngroups + a->nseen + ncur + 1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	for (np = 0; np < a->ngroups; np++) {
		p[np].uid = a->groups[np].uid;
		memcpy(p[np].program, a->groups[np].program,
		       sizeof(p[np].program));
		p[np].group = &a->groups[np];
	}
	np += parts_gone(a, cur, ncur, p + np);
	for (i = 0; i < ncur; i++)
		part_client(&p[np++], &cur[i], 1);
	qsort(p, np, sizeof(*p), by_key);
	groups = calloc(np + 1, sizeof(*groups));
	if (!groups) {
		free(p);
		return -ENOMEM;
	}
	for (i = 0; i < np; ng++)
		i = fold(p, np, i, a->gen, &groups[ng]);
	free(p);
	free(a->groups);
	a->groups = groups;
	a->ngroups = ng;
	return evict(a);
}

/*
 * When the service began, on our clock (both are CLOCK_MONOTONIC of this
 * host): when SERVICE came less the service's uptime. 0: not known.
 */
static uint64_t service_start(const struct ctl_status *st)
{
	if (!st->have_svc || st->svc_seen_ms <= st->svc.service_uptime_ms)
		return 0;
	return st->svc_seen_ms - st->svc.service_uptime_ms;
}

/*
 * Is @st from another service than @a's last update? A hand-over keeps
 * clients, their ids and the counters, and starts a new process (a new
 * pid under systemd, a new uptime either way), so where SERVICE says when
 * the service began that decides, within the time a fetch may take;
 * else a new pid or an uptime that went back does.
 */
static int started_over(const struct metrics_agg *a,
			const struct ctl_status *st)
{
	uint64_t start = service_start(st);

	if (start && a->svc_start_ms)
		return start > a->svc_start_ms + METRICS_START_SLACK_MS ||
		       start + METRICS_START_SLACK_MS < a->svc_start_ms;
	return st->d.pid != a->daemon_pid || st->d.uptime_ms < a->uptime_ms;
}

/*
 * metrics_agg_update - group the clients of @st (a reply of the daemon
 * that @a saw before, or of a new one: then @a starts over), adding to
 * their groups the clients gone since the last update. Returns 0 or
 * -ENOMEM (@a is then as before, or empty).
 */
int metrics_agg_update(struct metrics_agg *a, const struct ctl_status *st)
{
	struct zcs_status_client *cur;
	int err;

	if (started_over(a, st))
		metrics_agg_free(a);
	a->daemon_pid = st->d.pid;
	a->uptime_ms = st->d.uptime_ms;
	a->svc_start_ms = service_start(st);
	cur = malloc((st->nclients + 1) * sizeof(*cur));
	if (!cur)
		return -ENOMEM;
	if (st->nclients)
		memcpy(cur, st->clients, st->nclients * sizeof(*cur));
	qsort(cur, st->nclients, sizeof(*cur), by_id);
	a->gen++;
	err = regroup(a, cur, st->nclients);
	if (err) {
		free(cur);
		metrics_agg_free(a);
		return err;
	}
	free(a->seen);
	a->seen = cur;
	a->nseen = st->nclients;
	return 0;
}

/* metrics_agg_free - everything @a holds; it is left empty. */
void metrics_agg_free(struct metrics_agg *a)
{
	free(a->groups);
	free(a->seen);
	memset(a, 0, sizeof(*a));
}
