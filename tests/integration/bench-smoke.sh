#!/bin/bash
# SPDX-License-Identifier: MIT
# zcsend-bench runs end to end: every row, a short interval, one round,
# --json. The output must be valid JSON naming every row with mb_s > 0
# and msgs_s > 0. No timing is asserted: this only proves each path moves
# data (as root through the ifb sink, otherwise through loopback).
set -u
. "$(dirname "$0")/lib.sh"
BENCH=$BUILD/zcsend-bench
need_built "$BENCH"

timeout 120 "$BENCH" --seconds 0.05 --rounds 1 --size 16384 --json \
	>"$T/bench.json" 2>"$T/bench.err" ||
	fail "zcsend-bench exited $?: $(cat "$T/bench.err")"

python3 - "$T/bench.json" <<'PY' || fail "bad bench output: $(head -c 3000 "$T/bench.json")"
import json, sys
want = ["send", "msg_zerocopy", "uring_zc_nr1", "uring_zc_nr8",
        "zcsendd_immediate_nr1", "zcsendd_immediate_nr8",
        "zcsendd_batch_nr1", "zcsendd_batch_nr8", "zcsendd_batch_nr64",
        "zcsendd_batch_nr512", "zcsendd_copy_nr512"]
try:
    d = json.load(open(sys.argv[1]))
except ValueError as e:
    sys.exit("not JSON: %s" % e)
errs = []
if d.get("sink") not in ("ifb", "loopback"):
    errs.append("sink %r" % d.get("sink"))
if d.get("size") != 16384 or d.get("rounds") != 1:
    errs.append("size/rounds not echoed: %r %r" % (d.get("size"), d.get("rounds")))
rows = {r.get("name"): r for r in d.get("rows", [])}
for name in want:
    r = rows.get(name)
    if r is None:
        errs.append("row %s missing" % name)
        continue
    for k in ("mb_s", "msgs_s", "speedup", "cpu_s_per_gb", "zc_copied_pct"):
        if not isinstance(r.get(k), (int, float)):
            errs.append("%s.%s not a number: %r" % (name, k, r.get(k)))
    if not (r.get("mb_s", 0) > 0 and r.get("msgs_s", 0) > 0):
        errs.append("%s moved nothing: %r" % (name, r))
if errs:
    sys.exit("; ".join(errs))
print("bench-smoke: %d rows, sink %s" % (len(rows), d["sink"]))
PY
echo "PASS: bench-smoke"
