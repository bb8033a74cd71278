#!/bin/bash
# SPDX-License-Identifier: MIT
# zcsendctl metrics against a real daemon with traffic on a UDP and a TCP
# destination from three clients, one named by a hostile program name:
# promtool check metrics passes (skipped without promtool: CI installs the
# prometheus package), labels come back exactly after unescaping, and every
# documented family is there, the service's across hand-overs too;
# clients are summed per user and program.
# The HTTP exporter (--listen, IPv4 and IPv6) is scraped while traffic
# flows: counters only grow, and grow, also once the senders have left;
# other paths get 404. With the daemon gone, `zcsendctl metrics` fails with a clear
# message and the endpoint answers 503 with the reason; it recovers when
# the daemon comes back, even across a restart between two scrapes.
# transports: socket ring
set -u
. "$(dirname "$0")/lib.sh"
need_built "$ZCSENDD" "$ZCSENDCTL" "$ZCSRECV"

PROMTOOL=$(command -v promtool || true)
HOSTILE='ev"il\na\me'	# as program name: a quote and backslashes
CONF=$T/zcsendd.conf
DAEMON_ARGS="-c $CONF"

# parse FILE: the samples of a text exposition as JSON on stdout
# ([name, {labels}, value, type]), checked line by line; exit 1 on any
# line the format does not allow.
parse() {
	python3 - "$1" <<'PY'
import json, re, sys
types, out = {}, []
lab = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)')
samp = re.compile(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
for n, line in enumerate(open(sys.argv[1], encoding="utf-8"), 1):
    line = line.rstrip("\n")
    if line.startswith("# TYPE "):
        _, _, name, t = line.split(" ", 3)
        if name in types:
            sys.exit("line %d: second TYPE for %s" % (n, name))
        types[name] = t
        continue
    if line.startswith("# HELP "):
        continue
    m = samp.match(line)
    if not m:
        sys.exit("line %d: not a sample: %r" % (n, line))
    labels, rest = {}, m.group(2) or ""
    while rest:
        lm = lab.match(rest)
        if not lm:
            sys.exit("line %d: bad labels: %r" % (n, rest))
        v = re.sub(r'\\(.)', lambda e: {"n": "\n"}.get(e.group(1), e.group(1)),
                   lm.group(2))
        labels[lm.group(1)] = v
        rest = rest[lm.end():]
    name = m.group(1)
    # A summary's samples are FAMILY_sum and FAMILY_count.
    fam = re.sub(r"_(sum|count)$", "", name)
    if name not in types and types.get(fam) == "summary":
        types[name] = "summary"
    if name not in types:
        sys.exit("line %d: %s has no TYPE line before it" % (n, name))
    float(m.group(3))
    out.append([name, labels, float(m.group(3)), types[name]])
json.dump(out, sys.stdout)
PY
}

# scrape URL OUT: GET with python3; prints the HTTP status, body in OUT.
scrape() {
	python3 - "$1" "$2" <<'PY'
import sys, urllib.request, urllib.error
try:
    r = urllib.request.urlopen(sys.argv[1], timeout=20)
    code, body = r.status, r.read()
except urllib.error.HTTPError as e:
    code, body = e.code, e.read()
open(sys.argv[2], "wb").write(body)
print(code)
PY
}

# slow_send NAME PROTO PORT [ARGV0]: stream ~6 s of data through the daemon
# in the background (sets SEND_PID), as program ARGV0 when given.
slow_send() {
	local name=$1 proto=$2 port=$3 argv0=${4:-zcsendctl} chunk=65536
	[ "$proto" = udp ] && chunk=1472
	# One send in flight: sent as read, not once the window fills.
	# shellcheck disable=SC2086
	(for _ in $(seq 60); do head -c 65536 /dev/urandom; sleep 0.1; done |
		exec -a "$argv0" "$ZCSENDCTL" -s "$SOCK" send \
			"$proto://127.0.0.1:$port" - --chunk $chunk \
			--inflight 1 --quiet) \
		>"$T/$name.send" 2>&1 &
	SEND_PID=$!
}

start_recv udp udp 127.0.0.1 --timeout 60
UDP_PORT=$RECV_PORT
cat >"$CONF" <<EOC
[destination stats]
address = udp://127.0.0.1:$UDP_PORT
flush = immediate
zerocopy = auto
EOC
start_daemon

