/* SPDX-License-Identifier: MIT */
/*
 * Destination addresses as clients and the config write them:
 * udp://HOST:PORT or tcp://HOST:PORT, HOST a numeric IPv4 address, an IPv6
 * address in brackets, or localhost. Names are not resolved: a lookup
 * would block the event loop. And networks, for ad-hoc destination rules.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "zcs_proto.h"

static int addr_port(const char *s, uint16_t *port)
{
	char *end;
	unsigned long n;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno || *end || n == 0 || n > 65535)
		return -EINVAL;
	*port = (uint16_t)n;
	return 0;
}

/* Split "HOST:PORT" or "[V6]:PORT" into a bare host and the port text. */
static int addr_split(const char *hp, char *host, size_t size,
		      const char **port)
{
	const char *colon, *start = hp, *stop;

	if (*hp == '[') {
		start = hp + 1;
		stop = strchr(start, ']');
		if (!stop || stop[1] != ':')
			return -EINVAL;
		colon = stop + 1;
	} else {
		colon = strrchr(hp, ':');
		if (!colon || memchr(hp, ':', (size_t)(colon - hp)))
			return -EINVAL;
		stop = colon;
	}
	if (stop == start || (size_t)(stop - start) >= size)
		return -EINVAL;
	memcpy(host, start, (size_t)(stop - start));
	host[stop - start] = '\0';
	*port = colon + 1;
	return 0;
}

static int addr_host(const char *host, uint16_t port,
		     struct sockaddr_storage *sa, socklen_t *salen)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)sa;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;

	memset(sa, 0, sizeof(*sa));
	if (!strcmp(host, "localhost"))
		host = "127.0.0.1";
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(port);
		*salen = sizeof(*in4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		*salen = sizeof(*in6);
		return 0;
	}
	return -EINVAL;
}

/*
 * addr_parse - "udp://HOST:PORT" or "tcp://HOST:PORT" to a socket address.
 * Returns 0 or -EINVAL.
 */
int addr_parse(const char *s, uint16_t *proto, struct sockaddr_storage *sa,
	       socklen_t *salen)
{
	char host[INET6_ADDRSTRLEN];
	const char *port_text;
	uint16_t port;

	if (!strncmp(s, "udp://", 6))
		*proto = ZCS_PROTO_UDP;
	else if (!strncmp(s, "tcp://", 6))
		*proto = ZCS_PROTO_TCP;
	else
		return -EINVAL;
	if (addr_split(s + 6, host, sizeof(host), &port_text) ||
	    addr_port(port_text, &port))
		return -EINVAL;
	return addr_host(host, port, sa, salen);
}

/* addr_format - the canonical text of an address, for names and status. */
void addr_format(uint16_t proto, const struct sockaddr *sa, char *buf,
		 size_t size)
{
	const char *scheme = proto == ZCS_PROTO_TCP ? "tcp" : "udp";
	char host[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(buf, size, "%s://[%s]:%u", scheme, host,
			 ntohs(in6->sin6_port));
	} else {
		const struct sockaddr_in *in4 = (const void *)sa;

		inet_ntop(AF_INET, &in4->sin_addr, host, sizeof(host));
		snprintf(buf, size, "%s://%s:%u", scheme, host,
			 ntohs(in4->sin_port));
	}
}

/*
 * addr_net_parse - "ADDR/PREFIX" (or a bare address, a host route).
 * Returns 0 or -EINVAL.
 */
int addr_net_parse(const char *s, struct addr_net *net)
{
	char host[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long prefix;
	char *end;

	if (n == 0 || n >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, n);
	host[n] = '\0';
	memset(net, 0, sizeof(*net));
	if (inet_pton(AF_INET, host, net->addr) == 1)
		net->family = AF_INET;
	else if (inet_pton(AF_INET6, host, net->addr) == 1)
		net->family = AF_INET6;
	else
		return -EINVAL;
	prefix = net->family == AF_INET ? 32 : 128;
	if (slash) {
		errno = 0;
		if (slash[1] < '0' || slash[1] > '9')
			return -EINVAL;
		n = prefix;
		prefix = strtoul(slash + 1, &end, 10);
		if (errno || *end || prefix > n)
			return -EINVAL;
	}
	net->prefix = (uint8_t)prefix;
	return 0;
}

/* addr_net_match - is @sa's address inside @net? */
bool addr_net_match(const struct addr_net *net, const struct sockaddr *sa)
{
	const uint8_t *a;
	unsigned full, rest;

	if (sa->sa_family != net->family)
		return false;
	if (sa->sa_family == AF_INET)
		a = (const uint8_t *)&((const struct sockaddr_in *)
				       (const void *)sa)->sin_addr;
	else
		a = (const uint8_t *)&((const struct sockaddr_in6 *)
				       (const void *)sa)->sin6_addr;
	full = net->prefix / 8;
	rest = net->prefix % 8;
	if (memcmp(a, net->addr, full))
		return false;
	return !rest || ((a[full] ^ net->addr[full]) & (0xff00u >> rest)) == 0;
}
