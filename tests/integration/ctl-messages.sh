#!/bin/bash
# SPDX-License-Identifier: MIT
# What zcsendctl says when it cannot do its job, checked word for word
# where it matters: a missing default socket is named, with a hint; a
# refused user sees the daemon's reason (root only: runs as uid 65534);
# a daemon that dies under a transfer is named as the cause, with how many
# sends it had confirmed, instead of a bare "Broken pipe".
# transports: socket ring
set -u
. "$(dirname "$0")/lib.sh"
need_built "$ZCSENDD" "$ZCSENDCTL"

# A directory another user can reach ($T is private).
S=$(mktemp -d /tmp/zcs-msg.XXXXXX)
chmod 755 "$S"
on_exit "rm -rf $S"

# run_default CMD...: zcsendctl with no -s and no $ZCSENDD_SOCKET, as a
# user whose default socket is $S/xdg/zcsendd.sock (uid 65534 under root).
run_default() {
	if [ "$(id -u)" -eq 0 ]; then
		command -v setpriv >/dev/null || return 77
		env -u ZCSENDD_SOCKET XDG_RUNTIME_DIR="$S/xdg" \
			setpriv --reuid 65534 --regid 65534 --clear-groups \
			"$ZCSENDCTL" "$@" 2>&1 </dev/null
	else
		env -u ZCSENDD_SOCKET XDG_RUNTIME_DIR="$S/xdg" \
			"$ZCSENDCTL" "$@" 2>&1 </dev/null
	fi
}

# 1. No daemon at the default path: every command names the path tried.
for cmd in status reload upgrade "send udp://127.0.0.1:9 -"; do
	# shellcheck disable=SC2086
	out=$(run_default $cmd)
	rc=$?
	[ $rc -eq 77 ] && break
	[ $rc -eq 1 ] || fail "$cmd with no daemon: exit $rc: $out"
	echo "$out" | grep -qF "cannot connect to $S/xdg/zcsendd.sock: No such file or directory" ||
		fail "$cmd: the error does not name the default socket: $out"
	echo "$out" | grep -q "ZCSENDD_SOCKET" ||
		fail "$cmd: no hint to set ZCSENDD_SOCKET: $out"
done
echo "missing socket: $out"

# 2. A refused user reads the daemon's reason (and the errno's name).
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	SOCK=$S/zcs.sock
	printf '[daemon]\nsocket_mode = 0666\n' >"$T/refuse.conf"
	DAEMON_ARGS="-c $T/refuse.conf"
	start_daemon
	for cmd in status "send udp://127.0.0.1:9 -"; do
		# shellcheck disable=SC2086
		out=$(setpriv --reuid 65534 --regid 65534 --clear-groups \
			"$ZCSENDCTL" -s "$SOCK" $cmd 2>&1 </dev/null) &&
			fail "uid 65534 was let in for $cmd"
		echo "$out" | grep -q "refused.*uid 65534 may not use this daemon" ||
			fail "$cmd: refusal without the daemon's reason: $out"
		echo "$out" | grep -q "Permission denied" ||
			fail "$cmd: refusal without its errno: $out"
	done
	echo "refused: $out"
	stop_daemon
	SOCK=$T/zcs.sock
	DAEMON_ARGS=
else
	echo "refused user: not checked (needs root and setpriv)"
fi

# 3. The daemon dies under a transfer. A TCP peer that never reads holds
# most sends in flight, so zcsendctl is waiting for completions then.
python3 - "$T/sink.port" <<'PY' &
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.bind(("127.0.0.1", 0))
s.listen(1)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
c, _ = s.accept()
time.sleep(120)
PY
SINK_PID=$!
for i in $(seq 100); do
	[ -s "$T/sink.port" ] && break
	sleep 0.05
done
[ -s "$T/sink.port" ] || fail "the sink did not start"
start_daemon
head -c 67108864 /dev/zero |
	"$ZCSENDCTL" -s "$SOCK" send "tcp://127.0.0.1:$(cat "$T/sink.port")" - \
	>"$T/gone.out" 2>&1 &
CTL_PID=$!
# Wait until sends are in flight and stuck, then take the daemon away.
for i in $(seq 100); do
	"$ZCSENDCTL" -s "$SOCK" status --json 2>/dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin)
sys.exit(0 if any(c.get("inflight", 0) > 0 for c in s["clients"]) else 1)
' && break
	sleep 0.1
done
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
DAEMON_PID=
wait_pid "$CTL_PID" 20
rc=$?
[ $rc -ne 124 ] || fail "zcsendctl send still running 20 s after the daemon died"
[ $rc -eq 1 ] || fail "zcsendctl send: exit $rc after the daemon died"
out=$(cat "$T/gone.out")
echo "$out" | grep -Eq "send: zcsendd closed the connection; [0-9]+ of [0-9]+ sends confirmed \([0-9.]+ MiB\)" ||
	fail "daemon gone, unclear message: $out"
echo "$out" | grep -q "Broken pipe" && fail "still a bare Broken pipe: $out"
echo "daemon gone: $out"
kill "$SINK_PID" 2>/dev/null
echo "ctl-messages: ok"
