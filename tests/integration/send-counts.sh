#!/bin/bash
# SPDX-License-Identifier: MIT
# One meaning for "zc" and "copied" (issue 16): `zcsendctl send`'s summary
# and `zcsendctl status` count the same sends the same way, and the
# summary adds up: N sends = zc + copied (+ failed, which end the run
# before a summary). zc: the kernel sent from the pool without copying;
# copied: the data was copied, by a copying send or by the kernel under a
# zerocopy send. Each transfer runs on a fresh daemon, so its status
# counts that transfer alone: UDP one datagram per send (under
# zerocopy_min_bytes: copying sends), UDP by GSO sends, and TCP (zerocopy
# sends, which loopback copies).
# transports: socket ring
set -u
. "$(dirname "$0")/lib.sh"
need_built "$ZCSENDD" "$ZCSENDCTL" "$ZCSRECV"

head -c $((2500 * 1400)) /dev/urandom >"$T/in.bin"

# check NAME PROTO SEND-ARGS...: one transfer, then summary vs status.
check() {
	local name=$1 proto=$2
	shift 2
	if [ "$proto" = udp ]; then
		start_recv "$name" udp 127.0.0.1 --timeout 30 --count 2500
	else
		start_recv "$name" tcp 127.0.0.1 --timeout 60
	fi
	start_daemon
	"$ZCSENDCTL" -s "$SOCK" send "$proto://127.0.0.1:$RECV_PORT" "$T/in.bin" \
		"$@" >"$T/$name.sum" 2>&1 || fail "$name: send: $(cat "$T/$name.sum")"
	"$ZCSENDCTL" -s "$SOCK" status >"$T/$name.st" 2>&1 ||
		fail "$name: status: $(cat "$T/$name.st")"
	status_json "$T/$name.json"
	stop_daemon
	echo "$name: $(cat "$T/$name.sum")"
	echo "$name: $(grep -m1 ' sends, ' "$T/$name.st")"
	python3 - "$name" "$T/$name.sum" "$T/$name.st" "$T/$name.json" <<'PY' ||
import json, re, sys
name, summ, st = sys.argv[1], open(sys.argv[2]).read(), open(sys.argv[3]).read()
js = json.load(open(sys.argv[4]))["totals"]
m = re.search(r"in (\d+) sends.*\((\d+) zc, (\d+) copied\)", summ)
if not m:
    sys.exit("%s: no summary line: %s" % (name, summ))
n, zc, copied = map(int, m.groups())
bad = []
if n != zc + copied:
    bad.append("summary: %d sends but %d zc + %d copied" % (n, zc, copied))
t = re.search(r"(\d+) sends, .*?(\d+) errors, (\d+) zc, (\d+) copied", st)
if not t:
    sys.exit("%s: no totals line in status: %s" % (name, st))
sn, serr, szc, scopied = map(int, t.groups())
if (sn, szc, scopied) != (n, zc, copied):
    bad.append("status says %d sends, %d zc, %d copied; the summary %d, %d, %d"
               % (sn, szc, scopied, n, zc, copied))
jzc = js["zc_sends"] - js["zc_copied"]
jcopied = js["sends"] - js["errors"] - jzc
if (js["sends"], jzc, jcopied) != (n, zc, copied):
    bad.append("status --json: sends %d, zc_sends - zc_copied %d, "
               "sends - errors - that %d; the summary %d, %d, %d"
               % (js["sends"], jzc, jcopied, n, zc, copied))
for b in bad:
    print("%s: %s" % (name, b))
sys.exit(1 if bad else 0)
PY
		fail "$name: the counts disagree (above)"
	# Loopback may drop a datagram under load: UDP bytes are checked
	# when all 2500 came, TCP's always.
	if wait_pid "$RECV_PID" 10 || [ "$proto" = tcp ]; then
		cmp -s "$T/in.bin" "$T/$name.bin" ||
			fail "$name: the receiver got other bytes: $(cat "$T/$name.out")"
	else
		echo "$name: not every datagram arrived: $(cat "$T/$name.out")"
	fi
}

check dgram udp --chunk 1400 --no-segment
check gso udp --chunk 1400
check tcp tcp
echo "send-counts: ok"
