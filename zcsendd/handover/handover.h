/* SPDX-License-Identifier: MIT */
/*
 * Restart without dropping clients (handover/): the old process stops
 * taking records, lets the kernel finish what it holds, writes its state
 * into a sealed memfd and passes it, with every descriptor the state
 * names, to the next process, which checks it as strictly as wire input
 * and resumes. Two ways out: re-executing ourselves (zcsendctl upgrade,
 * SIGUSR2) or systemd's fd store (SIGTERM while FDSTORE is set, so
 * `systemctl restart` keeps clients). The state, d->handover, is this
 * component's; status reads the counters.
 */
#ifndef ZCSD_HANDOVER_H
#define ZCSD_HANDOVER_H

#include <stdbool.h>
#include <stdint.h>

struct zcsd;
struct client;
struct hs_state;

enum handover_mode {
	HANDOVER_NONE = 0,
	HANDOVER_EXEC,		/* re-execute the installed binary in place */
	HANDOVER_FDSTORE,	/* into systemd's fd store, then exit */
};

struct handover {
	/* Carried from process to process. */
	uint64_t service_start_ms;	/* CLOCK_MONOTONIC: the first start */
	uint32_t count;			/* hand-overs so far */
	uint32_t last_clients;		/* clients the last one carried */
	uint64_t last_us;		/* the last one's blackout */
	/* This process's. */
	enum handover_mode mode;	/* one under way, or NONE */
	uint64_t begin_ns;		/* when intake stopped */
	uint64_t deadline_ms;		/* when waiting for the kernel ends */
	struct event *timer;		/* looks whether the kernel is done */
	char exe[4096];			/* our binary's path, read at start */
	char **argv;			/* our command line, for the exec */
	struct hs_state *adopted;	/* a state being resumed at start */
	int *fds;			/* ... the descriptors beside it */
	int ring_fd;			/* ... the ring an exec kept, or -1 */
	uint32_t nfds;
	struct dest **dests;		/* ... its destinations, adopted */
	bool *reserved;			/* ... pinned pools' old ranges held */
};

int handover_init(struct zcsd *d, char **argv);
void handover_fini(struct zcsd *d);
int handover_start(struct zcsd *d, enum handover_mode mode, const char *why);
bool handover_fdstore_ready(const struct zcsd *d);
int handover_take(struct zcsd *d);
int handover_ring(struct zcsd *d);
void handover_listener(struct zcsd *d);
void handover_dests(struct zcsd *d);
int handover_resume(struct zcsd *d);

#endif /* ZCSD_HANDOVER_H */
