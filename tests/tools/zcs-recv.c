/* SPDX-License-Identifier: MIT */
/*
 * zcs-recv: a small receiver for the demo and the shell tests.
 *   zcs-recv tcp|udp ADDR PORT [--out FILE] [--count N] [--timeout S]
 *            [--port-file FILE]
 * Binds ADDR (loopback or the 198.18.0.0/15 test range only), port 0 for an
 * ephemeral one, and writes what arrives to FILE. Ends after one TCP
 * connection closes, N datagrams, or the timeout; prints bytes and FNV-1a.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

struct opts {
	int tcp;
	const char *addr;
	unsigned port;
	const char *out;
	const char *port_file;
	unsigned long long count;
	unsigned timeout_s;
};

struct totals {
	unsigned long long bytes;
	unsigned long long dgrams;
	uint64_t hash;		/* FNV-1a 64 over the whole byte stream */
};

static void usage(void)
{
	fprintf(stderr, "usage: zcs-recv tcp|udp ADDR PORT [--out FILE] "
		"[--count N] [--timeout S] [--port-file FILE]\n");
	exit(2);
}

/* FNV-1a continued over a stream: same result as one th_fnv1a() call. */
static void hash_more(struct totals *t, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++) {
		t->hash ^= p[i];
		t->hash *= 0x100000001b3ull;
	}
	t->bytes += len;
}

static void parse(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "count", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ "port-file", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	memset(o, 0, sizeof(*o));
	o->timeout_s = 60;
	while ((ch = getopt_long(argc, argv, "o:c:t:p:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'o': o->out = optarg; break;
		case 'c': o->count = strtoull(optarg, NULL, 10); break;
		case 't': o->timeout_s = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'p': o->port_file = optarg; break;
		default: usage();
		}
	}
	if (argc - optind != 3)
		usage();
	if (strcmp(argv[optind], "tcp") && strcmp(argv[optind], "udp"))
		usage();
	o->tcp = !strcmp(argv[optind], "tcp");
	o->addr = argv[optind + 1];
	o->port = (unsigned)strtoul(argv[optind + 2], NULL, 10);
	if (o->port > 65535 || o->timeout_s == 0)
		usage();
}

/* Only addresses a test may use: loopback, or the RFC 2544 range. */
static int parse_addr(const char *s, struct sockaddr_storage *ss,
		      socklen_t *sl, unsigned port)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	uint32_t a;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &in->sin_addr) == 1) {
		a = ntohl(in->sin_addr.s_addr);
		if ((a >> 24) != 127 && (a >> 17) != (0xc612u >> 1))
			return -EPERM;
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		*sl = sizeof(*in);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &in6->sin6_addr) == 1) {
		if (!IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
			return -EPERM;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*sl = sizeof(*in6);
		return 0;
	}
	return -EINVAL;
}

static int write_port_file(const char *path, unsigned port)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fprintf(f, "%u\n", port);
	if (fclose(f))
		return -errno;
	return rename(tmp, path) ? -errno : 0;
}

static int open_socket(const struct opts *o)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, one = 1, big = 32 << 20, err;

	err = parse_addr(o->addr, &ss, &sl, o->port);
	if (err) {
		fprintf(stderr, "zcs-recv: %s: %s\n", o->addr, err == -EPERM ?
			"not a loopback or test address" : "bad address");
		exit(2);
	}
	fd = socket(ss.ss_family, (o->tcp ? SOCK_STREAM : SOCK_DGRAM) |
		    SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 ||
	    (o->tcp && listen(fd, 1) < 0) ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	if (o->port_file) {
		err = write_port_file(o->port_file, ntohs(ss.ss_family == AF_INET ?
			((struct sockaddr_in *)&ss)->sin_port :
			((struct sockaddr_in6 *)&ss)->sin6_port));
		if (err) {
			close(fd);
			return err;
		}
	}
	return fd;
}

/* Wait for input until @end; 1 readable, 0 timed out. */
static int readable(int fd, uint64_t end)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint64_t now = th_now_ms();

	if (now >= end)
		return 0;
	return poll(&p, 1, (int)(end - now)) > 0;
}

static int write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (fd >= 0 && len) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One connection to EOF. 0 done, -ETIMEDOUT, or -errno. */
static int recv_tcp(int lfd, int out, uint64_t end, struct totals *t)
{
	static char buf[1 << 16];
	ssize_t n;
	int fd;

	if (!readable(lfd, end))
		return -ETIMEDOUT;
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		if (!readable(fd, end)) {
			close(fd);
			return -ETIMEDOUT;
		}
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		hash_more(t, buf, (size_t)n);
		if (write_all(out, buf, (size_t)n))
			break;
	}
	close(fd);
	return n < 0 ? -errno : 0;
}

/* Datagrams until @count (0: until the timeout, which is then no error). */
static int recv_udp(int fd, int out, uint64_t end, unsigned long long count,
		    struct totals *t)
{
	static char buf[1 << 16];
	ssize_t n;

	while (!count || t->dgrams < count) {
		if (!readable(fd, end))
			return count ? -ETIMEDOUT : 0;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		t->dgrams++;
		hash_more(t, buf, (size_t)n);
		if (write_all(out, buf, (size_t)n))
			return -EIO;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct totals t = { 0, 0, 0xcbf29ce484222325ull };
	struct opts o;
	uint64_t end;
	int fd, out = -1, err;

	parse(argc, argv, &o);
	fd = open_socket(&o);
	if (fd < 0) {
		fprintf(stderr, "zcs-recv: %s %s:%u: %s\n", o.tcp ? "tcp" : "udp",
			o.addr, o.port, strerror(-fd));
		return 1;
	}
	if (o.out) {
		out = open(o.out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (out < 0) {
			perror(o.out);
			return 1;
		}
	}
	end = th_now_ms() + (uint64_t)o.timeout_s * 1000;
	err = o.tcp ? recv_tcp(fd, out, end, &t) :
		      recv_udp(fd, out, end, o.count, &t);
	printf("zcs-recv: %llu bytes, %llu datagrams, fnv1a %016llx%s\n",
	       t.bytes, t.dgrams, (unsigned long long)t.hash,
	       err == -ETIMEDOUT ? " (timed out)" : "");
	if (err && err != -ETIMEDOUT)
		fprintf(stderr, "zcs-recv: %s\n", strerror(-err));
	if (out >= 0 && close(out) < 0)
		err = -errno;
	close(fd);
	return err ? 1 : 0;
}
