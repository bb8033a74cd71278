/* SPDX-License-Identifier: MIT */
/*
 * Kernel feature probes, run once at start on the daemon's ring. A missing
 * feature means a fallback (copying sends, no usage reports), not a crash.
 * REPORT_USAGE has no probe bit, so one byte is sent on loopback to see
 * whether the kernel accepts the flag.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "zcsd.h"

/* A connected pair of UDP sockets on 127.0.0.1. */
static int probe_udp_pair(int fds[2])
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fds[0] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	fds[1] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fds[0] < 0 || fds[1] < 0 ||
	    bind(fds[0], (struct sockaddr *)&sa, sizeof(sa)) ||
	    getsockname(fds[0], (struct sockaddr *)&sa, &len) ||
	    connect(fds[1], (struct sockaddr *)&sa, sizeof(sa)))
		return -errno;
	return 0;
}

/* Send one byte with REPORT_USAGE and collect every CQE it yields. */
static int probe_report_usage(struct io_uring *ring)
{
	static const char byte = 'z';
	struct __kernel_timespec ts = { .tv_sec = 1 };
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	int fds[2] = { -1, -1 };
	int ret, more = 1, ok = 0;

	if (probe_udp_pair(fds))
		goto out;
	sqe = io_uring_get_sqe(ring);
	if (!sqe)
		goto out;
	io_uring_prep_send_zc(sqe, fds[1], &byte, 1, 0,
			      IORING_SEND_ZC_REPORT_USAGE);
	sqe->user_data = UD_IGNORE;
	if (io_uring_submit(ring) != 1)
		goto out;
	while (more) {
		ret = io_uring_wait_cqe_timeout(ring, &cqe, &ts);
		if (ret)
			break;
		if (!(cqe->flags & IORING_CQE_F_NOTIF)) {
			ok = cqe->res == 1;
			more = cqe->flags & IORING_CQE_F_MORE;
		} else {
			more = 0;
		}
		io_uring_cqe_seen(ring, cqe);
	}
out:
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	return ok;
}

/* probe_features - ZCS_FEAT_* bits for what this kernel offers. */
uint32_t probe_features(struct io_uring *ring)
{
	struct io_uring_probe *p = io_uring_get_probe_ring(ring);
	uint32_t feat = 0;

	if (p) {
		if (io_uring_opcode_supported(p, IORING_OP_SEND_ZC))
			feat |= ZCS_FEAT_SEND_ZC;
		if (io_uring_opcode_supported(p, IORING_OP_SENDMSG_ZC))
			feat |= ZCS_FEAT_SENDMSG_ZC;
		io_uring_free_probe(p);
	}
	if ((feat & ZCS_FEAT_SEND_ZC) && probe_report_usage(ring))
		feat |= ZCS_FEAT_REPORT_USAGE;
	return feat;
}

void probe_log(uint32_t f)
{
	log_info("kernel features: send_zc %s, sendmsg_zc %s, report_usage %s, "
		 "defer_taskrun %s, single_issuer %s",
		 f & ZCS_FEAT_SEND_ZC ? "yes" : "no",
		 f & ZCS_FEAT_SENDMSG_ZC ? "yes" : "no",
		 f & ZCS_FEAT_REPORT_USAGE ? "yes" : "no",
		 f & ZCS_FEAT_DEFER_TASKRUN ? "yes" : "no",
		 f & ZCS_FEAT_SINGLE_ISSUER ? "yes" : "no");
	if (!(f & ZCS_FEAT_SEND_ZC))
		log_warnx("no IORING_OP_SEND_ZC: every send will be a copy");
}
