/* SPDX-License-Identifier: MIT */
/*
 * The scheduling seam: what intake has checked waits on its client's
 * queue until the scheduler (sched.c, deficit round robin by cost between
 * clients) hands it to the operations stage (serve.c).
 */
#ifndef SCHED_H
#define SCHED_H

#include "ops/ops.h"

/*
 * The cost of a send beyond its bytes: one UDP datagram, or one TCP SQE,
 * stands for the kernel's work per packet (a buffer, the headers, a pass
 * through the stack), measured on loopback at about what copying 4 KB
 * costs. So 64 KB cut into 16-byte datagrams costs about 4,096 times
 * what 64 KB in one datagram does, as it does the CPU.
 */
#define SCHED_DGRAM_COST	4096u

/*
 * A client's quantum per round, times its weight: about 30 us of the
 * kernel's send work here (64 16-byte datagrams, or 4 records of 64 KB),
 * which is what a light client waits behind a heavy one.
 */
#define SCHED_QUANTUM		(128u << 10)

/*
 * The most one turn submits, for a client alone (several share a turn
 * round by round, one round per turn): then the loop runs its other
 * events, and a client that arrives waits at most this much kernel work
 * (about 1,000 16-byte datagrams, 0.5 ms on loopback, or 60 records of
 * 64 KB). Measured: 1 MiB (15 such records a turn) cut a client alone
 * with 512 of them in flight over the rings to 1/20 of its throughput
 * (its completions came back in smaller bunches than the flush policy's
 * batch_max, it seems); 4 MiB keeps it.
 */
#define SCHED_TURN_COST		(256u << 10)

/*
 * SEND records taken from one client's ring per turn, so none starves
 * others; enough for a few full GSO sends of MTU-sized datagrams (44 of
 * 1472 bytes each), which a run coalesces only within one turn.
 */
#define SCHED_RING_BUDGET	128u

/* The cost of @bytes sent in datagrams (or TCP SQEs) of @seg bytes. */
static inline int64_t sched_cost(uint64_t bytes, uint32_t seg)
{
	return (int64_t)(bytes + (bytes + seg - 1) / seg * SCHED_DGRAM_COST);
}

/* What one visit of a client is gathering: TCP flows, a UDP run. */
struct sched_visit {
	struct flow *touched[ZCS_SEND_BATCH_MAX];
	uint32_t ntouched;
	struct coalesce run;
};

/* sched.c */
int sched_init(struct zcsd *d);
void sched_fini(struct zcsd *d);
void sched_clock(struct zcsd *d);
void sched_pass(struct zcsd *d);
uint32_t sched_budget(const struct client *c, uint32_t avail);
void sched_put(struct client *c, struct req *r);
void sched_run(struct client *c);
void sched_forget(struct client *c);

/* serve.c */
int64_t serve_client(struct client *c, int64_t allow);

#endif /* SCHED_H */
