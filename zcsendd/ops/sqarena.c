/* SPDX-License-Identifier: MIT */
/*
 * Memory for the message headers and iovecs of SENDMSG SQEs. The kernel
 * copies both when it consumes the SQE (IORING_FEAT_SUBMIT_STABLE, Linux
 * 5.5), so they need to live only until the next submit, not until the
 * send completes: one arena serves every client, and starts over whenever
 * no prepared SQE is still waiting for the kernel. What must outlive the
 * submit, the UDP_SEGMENT cmsg, lives in the request.
 */
#include <string.h>

#include "ops/ops.h"

/*
 * sqarena_msg - a zeroed message header with room for @niov iovecs
 * (msg_iovlen 0, to be filled in). Submits what is prepared when the
 * arena is full. Returns NULL when the kernel keeps the SQEs that point
 * into it: the caller fails or retries the send, as for a full SQ.
 */
struct msghdr *sqarena_msg(struct zcsd *d, uint32_t niov)
{
	struct sqarena *a = d->ring.arena;
	struct msghdr *m;

	if (niov > ARENA_IOVS)
		return NULL;
	if (a->nmsg == ARENA_MSGS || a->niov + niov > ARENA_IOVS)
		ring_submit(d);
	if (!d->ring.pending)
		a->nmsg = a->niov = 0;	/* nothing points into it now */
	if (a->nmsg == ARENA_MSGS || a->niov + niov > ARENA_IOVS)
		return NULL;
	m = &a->msg[a->nmsg++];
	memset(m, 0, sizeof(*m));
	m->msg_iov = &a->iov[a->niov];
	a->niov += niov;
	return m;
}
