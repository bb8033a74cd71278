/* SPDX-License-Identifier: MIT */
/*
 * sockfuzz and the daemon under test: its config (small bounds, so the
 * fuzzer reaches them; short linger_ms and reply_timeout_ms, so dead and
 * deaf clients go quickly; ad-hoc destinations limited to loopback), the
 * destinations sessions may name, a STATUS probe, and the scan of its log
 * for sanitizer reports.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "sockfuzz.h"

/* Add "@prefix@port" (or @prefix alone when @port is ~0u). */
static void dest_add(struct fz_dest *v, unsigned *n, uint16_t proto,
		     const char *prefix, unsigned port)
{
	if (*n >= FZ_DESTS_MAX || port == 0)
		return;
	if (port == ~0u)
		snprintf(v[*n].spec, sizeof(v[*n].spec), "%s", prefix);
	else
		snprintf(v[*n].spec, sizeof(v[*n].spec), "%s%u", prefix, port);
	v[*n].proto = proto;
	(*n)++;
}

/*
 * fz_dests_init - what sessions may name: the config's destinations by
 * name, and ad-hoc addresses that are all ports of our own sink (or port
 * 9 of loopback, where nothing listens), so nothing else gets our bytes.
 */
void fz_dests_init(struct fz_env *e)
{
	const struct fz_ports *p = &e->ports;
	struct fz_dest *a = e->adhoc;
	unsigned *n = &e->nadhoc;
	static const struct { const char *name; uint16_t proto; } named[] = {
		{ "tdrain", ZCS_PROTO_TCP }, { "tslow", ZCS_PROTO_TCP },
		{ "tstall", ZCS_PROTO_TCP }, { "tfull", ZCS_PROTO_TCP },
		{ "trefused", ZCS_PROTO_TCP }, { "udp", ZCS_PROTO_UDP },
		{ "udpdead", ZCS_PROTO_UDP }, { "udpdeaf", ZCS_PROTO_UDP },
	};
	unsigned i;

	for (i = 0; i < sizeof(named) / sizeof(named[0]); i++)
		dest_add(e->named, &e->nnamed, named[i].proto, named[i].name,
			 ~0u);
	dest_add(a, n, ZCS_PROTO_UDP, "udp://127.0.0.1:", p->udp[1]);
	dest_add(a, n, ZCS_PROTO_UDP, "udp://localhost:", p->udp[1]);
	dest_add(a, n, ZCS_PROTO_UDP, "udp://127.0.0.1:", p->udp[0]);
	dest_add(a, n, ZCS_PROTO_UDP, "udp://[::1]:", p->udp6);
	dest_add(a, n, ZCS_PROTO_TCP, "tcp://[::1]:", p->drain6);
	dest_add(a, n, ZCS_PROTO_TCP, "tcp://127.0.0.1:", p->drain);
	dest_add(a, n, ZCS_PROTO_TCP, "tcp://localhost:", p->slow);
	dest_add(a, n, ZCS_PROTO_TCP, "tcp://127.0.0.2:", p->drain);
	dest_add(a, n, ZCS_PROTO_UDP, "udp://127.0.0.1:", 9);
}

