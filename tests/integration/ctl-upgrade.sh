#!/bin/bash
# SPDX-License-Identifier: MIT
# `zcsendctl upgrade` and SIGUSR2 from the control side (issue 19): bad
# options exit 2; with no daemon the socket tried is named; an admin's
# upgrade is either done (one more hand-over, said in one line, exit 0) or
# refused with the daemon's reason (exit 1) and the daemon serves on with
# no hand-over counted (until the hand-over lands, the daemon answers
# "no hand-over: Function not implemented"); SIGUSR2 is logged and never
# kills the daemon. A fresh daemon's status shows the service with no
# hand-over. The non-admin's refusal is in access.sh; the hand-over
# itself in the hand-over's own tests.
set -u
. "$(dirname "$0")/lib.sh"
need_built "$ZCSENDD" "$ZCSENDCTL"

# handovers JSON: the hand-over count a status --json file gives.
handovers() {
	python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["handovers"])' "$1"
}

for args in "--timeout 0" "--timeout x" "--timeout 86401" "--timeout" \
	"--bogus" "extra"; do
	# shellcheck disable=SC2086
	"$ZCSENDCTL" -s "$SOCK" upgrade $args >"$T/out" 2>&1
	rc=$?
	[ $rc -eq 2 ] || fail "upgrade $args: exit $rc, want 2: $(cat "$T/out")"
done

out=$("$ZCSENDCTL" -s "$T/none.sock" upgrade 2>&1)
rc=$?
[ $rc -eq 1 ] || fail "upgrade with no daemon: exit $rc: $out"
echo "$out" | grep -qF "cannot connect to $T/none.sock" ||
	fail "upgrade with no daemon: the socket is not named: $out"

start_daemon
PID0=$DAEMON_PID
status_json "$T/s0.json"
[ "$(handovers "$T/s0.json")" = 0 ] || fail "a fresh daemon counts hand-overs"
"$ZCSENDCTL" -s "$SOCK" status >"$T/s0.txt" || fail "status: $(cat "$T/s0.txt")"
grep -Eq "^service: up [0-9]+d [0-9:]{8}, process up [0-9]+d [0-9:]{8}, 0 hand-overs$" \
	"$T/s0.txt" || fail "no service line in status: $(cat "$T/s0.txt")"

out=$("$ZCSENDCTL" -s "$SOCK" upgrade --timeout 30 2>&1)
rc=$?
echo "upgrade: exit $rc: $out"
if [ $rc -eq 0 ]; then
	echo "$out" | grep -Eq "^upgraded: hand-over 1 carried [0-9]+ clients?, blackout [0-9]+\.[0-9] ms, pid $PID0$" ||
		fail "upgrade done, but it says: $out"
	want=1
else
	[ $rc -eq 1 ] || fail "upgrade refused with exit $rc, want 1"
	echo "$out" | grep -q "^zcsendctl: upgrade: no hand-over: ." ||
		fail "upgrade refused without the daemon's reason: $out"
	want=0
fi
grep -q "client [0-9]* (pid [0-9]* uid $(id -u)): upgrade asked" "$T/zcsendd.log" ||
	fail "the daemon did not log who asked for the upgrade"
kill -0 "$PID0" 2>/dev/null || fail "the daemon is gone after upgrade"
status_json "$T/s1.json"
[ "$(handovers "$T/s1.json")" = $want ] ||
	fail "hand-overs $(handovers "$T/s1.json") after upgrade exit $rc, want $want"

# SIGUSR2 hands over (the same pid: it re-executes) or logs why not.
kill -USR2 "$PID0"
for _ in $(seq 50); do
	grep -q "SIGUSR2" "$T/zcsendd.log" && break
	sleep 0.1
done
grep -q "SIGUSR2" "$T/zcsendd.log" || fail "SIGUSR2 not logged"
kill -0 "$PID0" 2>/dev/null || fail "SIGUSR2 killed the daemon"
status_json "$T/s2.json"
stop_daemon
echo "ctl-upgrade: ok"
