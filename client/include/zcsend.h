/* SPDX-License-Identifier: MIT */
/*
 * libzcsend: send network data through zcsendd with io_uring zerocopy.
 *
 * The daemon gives each client a shared buffer pool. Write a payload into
 * memory from zcs_alloc(), queue it with zcs_send(), and once its completion
 * comes back from zcs_reap() the memory is yours again: the kernel has let
 * go of it. Only then may it be rewritten or passed to zcs_free().
 *
 * Thread safety: a struct zcs_client is not thread-safe; use one per thread,
 * or serialise all calls on it. Distinct handles are independent. The
 * library keeps no global state, starts no threads and prints nothing.
 *
 * Errors: every function returning int returns 0 (or a count) on success and
 * a negative errno value on failure; errno itself is left unspecified.
 */
#ifndef ZCSEND_H
#define ZCSEND_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct zcs_client;

/* One finished send. Mirrors the wire record; reserved for growth. */
struct zcs_completion {
	uint64_t tag;		/* as given to zcs_send() */
	int32_t result;		/* bytes sent, or a negative errno */
	uint32_t flags;		/* ZCS_COMP_F_* */
};

#define ZCS_COMP_F_ZC		0x01u	/* sent with a zerocopy send */
#define ZCS_COMP_F_COPIED	0x02u	/* ... but the kernel copied the data */
#define ZCS_COMP_F_USAGE	0x04u	/* ZC/COPIED are reported, not guessed */

#define ZCS_PROTO_UDP		17
#define ZCS_PROTO_TCP		6

/*
 * zcs_connect - connect to the daemon and map a buffer pool.
 * @path: control socket; NULL means $ZCSENDD_SOCKET, else
 *        /run/zcsendd/zcsendd.sock for root and $XDG_RUNTIME_DIR/zcsendd.sock
 *        for other users (-ENOENT when XDG_RUNTIME_DIR is unset).
 * @pool_bytes: pool size wanted; 0 asks for the library default of 4 MiB.
 *        The daemon may grant less: zcs_pool_size() tells what was mapped.
 * @out: the new handle.
 * The daemon is asked for shared-memory rings, and the socket is used if
 * it has none; $ZCSEND_TRANSPORT=socket never asks, =ring fails when the
 * daemon refuses them.
 * Connecting and the daemon's answer together may take up to 10 s, or
 * $ZCSEND_CONNECT_TIMEOUT_MS milliseconds (0: no limit), so that a daemon
 * that is stuck, or a listener that is not zcsendd, cannot hang the caller.
 * RETURN VALUE: 0, or -errno: -ENOENT/-ECONNREFUSED when no daemon listens,
 * -ETIMEDOUT when nothing answered in time, -EPROTONOSUPPORT on a protocol
 * version mismatch, -EINVAL for a ZCSEND_TRANSPORT other than socket or ring, or the daemon's refusal (-EACCES: this user may not
 * connect, -EUSERS: too many clients, -ENOMEM: no pool memory left); use
 * zcs_connect_err() to learn the daemon's reason.
 */
int zcs_connect(const char *path, size_t pool_bytes, struct zcs_client **out);

/*
 * zcs_connect_err - zcs_connect(), keeping the daemon's reason on failure.
 * @errbuf: NULL, or room for the reason (ZCS_ERRBUF_SIZE holds any): when
 *        the daemon refused the connection, the text it gave, e.g. "uid 1001
 *        may not use this daemon" (for a bad $ZCSEND_TRANSPORT, the
 *        library's own, starting "libzcsend: "); otherwise, and on
 *        success, "". A reason is
 *        cut to fit @errbuf_size and always NUL-terminated.
 * There is no handle when connecting fails, so the reason goes to a buffer
 * of the caller's; once connected, errors are errno values as elsewhere.
 * RETURN VALUE: as zcs_connect(). An empty @errbuf with an error means the
 * daemon gave no reason: strerror(-ret) says what went wrong.
 */