/* fz_config_write - the daemon's config for this run. 0 or -errno. */
int fz_config_write(const struct fz_env *e, const char *path)
{
	const struct fz_ports *p = &e->ports;
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	fprintf(f, "[daemon]\nmax_clients = 96\npool_bytes = 1M\n"
		   "pool_total_bytes = 128M\nmax_inflight = 64\nmax_flows = 8\n"
		   "max_send_bytes = 256K\nmax_destinations = 24\n"
		   "allow_adhoc = yes\nadhoc_networks = 127.0.0.0/8, ::1/128\n"
		   "connect_timeout_ms = 300\nlinger_ms = 200\n"
		   "reply_timeout_ms = 1000\n"
		   "drain_timeout_ms = 2000\nring_entries = 256\n\n"
		   "[defaults]\nflush = batch\nbatch_max = 16\n"
		   "batch_usec = 500\nzerocopy = on\n"
		   "zerocopy_min_bytes = 1024\n\n");
	fprintf(f, "[destination tdrain]\naddress = tcp://127.0.0.1:%u\n"
		   "flush = immediate\n\n", p->drain);
	fprintf(f, "[destination tslow]\naddress = tcp://127.0.0.1:%u\n"
		   "zerocopy = auto\n\n", p->slow);
	fprintf(f, "[destination tstall]\naddress = tcp://127.0.0.1:%u\n\n",
		p->stall);
	fprintf(f, "[destination tfull]\naddress = tcp://127.0.0.1:%u\n\n",
		p->full);
	fprintf(f, "[destination trefused]\naddress = tcp://127.0.0.1:9\n\n");
	fprintf(f, "[destination udp]\naddress = udp://127.0.0.1:%u\n\n",
		p->udp[0]);
	fprintf(f, "[destination udpdead]\naddress = udp://127.0.0.1:9\n"
		   "zerocopy = off\n\n");
	fprintf(f, "[destination udpdeaf]\naddress = udp://127.0.0.1:%u\n"
		   "flush = immediate\n", p->udp[2]);
	return fclose(f) ? -errno : 0;
}

/* Read the rest of a STATUS reply; count ad-hoc UDP destinations. */
static int status_read(struct th_raw *r, struct zcs_status_daemon *sd,
		       unsigned *adhoc_udp, int timeout_ms)
{
	struct zcs_status_dest dst;
	struct zcs_hdr h;
	uint8_t buf[512];
	int n, i;

	*adhoc_udp = 0;
	for (i = 0; i < 10000; i++) {
		n = th_raw_recv(r, &h, buf, sizeof(buf), NULL, timeout_ms);
		if (n < 0)
			return n;
		if (h.type == ZCS_MSG_STATUS_END)
			return 0;
		if (h.type == ZCS_MSG_STATUS_DAEMON && n >= (int)sizeof(*sd))
			memcpy(sd, buf, sizeof(*sd));
		if (h.type != ZCS_MSG_STATUS_DEST || n < (int)sizeof(dst))
			continue;
		memcpy(&dst, buf, sizeof(dst));
		*adhoc_udp += dst.proto == ZCS_PROTO_UDP &&
			      !(dst.flags & ZCS_DEST_F_NAMED);
	}
	return -EPROTO;
}

/*
 * fz_status - a control-only connection asks STATUS. Fills @sd and the
 * number of ad-hoc UDP destinations (each holds one socket). 0 or -errno.
 */
int fz_status(const char *sock, struct zcs_status_daemon *sd,
	      unsigned *adhoc_udp, int timeout_ms)
{
	struct th_raw r;
	int err = th_raw_connect(&r, sock);

	memset(sd, 0, sizeof(*sd));
	if (err)
		return err;
	err = th_raw_hello(&r, 0, "sockfuzz-ctl");
	if (!err)
		err = th_raw_send_msg(&r, ZCS_MSG_STATUS, ZCS_PROTO_VERSION,
				      NULL, 0);
	if (!err)
		err = status_read(&r, sd, adhoc_udp, timeout_ms);
	th_raw_close(&r);
	return err;
}

/*
 * fz_log_scan - count the lines of sanitizer reports in the daemon's log;
 * with @print, show the first report's first 40 lines. Returns the
 * count, or -errno.
 */
int fz_log_scan(const char *log, bool print)
{
	static const char *const marks[] = {
		"AddressSanitizer", "LeakSanitizer", "runtime error:",
		"UndefinedBehaviorSanitizer",
	};
	char line[1024];
	int found = 0, shown = 0;
	bool mark;
	size_t i;
	FILE *f = fopen(log, "r");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		for (i = 0, mark = false; i < sizeof(marks) / sizeof(*marks); i++)
			mark |= strstr(line, marks[i]) != NULL;
		if (mark && !found++)
			shown = 1;
		if (print && shown && shown++ <= 40)
			fprintf(stderr, "  | %s", line);
	}
	fclose(f);
	return found;
}
