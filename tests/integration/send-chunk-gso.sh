#!/bin/bash
# SPDX-License-Identifier: MIT
# `zcsendctl send --chunk N` on UDP (issue 11): a file, or stdin, leaves
# as datagrams of N bytes (the last shorter), cut by UDP segmentation. A
# receiver on 127.0.0.1 and on ::1 keeps every datagram: their number,
# each length and each byte must match the file in order, and status must
# show the destination's datagrams and that GSO sends carried them.
# transports: socket ring
set -u
. "$(dirname "$0")/lib.sh"
need_built "$ZCSENDD" "$ZCSENDCTL"

# dgram_recv NAME ADDR COUNT: a receiver that writes its port to
# $T/NAME.port, then one line per datagram (length and hex FNV-1a) to
# $T/NAME.list; a copy of each datagram goes to $T/NAME.d/N.
dgram_recv() {
	python3 - "$T/$1" "$2" "$3" <<'PY' &
import os, socket, sys
base, addr, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
s.bind((addr, 0))
with open(base + ".port.tmp", "w") as f:
    f.write("%d\n" % s.getsockname()[1])
os.rename(base + ".port.tmp", base + ".port")
os.mkdir(base + ".d")
s.settimeout(20)
n = 0
with open(base + ".list", "w") as out:
    try:
        while n < count + 1:      # one more: extra datagrams show up
            d = s.recv(65536)
            with open("%s.d/%d" % (base, n), "wb") as f:
                f.write(d)
            out.write("%d\n" % len(d))
            out.flush()
            n += 1
            if n == count:
                s.settimeout(0.5)
    except socket.timeout:
        pass
PY
	RECV_PID=$!
	for _ in $(seq 100); do
		[ -s "$T/$1.port" ] && RECV_PORT=$(cat "$T/$1.port") && return 0
		sleep 0.05
	done
	fail "receiver $1 did not start"
}

# check_dgrams NAME FILE CHUNK: the datagrams are FILE cut every CHUNK bytes.
check_dgrams() {
	python3 - "$T/$1" "$2" "$3" <<'PY' || fail "$1: datagrams differ from $2 (above)"
import os, sys
base, path, chunk = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = open(path, "rb").read()
want = [data[i:i + chunk] for i in range(0, len(data), chunk)]
got = []
while os.path.exists("%s.d/%d" % (base, len(got))):
    got.append(open("%s.d/%d" % (base, len(got)), "rb").read())
errs = []
if len(got) != len(want):
    errs.append("%d datagrams, want %d" % (len(got), len(want)))
sizes = sorted(set(len(g) for g in got))
if got != want:
    if sorted(got) == sorted(want):
        errs.append("every datagram right, but out of order")
    else:
        bad = [i for i, g in enumerate(got) if i >= len(want) or g != want[i]]
        errs.append("datagram %d: %d bytes, wrong content or length"
                    % (bad[0], len(got[bad[0]])) if bad else "missing")
if errs:
    sys.exit("%s: %s (sizes seen: %s)" % (base, "; ".join(errs), sizes[:8]))
print("%s: %d datagrams of %s bytes, all in order and intact"
      % (os.path.basename(base), len(got), sizes))
PY
}

# dest_counters FILE DEST: "DATAGRAMS GSO_SENDS" of a destination.
# Either is "absent" when status has no such key or destination.
dest_counters() {
	python3 - "$1" "$2" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
d = [d for d in s["destinations"] if sys.argv[2] in (d.get("name"), d.get("address"))]
print(" ".join(str(d[0].get(k, "absent")) if d else "absent"
               for k in ("datagrams", "gso_sends")))
PY
}

start_daemon

head -c 100000 /dev/urandom >"$T/100k.bin"
head -c 100500 /dev/urandom >"$T/ragged.bin"
head -c 1048576 /dev/urandom >"$T/1m.bin"

# send_case NAME ADDR FILE CHUNK [stdin]: one transfer, every check.
send_case() {
	local name=$1 addr=$2 file=$3 chunk=$4 size n dest host c1
	size=$(stat -c %s "$file")
	n=$(((size + chunk - 1) / chunk))
	dgram_recv "$name" "$addr" "$n"
	host=$addr
	case $addr in *:*) host="[$addr]" ;; esac
	dest=udp://$host:$RECV_PORT
	if [ "${5:-}" = stdin ]; then
		"$ZCSENDCTL" -s "$SOCK" send "$dest" - --chunk "$chunk" \
			<"$file" >"$T/$name.send" 2>&1
	else
		"$ZCSENDCTL" -s "$SOCK" send "$dest" "$file" --chunk "$chunk" \
			>"$T/$name.send" 2>&1
	fi || fail "$name: send: $(cat "$T/$name.send")"
	wait_pid "$RECV_PID" 30 || fail "$name: receiver: exit $?"
	check_dgrams "$name" "$file" "$chunk"
	status_json "$T/$name.json"
	c1=$(dest_counters "$T/$name.json" "$dest")
	echo "$name: status datagrams and gso_sends: $c1"
	set -- $c1
	[ "$1" = "$n" ] || fail "$name: status datagrams $1, want $n"
	[ "$2" != absent ] && [ "$2" -gt 0 ] ||
		fail "$name: gso_sends $2: --chunk did not use segmentation"
}

send_case lo4 127.0.0.1 "$T/100k.bin" 1000
send_case lo4-ragged 127.0.0.1 "$T/ragged.bin" 1000
send_case lo4-stdin 127.0.0.1 "$T/ragged.bin" 1472 stdin
# 16 KiB chunks, read 64 KiB at a time: four datagrams need two GSO sends
# (three fit under 64 KB), and 64 such reads are in flight at once; the
# second send of one read must not leave after the next read's first.
send_case lo4-split 127.0.0.1 "$T/1m.bin" 16384
# A live stream goes as it comes: the first datagram must arrive while
# the producer still holds the pipe open, before it writes the second.
dgram_recv live 127.0.0.1 2
python3 -c '
import os, sys, time
sys.stdout.buffer.write(b"a" * 1000)
sys.stdout.flush()
end = time.time() + 5
while not os.path.exists(sys.argv[1]) and time.time() < end:
    time.sleep(0.02)
open(sys.argv[2], "w").write("%d\n" % os.path.exists(sys.argv[1]))
sys.stdout.buffer.write(b"b" * 1000)' "$T/live.d/0" "$T/live.seen" |
	"$ZCSENDCTL" -s "$SOCK" send "udp://127.0.0.1:$RECV_PORT" - --chunk 1000 \
		--quiet || fail "live: send failed"
wait_pid "$RECV_PID" 30 || fail "live: receiver: exit $?"
[ "$(cat "$T/live.seen")" = 1 ] ||
	fail "live: the first datagram waited for more input"
echo "live: the first datagram left before the second was written"

if python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
	send_case lo6 ::1 "$T/100k.bin" 1000
else
	echo "no ::1: IPv6 not tested"
fi
stop_daemon
echo "send-chunk-gso: ok"