# Three clients at once: UDP to the named destination, TCP ad hoc, and TCP
# from a program whose name needs escaping.
start_recv tcp1 tcp 127.0.0.1 --timeout 60
slow_send tcp1 tcp "$RECV_PORT"
S1=$SEND_PID
start_recv tcp2 tcp 127.0.0.1 --timeout 60
slow_send tcp2 tcp "$RECV_PORT" "$HOSTILE"
S2=$SEND_PID
slow_send udp udp "$UDP_PORT"
S3=$SEND_PID
sleep 1

"$ZCSENDCTL" -s "$SOCK" metrics >"$T/m1.txt" 2>"$T/m1.err" ||
	fail "zcsendctl metrics: $(cat "$T/m1.err")"
if [ -n "$PROMTOOL" ]; then
	"$PROMTOOL" check metrics <"$T/m1.txt" >"$T/promtool.out" 2>&1 ||
		fail "promtool check metrics: $(cat "$T/promtool.out")"
	echo "promtool check metrics: ok ($("$PROMTOOL" --version 2>&1 | head -1))"
	# Names no daemon of ours sends: line feeds, controls, bad UTF-8.
	if [ -x "$BUILD/tests/test-metrics" ]; then
		"$BUILD/tests/test-metrics" --print >"$T/hostile.txt" ||
			fail "test-metrics --print"
		"$PROMTOOL" check metrics <"$T/hostile.txt" >"$T/promtool.out" 2>&1 ||
			fail "promtool on hostile names: $(cat "$T/promtool.out")"
	fi
else
	echo "promtool not found: format checked by the parser here only" \
		"(apt-get install prometheus)"
fi
parse "$T/m1.txt" >"$T/m1.json" || fail "exposition does not parse: $(cat "$T/m1.json")"

python3 - "$T/m1.json" "$HOSTILE" "$UDP_PORT" <<'PY' || fail "metrics content (see above)"
import json, sys
samples, hostile, udp_port = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
def find(metric, **want):
    return [s for s in samples if s[0] == metric and
            all(s[1].get(k) == v for k, v in want.items())]
def one(metric, **want):
    r = find(metric, **want)
    if len(r) != 1:
        sys.exit("%s %s: %d samples, want 1" % (metric, want, len(r)))
    return r[0][2]
errs = []
for s in samples:
    if (s[3] == "counter") != s[0].endswith("_total"):
        errs.append("%s is a %s" % (s[0], s[3]))
one("zcsendd_build_info")
if one("zcsendd_feature", name="send_zc") not in (0, 1):
    errs.append("feature is not 0 or 1")
if one("zcsendd_uptime_seconds") <= 0:
    errs.append("uptime_seconds not positive")
# The service across hand-overs (issue 19): none yet, so it is as old as
# the process, and no blackout.
if not 0 < one("zcsendd_process_uptime_seconds") <= one("zcsendd_service_uptime_seconds"):
    errs.append("process uptime not within the service's")
if one("zcsendd_handovers_total") != 0 or one("zcsendd_handover_last_blackout_seconds") != 0:
    errs.append("a fresh daemon reports a hand-over")
for n in ("sends_total", "sent_bytes_total", "datagrams_total"):
    if one("zcsendd_" + n) <= 0:
        errs.append("zcsendd_%s is 0 with traffic flowing" % n)
for n in ("send_errors_total", "zerocopy_sends_total", "zerocopy_copied_sends_total",
          "completions_total", "completion_messages_total", "gso_sends_total", "wakeups_total",
          "ring_records_total", "ring_wakeups_in_total", "ring_wakeups_out_total",
          "ring_poll_seconds_total", "clients", "flows", "pool_bytes"):
    one("zcsendd_" + n)
udp = dict(destination="stats", address="udp://127.0.0.1:" + udp_port, protocol="udp")
if one("zcsendd_destination_datagrams_total", **udp) <= 0:
    errs.append("no datagrams counted for the UDP destination")
one("zcsendd_destination_policy_info", flush="immediate", zerocopy="auto",
    configured="true", **udp)
one("zcsendd_destination_zerocopy_active", **udp)
one("zcsendd_destination_gso_active", **udp)
tcp = find("zcsendd_destination_sent_bytes_total", protocol="tcp")
if len(tcp) < 2 or any(s[2] <= 0 for s in tcp):
    errs.append("want 2 TCP destinations with bytes: %s" % tcp)
