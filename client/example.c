/* SPDX-License-Identifier: MIT */
/*
 * zcsend-example: the whole libzcsend cycle in one page, as a starting
 * point for programs of your own. Usage: zcsend-example DEST [SOCKET]
 * e.g. zcsend-example udp://127.0.0.1:9000
 */
#include <stdio.h>
#include <string.h>

#include <zcsend.h>

static int fail(const char *what, int err)
{
	fprintf(stderr, "zcsend-example: %s: %s\n", what, strerror(-err));
	return 1;
}

/* Write one payload into the pool, send it, and wait for its completion:
 * only then does the memory belong to us again. */
static int send_one(struct zcs_client *c, uint32_t flow)
{
	static const char msg[] = "hello from libzcsend\n";
	struct zcs_completion comp;
	void *buf;
	int err;

	err = zcs_alloc(c, sizeof(msg) - 1, &buf);
	if (err)
		return fail("zcs_alloc", err);
	memcpy(buf, msg, sizeof(msg) - 1);
	err = zcs_send(c, flow, buf, sizeof(msg) - 1, 42);
	if (err)
		return fail("zcs_send", err);
	err = zcs_reap(c, &comp, 1, -1);
	if (err < 0)
		return fail("zcs_reap", err);
	if (comp.result < 0)
		return fail("send", comp.result);
	printf("tag %llu: sent %d bytes%s\n", (unsigned long long)comp.tag,
	       comp.result,
	       (comp.flags & ZCS_COMP_F_ZC) && !(comp.flags & ZCS_COMP_F_COPIED) ?
	       " with zerocopy" : "");
	err = zcs_free(c, buf);
	return err ? fail("zcs_free", err) : 0;
}

int main(int argc, char **argv)
{
	struct zcs_client *c;
	uint32_t flow;
	int err, ret;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: zcsend-example DEST [SOCKET]\n");
		return 2;
	}
	err = zcs_connect(argc > 2 ? argv[2] : NULL, 0, &c);
	if (err)
		return fail("connect", err);
	err = zcs_flow_open(c, argv[1], &flow);
	if (err < 0) {
		zcs_close(c);
		return fail(argv[1], err);
	}
	ret = send_one(c, flow);
	err = zcs_flow_close(c, flow);
	if (err && !ret)
		ret = fail("zcs_flow_close", err);
	zcs_close(c);
	return ret;
}
