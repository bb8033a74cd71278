#!/bin/bash
# SPDX-License-Identifier: MIT
# The service contract: the units pass `systemd-analyze verify` and rate
# 2.0 or lower on `systemd-analyze security`; every man page renders
# without warnings; a socket passed by systemd-socket-activate is used;
# sd_notify says READY=1, STATUS=, RELOADING=1 then READY=1 on SIGHUP,
# WATCHDOG=1 while WATCHDOG_USEC is set, and STOPPING=1 on SIGTERM; a live
# daemon's socket is never taken over, a stale one is.
# transports: socket ring
set -u
. "$(dirname "$0")/lib.sh"
need_built "$ZCSENDD" "$ZCSENDCTL" "$ZCSRECV"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
for t in systemd-analyze systemd-socket-activate man python3; do
	command -v $t >/dev/null || skip "no $t (make deps installs it)"
done

# --- units, in a root that has the binary and the host's own units.
R=$T/root
mkdir -p "$R/usr/lib/systemd/system" "$R/usr/sbin" "$R/usr/bin" "$R/etc"
cp -a /usr/lib/systemd/system/. "$R/usr/lib/systemd/system/"
cp "$ZCSENDD" "$R/usr/sbin/zcsendd"
cp "$ZCSENDCTL" "$R/usr/bin/zcsendctl"
cp "$SRC/systemd/zcsendd.service" "$SRC/systemd/zcsendd.socket" \
	"$R/usr/lib/systemd/system/"
systemd-analyze verify --man=no --root="$R" \
	"$R/usr/lib/systemd/system/zcsendd.service" \
	"$R/usr/lib/systemd/system/zcsendd.socket" >"$T/verify.out" 2>&1 ||
	fail "systemd-analyze verify: $(cat "$T/verify.out")"
systemd-analyze security --offline=yes --root="$R" zcsendd.service \
	>"$T/security.out" 2>&1 || true
score=$(sed -n 's/.*Overall exposure level for zcsendd.service: \([0-9.]*\).*/\1/p' \
	"$T/security.out")
[ -n "$score" ] || fail "no exposure score: $(tail -5 "$T/security.out")"
echo "exposure score: $score"
awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' ||
	fail "exposure $score is over 2.0: $(grep '✗' "$T/security.out")"

# --- man pages.
for page in zcsendd/zcsendd.8 client/zcsendctl.1 conf/zcsendd.conf.5 \
	    client/libzcsend.3; do
	[ -f "$SRC/$page" ] || fail "missing man page $page"
	MANWIDTH=80 man --warnings -l "$SRC/$page" >"$T/man.out" 2>"$T/man.err" ||
		fail "man -l $page failed: $(cat "$T/man.err")"
	[ ! -s "$T/man.err" ] || fail "man -l $page warns: $(cat "$T/man.err")"
	[ "$(wc -l <"$T/man.out")" -gt 20 ] || fail "$page renders too little"
done

# --- socket activation: the daemon serves on the passed socket.
systemd-socket-activate --seqpacket -l "$SOCK" "$ZCSENDD" \
	>"$T/zcsendd.log" 2>&1 &
DAEMON_PID=$!
for i in $(seq 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
head -c 1048576 /dev/urandom >"$T/a.bin"
start_recv act tcp 127.0.0.1 --timeout 30
"$ZCSENDCTL" -s "$SOCK" send "tcp://127.0.0.1:$RECV_PORT" "$T/a.bin" \
	--quiet || fail "send through the activated daemon"
wait_pid "$RECV_PID" 30 || fail "receiver: $(cat "$T/act.out")"
cmp -s "$T/a.bin" "$T/act.bin" || fail "activated: payload differs"
grep -q "using the socket passed by systemd" "$T/zcsendd.log" ||
	fail "daemon did not use the passed socket"
stop_daemon
rm -f "$SOCK"

# --- sd_notify and the watchdog.
NS=$T/notify.sock
python3 - "$NS" >"$T/notify.out" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(15)
try:
    while True:
        print(s.recv(4096).decode(), flush=True)
except socket.timeout:
    pass
PY
LISTENER=$!
for i in $(seq 50); do [ -S "$NS" ] && break; sleep 0.1; done
NOTIFY_SOCKET=$NS WATCHDOG_USEC=200000 start_daemon env
wait_line() {	# wait_line TEXT [COUNT]: TEXT seen COUNT times in 10 s
	for i in $(seq 100); do
		[ "$(grep -c "^$1" "$T/notify.out")" -ge "${2:-1}" ] && return 0
		sleep 0.1
	done
	fail "no '$1' (x${2:-1}) from sd_notify: $(sort "$T/notify.out" | uniq -c)"
}
wait_line READY=1
wait_line STATUS=
wait_line WATCHDOG=1 3
kill -HUP "$DAEMON_PID"
wait_line RELOADING=1
wait_line READY=1 2
order=$(grep -E '^(READY|RELOADING)=1' "$T/notify.out" | tr '\n' ' ')
[ "$order" = "READY=1 RELOADING=1 READY=1 " ] || fail "notify order: $order"
stop_daemon
wait_line STOPPING=1
kill "$LISTENER" 2>/dev/null
echo "sd_notify: $(sort "$T/notify.out" | cut -d= -f1 | uniq -c | tr -s ' ' | tr '\n' ',')"

# --- a live daemon's socket is refused; a stale one is replaced.
start_daemon
"$ZCSENDD" -s "$SOCK" >"$T/second.log" 2>&1 &&
	fail "a second daemon started on a live socket"
grep -q "Address already in use" "$T/second.log" ||
	fail "second daemon: $(cat "$T/second.log")"
kill -9 "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
DAEMON_PID=
[ -S "$SOCK" ] || fail "killed daemon left no socket file to test with"
start_daemon
"$ZCSENDCTL" -s "$SOCK" status >/dev/null || fail "daemon on a stale socket"
stop_daemon
echo "systemd: ok"
