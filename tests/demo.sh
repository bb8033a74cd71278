#!/bin/bash
# SPDX-License-Identifier: MIT
# `make demo`: run zcsendd on its embedded defaults (private socket in a
# temp dir), send a 16 MB payload over TCP to a loopback receiver and check
# its sha256, send 1000 UDP datagrams, show `zcsendctl status`.
# Prints "demo OK" or what failed; exits non-zero on failure.
set -u
. "$(dirname "$0")/integration/lib.sh"

fail() {
	echo "demo FAILED: $*"
	dump_log
	exit 1
}
skip() {
	fail "$*"
}
need_built "$ZCSENDD" "$ZCSENDCTL" "$ZCSRECV"

echo "== starting $ZCSENDD -s $SOCK (embedded defaults)"
start_daemon

echo "== TCP: 16 MiB to 127.0.0.1"
head -c 16777216 /dev/urandom >"$T/payload.bin"
start_recv tcp tcp 127.0.0.1 --timeout 120
"$ZCSENDCTL" -s "$SOCK" send "tcp://127.0.0.1:$RECV_PORT" "$T/payload.bin" ||
	fail "zcsendctl send over TCP"
wait_pid "$RECV_PID" 60 || fail "receiver: $(cat "$T/tcp.out")"
cat "$T/tcp.out"
want=$(sha256sum <"$T/payload.bin" | cut -d' ' -f1)
got=$(sha256sum <"$T/tcp.bin" | cut -d' ' -f1)
echo "sent     sha256 $want"
echo "received sha256 $got"
[ "$want" = "$got" ] || fail "TCP payload differs"

echo "== UDP: 1000 datagrams of 1400 bytes to 127.0.0.1"
head -c 1400000 /dev/urandom >"$T/dgrams.bin"
start_recv udp udp 127.0.0.1 --count 1000 --timeout 30
"$ZCSENDCTL" -s "$SOCK" send "udp://127.0.0.1:$RECV_PORT" "$T/dgrams.bin" \
	--chunk 1400 || fail "zcsendctl send over UDP"
wait_pid "$RECV_PID" 30 || fail "UDP receiver: $(cat "$T/udp.out")"
cat "$T/udp.out"
[ "$(stat -c %s "$T/udp.bin")" -eq 1400000 ] ||
	fail "UDP receiver got $(stat -c %s "$T/udp.bin") bytes, want 1400000"

echo "== zcsendctl status"
"$ZCSENDCTL" -s "$SOCK" status || fail "zcsendctl status"
stop_daemon
echo "demo OK"
