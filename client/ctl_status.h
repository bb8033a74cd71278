/* SPDX-License-Identifier: MIT */
/*
 * zcsendctl: the daemon's state as one STATUS request returns it, shared by
 * `status` (a table or JSON) and `metrics` (the Prometheus text format,
 * printed or served), with the names both print for the enums.
 */
#ifndef CTL_STATUS_H
#define CTL_STATUS_H

#include <stddef.h>
#include <stdint.h>

#include "zcs_proto.h"

struct zcs_client;

/*
 * One STATUS reply: the daemon record, then every client and destination;
 * and the SERVICE reply asked after it, from a daemon that knows it.
 */
struct ctl_status {
	struct zcs_status_daemon d;
	struct zcs_status_client *clients;
	struct zcs_status_dest *dests;
	size_t nclients, ndests;
	struct zcs_service svc;
	int have_svc;		/* svc is the daemon's: an older one has none */
	uint64_t svc_seen_ms;	/* CLOCK_MONOTONIC when svc came */
};

/* A STATUS request under way, for a caller that does not wait for it. */
struct ctl_status_req {
	struct ctl_status st;	/* the reply so far */
	uint64_t cookie;
	int have_daemon;	/* its record came: it must come first */
	int64_t no_svc_pid;	/* a daemon that refused SERVICE, or -1 */
	int asked_svc;		/* SERVICE is out, under svc_cookie */
	uint64_t svc_cookie;
};

/* A kernel feature bit and the name status and metrics give it. */
struct ctl_feature {
	uint32_t bit;
	const char *name;
};

extern const struct ctl_feature ctl_features[];
extern const size_t ctl_nfeatures;

/* ctl_status.c */
int ctl_status_start(struct zcs_client *c, struct ctl_status_req *rq,
		     int64_t no_svc_pid);
int ctl_status_read(struct zcs_client *c, struct ctl_status_req *rq);
int ctl_status_fetch(struct zcs_client *c, struct ctl_status *st,
		     int timeout_ms);
void ctl_status_free(struct ctl_status *st);
const char *ctl_proto_name(uint16_t proto);
const char *ctl_flush_name(uint8_t flush);
const char *ctl_zc_name(uint8_t zc);
uint64_t ctl_zc(const struct zcs_counters *st);
uint64_t ctl_copied(const struct zcs_counters *st);
size_t ctl_utf8_seq(const unsigned char *s);
const char *ctl_transport_name(const struct zcs_status_client *c);
uint64_t ctl_sched_cost_sum(const struct ctl_status *st);
uint64_t ctl_sched_mean_ns(const struct zcs_sched_counters *s);
double ctl_sched_share(uint64_t cost, uint64_t total);

#endif /* CTL_STATUS_H */
