/* SPDX-License-Identifier: MIT */
/*
 * The UDP GSO tests' control connection: the daemon's totals and one
 * destination's record from STATUS, and POLICY, over a raw connection of
 * their own so the client under test sees none of it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gso.h"

/* One STATUS exchange; keeps the daemon record and the one for @addr. */
static int status_read(struct th_raw *r, struct zcs_status_daemon *d,
		       const char *addr, struct zcs_status_dest *dest)
{
	unsigned char buf[sizeof(struct zcs_status_dest) * 2];
	struct zcs_status_dest sd;
	struct zcs_hdr h;
	int n, found = !addr;

	n = th_raw_send_msg(r, ZCS_MSG_STATUS, ZCS_PROTO_VERSION, NULL, 0);
	while (n == 0) {
		n = th_raw_recv(r, &h, buf, sizeof(buf), NULL, 5000);
		if (n < 0)
			return n;
		n = 0;
		if (h.type == ZCS_MSG_STATUS_DAEMON) {
			memcpy(d, buf, sizeof(*d));
		} else if (h.type == ZCS_MSG_STATUS_DEST && addr) {
			memcpy(&sd, buf, sizeof(sd));
			if (!strncmp(sd.address, addr, sizeof(sd.address))) {
				*dest = sd;
				found = 1;
			}
		} else if (h.type == ZCS_MSG_STATUS_END) {
			return found ? 0 : -ENOENT;
		}
	}
	return n;
}

void gso_status(const char *sock, struct zcs_status_daemon *d,
		const char *addr, struct zcs_status_dest *dest)
{
	struct th_raw r;
	int err;

	TH_EQ(th_raw_connect(&r, sock), 0);
	TH_EQ(th_raw_hello(&r, 0, "gso-status"), 0);
	err = status_read(&r, d, addr, dest);
	th_raw_close(&r);
	TH_CHECK(err == 0, "status for %s: %s", addr ? addr : "daemon",
		 strerror(-err));
}

int gso_policy(const char *sock, const char *dest, const char *settings)
{
	struct zcs_policy m;
	struct zcs_error e;
	struct zcs_hdr h;
	struct th_raw r;
	int n;

	memset(&m, 0, sizeof(m));
	snprintf(m.dest, sizeof(m.dest), "%s", dest);
	snprintf(m.settings, sizeof(m.settings), "%s", settings);
	TH_EQ(th_raw_connect(&r, sock), 0);
	TH_EQ(th_raw_hello(&r, 0, "gso-policy"), 0);
	n = th_raw_send_msg(&r, ZCS_MSG_POLICY, ZCS_PROTO_VERSION, &m,
			    sizeof(m));
	if (!n)
		n = th_raw_recv(&r, &h, &e, sizeof(e), NULL, 5000);
	th_raw_close(&r);
	if (n < 0)
		return n;
	if (h.type == ZCS_MSG_OK)
		return 0;
	if (h.type == ZCS_MSG_ERROR) {
		fprintf(stderr, "policy %s %s: %.*s\n", dest, settings,
			(int)sizeof(e.msg), e.msg);
		return e.err < 0 ? e.err : -EPROTO;
	}
	return -EPROTO;
}
