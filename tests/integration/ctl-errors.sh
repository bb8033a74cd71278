#!/bin/bash
# SPDX-License-Identifier: MIT
# Errors that named the wrong cause (issue 16): an unknown destination
# read as a missing file ("nosuchdest: No such file or directory"); it is
# named as no configured destination and not an address either, in the
# same words by `send` and `policy`. A bad ZCSEND_TRANSPORT read as the
# daemon refusing; it is the library, which names the variable and the
# values it takes.
# transports: socket ring
set -u
. "$(dirname "$0")/lib.sh"
need_built "$ZCSENDD" "$ZCSENDCTL"

start_daemon
printf 'data' >"$T/data.bin"
out=$("$ZCSENDCTL" -s "$SOCK" send nosuchdest "$T/data.bin" 2>&1)
rc=$?
echo "send: $out"
[ $rc -eq 1 ] || fail "send to an unknown destination: exit $rc"
want="no destination 'nosuchdest' is configured, and it is not an address (udp://HOST:PORT or tcp://HOST:PORT)"
echo "$out" | grep -qF "$want" || fail "send: want '$want', got '$out'"
echo "$out" | grep -q "No such file" && fail "send: reads as a missing file: $out"
out=$("$ZCSENDCTL" -s "$SOCK" policy nosuchdest flush=batch 2>&1)
rc=$?
echo "policy: $out"
[ $rc -eq 1 ] || fail "policy on an unknown destination: exit $rc"
echo "$out" | grep -qF "$want" || fail "policy: want '$want', got '$out'"

out=$(ZCSEND_TRANSPORT=bogus "$ZCSENDCTL" -s "$SOCK" send udp://127.0.0.1:9 "$T/data.bin" 2>&1)
rc=$?
echo "bogus transport: $out"
[ $rc -eq 1 ] || fail "ZCSEND_TRANSPORT=bogus: exit $rc"
echo "$out" | grep -q "refused" && fail "ZCSEND_TRANSPORT=bogus blamed on the daemon: $out"
echo "$out" | grep -q "libzcsend: ZCSEND_TRANSPORT=bogus" ||
	fail "the library is not named with the variable: $out"
echo "$out" | grep -q "socket" && echo "$out" | grep -q "ring" ||
	fail "the values taken are not named: $out"
stop_daemon
echo "ctl-errors: ok"
