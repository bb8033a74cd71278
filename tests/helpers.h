/* SPDX-License-Identifier: MIT */
/*
 * The one header the tests include: the helpers in tests/th/, one file
 * per job. util (checks, skips, time), daemon (a real zcsendd in a private
 * directory), raw (the wire format byte by byte), rings (the client side
 * of the shared-memory rings), payload and recv (checked loopback sinks).
 */
#ifndef ZCS_TEST_HELPERS_H
#define ZCS_TEST_HELPERS_H

/* What tests got from this header before it was split, kept for them. */
#include <sys/types.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "zcs_proto.h"

#include "th/util.h"
#include "th/daemon.h"
#include "th/raw.h"
#include "th/rings.h"
#include "th/payload.h"
#include "th/recv.h"

#endif /* ZCS_TEST_HELPERS_H */
