#!/bin/bash
# SPDX-License-Identifier: MIT
# How `zcsendctl upgrade` follows a hand-over (issue 19), against a
# stand-in daemon that plays one out on the connection as zcsendd does:
# OK to UPGRADE, then SERVICE answered with the old count a few times,
# then with one more. upgrade must keep asking on the same connection,
# one request at a time, and print the one line with the new count,
# clients, blackout and pid; a connection closed or an ERROR after the OK
# (a state the new process refused) and no hand-over within --timeout
# each exit 1 with words that say which.
set -u
. "$(dirname "$0")/lib.sh"
need_built "$ZCSENDCTL"
SRC=$(cd "$(dirname "$0")/../.." && pwd)

# stand_in MODE: serve $SOCK in the background as a daemon whose
# hand-over ends in MODE: done (after 3 more answers with the old count),
# close, error, stuck. Each request's type goes to $T/MODE.log.
stand_in() {
	rm -f "$SOCK"
	python3 - "$SRC/proto/zcs_proto.h" "$SOCK" "$T/$1.log" "$1" <<'PY' &
import re, socket, struct, sys
hdr_h, path, logf, mode = sys.argv[1:5]
text = open(hdr_h).read()
size = dict(re.findall(r"sizeof\(struct (\w+)\) == (\d+)", text))
num = {k: int(v) for k, v in re.findall(r"#define ZCS_MSG_(\w+)\s+(\d+)\s", text)}
VER = int(re.search(r"#define ZCS_PROTO_VERSION\s+(\d+)", text).group(1))
log = open(logf, "w", buffering=1)

def msg(conn, name, cookie, payload=b""):
    conn.send(struct.pack("=IHBBQ", 16 + len(payload), num[name], VER, 0,
                          cookie) + payload)

def service(count):
    # service, process uptime (ms), last blackout (us), hand-overs,
    # clients carried, pid, reserved
    return struct.pack("=QQQIIII", 90000, 10, 41234 if count else 0,
                       count, 3 if count else 0, 4321, 0)

s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.bind(path)
s.listen(1)
conn, _ = s.accept()
count, after = 0, None
while True:
    m = conn.recv(65536)
    if len(m) < 16:
        break
    _, t, _, _, cookie = struct.unpack("=IHBBQ", m[:16])
    log.write("%d\n" % t)
    if t == num["HELLO"]:
        msg(conn, "HELLO_OK", cookie, bytes(int(size["zcs_hello_ok"])))
    elif t == num["UPGRADE"]:
        msg(conn, "OK", cookie)
        after = 0
    elif t == num["SERVICE"] and after is None:
        msg(conn, "SERVICE_INFO", cookie, service(count))
    elif t == num["SERVICE"] and mode == "close":
        break
    elif t == num["SERVICE"] and mode == "error":
        e = b"hand-over refused: state version 9, this zcsendd reads 1"
        msg(conn, "ERROR", 0, (struct.pack("=iHH", -71, 0, 0) + e)
            .ljust(int(size["zcs_error"]), b"\0"))
        break
    elif t == num["SERVICE"]:
        after += 1
        if mode == "done" and after > 3:
            count = 1
        msg(conn, "SERVICE_INFO", cookie, service(count))
conn.close()
PY
	STAND_PID=$!
	on_exit "kill $STAND_PID 2>/dev/null"
	for _ in $(seq 50); do
		[ -S "$SOCK" ] && return 0
		sleep 0.1
	done
	fail "the stand-in did not listen"
}

# upgrade MODE WANT_RC PATTERN [ARGS...]: run upgrade against a stand-in.
upgrade() {
	local mode=$1 want=$2 pat=$3 out rc
	shift 3
	stand_in "$mode"
	out=$("$ZCSENDCTL" -s "$SOCK" upgrade "$@" 2>&1)
	rc=$?
	echo "$mode: exit $rc: $out"
	[ $rc -eq "$want" ] || fail "$mode: exit $rc, want $want: $out"
	echo "$out" | grep -q -- "$pat" || fail "$mode: want '$pat', got: $out"
	wait "$STAND_PID" 2>/dev/null
}

upgrade done 0 "^upgraded: hand-over 1 carried 3 clients, blackout 41.2 ms, pid 4321$"
# HELLO, SERVICE, UPGRADE, then SERVICE until the fourth after the OK.
seq_done=$(tr '\n' ' ' <"$T/done.log")
want="100 125 132 125 125 125 125 "
[ "$seq_done" = "$want" ] || fail "requests: '$seq_done', want '$want'"
upgrade close 1 "zcsendd closed the connection during the hand-over"
upgrade error 1 "^zcsendctl: upgrade failed: hand-over refused: state version 9"
upgrade stuck 1 "no hand-over seen within 1 s (hand-overs still 0)" --timeout 1
[ "$(grep -c '^125$' "$T/stuck.log")" -ge 3 ] ||
	fail "upgrade asked $(grep -c '^125$' "$T/stuck.log") times in 1 s"
echo "ctl-upgrade-wait: ok"
