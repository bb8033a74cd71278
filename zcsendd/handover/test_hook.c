/* SPDX-License-Identifier: MIT */
/*
 * For tests only: ZCSENDD_TEST_HANDOVER spoils the state a hand-over
 * writes, so that the next process's refusal can be seen end to end:
 * `corrupt` flips a byte the checksum covers, `version` writes another
 * format version, `truncate` cuts the state in half, `nofds` passes one
 * descriptor fewer than the state names. Unset, nothing changes.
 */
#include <stdlib.h>
#include <string.h>

#include "zcsd.h"
#include "handover/internal.h"
#include "handover/state.h"

static const char *hook(void)
{
	const char *v = getenv(HANDOVER_TEST_ENV);

	return v ? v : "";
}

void handover_test_hook_state(uint8_t *buf, size_t *len)
{
	struct hs_header h;

	if (!strcmp(hook(), "corrupt") && *len > sizeof(h))
		buf[*len - 1] ^= 0x5a;
	if (!strcmp(hook(), "truncate"))
		*len /= 2;
	if (!strcmp(hook(), "version") && *len >= sizeof(h)) {
		memcpy(&h, buf, sizeof(h));
		h.version = 99;
		memcpy(buf, &h, sizeof(h));
	}
}

/* How many of the first descriptors to leave out: the listener, first. */
uint32_t handover_test_hook_fds(uint32_t nfds)
{
	return !strcmp(hook(), "nofds") && nfds;
}
