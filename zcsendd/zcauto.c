/* SPDX-License-Identifier: MIT */
/*
 * zerocopy = auto. Zerocopy pays only where the kernel really sends from
 * the pages; on loopback, veth, or devices without scatter-gather it
 * copies anyway, after pinning and notifying, which costs more than a
 * plain copying send. So a destination watches the kernel's copied
 * reports (IORING_SEND_ZC_REPORT_USAGE) and switches to copying sends
 * while most zerocopy sends are copied, trying zerocopy again from time to
 * time so that a route change is noticed.
 */
#include <stdio.h>

#include "zcsd.h"

#define WINDOW		64	/* zerocopy sends judged at once */
#define PROBE_SENDS	16	/* zerocopy sends tried while copying */
#define PROBE_MS	5000	/* how often to try */

/* End a window: zerocopy in force or not, and why. */
static void zcauto_set(struct dest *dst, bool active, uint32_t a, uint32_t b)
{
	struct log_about about = about_dest(dst, active ? NULL
							     : LOG_ID_DEST_COPYING);

	if (dst->zc.active != active)
		log_at(LOG_INFO, &about, 0, "destination %s: %s zerocopy "
		       "(kernel copied %u of %u zerocopy sends)", dst->name,
		       active ? "back to" : "leaving", a, b);
	dst->zc.active = active;
	snprintf(dst->zc.reason, sizeof(dst->zc.reason),
		 "auto: kernel copied %u of %u zerocopy sends", a, b);
	dst->zc.seen = 0;
	dst->zc.copied = 0;
}

/* zcauto_reset - start over at creation or when the zerocopy key changes. */
void zcauto_reset(struct zcsd *d, struct dest *dst)
{
	struct zcauto *z = &dst->zc;
	const char *why = "policy zerocopy=on";

	*z = (struct zcauto){ .active = true };
	if (!(d->ring.features & ZCS_FEAT_SEND_ZC)) {
		z->active = false;
		why = "kernel has no IORING_OP_SEND_ZC";
	} else if (dst->policy.zerocopy == ZCS_ZC_OFF) {
		z->active = false;
		why = "policy zerocopy=off";
	} else if (dst->policy.zerocopy == ZCS_ZC_AUTO) {
		why = d->ring.features & ZCS_FEAT_REPORT_USAGE
			      ? "auto: no copies reported yet"
			      : "auto: kernel does not report copies";
	}
	snprintf(z->reason, sizeof(z->reason), "%s", why);
}

/*
 * zcauto_use - may the next send to @dst be a zerocopy one (size aside)?
 * While copying under auto, a few sends now and then probe zerocopy.
 */
bool zcauto_use(struct zcsd *d, struct dest *dst)
{
	struct zcauto *z = &dst->zc;

	if (z->active || dst->policy.zerocopy != ZCS_ZC_AUTO)
		return z->active;
	if (!z->probe_left && now_ms() >= z->next_probe_ms)
		z->probe_left = PROBE_SENDS;
	if (!z->probe_left)
		return false;
	z->probe_left--;
	return true;
}

/*
 * zcauto_report - a zerocopy send to @dst finished; @copied is the
 * kernel's report. Switches the destination when a window says so.
 */
void zcauto_report(struct zcsd *d, struct dest *dst, bool copied)
{
	struct zcauto *z = &dst->zc;
	uint32_t window = z->active ? WINDOW : PROBE_SENDS;

	if (dst->policy.zerocopy != ZCS_ZC_AUTO ||
	    !(d->ring.features & ZCS_FEAT_REPORT_USAGE))
		return;
	z->seen++;
	z->copied += copied;
	if (z->seen < window)
		return;
	if (z->copied * 2 > z->seen) {
		zcauto_set(dst, false, z->copied, z->seen);
		z->next_probe_ms = now_ms() + PROBE_MS;
		z->probe_left = 0;
	} else {
		zcauto_set(dst, true, z->copied, z->seen);
	}
}
