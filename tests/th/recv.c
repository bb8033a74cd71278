/* SPDX-License-Identifier: MIT */
/*
 * Loopback receivers that check what the daemon delivers: a TCP acceptor
 * with a reader thread per connection (records in seq order per client)
 * and a UDP reader (each seq once), every byte checked against th_fill();
 * and a bare listener for tests that read, or do not, by hand.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "payload.h"
#include "recv.h"
#include "util.h"
#include "zcs_proto.h"

#define TH_REC_MAX (1u << 20)	/* largest record a receiver accepts */

static void recv_error(struct th_recv *rv, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Count an error; keep the first message. Called with rv->lock held. */
static void recv_error(struct th_recv *rv, const char *fmt, ...)
{
	va_list ap;

	if (rv->errors++ == 0) {
		va_start(ap, fmt);
		vsnprintf(rv->first_error, sizeof(rv->first_error), fmt, ap);
		va_end(ap);
		fprintf(stderr, "receiver: %s\n", rv->first_error);
	}
}

/*
 * Check one whole record at @p of @len bytes: header, checksum and every
 * byte against th_fill(). Returns 0 or -EBADMSG (error recorded).
 */
static int rec_verify(struct th_recv *rv, const unsigned char *p, size_t len,
		      struct th_rec *out)
{
	unsigned char *want;
	struct th_rec h;
	size_t plen;
	int bad;

	memcpy(&h, p, sizeof(h));
	*out = h;
	if (h.magic != TH_REC_MAGIC || h.len != len ||
	    h.client >= TH_MAX_CLIENTS) {
		recv_error(rv, "bad record header: magic %#x len %u/%zu "
			   "client %u", h.magic, h.len, len, h.client);
		return -EBADMSG;
	}
	plen = len - sizeof(h);
	if (th_fnv1a(p + sizeof(h), plen) != h.csum) {
		recv_error(rv, "checksum mismatch client %u seq %llu",
			   h.client, (unsigned long long)h.seq);
		return -EBADMSG;
	}
	want = malloc(plen + 1);
	th_fill(want, plen, h.client, h.seq);
	bad = memcmp(want, p + sizeof(h), plen) != 0;
	free(want);
	if (bad) {
		recv_error(rv, "payload differs client %u seq %llu",
			   h.client, (unsigned long long)h.seq);
		return -EBADMSG;
	}
	return 0;
}

static int read_full(struct th_recv *rv, int fd, void *buf, size_t len)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		if (th_wait_readable(fd, 100) == -ETIMEDOUT) {
			if (rv->stop)
				return -ECANCELED;
			continue;
		}
		n = read(fd, (char *)buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return done ? -EPIPE : 0;
		done += (size_t)n;
	}
	return 1;
}

/* One TCP record: header, then the rest; checks order within the stream. */
static int tcp_record(struct th_recv *rv, int fd, unsigned char *buf,
		      uint32_t *client)
{
	struct th_rec h;
	int ret;

	ret = read_full(rv, fd, buf, sizeof(h));
	if (ret <= 0)
		return ret;
	memcpy(&h, buf, sizeof(h));
	pthread_mutex_lock(&rv->lock);
	if (h.len < sizeof(h) || h.len > TH_REC_MAX) {
		recv_error(rv, "record length %u", h.len);
		ret = -EBADMSG;
	}
	pthread_mutex_unlock(&rv->lock);
	if (ret < 0)
		return ret;
	ret = read_full(rv, fd, buf + sizeof(h), h.len - sizeof(h));
	if (ret <= 0)
		return ret ? ret : -EPIPE;
	pthread_mutex_lock(&rv->lock);
	ret = rec_verify(rv, buf, h.len, &h);
	if (!ret && *client != UINT32_MAX && h.client != *client)
		recv_error(rv, "client %u on client %u's stream", h.client,
			   *client);
	else if (!ret && h.seq != rv->next_seq[h.client])
		recv_error(rv, "client %u: seq %llu, expected %llu", h.client,
			   (unsigned long long)h.seq,
			   (unsigned long long)rv->next_seq[h.client]);
	if (!ret) {
		*client = h.client;
		rv->next_seq[h.client] = h.seq + 1;
		rv->records++;
		rv->bytes += h.len;
	}
	pthread_mutex_unlock(&rv->lock);
	return ret ? ret : 1;
}

struct tcp_reader {
	struct th_recv *rv;
	int fd;
};

static void *tcp_reader_main(void *arg)
{
	struct tcp_reader *t = arg;
	unsigned char *buf = malloc(TH_REC_MAX);
	uint32_t client = UINT32_MAX;
	int ret;

	while ((ret = tcp_record(t->rv, t->fd, buf, &client)) > 0)
		;
	if (ret < 0 && ret != -ECANCELED) {
		pthread_mutex_lock(&t->rv->lock);
		recv_error(t->rv, "stream of client %u: %s", client,
			   strerror(-ret));
		pthread_mutex_unlock(&t->rv->lock);
	}
	/* Keep draining so that the sender is not stalled behind us. */
	while (ret < 0 && ret != -ECANCELED && !t->rv->stop) {
		if (th_wait_readable(t->fd, 100) == -ETIMEDOUT)
			continue;
		if (read(t->fd, buf, TH_REC_MAX) <= 0)
			break;
	}
	free(buf);
	free(t);
	return NULL;
}

