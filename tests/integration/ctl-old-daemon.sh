#!/bin/bash
# SPDX-License-Identifier: MIT
# zcsendctl against a daemon from before SERVICE and UPGRADE (issue 19): a
# stand-in that speaks protocol version 5 as zcsendd did then, answering a
# type it does not know with ERROR -EPROTO under cookie 0 and closing the
# connection. status, status --json and metrics work as before and leave
# the service's fields out; the exporter asks such a daemon only once;
# upgrade fails with exit 1 and says the daemon is too old.
set -u
. "$(dirname "$0")/lib.sh"
need_built "$ZCSENDCTL"
SRC=$(cd "$(dirname "$0")/../.." && pwd)

python3 - "$SRC/proto/zcs_proto.h" "$SOCK" "$T/old.log" <<'PY' &
import os, re, socket, struct, sys
hdr_h, path, logf = sys.argv[1:4]
text = open(hdr_h).read()
size = dict(re.findall(r"sizeof\(struct (\w+)\) == (\d+)", text))
num = dict(re.findall(r"#define ZCS_MSG_(\w+)\s+(\d+)\s", text))
VER = int(re.search(r"#define ZCS_PROTO_VERSION\s+(\d+)", text).group(1))
known = {int(num[k]) for k in ("HELLO", "STATUS", "RELOAD", "POLICY",
                               "FLOW_OPEN", "FLOW_CLOSE", "SEND")}
log = open(logf, "w", buffering=1)

def msg(conn, name, cookie, payload=b""):
    conn.send(struct.pack("=IHBBQ", 16 + len(payload), int(num[name]), VER,
                          0, cookie) + payload)

def serve(conn):
    while True:
        m = conn.recv(65536)
        if len(m) < 16:
            return
        _, t, _, _, cookie = struct.unpack("=IHBBQ", m[:16])
        log.write("type %d\n" % t)
        if t == int(num["HELLO"]):
            msg(conn, "HELLO_OK", cookie, bytes(int(size["zcs_hello_ok"])))
        elif t == int(num["STATUS"]):
            msg(conn, "STATUS_DAEMON", cookie,
                bytes(int(size["zcs_status_daemon"])))
            msg(conn, "STATUS_END", cookie)
        elif t not in known:
            e = b"malformed message: Protocol error"
            pay = struct.pack("=iHH", -71, 0, 0) + e
            msg(conn, "ERROR", 0, pay.ljust(int(size["zcs_error"]), b"\0"))
            return
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.bind(path)
s.listen(8)
while True:
    c, _ = s.accept()
    try:
        serve(c)
    except OSError:
        pass
    c.close()
PY
OLD_PID=$!
on_exit "kill $OLD_PID 2>/dev/null"
for _ in $(seq 50); do
	sock_ready "$SOCK" && break
	sleep 0.1
done
sock_ready "$SOCK" || fail "the stand-in daemon did not listen"

"$ZCSENDCTL" -s "$SOCK" status >"$T/s.txt" 2>&1 || fail "status: $(cat "$T/s.txt")"
grep -q "^zcsendd " "$T/s.txt" || fail "status printed no daemon line: $(cat "$T/s.txt")"
grep -q "^service:" "$T/s.txt" && fail "a service line from an older daemon"
status_json "$T/s.json"
python3 - "$T/s.json" <<'PY' || fail "status --json: $(cat "$T/s.json")"
import json, sys
s = json.load(open(sys.argv[1]))
if "uptime_s" not in s:
    sys.exit("no uptime_s")
extra = [k for k in ("service_uptime_s", "process_uptime_s", "handovers",
                     "last_handover_blackout_s", "last_handover_clients") if k in s]
if extra:
    sys.exit("service keys from an older daemon: %s" % extra)
PY
"$ZCSENDCTL" -s "$SOCK" metrics >"$T/m.txt" 2>&1 || fail "metrics: $(cat "$T/m.txt")"
grep -q "^zcsendd_uptime_seconds " "$T/m.txt" || fail "metrics without uptime"
grep -q "service_uptime\|handover" "$T/m.txt" && fail "service families from an older daemon"

# The exporter: three scrapes, SERVICE asked on the first only.
start_exporter 127.0.0.1:0
: >"$T/old.log"
for i in 1 2 3; do
	python3 -c 'import sys, urllib.request; sys.exit(urllib.request.urlopen(sys.argv[1]).status != 200)' \
		"$URL/metrics" || fail "scrape $i failed: $(cat "$T/ex.err")"
done
asked=$(grep -c "^type 125$" "$T/old.log")
[ "$asked" -eq 1 ] || fail "the exporter asked SERVICE $asked times of 3 scrapes"
kill "$EX_PID"

out=$("$ZCSENDCTL" -s "$SOCK" upgrade 2>&1)
rc=$?
[ $rc -eq 1 ] || fail "upgrade against an older daemon: exit $rc: $out"
echo "$out" | grep -q "does not know SERVICE: it is older than zcsendctl" ||
	fail "upgrade against an older daemon, unclear: $out"
echo "ctl-old-daemon: ok ($out)"
