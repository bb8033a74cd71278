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
# --dgram (root, ifb sink only) runs briefly too: every row on both sink
# variants; its zcsendd rows must work once the daemon knows udp_segment.
# Issue 18's modes run at tiny sizes so they cannot rot: --busy 1 (loops'
# iterations per row and alone), --fairness with 4 equal clients (every
# canary and flood line, each spread line), --clients-idle 2 --pin (steps
# 1 and 2: memory, connect times, every row); only the fields' presence and
# sanity are checked, never a time or a ratio. Issue 19's --handover 2:
# nothing failed, lost or duplicated, fds and pinned buffers as after the first.
# transports: socket ring
set -u
. "$(dirname "$0")/lib.sh"
BENCH=$BUILD/zcsend-bench
need_built "$BENCH"

RINGS=0
if grep -qa ZCSEND_TRANSPORT "$BUILD/libzcsend.so.1" &&
	grep -qa poll_usec "$BUILD/zcsendd"; then
	RINGS=1
fi

# The daemon knows udp_segment once its config accepts the key.
GSO=0
printf '[destination g]\naddress = udp://127.0.0.1:9\nudp_segment = on\n' \
	>"$T/gso.conf"
"$BUILD/zcsendd" --check-config -c "$T/gso.conf" >/dev/null 2>&1 && GSO=1

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

timeout 60 "$BENCH" --busy 1 --seconds 0.1 --rounds 1 --size 16384 --json \
	--rows uring_zc_nr1,zcsendd_batch_nr1,zcsendd_ring_nr1 \
	>"$T/busy.json" 2>"$T/busy.err" ||
	fail "zcsend-bench --busy exited $?: $(cat "$T/busy.err")"
timeout 60 "$BENCH" --busy 1 --latency --seconds 0.1 --rounds 1 --json \
	>"$T/busy-lat.json" 2>>"$T/busy.err" ||
	fail "zcsend-bench --busy --latency exited $?: $(cat "$T/busy.err")"
timeout 120 "$BENCH" --fairness --fair-clients 4 --seconds 0.1 --rounds 1 \
	--json >"$T/fair.json" 2>"$T/fair.err" ||
	fail "zcsend-bench --fairness exited $?: $(cat "$T/fair.err")"
# --pin (daemon and bench on CPUs apart) where there are two.
PIN=
[ "$(nproc)" -ge 2 ] && PIN=--pin
timeout 60 "$BENCH" --clients-idle 2 --seconds 0.05 --rounds 1 --json $PIN \
	>"$T/ci.json" 2>"$T/ci.err"
rc=$?
[ $rc = $((1 - RINGS)) ] ||
	fail "zcsend-bench --clients-idle exited $rc (rings $RINGS): $(cat "$T/ci.err")"

# --dgram needs the ifb sink: root, and the first run must have had it.
DGRAM=0
if [ "$(id -u)" = 0 ] && grep -q '"sink": "ifb"' "$T/bench.json"; then
	DGRAM=1
	timeout 120 "$BENCH" --dgram --seconds 0.05 --rounds 1 --json \
		>"$T/dgram.json" 2>"$T/dgram.err" ||
		fail "zcsend-bench --dgram exited $?: $(cat "$T/dgram.err")"
fi

python3 - "$T" "$RINGS" "$DGRAM" "$GSO" <<'PY' || fail "bad bench output: $(head -c 3000 "$T/bench.json" "$T/lat.json" "$T"/idle-*.json "$T"/dgram.json "$T"/busy*.json "$T"/fair.json "$T"/ci.json 2>/dev/null)"
import json, sys
t, rings = sys.argv[1], sys.argv[2] == "1"
dgram, gso = sys.argv[3] == "1", sys.argv[4] == "1"
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
def check_dgram():
    """Both sinks, every row; zcsendd rows may fail before udp_segment."""
    d = load("dgram.json")
    names = ["send", "sendmmsg", "udp_gso", "udp_gso_zc", "uring_gso_zc",
             "zcsendd_gso", "zcsendd_coalesce"]
    if d.get("mode") != "dgram" or d.get("size") != 1472 or d.get("mtu") != 1500:
        errs.append("dgram mode/size/mtu: %r" % {k: d.get(k) for k in
                    ("mode", "size", "mtu")})
    sinks = [x.get("sink") for x in d.get("sinks", [])]
    if sinks != ["whole", "software"]:
        errs.append("dgram sinks %r" % sinks)
    if len(d.get("targets", [])) != 4:
        errs.append("dgram targets: %r" % d.get("targets"))
    for x in d.get("sinks", []):
        rows = {r.get("name"): r for r in x.get("rows", [])}
        for name in names:
            r = rows.get(name)
            what = "dgram %s %s" % (x.get("sink"), name)
            if r is None:
                errs.append(what + " missing")
            elif "error" in r and (gso or not name.startswith("zcsendd")):
                errs.append("%s failed: %s" % (what, r["error"]))
            elif "error" not in r and not r.get("dgrams_s", 0) > 0:
                errs.append("%s moved nothing: %r" % (what, r))

def num(x):
    return isinstance(x, (int, float))

def check_busy():
    """Every row with the loops' iterations/s, and the loops alone."""
    for name, rows in (("busy.json", ["uring_zc_nr1", "zcsendd_batch_nr1",
                                      "zcsendd_ring_nr1"]),
                       ("busy-lat.json", lat_want)):
        d = load(name)
        if d.get("busy") != 1 or not d.get("busy_alone_its_s", 0) > 0:
            errs.append("%s: busy %r alone %r" % (name, d.get("busy"),
                        d.get("busy_alone_its_s")))
        got = {r.get("name"): r for r in d.get("rows", [])}
        for n in rows:
            r = got.get(n, {})
            if "error" in r and (rings or not is_ring(n)):
                errs.append("%s %s failed: %s" % (name, n, r["error"]))
            elif "error" not in r and not (
                    num(r.get("busy_its_s")) and r["busy_its_s"] >= 0 and
                    num(r.get("busy_x_alone"))):
                errs.append("%s %s: %r" % (name, n, r))

