#!/bin/bash
# SPDX-License-Identifier: MIT
# zcsend-bench runs end to end: every row, a short interval, one round,
# --json; then --latency and --idle briefly. The output must be valid
# JSON naming every row with mb_s > 0 and msgs_s > 0 (latency rows:
# samples > 0, p50 <= p99). No timing is asserted: this only proves each
# path moves data (as root through the ifb sink, otherwise through
# loopback). The ring rows must work when the library honours
# ZCSEND_TRANSPORT and the daemon knows poll_usec; before that they must
# fail cleanly, with an "error", while the other rows still run.
set -u
. "$(dirname "$0")/lib.sh"
BENCH=$BUILD/zcsend-bench
need_built "$BENCH"

RINGS=0
if grep -qa ZCSEND_TRANSPORT "$BUILD/libzcsend.so.1" &&
	grep -qa poll_usec "$BUILD/zcsendd"; then
	RINGS=1
fi

timeout 120 "$BENCH" --seconds 0.05 --rounds 1 --size 16384 --json \
	>"$T/bench.json" 2>"$T/bench.err" ||
	fail "zcsend-bench exited $?: $(cat "$T/bench.err")"
timeout 60 "$BENCH" --latency --seconds 0.05 --rounds 1 --json \
	>"$T/lat.json" 2>"$T/lat.err" ||
	fail "zcsend-bench --latency exited $?: $(cat "$T/lat.err")"
timeout 60 "$BENCH" --idle --transport socket --clients 2 --seconds 0.2 \
	--json >"$T/idle-socket.json" 2>"$T/idle.err" ||
	fail "zcsend-bench --idle exited $?: $(cat "$T/idle.err")"
timeout 60 "$BENCH" --idle --transport ring --clients 2 --seconds 0.2 \
	--json >"$T/idle-ring.json" 2>>"$T/idle.err"
rc=$?
[ $rc = $((1 - RINGS)) ] ||
	fail "zcsend-bench --idle --transport ring exited $rc (rings $RINGS): $(cat "$T/idle.err")"

python3 - "$T" "$RINGS" <<'PY' || fail "bad bench output: $(head -c 3000 "$T/bench.json" "$T/lat.json" "$T"/idle-*.json)"
import json, sys
t, rings = sys.argv[1], sys.argv[2] == "1"
ring_rows = ["zcsendd_ring_nr1", "zcsendd_ring_nr8", "zcsendd_ring_nr64",
             "zcsendd_ring_nr512"]
want = ["send", "msg_zerocopy", "uring_zc_nr1", "uring_zc_nr8",
        "zcsendd_immediate_nr1", "zcsendd_immediate_nr8",
        "zcsendd_batch_nr1", "zcsendd_batch_nr8", "zcsendd_batch_nr64",
        "zcsendd_batch_nr512", "zcsendd_copy_nr512"] + ring_rows
lat_want = ["latency uring_zc_nr1", "latency zcsendd_socket_nr1",
            "latency zcsendd_ring_nr1"]
errs = []

def load(name):
    try:
        return json.load(open("%s/%s" % (t, name)))
    except ValueError as e:
        sys.exit("%s: not JSON: %s" % (name, e))

def is_ring(name):
    return "zcsendd_ring" in name or name == "idle ring"

def failed_ok(name, r):
    """A ring row before rings exist must say why; any other error is bad."""
    if "error" not in r:
        return False
    if rings or not is_ring(name):
        errs.append("%s failed: %s" % (name, r["error"]))
    return True

def check_rows(d, names, keys, moved):
    rows = {r.get("name"): r for r in d.get("rows", [])}
    for name in names:
        r = rows.get(name)
        if r is None:
            errs.append("row %s missing" % name)
            continue
        for k in keys:
            if not isinstance(r.get(k), (int, float)):
                errs.append("%s.%s not a number: %r" % (name, k, r.get(k)))
        if not failed_ok(name, r) and not moved(r):
            errs.append("%s moved nothing: %r" % (name, r))
        elif not rings and is_ring(name) and "error" not in r:
            errs.append("%s: no rings here, yet no error: %r" % (name, r))
    return rows

d = load("bench.json")
if d.get("sink") not in ("ifb", "loopback"):
    errs.append("sink %r" % d.get("sink"))
if d.get("size") != 16384 or d.get("rounds") != 1:
    errs.append("size/rounds not echoed: %r %r" % (d.get("size"), d.get("rounds")))
rows = check_rows(d, want, ("mb_s", "msgs_s", "speedup", "cpu_s_per_gb",
                            "zc_copied_pct"),
                  lambda r: r.get("mb_s", 0) > 0 and r.get("msgs_s", 0) > 0)

lat = load("lat.json")
if lat.get("mode") != "latency" or lat.get("size") != 1024:
    errs.append("latency mode/size: %r %r" % (lat.get("mode"), lat.get("size")))
check_rows(lat, lat_want, ("samples", "p50_us", "p99_us"),
           lambda r: r.get("samples", 0) > 0 and
           0 < r.get("p50_us", 0) <= r.get("p99_us", 0))

for tr in ("socket", "ring"):
    i = load("idle-%s.json" % tr)
    if i.get("mode") != "idle" or i.get("transport") != tr or i.get("clients") != 2:
        errs.append("idle %s echoed %r" % (tr, i))
    elif not failed_ok("idle " + tr, i) and not (
            isinstance(i.get("daemon_cpu_pct"), (int, float)) and
            i["daemon_cpu_pct"] >= 0 and i.get("window_s", 0) > 0):
        errs.append("idle %s: %r" % (tr, i))
    elif tr == "ring" and not rings and "error" not in i:
        errs.append("idle ring: no rings here, yet no error: %r" % i)
if errs:
    sys.exit("; ".join(errs))
print("bench-smoke: %d rows, sink %s, rings %s" % (len(rows), d["sink"],
      "used" if rings else "not built yet (ring rows failed cleanly)"))
PY
echo "PASS: bench-smoke"
