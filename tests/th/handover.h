/* SPDX-License-Identifier: MIT */
/*
 * tests/th/handover.c: driving a hand-over from a test (UPGRADE over an
 * admin connection, or SIGUSR2), reading the SERVICE record that counts
 * them, and the daemon's descriptors and pinned memory to compare.
 */
#ifndef ZCS_TH_HANDOVER_H
#define ZCS_TH_HANDOVER_H

#include <sys/types.h>
#include <stdint.h>

#include "raw.h"
#include "zcs_proto.h"

/* th_handover_admin - connect and say HELLO without a pool; 0 or -errno. */
int th_handover_admin(struct th_raw *r, const char *sock);
/*
 * th_handover_upgrade - send UPGRADE and read the answer within
 * @timeout_ms. Returns 0 on OK, the ERROR's -errno (its text in @why,
 * which may be NULL), -ECONNRESET when the daemon closed instead,
 * -ETIMEDOUT, or another -errno (said on stderr).
 */
int th_handover_upgrade(struct th_raw *r, char *why, size_t size,
			int timeout_ms);
/* th_handover_upgrade_send - send UPGRADE, read nothing. 0 or -errno. */
int th_handover_upgrade_send(struct th_raw *r);
/* th_handover_upgrade_answer - read the answer to an UPGRADE sent
 * before; returns as th_handover_upgrade. */
int th_handover_upgrade_answer(struct th_raw *r, char *why, size_t size,
			       int timeout_ms);
/*
 * th_handover_service - SERVICE, answered by SERVICE_INFO within
 * @timeout_ms (the answer waits while a hand-over is under way). 0, the
 * ERROR's -errno (text in @why if not NULL), or -errno.
 */
int th_handover_service(struct th_raw *r, struct zcs_service *out,
			char *why, size_t size, int timeout_ms);
/*
 * th_handover_wait - ask SERVICE until it counts @count hand-overs, for
 * up to @timeout_ms. 0 (with the last answer in @out), or -errno (with
 * the reason on stderr).
 */
int th_handover_wait(struct th_raw *r, uint32_t count,
		     struct zcs_service *out, int timeout_ms);

/* What a hand-over must give back as it found: fds, pinned buffers. */
struct th_handover_res {
	int fds;
	long pinned_kb;		/* the io_uring's registered buffers */
};

/* th_handover_res_read - @pid's open fds and its ring's pinned buffers. */
void th_handover_res_read(pid_t pid, struct th_handover_res *out);

#endif /* ZCS_TH_HANDOVER_H */
