#!/bin/bash
# SPDX-License-Identifier: MIT
# On a host with no core to spare, the daemon does not poll the rings
# (PROTOCOL.md, "Waiting"): with a busy loop on every CPU, a ring client
# sending one record at a time costs no polling time (status's
# rings.poll_ns, wall time of turns that found nothing), where the daemon
# used to poll poll_usec after every hand-off and take the core the
# client needed. Every byte still arrives, in order, over TCP.
# transports: ring
set -u
. "$(dirname "$0")/lib.sh"
need_built "$ZCSENDD" "$ZCSENDCTL" "$ZCSRECV"

start_recv t tcp 127.0.0.1 --timeout 120
printf '[destination t]\naddress = tcp://127.0.0.1:%s\n' "$RECV_PORT" \
	>"$T/conf"
DAEMON_ARGS="-c $T/conf" start_daemon

for _ in $(seq "$(getconf _NPROCESSORS_ONLN)"); do
	(while :; do :; done) &
	on_exit "kill $! 2>/dev/null"
done

head -c 2000000 /dev/urandom >"$T/in.bin"
t0=$(date +%s%N)
"$ZCSENDCTL" -s "$SOCK" send t "$T/in.bin" --chunk 1000 --inflight 1 \
	--quiet >"$T/send.out" 2>&1 || fail "send: $(cat "$T/send.out")"
t1=$(date +%s%N)
status_json "$T/s.json"
wait_pid "$RECV_PID" 30 || fail "receiver: $(cat "$T/t.out")"
cmp -s "$T/in.bin" "$T/t.bin" || fail "the receiver got other bytes"

python3 - "$T/s.json" $((t1 - t0)) <<'PY' || fail "the daemon polled a busy host"
import json, sys
s = json.load(open(sys.argv[1]))
poll, elapsed = s["totals"]["rings"]["poll_ns"], int(sys.argv[2])
print("2,000 sends of 1,000 bytes in %.0f ms beside busy loops: "
      "%.2f ms polling" % (elapsed / 1e6, poll / 1e6))
sys.exit(0 if poll * 100 < elapsed else 1)   # under 1% of the time
PY
echo "ring-busy: ok"
