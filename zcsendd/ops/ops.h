/* SPDX-License-Identifier: MIT */
/*
 * Operations: the SQEs a request leaves as (one send, a TCP chain, GSO
 * sends of a segmented record or of a coalesced run) and the arena their
 * message headers live in. A leaf: what it builds never calls back into
 * the scheduler or completion; it tells its caller what to do next.
 */
#ifndef OPS_H
#define OPS_H

#include "zcsd.h"

/*
 * Message headers and iovecs that SENDMSG SQEs point at. The kernel has
 * read them once it has consumed the SQE (IORING_FEAT_SUBMIT_STABLE), so
 * the arena starts over whenever no prepared SQE is left unsubmitted.
 */
#define ARENA_MSGS	256
#define ARENA_IOVS	4096

struct sqarena {
	uint32_t nmsg, niov;
	struct msghdr msg[ARENA_MSGS];
	struct iovec iov[ARENA_IOVS];
};

/* sqarena.c */
struct msghdr *sqarena_msg(struct zcsd *d, uint32_t niov);

/* sendop.c */
int sendop_prep(struct req *r, bool link);
int sendop_prep_range(struct req *r, uint64_t start, uint32_t len,
		      bool link);
bool sendop_use_zc(const struct req *r, uint32_t len);

/* udpseg.c */
/* Plain UDP records being gathered into one GSO send. */
struct coalesce {
	struct req *lead, *last;	/* linked by req.grp */
	uint32_t n, bytes;
	uint32_t frags;		/* memory fragments a zerocopy send needs */
	uint64_t end;		/* pool offset where the last record ends */
	bool closed;		/* a shorter record ended it */
	struct req *failed;	/* runs that could not go: by req.next */
};
bool udpseg_join(struct coalesce *g, struct req *r);
void udpseg_flush(struct coalesce *g);
void udpseg_next(struct req *r);
struct req *udpseg_result(struct req *r, int res);

/* tcpchain.c */
int tcpchain_start(struct flow *f);
void tcpchain_end(struct flow *f, struct req_list *done,
		  struct req_list *again);
void tcpchain_requeue(struct flow *f, struct req_list *l);

#endif /* OPS_H */
