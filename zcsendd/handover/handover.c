/* SPDX-License-Identifier: MIT */
/* Placeholder until the hand-over lands (issue 19). */
#include <errno.h>

#include "zcsd.h"

int handover_init(struct zcsd *d, char **argv) { (void)d; (void)argv; return 0; }
void handover_fini(struct zcsd *d) { (void)d; }
int handover_start(struct zcsd *d, enum handover_mode mode, const char *why)
{ (void)d; (void)mode; (void)why; return -ENOSYS; }
bool handover_fdstore_ready(const struct zcsd *d) { (void)d; return false; }
int handover_take(struct zcsd *d) { (void)d; return 0; }
int handover_resume(struct zcsd *d) { (void)d; return 0; }
