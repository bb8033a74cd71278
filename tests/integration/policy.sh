#!/bin/bash
# SPDX-License-Identifier: MIT
# Configuration and per-destination policy, end to end: --check-config on
# good and bad files; flush=batch gives 32 completions a message while the
# client keeps sends in flight and still returns the last partial batch at
# once; flush=immediate gives one per message; zerocopy=auto leaves
# zerocopy on loopback; `zcsendctl policy` changes a policy at run time; a
# reload during running transfers changes a policy, retires a destination
# (no new flows, old ones finish) and adds one, with every send completed;
# an invalid file on reload changes nothing.
# transports: socket ring
set -u
. "$(dirname "$0")/lib.sh"
need_built "$ZCSENDD" "$ZCSENDCTL" "$ZCSRECV"

CONF=$T/zcsendd.conf
DAEMON_ARGS="-c $CONF"

# check_config FILE WANT_RC [TEXT]: --check-config's verdict and message.
check_config() {
	local out rc
	out=$("$ZCSENDD" --check-config -c "$1" 2>&1)
	rc=$?
	[ $rc -eq "$2" ] || fail "--check-config $1: exit $rc, want $2: $out"
	[ -z "${3:-}" ] || echo "$out" | grep -qF -- "$3" ||
		fail "--check-config $1: '$out' lacks '$3'"
}

check_config "$(dirname "$0")/../../conf/zcsendd.conf" 0 OK
printf '[daemon]\nmax_clients = 8\n\n[defaults]\nflush = soon\n' >"$T/bad1"
check_config "$T/bad1" 1 "bad1:5: bad value 'soon' for flush: expected immediate or batch"
printf '[destination x]\nflush = batch\n' >"$T/bad2"
check_config "$T/bad2" 1 "bad2:1: [destination x] has no address"
printf '[daemon]\nmax_flows = 2\n[destination x]\naddress = udp://example.com:9\n' >"$T/bad3"
check_config "$T/bad3" 1 "bad3:4: bad value 'udp://example.com:9' for address"
printf '[daemon]\nmax_clients = 8\nturbo = yes\n' >"$T/bad4"
check_config "$T/bad4" 1 "bad4:3: unknown key 'turbo' in [daemon]"
check_config "$T/nonexistent" 1 "No such file"

# Receivers that never need to verify: sends complete either way.
start_recv r1 udp 127.0.0.1 --timeout 120
P1=$RECV_PORT
start_recv r2 udp 127.0.0.1 --timeout 120
P2=$RECV_PORT

write_conf() {	# write_conf RL_FLUSH WITH_GONE
	cat >"$CONF" <<EOC
[daemon]
max_inflight = 1024

[defaults]
flush = batch
batch_max = 64

[destination b32]
address = udp://127.0.0.1:$P1
batch_max = 32
batch_usec = 10000000

[destination imm]
address = udp://127.0.0.1:$P1
flush = immediate

[destination lo]
address = udp://127.0.0.1:$P2
zerocopy = auto

[destination rl]
address = udp://127.0.0.1:$P2
flush = $1
EOC
	if [ "$2" = yes ]; then
		printf '\n[destination gone]\naddress = udp://127.0.0.1:%s\n' "$P2" >>"$CONF"
	else
		printf '\n[destination fresh]\naddress = udp://127.0.0.1:9\n' >>"$CONF"
	fi
}
write_conf batch yes
check_config "$CONF" 0 OK
start_daemon

# --- batch: 1000 sends, 256 in flight; the last 8 must not wait 10 s.
# Batching is of COMPLETE messages, so these two sends use the socket in
# either pass (rings publish completions as they finish).
head -c 1400000 /dev/urandom >"$T/1000.bin"
ZCSEND_TRANSPORT=socket timeout 8 "$ZCSENDCTL" -s "$SOCK" send b32 "$T/1000.bin" --chunk 1400 \
	--no-segment --inflight 256 --quiet || fail "batch send failed or waited for batch_usec"
