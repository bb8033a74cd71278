/* SPDX-License-Identifier: MIT */
/*
 * zcsendctl status: one STATUS reply printed as tables for a terminal
 * (status_text.c) or as one JSON object for scripts (status_json.c).
 */
#ifndef STATUS_H
#define STATUS_H

#include <stdio.h>

struct ctl_status;

/* status_json.c */
int status_json_write(FILE *f, const struct ctl_status *st);

/* status_text.c */
int status_text_write(FILE *f, const struct ctl_status *st);

#endif /* STATUS_H */