def check_canary(c):
    what = "fairness canary %s/%s" % (c.get("transport"), c.get("flood"))
    if "error" in c:
        if rings or (c.get("transport") != "ring" and
                     "ring" not in c.get("flood", "")):
            errs.append("%s failed: %s" % (what, c["error"]))
        return
    if c.get("flood") == "none" and not c.get("samples", 0) > 0:
        errs.append("%s: no send completed alone: %r" % (what, c))
    elif not (c.get("samples", 0) > 0 or c.get("stuck_ms", 0) > 0):
        errs.append("%s: neither completions nor a pending send: %r" % (what, c))
    elif not 0 < c.get("p50_us", 0) <= c.get("p99_us", 0) <= c.get("max_us", 0):
        errs.append("%s: p50 <= p99 <= max broken: %r" % (what, c))

def check_fair():
    """2 canaries x (alone + 4 floods), 4 floods, 4 spread lines."""
    d = load("fair.json")
    floods = ["plain_socket", "plain_ring", "seg_socket", "seg_ring"]
    cs = d.get("canary", [])
    if d.get("mode") != "fairness" or d.get("clients") != 4:
        errs.append("fairness mode/clients: %r %r" % (d.get("mode"), d.get("clients")))
    if [(c.get("transport"), c.get("flood")) for c in cs] != [
            (t, f) for t in ("socket", "ring") for f in ["none"] + floods]:
        errs.append("fairness canary lines: %r" % cs)
    for c in cs:
        check_canary(c)
    if [f.get("name") for f in d.get("floods", [])] != floods:
        errs.append("fairness floods: %r" % d.get("floods"))
    for f in d.get("floods", []):
        if "error" in f:
            if rings or "ring" not in f.get("name", ""):
                errs.append("flood %s failed: %s" % (f["name"], f["error"]))
        elif not (f.get("alone_mb_s", 0) > 0 and num(f.get("x_alone_ring"))):
            errs.append("flood %r" % f)
    eq = [(e.get("run"), e.get("transport"), e.get("clients"))
          for e in d.get("equal", []) if "error" not in e]
    want = [("socket", "socket", 4), ("ring", "ring", 4),
            ("mixed", "socket", 2), ("mixed", "ring", 2)]
    if rings and eq != want:
        errs.append("fairness equal lines: %r" % d.get("equal"))
    for e in d.get("equal", []):
        if "error" not in e and not (e.get("sends_s", 0) > 0 and
                                     0 <= e.get("min", -1) <= e.get("max", -1)):
            errs.append("equal %r" % e)

def check_ci():
    """Steps 1 and 2, each with memory, connect times and every row."""
    d = load("ci.json")
    steps = d.get("steps", [])
    if [s.get("clients") for s in steps] != [1, 2]:
        errs.append("clients-idle steps: %r" % [s.get("clients") for s in steps])
    for s in steps:
        if not (s.get("rss_kb", 0) > 0 and s.get("connect_p99_ms", 0) > 0 and
                num(s.get("per_client_rss_kb")) and
                num(s.get("per_client_shmem_kb"))):
            errs.append("clients-idle step %r" % {k: v for k, v in s.items()
                                                 if k != "rows"})
        names = [r.get("name") for r in s.get("rows", [])]
        if names != lat_want + ["uring_zc_nr8", "zcsendd_batch_nr8",
                                "zcsendd_ring_nr8"]:
            errs.append("clients-idle rows: %r" % names)
        for r in s.get("rows", []):
            if "error" in r or not r.get("msgs_s", 0) > 0 or (
                    r["name"].startswith("latency") and
                    not 0 < r.get("p50_us", 0) <= r.get("p99_us", 0)):
                errs.append("clients-idle %d %r" % (s.get("clients"), r))

check_busy()
check_fair()
if rings:
    check_ci()
if dgram:
    check_dgram()
if errs:
    sys.exit("; ".join(errs))
print("bench-smoke: --busy, --fairness%s checked" % (
      ", --clients-idle" if rings else ""))
print("bench-smoke: %d rows, sink %s, rings %s, --dgram %s" % (
      len(rows), d["sink"],
      "used" if rings else "not built yet (ring rows failed cleanly)",
      ("run, zcsendd GSO rows " + ("checked" if gso else "not built yet"))
      if dgram else "not run (needs root and the ifb sink)"))
PY
timeout 180 "$BENCH" --handover 2 --json >"$T/ho.json" 2>"$T/ho.err" ||
	fail "zcsend-bench --handover exited $?: $(cat "$T/ho.err")"
python3 - "$T/ho.json" <<'PY' || fail "bad --handover output: $(cat "$T/ho.json")"
import json, sys
d = json.load(open(sys.argv[1]))
b = d["blackout_ms"]
if not (d["handovers"] == 2 and
        d["errors"] == d["lost"] == d["duplicated"] == 0 and d["sends"] > 0 and
        d["fds"][0] == d["fds"][1] and d["pinned_kb"][0] == d["pinned_kb"][1] and
        0 < b["p50"] <= b["max"]):
    sys.exit("unexpected --handover result")
print("bench-smoke: --handover 2 checked")
PY
echo "PASS: bench-smoke"