int zcs_connect_err(const char *path, size_t pool_bytes,
		    struct zcs_client **out, char *errbuf, size_t errbuf_size);

#define ZCS_ERRBUF_SIZE		112	/* the longest reason, NUL included */

/*
 * zcs_close - drop the connection and unmap the pool. NULL is ignored.
 * Sends still queued in the handle (not yet flushed) are discarded; sends
 * already flushed are finished by the daemon, which holds its own mapping.
 */
void zcs_close(struct zcs_client *c);

/*
 * zcs_get_fd - one descriptor for your own event loop, over either
 * transport: an epoll fd watching the control socket and an eventfd of the
 * library's. From this call on, whenever a zcs_* call returns while the
 * library holds completions not yet returned by zcs_reap() (a reap with a
 * small @max leaves the rest buffered), the fd is readable; each reap
 * that leaves completions behind, and each call that buffers new ones
 * (zcs_flow_open() while it waits for its answer, say), makes it readable
 * anew, so an edge-triggered (EPOLLET) waiter gets a fresh edge. With
 * sends in flight it becomes readable once their completions come.
 * The pattern: wait for POLLIN (poll, epoll level- or edge-triggered,
 * select), then call zcs_reap() with timeout 0, ideally until it returns
 * 0; reaping once per wake-up works too, at one wake-up per reap. The fd
 * may be readable with nothing to reap (a wake-up already on its way):
 * zcs_reap() then returns 0 and the next wait is quiet. Handles that never
 * call zcs_get_fd() pay no system call for this (a handle with a pool
 * holds the two fds either way). The fd belongs to the handle: do not
 * read, write or close it.
 * RETURN VALUE: the fd (owned by the handle).
 */
int zcs_get_fd(const struct zcs_client *c);

/*
 * zcs_set_spin_usec - with shared-memory rings, the most zcs_reap() with
 * a timeout checks the completion ring in a busy loop before it sleeps
 * (a sleep costs the daemon a wake-up and us a system call or two). It
 * spins only while that pays: while the daemon is seen running (its beat
 * in the ring moves) and the host has a CPU to spare for both; a daemon
 * that sleeps, or a busy host, ends the spin at once.
 * 0 never spins. No effect over the socket. Default: 20 (1 KB sends, one
 * in flight, completed in 2.8 us instead of 7.7 in zcsend-bench); set 0
 * where CPU time matters more than latency.
 * RETURN VALUE: 0, or -EINVAL above 1000000 (one second).
 * Since ZCSEND_1.2.
 */
int zcs_set_spin_usec(struct zcs_client *c, unsigned usec);

/* zcs_pool_base, zcs_pool_size - the mapped pool, for callers that manage
 * its space themselves instead of using zcs_alloc(). */
void *zcs_pool_base(const struct zcs_client *c);
size_t zcs_pool_size(const struct zcs_client *c);

/*
 * zcs_flow_open - open a flow to a destination.
 * @dest: "udp://HOST:PORT" or "tcp://HOST:PORT" (HOST a numeric IPv4
 *        address, [IPv6] in brackets, or localhost).
 * @flow: the flow id for zcs_send().
 * Blocks until the daemon answers (a TCP flow is connected by then).
 * RETURN VALUE: the flow's protocol (ZCS_PROTO_UDP or ZCS_PROTO_TCP), or
 * -errno: -EINVAL for a malformed destination, -ECONNREFUSED, ...
 */
int zcs_flow_open(struct zcs_client *c, const char *dest, uint32_t *flow);

/*
 * zcs_flow_max_segment - the largest datagram payload on a UDP flow that
 * needs no IP fragmentation: the path MTU less IP and UDP headers, as the
 * daemon saw it when the flow opened (1472 on a 1500-byte IPv4 network).
 * The segment size for zcs_send_segmented() may be at most this.
 * RETURN VALUE: the size; 0 for a TCP flow; -EBADF for no such open flow.
 * Since ZCSEND_1.3.
 */
int zcs_flow_max_segment(const struct zcs_client *c, uint32_t flow);

