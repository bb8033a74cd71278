/* SPDX-License-Identifier: MIT */
/*
 * tests/th/recv.c: loopback TCP and UDP receivers that check every byte
 * in a thread, and a bare loopback listener.
 */
#ifndef ZCS_TH_RECV_H
#define ZCS_TH_RECV_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define TH_MAX_CLIENTS 64

struct th_recv {
	int family;		/* AF_INET or AF_INET6 */
	int proto;		/* ZCS_PROTO_TCP or ZCS_PROTO_UDP */
	int lfd;
	uint16_t port;
	pthread_t thread;	/* UDP reader, or TCP acceptor */
	pthread_mutex_t lock;
	int conns_expected;	/* TCP: connections to accept */
	int nconns;		/* TCP: accepted so far */
	int cfd[TH_MAX_CLIENTS];
	pthread_t readers[TH_MAX_CLIENTS];
	uint64_t udp_expected;	/* UDP: datagrams to wait for */
	volatile int stop;
	/* results, under lock */
	uint64_t records;
	uint64_t bytes;
	uint64_t errors;
	uint64_t next_seq[TH_MAX_CLIENTS];	/* TCP: per client */
	uint8_t *seen;		/* UDP: per seq, count (seq < seen_max) */
	uint64_t seen_max;
	char first_error[256];
};

/*
 * th_recv_start - bind 127.0.0.1 or ::1 on an ephemeral port and start
 * the thread. TCP: accept @n connections, each a stream of th_rec records
 * from one client in seq order. UDP: datagrams each one th_rec, seqs
 * below @n, each expected once.
 * Returns 0, -EAFNOSUPPORT/-EADDRNOTAVAIL when the family is missing, or
 * -errno.
 */
int th_recv_start(struct th_recv *rv, int family, int proto, uint64_t n);
/*
 * Wait until @records records arrived or @timeout_ms passed.
 * Returns 0, -ETIMEDOUT, or -EIO as soon as the receiver saw an error.
 */
int th_recv_wait(struct th_recv *rv, uint64_t records, int timeout_ms);
/* Stop and join; results stay readable. */
void th_recv_stop(struct th_recv *rv);
void th_recv_free(struct th_recv *rv);
/* "tcp://127.0.0.1:PORT" or "udp://[::1]:PORT" into @buf. */
void th_recv_dest(const struct th_recv *rv, char *buf, size_t size);

/*
 * th_listen_lo - a TCP listener on 127.0.0.1 that the test drives by hand
 * (accept, read or not). @rcvbuf: SO_RCVBUF for accepted sockets, 0 to
 * leave it. Returns the fd; fails the test on error.
 */
int th_listen_lo(uint16_t *port, int rcvbuf);

#endif /* ZCS_TH_RECV_H */
