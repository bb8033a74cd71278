/* SPDX-License-Identifier: MIT */
/*
 * Driving a hand-over the way zcsendctl upgrade does (UPGRADE over an
 * admin connection: OK once begun, or ERROR), and reading SERVICE, whose
 * hand-over count tells a test that the new process has resumed: the pid
 * stays the same across the re-exec, so nothing else shows it.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "handover.h"
#include "util.h"

int th_handover_admin(struct th_raw *r, const char *sock)
{
	int ret = th_raw_connect(r, sock);

	if (!ret)
		ret = th_raw_hello(r, 0, "handover-admin");
	return ret;
}

int th_handover_upgrade_send(struct th_raw *r)
{
	return th_raw_send_msg(r, ZCS_MSG_UPGRADE, ZCS_PROTO_VERSION, NULL, 0);
}

/* An ERROR's -errno, its text into @why. */
static int error_of(const void *payload, int n, char *why, size_t size)
{
	struct zcs_error e;

	memset(&e, 0, sizeof(e));
	memcpy(&e, payload, (size_t)n < sizeof(e) ? (size_t)n : sizeof(e));
	e.msg[sizeof(e.msg) - 1] = '\0';
	if (why && size)
		snprintf(why, size, "%s", e.msg);
	return e.err < 0 ? e.err : -EPROTO;
}

/* Read one answer of type @want (payload into @out, up to @cap bytes):
 * its length, an ERROR's -errno, or -errno. */
static int answer(struct th_raw *r, uint16_t want, void *out, size_t cap,
		  char *why, size_t size, int timeout_ms)
{
	unsigned char buf[512];
	struct zcs_hdr h;
	int n;

	n = th_raw_recv(r, &h, buf, sizeof(buf), NULL, timeout_ms);
	if (n < 0)
		return n;
	if (h.type == ZCS_MSG_ERROR)
		return error_of(buf, n, why, size);
	if (h.type != want) {
		fprintf(stderr, "handover: got %s, want %s\n",
			zcs_msg_name(h.type), zcs_msg_name(want));
		return -EPROTO;
	}
	if (cap)
		memcpy(out, buf, (size_t)n < cap ? (size_t)n : cap);
	return n;
}

int th_handover_upgrade_answer(struct th_raw *r, char *why, size_t size,
			       int timeout_ms)
{
	int ret;

	if (why && size)
		why[0] = '\0';
	ret = answer(r, ZCS_MSG_OK, NULL, 0, why, size, timeout_ms);
	return ret < 0 ? ret : 0;
}

int th_handover_upgrade(struct th_raw *r, char *why, size_t size,
			int timeout_ms)
{
	int ret = th_handover_upgrade_send(r);

	if (why && size)
		why[0] = '\0';
	return ret ? ret : th_handover_upgrade_answer(r, why, size,
						      timeout_ms);
}

int th_handover_service(struct th_raw *r, struct zcs_service *out,
			char *why, size_t size, int timeout_ms)
{
	int ret;

	if (why && size)
		why[0] = '\0';
	memset(out, 0, sizeof(*out));
	ret = th_raw_send_msg(r, ZCS_MSG_SERVICE, ZCS_PROTO_VERSION, NULL, 0);
	if (ret)
		return ret;
	ret = answer(r, ZCS_MSG_SERVICE_INFO, out, sizeof(*out), why, size,
		     timeout_ms);
	if (ret >= 0 && ret != (int)sizeof(*out))
		return -EBADMSG;
	return ret < 0 ? ret : 0;
}

int th_handover_wait(struct th_raw *r, uint32_t count,
		     struct zcs_service *out, int timeout_ms)
{
	uint64_t end = th_now_ms() + (uint64_t)timeout_ms;
	char why[ZCS_ERRMSG_MAX];
	int ret;

	for (;;) {
		ret = th_handover_service(r, out, why, sizeof(why),
					  timeout_ms);
		if (ret) {
			fprintf(stderr, "handover: SERVICE: %s%s%s\n",
				strerror(-ret), why[0] ? ": " : "", why);
			return ret;
		}
		if (out->handovers >= count)
			return 0;
		if (th_now_ms() >= end) {
			fprintf(stderr, "handover: after %d ms SERVICE counts "
				"%u hand-overs, want %u\n", timeout_ms,
				out->handovers, count);
			return -ETIMEDOUT;
		}
		th_sleep_ms(10);
	}
}

/* @pid's io_uring's fdinfo, opened; NULL if it has none. */
static FILE *uring_fdinfo(pid_t pid)
{
	char path[64], link[64];
	ssize_t n;
	int fd;

	for (fd = 0; fd < 4096; fd++) {
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (strcmp(link, "anon_inode:[io_uring]"))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)pid, fd);
		return fopen(path, "r");
	}
	return NULL;
}

/*
 * The registered buffers' bytes, or -1 when the table was not listed:
 * the kernel lists it only when it gets the ring's lock at once.
 */
static long long uring_pinned_once(pid_t pid)
{
	unsigned long long addr, len, sum = 0;
	char line[256], none[16];
	bool listed = false;
	unsigned idx;
	FILE *f = uring_fdinfo(pid);

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, " %u: 0x%llx/%llu", &idx, &addr, &len) == 3) {
			sum += len;
			listed = true;
		} else if (sscanf(line, " %u: %15s", &idx, none) == 2 &&
			   !strcmp(none, "<none>")) {
			listed = true;
		}
	}
	fclose(f);
	return listed ? (long long)sum : -1;
}

/*
 * What the kernel holds pinned for @pid's io_uring: the registered buffers
 * its fdinfo lists ("N: 0xADDR/LEN"), asked again while the daemon holds
 * the ring's lock. VmPin cannot tell: an exec keeps the ring, whose pages
 * stay counted to the mm that registered them.
 */
static long uring_pinned_kb(pid_t pid)
{
	long long b = -1;
	int i;

	for (i = 0; i < 200 && b < 0; i++) {
		b = uring_pinned_once(pid);
		if (b < 0)
			th_sleep_ms(5);
	}
	return b < 0 ? -1 : (long)(b / 1024);
}

void th_handover_res_read(pid_t pid, struct th_handover_res *out)
{
	out->fds = th_fd_count(pid);
	out->pinned_kb = uring_pinned_kb(pid);
}
