/* SPDX-License-Identifier: MIT */
/*
 * Kernel feature probes, run once at start on the daemon's ring. A missing
 * feature means a fallback (copying sends, no usage reports), not a crash.
 * REPORT_USAGE has no probe bit, so one byte is sent on loopback to see
 * whether the kernel accepts the flag. UDP segmentation is probed the same
 * way: a kernel without it ignores the cmsg and sends one datagram.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "zcsd.h"
#include "service/probe.h"

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

/*
 * Submit the one zerocopy send prepared on @ring and collect every CQE it
 * yields, its notification too. Whether it sent its one byte.
 */
static bool probe_sent_one(struct io_uring *ring)
{
	struct __kernel_timespec ts = { .tv_sec = 1 };
	struct io_uring_cqe *cqe;
	int more = 1, ok = 0;

	if (io_uring_submit(ring) != 1)
		return false;
	while (more && !io_uring_wait_cqe_timeout(ring, &cqe, &ts)) {
		if (!(cqe->flags & IORING_CQE_F_NOTIF)) {
			ok = cqe->res == 1;
			more = cqe->flags & IORING_CQE_F_MORE;
		} else {
			more = 0;
		}
		io_uring_cqe_seen(ring, cqe);
	}
	return ok;
}

static void probe_close(int fds[2])
{
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
}

/* Does the kernel take IORING_SEND_ZC_REPORT_USAGE? One byte tells. */
static bool probe_report_usage(struct io_uring *ring)
{
	static const char byte = 'z';
	struct io_uring_sqe *sqe;
	int fds[2] = { -1, -1 };
	bool ok = false;

	if (!probe_udp_pair(fds) && (sqe = io_uring_get_sqe(ring))) {
		io_uring_prep_send_zc(sqe, fds[1], &byte, 1, 0,
				      IORING_SEND_ZC_REPORT_USAGE);
		sqe->user_data = UD_IGNORE;
		ok = probe_sent_one(ring);
	}
	probe_close(fds);
	return ok;
}

/* Send @n bytes as @n one-byte datagrams with a UDP_SEGMENT cmsg. */
static ssize_t probe_gso_send(int fd, uint32_t n)
{
	static char bytes[128];	/* zeros; sendmsg takes no const */
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = bytes, .iov_len = n };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
	uint16_t seg = 1;

	cm->cmsg_level = SOL_UDP;
	cm->cmsg_type = UDP_SEGMENT;
	cm->cmsg_len = CMSG_LEN(sizeof(seg));
	memcpy(CMSG_DATA(cm), &seg, sizeof(seg));
	return sendmsg(fd, &m, MSG_DONTWAIT);
}

/*
 * How many datagrams one GSO send may carry (UDP_MAX_SEGMENTS: 64, 128
 * since Linux 6.10), or 0 without UDP segmentation: a kernel without it
 * refuses the socket option (ENOPROTOOPT), and one that took the option
 * but not the cmsg would deliver the whole send as the first datagram.
 */
static uint32_t probe_udp_gso(void)
{
	static const uint32_t counts[] = { 128, 64 };
	char buf[128];
	int fds[2] = { -1, -1 }, one = 1;
	uint32_t i, segs = 0;

	if (probe_udp_pair(fds) ||
	    setsockopt(fds[1], SOL_UDP, UDP_SEGMENT, &one, sizeof(one)))
		goto out;
	for (i = 0; i < sizeof(counts) / sizeof(counts[0]) && !segs; i++)
		if (probe_gso_send(fds[1], counts[i]) == counts[i])
			segs = counts[i];
	if (segs && recv(fds[0], buf, sizeof(buf), MSG_DONTWAIT) != 1)
		segs = 0;
out:
	probe_close(fds);
	return segs;
}

/* Fill slot 0 of the (empty, sparse) buffer table with @buf, or empty it. */
static int probe_slot(struct io_uring *ring, void *buf, size_t len)
{
	struct iovec iov = { .iov_base = buf, .iov_len = buf ? len : 0 };
	__u64 tag = 0;

	return io_uring_register_buffers_update_tag(ring, 0, &iov, &tag, 1) == 1
		       ? 0 : -EIO;
}

/*
 * Does SENDMSG_ZC take registered buffers (IORING_RECVSEND_FIXED_BUF,
 * Linux 6.15)? Older kernels refuse the flag with EINVAL. One byte from
 * slot 0, which no client holds yet.
 */
static bool probe_sendmsg_zc_fixed(struct io_uring *ring)
{
	static char byte[64] = "z";
	struct iovec iov = { .iov_base = byte, .iov_len = 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct io_uring_sqe *sqe;
	int fds[2] = { -1, -1 };
	bool ok = false;

	if (probe_slot(ring, byte, sizeof(byte)))
		return false;
	if (!probe_udp_pair(fds) && (sqe = io_uring_get_sqe(ring))) {
		io_uring_prep_sendmsg_zc(sqe, fds[1], &m, 0);
		sqe->ioprio |= IORING_RECVSEND_FIXED_BUF;
		sqe->buf_index = 0;
		sqe->user_data = UD_IGNORE;
		ok = probe_sent_one(ring);
	}
	probe_slot(ring, NULL, 0);
	probe_close(fds);
	return ok;
}

/*
 * probe_features - ZCS_FEAT_* bits for what this kernel offers, and in
 * @gso_max_segs the datagrams one UDP GSO send may carry (0: none).
 */
uint32_t probe_features(struct io_uring *ring, uint32_t *gso_max_segs)
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
	if ((feat & ZCS_FEAT_SENDMSG_ZC) && probe_sendmsg_zc_fixed(ring))
		feat |= ZCS_FEAT_SENDMSG_ZC_FIXED;
	if ((feat & ZCS_FEAT_SEND_ZC) && probe_report_usage(ring))
		feat |= ZCS_FEAT_REPORT_USAGE;
	*gso_max_segs = probe_udp_gso();
	if (*gso_max_segs)
		feat |= ZCS_FEAT_UDP_GSO;
	return feat;
}

void probe_log(uint32_t f, uint32_t gso_max_segs)
{
	log_info("kernel features: send_zc %s, sendmsg_zc %s, report_usage %s, "
		 "defer_taskrun %s, single_issuer %s, udp_gso %s (%u datagrams "
		 "per send), sendmsg_zc from fixed buffers %s",
		 f & ZCS_FEAT_SEND_ZC ? "yes" : "no",
		 f & ZCS_FEAT_SENDMSG_ZC ? "yes" : "no",
		 f & ZCS_FEAT_REPORT_USAGE ? "yes" : "no",
		 f & ZCS_FEAT_DEFER_TASKRUN ? "yes" : "no",
		 f & ZCS_FEAT_SINGLE_ISSUER ? "yes" : "no",
		 f & ZCS_FEAT_UDP_GSO ? "yes" : "no", gso_max_segs,
		 f & ZCS_FEAT_SENDMSG_ZC_FIXED ? "yes" : "no");
	if (!(f & ZCS_FEAT_SEND_ZC))
		log_warnx("no IORING_OP_SEND_ZC: every send will be a copy");
	if (!(f & ZCS_FEAT_UDP_GSO))
		log_warnx("no UDP segmentation offload (UDP_SEGMENT): "
			  "datagrams go one send each");
}
