#!/bin/bash
# SPDX-License-Identifier: MIT
# ring_entries: every value `zcsendd --check-config` accepts must start the
# daemon, and every value it refuses must be refused with the allowed
# range. The largest accepted value, 8192, makes a CQ of 65536 entries:
# the kernel's limit (IORING_MAX_CQ_ENTRIES).
. "$(dirname "$0")/lib.sh"
need_built "$ZCSENDD"

accepted=0 refused=0
for n in 8 1000 8191 8192 8193 16384 32768 32769; do
	printf '[daemon]\nring_entries = %s\n' "$n" >"$T/r$n.conf"
	if "$ZCSENDD" --check-config -c "$T/r$n.conf" >"$T/check.out" 2>&1; then
		DAEMON_ARGS="-v -c $T/r$n.conf"
		start_daemon
		grep -q "ready" "$T/zcsendd.log" ||
			fail "ring_entries = $n: no 'ready' in the log"
		stop_daemon
		accepted=$((accepted + 1))
		echo "ring_entries = $n: accepted, daemon started"
	else
		grep -q "8 to 8192" "$T/check.out" ||
			fail "ring_entries = $n refused without the range: $(cat "$T/check.out")"
		refused=$((refused + 1))
		echo "ring_entries = $n: refused: $(cat "$T/check.out")"
	fi
done
[ $accepted -eq 4 ] && [ $refused -eq 4 ] ||
	fail "$accepted accepted, $refused refused; want 4 and 4"
echo "ring-entries: what --check-config accepts starts; the rest is refused"
