/* SPDX-License-Identifier: MIT */
/*
 * zcsendctl reload and policy: administrative requests over a control-only
 * connection. The daemon answers OK or an ERROR whose text is printed as
 * it stands, so the user sees FILE:LINE or the accepted values.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "libzcsend_int.h"
#include "zcsendctl.h"

/* Send one request and wait for OK; print the daemon's reason if not,
 * or for an unknown @dest (NULL: none named) the words `send` uses. */
static int admin_request(const char *sock, uint16_t type, const void *payload,
			 size_t size, const char *what, const char *dest)
{
	struct zcs_client *c = NULL;
	struct zcs_error e;
	struct zcs_hdr hdr;
	uint64_t cookie;
	int err;

	if (ctl_open(sock, &c))
		return CTL_FAIL;	/* said why */
	err = zcsi_request(c, type, payload, size, &cookie);
	if (!err)
		err = zcsi_wait_reply(c, cookie, &hdr, zcsi_deadline(-1));
	if (err == ZCS_MSG_ERROR) {
		memcpy(&e, zcsi_payload(c), sizeof(e));
		if (dest && zcsi_remote_errno(e.err) == -ENOENT)
			ctl_no_dest(what, dest);
		else
			ctl_errx("%s: %s", what, e.msg);
		zcs_close(c);
		return CTL_FAIL;
	}
	if (err >= 0 && err != ZCS_MSG_OK)
		err = -EPROTO;
	zcs_close(c);
	if (err < 0) {
		ctl_err(what, err);
		return CTL_FAIL;
	}
	return CTL_OK;
}

/* Only -s may follow the command's own words. */
static int admin_opts(int argc, char **argv, int first, const char **sock,
		      int *nwords)
{
	int i, r;

	*nwords = 0;
	for (i = first; i < argc; i++) {
		if (argv[i][0] != '-') {
			argv[first + (*nwords)++] = argv[i];
			continue;
		}
		r = ctl_opt(argc, argv, &i, "-s", sock);
		if (r == 0)
			ctl_errx("unknown option %s", argv[i]);
		if (r <= 0)
			return -1;
	}
	return 0;
}

int cmd_reload(int argc, char **argv, const char *sock)
{
	int n;

	if (admin_opts(argc, argv, 1, &sock, &n) || n) {
		ctl_errx("usage: zcsendctl reload");
		return CTL_USAGE;
	}
	return admin_request(sock, ZCS_MSG_RELOAD, NULL, 0, "reload", NULL);
}

int cmd_policy(int argc, char **argv, const char *sock)
{
	struct zcs_policy m;
	size_t used = 0;
	int i, n;

	if (admin_opts(argc, argv, 1, &sock, &n) || n < 2) {
		ctl_errx("usage: zcsendctl policy DEST key=value ...");
		return CTL_USAGE;
	}
	memset(&m, 0, sizeof(m));
	if (strlen(argv[1]) >= sizeof(m.dest)) {
		ctl_errx("destination name too long");
		return CTL_USAGE;
	}
	strcpy(m.dest, argv[1]);
	for (i = 2; i < n + 1; i++) {
		int k = snprintf(m.settings + used, sizeof(m.settings) - used,
				 "%s%s", used ? " " : "", argv[i]);

		if (k < 0 || (size_t)k >= sizeof(m.settings) - used) {
			ctl_errx("settings too long");
			return CTL_USAGE;
		}
		used += (size_t)k;
	}
	return admin_request(sock, ZCS_MSG_POLICY, &m, sizeof(m), "policy",
			     m.dest);
}
