/* SPDX-License-Identifier: MIT */
/*
 * zcsendctl metrics --listen: the address to serve on, as the user gives
 * it (numeric IPv4, or IPv6 in brackets), the listening socket, and the
 * address it got (port 0 asks for any free one), to say where it serves.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metrics_http.h"

#define METRICS_HTTP_BACKLOG	64

/*
 * metrics_listen_parse - "ADDR:PORT" or "[ADDR6]:PORT", numeric, into
 * @ss and @len. Returns 0 or -EINVAL.
 */
int metrics_listen_parse(const char *s, struct sockaddr_storage *ss,
			 socklen_t *len)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	char host[INET6_ADDRSTRLEN];
	const char *colon, *start = s;
	unsigned long port;
	char *end;
	size_t n;

	if (*s == '[') {
		start = s + 1;
		colon = strchr(start, ']');
		if (!colon || colon[1] != ':')
			return -EINVAL;
		n = (size_t)(colon - start);
		colon++;
	} else {
		colon = strchr(s, ':');
		if (!colon || strchr(colon + 1, ':'))
			return -EINVAL;	/* IPv6 takes brackets */
		n = (size_t)(colon - s);
	}
	if (n == 0 || n >= sizeof(host) || colon[1] < '0' || colon[1] > '9')
		return -EINVAL;
	memcpy(host, start, n);
	host[n] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || *end || port > 65535)	/* 0: any free port */
		return -EINVAL;
	memset(ss, 0, sizeof(*ss));
	if (start != s && inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*s6);
		return 0;
	}
	if (start == s && inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*len = sizeof(*s4);
		return 0;
	}
	return -EINVAL;
}

/* metrics_listen_open - a listening TCP socket on @ss. The fd, or -errno. */
int metrics_listen_open(const struct sockaddr_storage *ss, socklen_t len)
{
	int fd, on = 1, err;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return -errno;
	/* [::] means IPv6 only: an IPv4 listener is asked for by name. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0 ||
	    (ss->ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) < 0) ||
	    bind(fd, (const struct sockaddr *)ss, len) < 0 ||
	    listen(fd, METRICS_HTTP_BACKLOG) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/*
 * metrics_listen_name - "ADDR:PORT" of what @fd is bound to, into @buf:
 * port 0 asks for any free one. Returns 0 or -errno.
 */
int metrics_listen_name(int fd, char *buf, size_t size)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN];

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	if (ss.ss_family == AF_INET6 &&
	    inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host)))
		snprintf(buf, size, "[%s]:%u", host, ntohs(s6->sin6_port));
	else if (ss.ss_family == AF_INET &&
		 inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host)))
		snprintf(buf, size, "%s:%u", host, ntohs(s4->sin_port));
	else
		return -EAFNOSUPPORT;
	return 0;
}
