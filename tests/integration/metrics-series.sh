#!/bin/bash
# SPDX-License-Identifier: MIT
# Metrics stay the same size however many clients come and go (issue 18:
# 17 series per client, labelled by pid and client id, made every
# short-lived client a new set of series). One client of program "burst",
# then 100 short-lived ones, ten connected at a time, each sending one
# datagram: with ten connected, and after all have left, the exporter
# (--listen) and `zcsendctl metrics` give as many series as with one, the
# program's clients gauge counts the ten, and once all have left the
# exporter still counts the 101 sends (no counter went down) with 0
# clients. `status` keeps the per-connection detail: ten rows.
# transports: socket ring
set -u
. "$(dirname "$0")/lib.sh"
need_built "$ZCSENDD" "$ZCSENDCTL" "$ZCSRECV"

start_daemon_udp sink --timeout 300

start_exporter 127.0.0.1:0

# scrape OUT: the exporter's page into OUT.
scrape() {
	python3 - "$URL/metrics" "$1" <<'PY' || fail "scrape $URL/metrics failed"
import sys, urllib.request
r = urllib.request.urlopen(sys.argv[1], timeout=20)
open(sys.argv[2], "wb").write(r.read())
PY
}

# series FILE: the number of samples (lines that are not comments).
series() {
	grep -vc '^#' "$1"
}

# value FILE METRIC: the value of METRIC{uid=...,program="burst"[,...]},
# summed over its series.
value() {
	awk -v m="$2" 'index($0, m "{") == 1 && /program="burst"/ { s += $NF }
		END { print s + 0 }' "$1"
}

# batch NAME N: N clients of program "burst" that each send one datagram
# and stay connected until release NAME; returns once status shows all N
# with their send done. Sets BATCH_PIDS.
batch() {
	local name=$1 n=$2 i
	BATCH_PIDS=
	for i in $(seq "$n"); do
		( (printf x; while [ ! -e "$T/release.$name" ]; do sleep 0.05; done) |
			exec -a burst "$ZCSENDCTL" -s "$SOCK" send sink - --chunk 1 \
				--quiet ) >"$T/send.$name.$i" 2>&1 &
		BATCH_PIDS="$BATCH_PIDS $!"
	done
	for i in $(seq 200); do
		status_json "$T/st.json"
		python3 - "$T/st.json" "$n" <<'PY' && return 0
import json, sys
s = json.load(open(sys.argv[1]))
done = [c for c in s["clients"] if c["name"] == "burst" and c["sends"] >= 1]
sys.exit(len(done) != int(sys.argv[2]))
PY
		sleep 0.1
	done
	fail "batch $name: $n clients did not connect and send: $(cat "$T"/send.$name.*)"
}

release() {
	local pid
	touch "$T/release.$1"
	for pid in $BATCH_PIDS; do
		wait_pid "$pid" 30 || fail "a burst client failed: $(cat "$T"/send.$1.*)"
	done
}

batch one 1
scrape "$T/one.txt"
"$ZCSENDCTL" -s "$SOCK" metrics >"$T/one-once.txt" || fail "zcsendctl metrics"
S1=$(series "$T/one.txt")
O1=$(series "$T/one-once.txt")
echo "one client: $S1 series (exporter), $O1 (zcsendctl metrics)"
release one

for b in $(seq 10); do
	batch "b$b" 10
	scrape "$T/b$b.txt"
	"$ZCSENDCTL" -s "$SOCK" metrics >"$T/b$b-once.txt" || fail "zcsendctl metrics"
	n=$(series "$T/b$b.txt")
	o=$(series "$T/b$b-once.txt")
	[ "$n" = "$S1" ] && [ "$o" = "$O1" ] ||
		fail "10 clients connected (batch $b): $n series from the exporter, $o from zcsendctl metrics; one client gave $S1, $O1"
	c=$(value "$T/b$b.txt" zcsendd_program_clients)
	[ "$c" = 10 ] || fail "batch $b: zcsendd_program_clients says $c, want 10"
	if [ "$b" = 1 ]; then
		"$ZCSENDCTL" -s "$SOCK" status >"$T/status.txt" || fail "status"
		rows=$(grep -c ' burst ' "$T/status.txt")
		[ "$rows" = 10 ] || fail "status: $rows rows for burst, want 10: $(cat "$T/status.txt")"
	fi
	release "b$b"
done

scrape "$T/end.txt"
n=$(series "$T/end.txt")
[ "$n" = "$S1" ] || fail "after 101 clients came and went: $n series, one client gave $S1"
sends=$(value "$T/end.txt" zcsendd_program_sends_total)
c=$(value "$T/end.txt" zcsendd_program_clients)
[ "$sends" = 101 ] && [ "$c" = 0 ] ||
	fail "after all left: burst sends_total $sends (want 101), clients $c (want 0)"
echo "101 clients of one program came and went: $n series throughout, burst sends_total $sends, 0 clients"
kill "$EX_PID"
stop_daemon
echo "metrics-series: ok"
