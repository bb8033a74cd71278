/* SPDX-License-Identifier: MIT */
/*
 * What the hand-over's files share among themselves (handover/ only): the
 * state writer, the bundle that carries descriptors, the test hook, and
 * the refusal that tells clients why they are not carried.
 */
#ifndef ZCSD_HANDOVER_INTERNAL_H
#define ZCSD_HANDOVER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct zcsd;
struct hs_ring;

/* The environment variable naming the bundle across an exec. */
#define HANDOVER_FD_ENV		"ZCSENDD_HANDOVER_FD"
/* ... and the io_uring, which cannot ride the bundle. */
#define HANDOVER_RING_ENV	"ZCSENDD_HANDOVER_RING"
/* Tests only: spoil the state on purpose (zcsendd.8, ENVIRONMENT). */
#define HANDOVER_TEST_ENV	"ZCSENDD_TEST_HANDOVER"

/* state_write.c */
int hs_state_write(struct zcsd *d, int *memfd, int **fds, uint32_t *nfds);

/* bundle.c */
int bundle_send(int memfd, const int *fds, uint32_t nfds, int ends[2]);
int bundle_recv(int fd, int **fds, uint32_t *nfds, char *why,
		size_t whylen);

/* test_hook.c */
void handover_test_hook_state(uint8_t *buf, size_t *len);
uint32_t handover_test_hook_fds(uint32_t nfds);

/* refuse.c */
void handover_refuse(struct zcsd *d, int *fds, uint32_t nfds,
		     const char *why);

/* resume.c, resume_client.c */
struct handover;
struct hs_client;
int handover_take_fd(struct handover *h, uint32_t idx);
bool handover_client(struct zcsd *d, const struct hs_client *hc);

/* reserve.c */
void handover_reserve(struct handover *h);
void handover_unreserve(struct handover *h);

/* pass.c */
int handover_pass(struct zcsd *d);

#endif /* ZCSD_HANDOVER_INTERNAL_H */
