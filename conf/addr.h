/* SPDX-License-Identifier: MIT */
/*
 * Addresses as the config and clients write them: destinations
 * (udp://HOST:PORT, tcp://[V6]:PORT) and networks (10.0.0.0/8, ::1/128).
 * Shared by the config parser, which checks them, and the daemon.
 */
#ifndef ZCSD_ADDR_H
#define ZCSD_ADDR_H

#include <sys/socket.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An address prefix; family AF_INET or AF_INET6. */
struct addr_net {
	uint8_t family;
	uint8_t prefix;
	uint8_t addr[16];
};

int addr_parse(const char *s, uint16_t *proto, struct sockaddr_storage *sa,
	       socklen_t *salen);
void addr_format(uint16_t proto, const struct sockaddr *sa, char *buf,
		 size_t size);
int addr_net_parse(const char *s, struct addr_net *net);
bool addr_net_match(const struct addr_net *net, const struct sockaddr *sa);

#endif /* ZCSD_ADDR_H */
