/* SPDX-License-Identifier: MIT */
/*
 * zcsendctl upgrade: ask the daemon to hand over to a new process of its
 * installed binary (UPGRADE), then watch it happen on the same connection,
 * which is carried across like every client's: SERVICE every 50 ms until
 * the hand-overs count one more, and one line says what it cost clients.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "libzcsend_int.h"
#include "zcsendctl.h"

#define UPGRADE_TIMEOUT_S	60
#define UPGRADE_TIMEOUT_MAX	86400
#define UPGRADE_POLL_MS		50

/* --timeout SEC: whole seconds, 1 to a day. 0, or -EINVAL (said). */
static int timeout_parse(const char *s, int *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || errno || v == 0 ||
	    v > UPGRADE_TIMEOUT_MAX) {
		ctl_errx("upgrade: --timeout takes seconds, 1 to %d",
			 UPGRADE_TIMEOUT_MAX);
		return -EINVAL;
	}
	*out = (int)v;
	return 0;
}

static int upgrade_opts(int argc, char **argv, const char **sock,
			int *timeout_s)
{
	const char *val = NULL;
	int i, r;

	for (i = 1; i < argc; i++) {
		r = ctl_opt(argc, argv, &i, "-s", sock);
		if (r == 0)
			r = ctl_opt(argc, argv, &i, "--timeout", &val);
		if (r > 0 && val)
			r = timeout_parse(val, timeout_s) ? -EINVAL : 1;
		val = NULL;
		if (r == 0)
			ctl_errx("usage: zcsendctl upgrade [--timeout SEC]");
		if (r <= 0)
			return -EINVAL;
	}
	return 0;
}

/*
 * The answer to @cookie, or an ERROR whatever its cookie (a daemon that
 * does not know the request, or a new process that refused the state,
 * answers with cookie 0), copied to @e, by @deadline. Returns the type,
 * or -errno (-EPIPE: the daemon closed the connection).
 */
static int reply_wait(struct zcs_client *c, uint64_t cookie,
		      int64_t deadline, struct zcs_error *e)
{
	struct zcs_hdr hdr;
	int n;

	for (;;) {
		n = zcsi_recv(c, &hdr);
		if (n < 0)
			return n;
		if (n > 0 && hdr.type == ZCS_MSG_ERROR) {
			memcpy(e, zcsi_payload(c), sizeof(*e));
			return ZCS_MSG_ERROR;
		}
		if (n > 0 && hdr.type != ZCS_MSG_COMPLETE)
			return hdr.cookie == cookie ? hdr.type :
			       zcsi_unexpected(c, &hdr);
		if (n > 0)
			continue;	/* a control-only client has none */
		if (zcsi_remaining(deadline) == 0)
			return -ETIMEDOUT;
		n = zcsi_wait_io(c, zcsi_remaining(deadline));
		if (n < 0)
			return n;
	}
}

/* One request of @type and its answer, as reply_wait(); SERVICE_INFO
 * goes to @svc. */
static int ask(struct zcs_client *c, uint16_t type, int64_t deadline,
	       struct zcs_service *svc, struct zcs_error *e)
{
	uint64_t cookie;
	int n = zcsi_request(c, type, NULL, 0, &cookie);

	if (!n)
		n = reply_wait(c, cookie, deadline, e);
	if (n == ZCS_MSG_SERVICE_INFO && type == ZCS_MSG_SERVICE)
		memcpy(svc, zcsi_payload(c), sizeof(*svc));
	else if (n >= 0 && n != ZCS_MSG_ERROR &&
		 !(n == ZCS_MSG_OK && type == ZCS_MSG_UPGRADE))
		n = -EPROTO;
	return n;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
			       .tv_nsec = (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/*
 * After OK: SERVICE every UPGRADE_POLL_MS (one at a time: while the
 * hand-over is under way nobody reads it, and the new process answers)
 * until the count passes @before. Returns ZCS_MSG_SERVICE_INFO with
 * @svc, ZCS_MSG_ERROR with @e, or -errno.
 */
static int upgrade_wait(struct zcs_client *c, uint32_t before,
			int64_t deadline, struct zcs_service *svc,
			struct zcs_error *e)
{
	int n;

	for (;;) {
		n = ask(c, ZCS_MSG_SERVICE, deadline, svc, e);
		if (n != ZCS_MSG_SERVICE_INFO || svc->handovers > before)
			return n;
		if (zcsi_remaining(deadline) == 0)
			return -ETIMEDOUT;
		sleep_ms(UPGRADE_POLL_MS);
	}
}

/*
 * Say why the upgrade failed: refused (@begun 0: the daemon's reason), or
 * after the OK, while the hand-over was under way. Returns CTL_FAIL.
 */
static int upgrade_fail(int begun, int n, const struct zcs_error *e,
			int timeout_s, uint32_t before)
{
	const char *when = begun ? " during the hand-over" : "";

	if (n == ZCS_MSG_ERROR)
		ctl_errx("upgrade%s: %s", begun ? " failed" : "", e->msg);
	else if (n == -EPIPE)
		ctl_errx("upgrade: zcsendd closed the connection%s (its log "
			 "says why)", when);
	else if (n == -ETIMEDOUT)
		ctl_errx("upgrade: no hand-over seen within %d s (hand-overs "
			 "still %u)", timeout_s, before);
	else
		ctl_err("upgrade", n);
	return CTL_FAIL;
}

int cmd_upgrade(int argc, char **argv, const char *sock)
{
	int timeout_s = UPGRADE_TIMEOUT_S, begun = 0, n;
	struct zcs_client *c = NULL;
	struct zcs_service svc;
	struct zcs_error e;
	int64_t deadline;
	uint32_t before;

	if (upgrade_opts(argc, argv, &sock, &timeout_s))
		return CTL_USAGE;
	if (ctl_open(sock, &c))
		return CTL_FAIL;	/* said why */
	deadline = zcsi_deadline(timeout_s * 1000);
	n = ask(c, ZCS_MSG_SERVICE, deadline, &svc, &e);
	if (n == ZCS_MSG_ERROR)
		snprintf(e.msg, sizeof(e.msg), "this zcsendd does not know "
			 "SERVICE: it is older than zcsendctl, restart it");
	if (n != ZCS_MSG_SERVICE_INFO) {
		zcs_close(c);
		return upgrade_fail(0, n, &e, timeout_s, 0);
	}
	before = svc.handovers;
	n = ask(c, ZCS_MSG_UPGRADE, deadline, &svc, &e);
	if (n == ZCS_MSG_OK) {
		begun = 1;
		n = upgrade_wait(c, before, deadline, &svc, &e);
	}
	zcs_close(c);
	if (n != ZCS_MSG_SERVICE_INFO)
		return upgrade_fail(begun, n, &e, timeout_s, before);
	printf("upgraded: hand-over %u carried %u client%s, blackout %.1f ms, "
	       "pid %u\n", svc.handovers, svc.last_clients,
	       svc.last_clients == 1 ? "" : "s",
	       (double)svc.last_handover_us / 1000.0, svc.pid);
	return CTL_OK;
}