/*
 * zcs_flow_close - close a flow; sends already queued on it still finish.
 * RETURN VALUE: 0 or -errno (-EBADF: no such flow).
 */
int zcs_flow_close(struct zcs_client *c, uint32_t flow);

/*
 * zcs_alloc - take @len bytes of the pool.
 * RETURN VALUE: 0 with *@buf set, -ENOMEM when no free extent is large
 * enough (reap completions, free, and try again), -EINVAL for len 0 or
 * larger than the pool.
 */
int zcs_alloc(struct zcs_client *c, size_t len, void **buf);

/*
 * zcs_free - give back memory from zcs_alloc(). Do not free memory that a
 * send not yet completed still names.
 * RETURN VALUE: 0, or -EINVAL if @buf is not the start of an allocation.
 */
int zcs_free(struct zcs_client *c, void *buf);

/*
 * zcs_send - queue a send of [@buf, @buf+@len) on @flow. @buf must lie in
 * the pool. Queued sends leave together on zcs_flush(), zcs_reap(), or when
 * a message is full. On UDP each is one datagram; queued sends of one
 * length (the last may be shorter) may leave as one UDP GSO send, each
 * still with its own completion (destination policy udp_segment).
 * RETURN VALUE: 0; -EAGAIN when the daemon's in-flight limit is reached,
 * counting unreaped completions (reap first); -EINVAL when the range is
 * empty or outside the pool;
 * -EMSGSIZE when @len is over the daemon's limit; -EPIPE if the daemon is
 * gone.
 */
int zcs_send(struct zcs_client *c, uint32_t flow, const void *buf, size_t len,
	     uint64_t tag);

/*
 * zcs_send_segmented - queue [@buf, @buf+@len) on a UDP flow as datagrams
 * of @segment bytes each, the last one shorter if @len is not a multiple.
 * The daemon sends them with UDP segmentation offload (one send cut into
 * datagrams by the kernel or the NIC), zerocopy as the destination's
 * policy says, and falls back to one send per datagram where the kernel
 * cannot; the receiver sees ordinary datagrams either way. The completion
 * counts every byte sent, or carries the error: -EOPNOTSUPP on a TCP flow,
 * -EMSGSIZE when @segment is over zcs_flow_max_segment() or the range
 * makes more than 4096 datagrams.
 * RETURN VALUE: as zcs_send(), and -EINVAL for @segment 0 or over 65535.
 * Since ZCSEND_1.3.
 */
int zcs_send_segmented(struct zcs_client *c, uint32_t flow, const void *buf,
		       size_t len, size_t segment, uint64_t tag);

/*
 * zcs_flush - write all queued sends to the daemon.
 * RETURN VALUE: 0 or -errno (-EPIPE: the daemon is gone).
 */
int zcs_flush(struct zcs_client *c);

/*
 * zcs_reap - flush queued sends, then collect up to @max completions.
 * @timeout_ms: 0 returns at once, -1 waits for at least one completion,
 *              otherwise waits up to that many milliseconds. Nothing is
 *              waited for when no send is in flight.
 * Completions beyond @max stay buffered in the handle for the next call
 * (zcs_get_fd() stays readable for them).
 * RETURN VALUE: the number of completions stored (0 on timeout), or -errno
 * (-EPIPE: the daemon closed the connection). Completions that arrived
 * before an error are returned first; the error comes on the next call.
 * A completion's pool bytes are the caller's again once it is returned.
 */
int zcs_reap(struct zcs_client *c, struct zcs_completion *out, unsigned max,
	     int timeout_ms);

/* zcs_inflight - sends queued or sent whose completion is not yet reaped. */
unsigned zcs_inflight(const struct zcs_client *c);

/* zcs_max_inflight - the daemon's in-flight limit for this client. */
unsigned zcs_max_inflight(const struct zcs_client *c);

/* zcs_version - the library's version string, e.g. "0.1.0". */
const char *zcs_version(void);

#ifdef __cplusplus
}
#endif

#endif /* ZCSEND_H */
