#!/bin/bash
# SPDX-License-Identifier: MIT
# Zerocopy really happens on a device that can do it, and is reported as
# copied where the kernel copies. In a private network namespace, UDP to
# 198.18.0.2 (RFC 2544 range) leaves through an ifb device with nothing
# behind it, a true sink: zc_sends > 0 and zc_copied == 0. UDP to a
# loopback receiver in the same namespace: the kernel copies, zc_copied > 0.
# transports: socket ring
set -u
. "$(dirname "$0")/lib.sh"
need_built "$ZCSENDD" "$ZCSENDCTL" "$ZCSRECV"
[ "$(id -u)" -eq 0 ] || skip "needs root (network namespace, ifb)"
command -v ip >/dev/null || skip "no ip(8)"

NS=zcs-test-$$
ip netns add "$NS" 2>"$T/netns.err" || skip "ip netns add: $(cat "$T/netns.err")"
on_exit "ip netns del $NS 2>/dev/null"
ip -n "$NS" link add ifb0 type ifb 2>"$T/ifb.err" ||
	skip "no ifb device: $(cat "$T/ifb.err")"
ip -n "$NS" link set lo up || fail "lo up"
# No fragmentation: one datagram, one skb to the sink.
ip -n "$NS" link set ifb0 mtu 65535 up || fail "ifb0 up"
ip -n "$NS" addr add 198.18.0.1/24 dev ifb0 || fail "ifb0 address"

start_daemon ip netns exec "$NS"

# 4 MiB in 32 KiB chunks: every send above zerocopy_min_bytes (8192).
head -c 4194304 /dev/urandom >"$T/payload.bin"
SINK=udp://198.18.0.2:9000
"$ZCSENDCTL" -s "$SOCK" send "$SINK" "$T/payload.bin" --chunk 32768 --no-segment \
	>"$T/sink.out" 2>&1 || fail "send to the ifb sink: $(cat "$T/sink.out")"

# 128 datagrams now and 128 more for the zerocopy=auto part below.
RECV_WRAP="ip netns exec $NS" start_recv lo udp 127.0.0.1 --count 256 \
	--timeout 60
LOOP=udp://127.0.0.1:$RECV_PORT
"$ZCSENDCTL" -s "$SOCK" send "$LOOP" "$T/payload.bin" --chunk 32768 --no-segment \
	>"$T/loop.out" 2>&1 || fail "send to loopback: $(cat "$T/loop.out")"
for i in $(seq 100); do
	[ "$(stat -c %s "$T/lo.bin")" -ge 4194304 ] && break
	sleep 0.1
done
cmp -s -n 4194304 "$T/payload.bin" "$T/lo.bin" ||
	fail "loopback datagrams differ"


status_json "$T/status.json"
python3 - "$T/status.json" "198.18.0.2:9000" "127.0.0.1:$RECV_PORT" <<'PY' ||
import json, sys
s = json.load(open(sys.argv[1]))

def dest(addr):
    for d in s["destinations"]:
        if addr in d.get("address", "") or addr in d.get("name", ""):
            return d
    sys.exit("no destination %s in %s" % (addr, s["destinations"]))

sink, loop = dest(sys.argv[2]), dest(sys.argv[3])
print("sink:", sink)
print("loopback:", loop)
errs = []
if sink["sends"] != 128:
    errs.append("sink sends %d, want 128" % sink["sends"])
if sink["zc_sends"] <= 0:
    errs.append("sink: no zerocopy sends")
if sink["zc_copied"] != 0:
    errs.append("sink: kernel copied %d sends" % sink["zc_copied"])
if loop["zc_sends"] <= 0:
    errs.append("loopback: no zerocopy sends")
if loop["zc_copied"] <= 0:
    errs.append("loopback: copies not reported")
if errs:
    sys.exit("; ".join(errs))
PY
	fail "zerocopy counters wrong (status above)"

# zerocopy=auto keeps zerocopy on the sink and leaves it on loopback.
for d in "$SINK" "$LOOP"; do
	"$ZCSENDCTL" -s "$SOCK" policy "$d" zerocopy=auto || fail "policy $d"
done
for d in "$SINK" "$LOOP"; do
	"$ZCSENDCTL" -s "$SOCK" send "$d" "$T/payload.bin" --chunk 32768 --no-segment \
		--quiet || fail "auto send to $d"
done
status_json "$T/auto.json"
sink_active=$(dest_field "$T/auto.json" "$SINK" zerocopy_active)
loop_active=$(dest_field "$T/auto.json" "$LOOP" zerocopy_active)
echo "auto: sink active=$sink_active ($(dest_field "$T/auto.json" "$SINK" zerocopy_reason))"
echo "auto: loopback active=$loop_active ($(dest_field "$T/auto.json" "$LOOP" zerocopy_reason))"
wait_pid "$RECV_PID" 30 || fail "loopback receiver: $(cat "$T/lo.out")"
[ "$sink_active" = true ] || fail "auto turned zerocopy off on the ifb sink"
[ "$loop_active" = false ] || fail "auto kept zerocopy on loopback"
stop_daemon
echo "ifb-zerocopy: ok"
