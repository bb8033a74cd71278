/* SPDX-License-Identifier: MIT */
/*
 * Resource limits (limits.c): taken at start by main.c, checked again at
 * reload. No state: the kernel keeps the limits.
 */
#ifndef ZCSD_LIMITS_H
#define ZCSD_LIMITS_H

struct zcsd;

void limits_memlock_raise(const struct zcsd *d);
void limits_nofile_raise(void);
void limits_nofile_check(const struct zcsd *d);

#endif /* ZCSD_LIMITS_H */
