#!/bin/bash
# SPDX-License-Identifier: MIT
# Command-line contract of zcsendd and zcsendctl: --version, --help, an
# unknown option (exit 2); a 3 MB file sent over TCP arrives intact
# (sha256); `status --json` parses and carries the documented keys, the
# service's among them (no hand-over yet, the service as old as the
# process), and the text status has the service line.
# transports: socket ring
set -u
. "$(dirname "$0")/lib.sh"
need_built "$ZCSENDD" "$ZCSENDCTL" "$ZCSRECV"

out=$("$ZCSENDD" --version 2>&1) || fail "zcsendd --version exit $?"
echo "$out" | grep -Eq '[0-9]+\.[0-9]+\.[0-9]+' ||
	fail "zcsendd --version prints no version: $out"
out=$("$ZCSENDD" --help 2>&1) || fail "zcsendd --help exit $?"
echo "$out" | grep -q -- '-s' || fail "zcsendd --help does not mention -s: $out"
"$ZCSENDD" --no-such-option >"$T/unknown.out" 2>&1
rc=$?
[ $rc -eq 2 ] || fail "zcsendd --no-such-option: exit $rc, want 2"
[ -s "$T/unknown.out" ] || fail "zcsendd --no-such-option says nothing"
"$ZCSENDCTL" -s "$SOCK" no-such-command >/dev/null 2>&1
rc=$?
[ $rc -eq 2 ] || fail "zcsendctl no-such-command: exit $rc, want 2"

start_daemon

# A random 3 MB file over TCP, compared by sha256.
head -c 3145728 /dev/urandom >"$T/send.bin"
start_recv tcp tcp 127.0.0.1 --timeout 60
"$ZCSENDCTL" -s "$SOCK" send "tcp://127.0.0.1:$RECV_PORT" "$T/send.bin" \
	>"$T/send.out" 2>&1 || fail "zcsendctl send: $(cat "$T/send.out")"
wait_pid "$RECV_PID" 30 || fail "zcs-recv: $(cat "$T/tcp.out")"
want=$(sha256sum <"$T/send.bin" | cut -d' ' -f1)
got=$(sha256sum <"$T/tcp.bin" | cut -d' ' -f1)
[ "$want" = "$got" ] ||
	fail "received $(stat -c %s "$T/tcp.bin") bytes, sha256 differs"

# Sending a missing file fails cleanly.
"$ZCSENDCTL" -s "$SOCK" send "tcp://127.0.0.1:$RECV_PORT" "$T/nonexistent" \
	>/dev/null 2>&1 && fail "zcsendctl send of a missing file succeeded"

# An unreachable UDP destination: every send completes with its error,
# zcsendctl says so and fails, and the daemon serves on.
head -c 140000 /dev/zero >"$T/small.bin"
out=$("$ZCSENDCTL" -s "$SOCK" send udp://127.0.0.1:1 "$T/small.bin" \
	--chunk 1400 2>&1) && fail "send to a closed UDP port succeeded"
echo "$out" | grep -q "Connection refused" || fail "unclear failure: $out"

status_json "$T/status.json"
python3 - "$T/status.json" <<'PY' || fail "status --json: $(cat "$T/status.json")"
import json, sys
s = json.load(open(sys.argv[1]))
missing = [k for k in ("version", "uptime_s", "features", "clients",
                       "destinations", "totals") if k not in s]
if missing:
    sys.exit("missing keys: %s" % missing)
if not isinstance(s["clients"], list) or not isinstance(s["destinations"], list):
    sys.exit("clients and destinations should be lists")
if s["totals"].get("bytes", 0) < 3145728:
    sys.exit("totals.bytes %r < 3 MiB sent" % s["totals"].get("bytes"))
svc = ("service_uptime_s", "process_uptime_s", "handovers",
       "last_handover_blackout_s", "last_handover_clients")
missing = [k for k in svc if k not in s]
if missing:
    sys.exit("missing service keys: %s" % missing)
if s["handovers"] or s["last_handover_blackout_s"] or s["last_handover_clients"]:
    sys.exit("a fresh daemon reports a hand-over")
if not 0 < s["process_uptime_s"] <= s["service_uptime_s"]:
    sys.exit("uptimes: process %r, service %r" %
             (s["process_uptime_s"], s["service_uptime_s"]))
PY
"$ZCSENDCTL" -s "$SOCK" status >"$T/status.txt" 2>&1 ||
	fail "zcsendctl status: $(cat "$T/status.txt")"
grep -q "^service: up .*, 0 hand-overs$" "$T/status.txt" ||
	fail "zcsendctl status has no service line: $(cat "$T/status.txt")"
stop_daemon
echo "cli: ok"