static void *tcp_accept_main(void *arg)
{
	struct th_recv *rv = arg;
	struct tcp_reader *t;
	int fd;

	while (!rv->stop && rv->nconns < rv->conns_expected) {
		if (th_wait_readable(rv->lfd, 100) == -ETIMEDOUT)
			continue;
		fd = accept4(rv->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		t = malloc(sizeof(*t));
		t->rv = rv;
		t->fd = fd;
		rv->cfd[rv->nconns] = fd;
		if (pthread_create(&rv->readers[rv->nconns], NULL,
				   tcp_reader_main, t)) {
			close(fd);
			free(t);
			break;
		}
		rv->nconns++;
	}
	return NULL;
}

/* One datagram: a whole record whose seq must be new. */
static void udp_datagram(struct th_recv *rv, const unsigned char *p, size_t n)
{
	struct th_rec h;

	pthread_mutex_lock(&rv->lock);
	if (n < sizeof(h)) {
		recv_error(rv, "datagram of %zu bytes", n);
	} else if (!rec_verify(rv, p, n, &h)) {
		if (h.seq >= rv->seen_max)
			recv_error(rv, "seq %llu out of range",
				   (unsigned long long)h.seq);
		else if (rv->seen[h.seq]++)
			recv_error(rv, "seq %llu twice",
				   (unsigned long long)h.seq);
		else
			rv->records++;
		rv->bytes += n;
	}
	pthread_mutex_unlock(&rv->lock);
}

static void *udp_main(void *arg)
{
	struct th_recv *rv = arg;
	unsigned char *buf = malloc(65536);
	ssize_t n;

	while (!rv->stop) {
		if (th_wait_readable(rv->lfd, 100) == -ETIMEDOUT)
			continue;
		n = recv(rv->lfd, buf, 65536, MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0)
			continue;
		udp_datagram(rv, buf, n > 65536 ? 65536 : (size_t)n);
	}
	free(buf);
	return NULL;
}

/* Bind the loopback address of @family, port 0; record the port. */
static int recv_bind(struct th_recv *rv, int type)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	socklen_t sl = sizeof(ss);
	int one = 1, big = 32 << 20;

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = (sa_family_t)rv->family;
	if (rv->family == AF_INET)
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else
		in6->sin6_addr = in6addr_loopback;
	rv->lfd = socket(rv->family, type | SOCK_CLOEXEC, 0);
	if (rv->lfd < 0)
		return -errno;
	setsockopt(rv->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (setsockopt(rv->lfd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)))
		setsockopt(rv->lfd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (bind(rv->lfd, (struct sockaddr *)&ss, rv->family == AF_INET ?
		 sizeof(*in) : sizeof(*in6)) < 0 ||
	    getsockname(rv->lfd, (struct sockaddr *)&ss, &sl) < 0 ||
	    (type == SOCK_STREAM && listen(rv->lfd, 64) < 0)) {
		int err = -errno;

		close(rv->lfd);
		rv->lfd = -1;
		return err;
	}
	rv->port = ntohs(rv->family == AF_INET ? in->sin_port : in6->sin6_port);
	return 0;
}

int th_recv_start(struct th_recv *rv, int family, int proto, uint64_t n)
{
	int tcp = proto == ZCS_PROTO_TCP, err;

	memset(rv, 0, sizeof(*rv));
	rv->family = family;
	rv->proto = proto;
	pthread_mutex_init(&rv->lock, NULL);
	if (tcp) {
		rv->conns_expected = n > TH_MAX_CLIENTS ? TH_MAX_CLIENTS : (int)n;
	} else {
		rv->seen_max = n;
		rv->seen = calloc(n ? n : 1, 1);
	}
	err = recv_bind(rv, tcp ? SOCK_STREAM : SOCK_DGRAM);
	if (err)
		return err;
	if (pthread_create(&rv->thread, NULL, tcp ? tcp_accept_main : udp_main,
			   rv)) {
		close(rv->lfd);
		rv->lfd = -1;
		return -EAGAIN;
	}
	return 0;
}

int th_recv_wait(struct th_recv *rv, uint64_t records, int timeout_ms)
{
	uint64_t end = th_now_ms() + (uint64_t)timeout_ms;
	uint64_t got, errors;

	for (;;) {
		pthread_mutex_lock(&rv->lock);
		got = rv->records;
		errors = rv->errors;
		pthread_mutex_unlock(&rv->lock);
		if (errors)
			return -EIO;
		if (got >= records)
			return 0;
		if (th_now_ms() >= end)
			return -ETIMEDOUT;
		th_sleep_ms(10);
	}
}

void th_recv_stop(struct th_recv *rv)
{
	int i;

	if (rv->lfd < 0)
		return;
	rv->stop = 1;
	pthread_join(rv->thread, NULL);
	for (i = 0; i < rv->nconns; i++) {
		pthread_join(rv->readers[i], NULL);
		close(rv->cfd[i]);
	}
	rv->nconns = 0;
	close(rv->lfd);
	rv->lfd = -1;
}

void th_recv_free(struct th_recv *rv)
{
	th_recv_stop(rv);
	free(rv->seen);
	rv->seen = NULL;
	pthread_mutex_destroy(&rv->lock);
}

void th_recv_dest(const struct th_recv *rv, char *buf, size_t size)
{
	snprintf(buf, size, "%s://%s:%u",
		 rv->proto == ZCS_PROTO_TCP ? "tcp" : "udp",
		 rv->family == AF_INET ? "127.0.0.1" : "[::1]", rv->port);
}

int th_listen_lo(uint16_t *port, int rcvbuf)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	TH_CHECK(fd >= 0, "socket: %s", strerror(errno));
	if (rcvbuf)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	TH_CHECK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		 listen(fd, 4) == 0 &&
		 getsockname(fd, (struct sockaddr *)&sa, &sl) == 0,
		 "listen: %s", strerror(errno));
	*port = ntohs(sa.sin_port);
	return fd;
}
