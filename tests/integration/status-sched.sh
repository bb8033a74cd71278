#!/bin/bash
# SPDX-License-Identifier: MIT
# `zcsendctl status` shows each client's scheduling (issue 18) from the
# real daemon: with the default weight and a scheduler that has counted
# nothing yet, a connected client has weight 1, cost 0 and share 0, no
# waits; the table says so with "-" where there is nothing to divide,
# and the daemon line gives the totals. (test-status checks the same
# formatting with counters that are not 0.)
# transports: socket ring
set -u
. "$(dirname "$0")/lib.sh"
need_built "$ZCSENDD" "$ZCSENDCTL" "$ZCSRECV"

start_daemon_udp u --timeout 60

# A client that stays connected until its input closes.
held_client_start u "$T/s.json" --chunk 100

python3 - "$T/s.json" <<'PY' || fail "status --json: $(cat "$T/s.json")"
import json, sys
s = json.load(open(sys.argv[1]))
c = s["clients"][0]
zero = {"cost": 0, "share_pct": 0, "queue_ns": 0, "queued": 0,
        "queue_mean_ns": 0, "queue_max_ns": 0}
if c.get("weight") != 1:
    sys.exit("client weight %r, want 1" % c.get("weight"))
if c.get("sched") != zero:
    sys.exit("client sched %r, want %r" % (c.get("sched"), zero))
del zero["share_pct"]
if s["totals"].get("sched") != zero:
    sys.exit("totals sched %r, want %r" % (s["totals"].get("sched"), zero))
print("status --json: weight 1, sched all 0")
PY

"$ZCSENDCTL" -s "$SOCK" status >"$T/s.txt" || fail "zcsendctl status"
grep -q '^sched: cost 0, 0 waits, mean -, max 0ns$' "$T/s.txt" ||
	fail "no daemon sched line: $(cat "$T/s.txt")"
grep -q 'WEIGHT   SHARE    QDELAY      QMAX$' "$T/s.txt" ||
	fail "no WEIGHT SHARE QDELAY QMAX columns: $(cat "$T/s.txt")"
row=$(grep ' zcsendctl ' "$T/s.txt" | awk '{ print $(NF-3), $(NF-2), $(NF-1), $NF }')
[ "$row" = "1 - - 0ns" ] || fail "client row ends in '$row', want '1 - - 0ns'"
echo "status: client row ends in '$row'"

held_client_end
stop_daemon
echo "status-sched: ok"
