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
 * A client's quantum per round, times its weight: about 15 us of the
 * kernel's send work here (32 16-byte datagrams, or 2 records of 64 KB),
 * which is what a light client waits behind a heavy one in a round.
 */
#define SCHED_QUANTUM		(128u << 10)

/*
 * The most one pass of the loop submits (sched_pass), however many
 * clients, messages or rings bring work; then the loop looks at its
 * sockets and rings again, so a client that arrives waits at most this
 * much kernel work: 128 16-byte datagrams, or 8 records of 64 KB.
 * Measured with zcsend-bench --fairness and the 64 KB rows: 4 MiB kept a
 * client alone at its old throughput but let a canary wait 1-3 ms behind
 * a flood; 256 KiB gave the canary p99 0.2-0.4 ms but cost 512 sends in
 * flight 40% (a pass's epoll_wait and io_uring_enter per 4 records);
 * 512 KiB: canary p99 0.2-1.5 ms, 0.85x the old throughput.
 */
#define SCHED_TURN_COST		(512u << 10)

/*
 * A pass's cost while one client has had the scheduler to itself for
 * SCHED_CONTENDED_NS: nobody waits behind it, and a longer pass spends
 * fewer epoll_wait and io_uring_enter calls per send (512 KiB passes gave
 * 512 sends of 64 KB in flight 0.85x the throughput of 4 MiB ones). A
 * second client seen within that time brings SCHED_TURN_COST back.
 */
#define SCHED_PASS_ALONE	(4u << 20)
#define SCHED_CONTENDED_NS	10000000u

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