status_json "$T/s1.json"
comps=$(dest_field "$T/s1.json" b32 completions)
msgs=$(dest_field "$T/s1.json" b32 completion_msgs)
echo "batch_max=32: $comps completions in $msgs messages"
[ "$comps" -eq 1000 ] || fail "b32: $comps completions, want 1000"
# 1000 = 31 x 32 + 8: at least 32 messages; a few more only when the
# flow ran dry between client writes (flush-early rule, not a stall).
[ "$msgs" -ge 32 ] && [ "$msgs" -le 40 ] ||
	fail "b32: $msgs messages for 1000 completions, want 32..40"

# --- immediate: one completion per message.
ZCSEND_TRANSPORT=socket timeout 30 "$ZCSENDCTL" -s "$SOCK" send imm "$T/1000.bin" --chunk 1400 \
	--no-segment --inflight 256 --quiet || fail "immediate send failed"
status_json "$T/s2.json"
comps=$(dest_field "$T/s2.json" imm completions)
msgs=$(dest_field "$T/s2.json" imm completion_msgs)
echo "immediate: $comps completions in $msgs messages"
[ "$comps" -eq 1000 ] && [ "$msgs" -eq 1000 ] ||
	fail "imm: $comps completions in $msgs messages, want 1000 in 1000"

# --- zerocopy=auto on loopback: the kernel copies, so auto turns it off.
head -c 3200000 /dev/zero >"$T/zc.bin"
"$ZCSENDCTL" -s "$SOCK" send lo "$T/zc.bin" --chunk 16000 --no-segment --quiet ||
	fail "auto send failed"
status_json "$T/s3.json"
active=$(dest_field "$T/s3.json" lo zerocopy_active)
reason=$(dest_field "$T/s3.json" lo zerocopy_reason)
echo "auto on loopback: active=$active ($reason)"
[ "$active" = false ] || fail "lo: zerocopy still active on loopback: $reason"
echo "$reason" | grep -q "kernel copied" || fail "lo: reason '$reason'"

# --- zcsendctl policy: valid, invalid, unknown destination.
"$ZCSENDCTL" -s "$SOCK" policy b32 batch_max=8 batch_usec=500 ||
	fail "policy b32 batch_max=8"
status_json "$T/s4.json"
[ "$(dest_field "$T/s4.json" b32 batch_max)" = 8 ] &&
	[ "$(dest_field "$T/s4.json" b32 batch_usec)" = 500 ] ||
	fail "policy change not shown: $(cat "$T/s4.json")"
out=$("$ZCSENDCTL" -s "$SOCK" policy b32 batch_max=0 2>&1) &&
	fail "policy batch_max=0 accepted"
echo "$out" | grep -q "expected 1 to" || fail "policy error unclear: $out"
[ "$(dest_field "$T/s4.json" b32 batch_max)" = 8 ] || fail "bad policy applied"
out=$("$ZCSENDCTL" -s "$SOCK" policy nowhere flush=batch 2>&1) &&
	fail "policy on an unknown destination accepted"
echo "$out" | grep -q "no destination" || fail "policy error unclear: $out"

# --- reload during two running transfers. They last until the test has
# seen the reload (a fixed size ran out first on a fast path): each input
# is 1400-byte datagrams' worth of zeros, written until $T/stop exists;
# how many went is in $T/NAME.count.
stream() {
	python3 -c '
import os, sys
block, n = bytes(1400 * 1000), 0
while not os.path.exists(sys.argv[1]) and n < 20000000:
    sys.stdout.buffer.write(block)
    n += 1000
sys.stdout.flush()
open(sys.argv[2], "w").write("%d\n" % n)' "$T/stop" "$T/$1.count"
}
stream rl | "$ZCSENDCTL" -s "$SOCK" send rl - --chunk 1400 --no-segment \
	--quiet >"$T/rl.out" 2>&1 &
RL=$!
stream gone | "$ZCSENDCTL" -s "$SOCK" send gone - --chunk 1400 --no-segment \
	--quiet >"$T/gone.out" 2>&1 &