if find("zcsendd_destination_gso_active", protocol="tcp"):
    errs.append("gso_active given for a TCP destination")
# Clients are summed per user and program (issue 18): the two zcsendctl
# senders are one program, the hostile name another.
names = sorted(s[1]["program"] for s in find("zcsendd_program_sends_total"))
if names != sorted(["zcsendctl", hostile]):
    errs.append("programs %r: want zcsendctl and %r" % (names, hostile))
clients = lambda p: sum(s[2] for s in find("zcsendd_program_clients", program=p))
if clients("zcsendctl") != 2 or clients(hostile) != 1:
    errs.append("clients per program: zcsendctl %s, hostile %s; want 2, 1" %
                (clients("zcsendctl"), clients(hostile)))
for s in samples:
    if s[0].startswith("zcsendd_program_") and (
            not s[1]["uid"].isdigit() or "pid" in s[1] or "client_id" in s[1]):
        errs.append("program labels %r" % s[1])
if one("zcsendd_program_sent_bytes_total", program=hostile) <= 0:
    errs.append("no bytes counted for the hostile program")
if one("zcsendd_program_weight", program=hostile) != 1:
    errs.append("the default weight is 1")
for n in ("sched_cost_total", "queue_delay_seconds_sum",
          "queue_delay_seconds_count", "queue_delay_max_seconds"):
    one("zcsendd_" + n)
    one("zcsendd_program_" + n, program=hostile)
if errs:
    sys.exit("\n".join(errs))
print("metrics: %d samples, clients %r" % (len(samples), names))
PY
grep -F 'program="ev\"il\\na\\me"' "$T/m1.txt" >/dev/null ||
	fail "hostile name not escaped as expected: $(grep -m1 'program_weight{' "$T/m1.txt")"

# monotonic A B [any]: every counter of scrape A is <= in scrape B, and
# bytes grew (unless "any": the traffic may be over).
monotonic() {
	python3 - "$1" "$2" "${3:-}" <<'PY'
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
key = lambda s: (s[0], tuple(sorted(s[1].items())))
later = {key(s): s[2] for s in b}
shrank = [(key(s), s[2], later[key(s)]) for s in a
          if s[3] == "counter" and key(s) in later and later[key(s)] < s[2]]
if shrank:
    sys.exit("counters went down: %r" % shrank[:5])
tot = lambda x: [s[2] for s in x if s[0] == "zcsendd_sent_bytes_total"][0]
if tot(b) <= tot(a) and sys.argv[3] != "any":
    sys.exit("zcsendd_sent_bytes_total did not grow: %s -> %s" % (tot(a), tot(b)))
print("scrapes: %d counters, none went down; bytes %d -> %d" %
      (sum(s[3] == "counter" for s in a), tot(a), tot(b)))
PY
}

# The exporter, on IPv4 and (where the host has it) IPv6 loopback.
start_exporter 127.0.0.1:0
code=$(scrape "$URL/metrics" "$T/h1.txt") || fail "scrape: $code"
[ "$code" = 200 ] || fail "GET /metrics: $code $(cat "$T/h1.txt")"
sleep 0.7
code=$(scrape "$URL/metrics?x=1" "$T/h2.txt")
[ "$code" = 200 ] || fail "GET /metrics?x=1: $code $(cat "$T/h2.txt")"
parse "$T/h1.txt" >"$T/h1.json" || fail "scrape 1 does not parse: $(cat "$T/h1.json")"
parse "$T/h2.txt" >"$T/h2.json" || fail "scrape 2 does not parse: $(cat "$T/h2.json")"
monotonic "$T/h1.json" "$T/h2.json" || fail "counters between scrapes"
code=$(scrape "$URL/" "$T/h404.txt")
[ "$code" = 404 ] || fail "GET /: $code, want 404"
code=$(scrape "$URL/metricsx" "$T/h404.txt")
[ "$code" = 404 ] || fail "GET /metricsx: $code, want 404"
# A request with 64 KiB of headers is refused, and the server serves on.
code=$(python3 - "$URL/metrics" <<'PY'
import sys, urllib.request, urllib.error
req = urllib.request.Request(sys.argv[1], headers={"X-Big": "a" * 65536})
try:
    print(urllib.request.urlopen(req, timeout=20).status)
except urllib.error.HTTPError as e:
    print(e.code)
except Exception as e:
    print("closed")
PY
)
[ "$code" != 200 ] || fail "64 KiB of headers accepted"
code=$(scrape "$URL/metrics" "$T/h3.txt")
[ "$code" = 200 ] || fail "GET /metrics after a refused request: $code"

