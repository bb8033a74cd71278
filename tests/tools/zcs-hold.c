/* SPDX-License-Identifier: MIT */
/*
 * zcs-hold: a client that holds a connection and says how it ends, for
 * `make check-boot`'s crash scenario.
 *   zcs-hold SOCK [--ready FILE] [--timeout S]
 * Connects, says HELLO (with a pool, as a sending program would), touches
 * FILE, then waits for the daemon: prints each ERROR's errno and text and
 * then the EOF. Exit 0 when an ERROR came before the EOF; 1 on a bare
 * EOF, anything else, or nothing within S seconds (default 60).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

static void usage(void)
{
	fprintf(stderr, "usage: zcs-hold SOCK [--ready FILE] [--timeout S]\n");
	exit(2);
}

/* Wait for the end; 0 when it came with a reason. */
static int hold(struct th_raw *r, int timeout_ms)
{
	struct zcs_error e;
	struct zcs_hdr h;
	int n, errors = 0;

	while ((n = th_raw_recv(r, &h, &e, sizeof(e), NULL, timeout_ms)) >= 0) {
		if (h.type != ZCS_MSG_ERROR || (size_t)n != sizeof(e)) {
			printf("zcs-hold: message type %u, not an ERROR\n",
			       h.type);
			return 1;
		}
		e.msg[sizeof(e.msg) - 1] = '\0';
		printf("zcs-hold: ERROR %d (%s): %s\n", e.err,
		       strerror(-e.err), e.msg);
		errors++;
	}
	if (n == -ETIMEDOUT) {
		printf("zcs-hold: no answer within %d ms\n", timeout_ms);
		return 1;
	}
	printf("zcs-hold: %s%s\n", n == -ECONNRESET ? "EOF" : strerror(-n),
	       errors ? "" : " without a reason");
	return errors ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *sock, *ready = NULL;
	unsigned timeout_s = 60;
	struct th_raw r;
	int i, err, fd;

	if (argc < 2)
		usage();
	sock = argv[1];
	for (i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--ready"))
			ready = argv[i + 1];
		else if (!strcmp(argv[i], "--timeout"))
			timeout_s = (unsigned)strtoul(argv[i + 1], NULL, 10);
		else
			usage();
	}
	if (i != argc || !timeout_s || timeout_s > 3600)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	err = th_raw_connect(&r, sock);
	if (!err)
		err = th_raw_hello(&r, 1 << 20, "zcs-hold");
	if (err) {
		printf("zcs-hold: %s: %s\n", sock, strerror(-err));
		return 1;
	}
	if (ready && (fd = open(ready, O_WRONLY | O_CREAT | O_CLOEXEC,
				0644)) >= 0)
		close(fd);
	printf("zcs-hold: connected\n");
	return hold(&r, (int)timeout_s * 1000);
}
