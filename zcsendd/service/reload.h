/* SPDX-License-Identifier: MIT */
/*
 * Reloading the config while running (reload.c): for SIGHUP (signals.c)
 * and the RELOAD command (dispatch.c).
 */
#ifndef ZCSD_RELOAD_H
#define ZCSD_RELOAD_H

#include <stddef.h>

struct zcsd;

int reload_run(struct zcsd *d, char *err, size_t errlen);

#endif /* ZCSD_RELOAD_H */