GONE=$!
sleep 0.5
kill -0 $RL 2>/dev/null && kill -0 $GONE 2>/dev/null ||
	fail "transfers ended before the reload: make them longer"
write_conf immediate no
kill -HUP "$DAEMON_PID"
for i in $(seq 50); do
	status_json "$T/s5.json"
	[ "$(dest_field "$T/s5.json" rl flush)" = immediate ] && break
	sleep 0.1
done
[ "$(dest_field "$T/s5.json" rl flush)" = immediate ] || fail "rl: flush not changed by reload"
[ "$(dest_field "$T/s5.json" gone removed)" = true ] || fail "gone: not marked removed"
[ "$(dest_field "$T/s5.json" fresh address)" = "udp://127.0.0.1:9" ] || fail "fresh: not added"
[ "$(dest_field "$T/s5.json" b32 batch_max)" = 32 ] || fail "b32: reload did not restore batch_max"
kill -0 $RL 2>/dev/null && kill -0 $GONE 2>/dev/null ||
	fail "transfers ended before the reload was seen"
out=$(echo x | "$ZCSENDCTL" -s "$SOCK" send gone - 2>&1) &&
	fail "a new flow to a removed destination was accepted"
echo "removed destination refuses new flows: $out"
touch "$T/stop"
wait_pid $RL 120 || fail "transfer to rl across the reload: $(cat "$T/rl.out")"
wait_pid $GONE 120 || fail "transfer to gone across the reload: $(cat "$T/gone.out")"
status_json "$T/s6.json"
[ "$(dest_field "$T/s6.json" gone name)" = absent ] ||
	fail "gone: still listed after its last flow closed"
sends=$(dest_field "$T/s6.json" rl sends)
errors=$(dest_field "$T/s6.json" rl errors)
want=$(cat "$T/rl.count")
echo "rl: $sends sends across the reload, $errors errors (want $want)"
[ "$sends" -eq "$want" ] && [ "$errors" -eq 0 ] ||
	fail "rl: $sends sends, $errors errors, want $want and 0"

# --- an invalid file on reload changes nothing.
echo "flush = whenever" >>"$CONF"
out=$("$ZCSENDCTL" -s "$SOCK" reload 2>&1) && fail "invalid reload accepted"
echo "$out" | grep -q "zcsendd.conf:[0-9]*: bad value 'whenever'" ||
	fail "reload error lacks FILE:LINE: $out"
status_json "$T/s7.json"
[ "$(dest_field "$T/s7.json" rl flush)" = immediate ] &&
	[ "$(dest_field "$T/s7.json" fresh address)" = "udp://127.0.0.1:9" ] ||
	fail "an invalid reload changed the running config"
# --- ad-hoc destinations obey allow_adhoc and adhoc_networks.
write_conf immediate no
sed -i '/^\[daemon\]$/a adhoc_networks = 127.0.0.0/8' "$CONF"
"$ZCSENDCTL" -s "$SOCK" reload || fail "reload with adhoc_networks"
out=$(echo x | "$ZCSENDCTL" -s "$SOCK" send "udp://[::1]:$P1" - 2>&1) &&
	fail "ad-hoc destination outside adhoc_networks accepted"
echo "$out" | grep -q "Operation not permitted" || fail "unclear refusal: $out"
echo x | "$ZCSENDCTL" -s "$SOCK" send "udp://127.0.0.1:$P1" - --quiet ||
	fail "configured address refused"
sed -i 's|^adhoc_networks = .*|allow_adhoc = no|' "$CONF"
"$ZCSENDCTL" -s "$SOCK" reload || fail "reload with allow_adhoc = no"
out=$(echo x | "$ZCSENDCTL" -s "$SOCK" send "udp://127.0.0.9:$P1" - 2>&1) &&
	fail "ad-hoc destination accepted with allow_adhoc = no"
echo "$out" | grep -q "Operation not permitted" || fail "unclear refusal: $out"
stop_daemon
echo "policy: ok"