for pid in $S1 $S2 $S3; do
	wait_pid "$pid" 60 || fail "a sender failed: $(cat "$T"/*.send)"
done
# The senders have left: their programs' counters stay (the exporter adds
# what a client had done when it leaves), none went down, and they show
# no client connected.
code=$(scrape "$URL/metrics" "$T/h7.txt")
[ "$code" = 200 ] || fail "GET /metrics after the senders left: $code"
parse "$T/h7.txt" >"$T/h7.json" || fail "scrape 7 does not parse: $(cat "$T/h7.json")"
monotonic "$T/h2.json" "$T/h7.json" any || fail "counters after the senders left"
python3 - "$T/h7.json" "$HOSTILE" <<'PY' || fail "programs after the senders left"
import json, sys
samples, hostile = json.load(open(sys.argv[1])), sys.argv[2]
for p in ("zcsendctl", hostile):
    b = [s[2] for s in samples if s[0] == "zcsendd_program_sent_bytes_total"
         and s[1].get("program") == p]
    c = [s[2] for s in samples if s[0] == "zcsendd_program_clients"
         and s[1].get("program") == p]
    if len(b) != 1 or b[0] <= 0 or sum(c) != 0:
        sys.exit("program %r after its clients left: bytes %r, clients %r" % (p, b, c))
print("senders gone: their programs' counters kept, 0 clients")
PY

if python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' \
	2>/dev/null; then
	kill "$EX_PID"
	wait "$EX_PID"
	rc=$?
	[ $rc -eq 0 ] || fail "exporter exited $rc on SIGTERM"
	start_exporter '[::1]:0'
	code=$(scrape "$URL/metrics" "$T/h6.txt")
	[ "$code" = 200 ] || fail "GET over IPv6 $URL: $code"
	echo "exporter on $URL: ok"
else
	echo "no IPv6 loopback: exporter over IPv6 not checked"
fi

# The daemon gone: a clear error and exit 1, and 503 with the reason.
stop_daemon
"$ZCSENDCTL" -s "$SOCK" metrics >"$T/gone.out" 2>"$T/gone.err"
rc=$?
[ $rc -eq 1 ] || fail "zcsendctl metrics without a daemon: exit $rc, want 1"
[ ! -s "$T/gone.out" ] || fail "zcsendctl metrics printed without a daemon"
grep -q "cannot connect to $SOCK.*is zcsendd running" "$T/gone.err" ||
	fail "unclear error: $(cat "$T/gone.err")"
code=$(scrape "$URL/metrics" "$T/h503.txt")
[ "$code" = 503 ] || fail "GET /metrics without a daemon: $code, want 503"
[ "$(wc -l <"$T/h503.txt")" -eq 1 ] && grep -q "cannot connect to zcsendd at $SOCK" \
	"$T/h503.txt" || fail "503 body: $(cat "$T/h503.txt")"
echo "daemon gone: $(cat "$T/gone.err"); HTTP 503: $(cat "$T/h503.txt")"

# Back again: the next scrape works; so does one after a restart that
# no scrape saw (the kept connection is dead, a new one is made).
start_daemon
code=$(scrape "$URL/metrics" "$T/h4.txt")
[ "$code" = 200 ] || fail "GET /metrics after the daemon came back: $code $(cat "$T/h4.txt")"
stop_daemon
start_daemon
code=$(scrape "$URL/metrics" "$T/h5.txt")
[ "$code" = 200 ] || fail "GET /metrics after an unseen restart: $code $(cat "$T/h5.txt")"
grep -q "metrics unavailable: cannot connect" "$T/ex.err" &&
	grep -q "metrics available again" "$T/ex.err" ||
	fail "exporter log: $(cat "$T/ex.err")"

"$ZCSENDCTL" -s "$SOCK" metrics --listen 127.0.0.1 >/dev/null 2>&1
rc=$?
[ $rc -eq 2 ] || fail "--listen without a port: exit $rc, want 2"
"$ZCSENDCTL" -s "$SOCK" metrics --listen ::1:80 >/dev/null 2>&1
rc=$?
[ $rc -eq 2 ] || fail "--listen with IPv6 unbracketed: exit $rc, want 2"
kill "$EX_PID"
stop_daemon
echo "metrics: ok"
