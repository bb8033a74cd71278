#!/bin/bash
# SPDX-License-Identifier: MIT
# The HTTP side of `zcsendctl metrics --listen`, byte by byte over raw TCP
# on loopback: HEAD gets the headers of GET with its Content-Length and no
# body, so the next response on the same kept-alive connection parses;
# POST and other methods get 405 with an Allow header. With the daemon
# stopped (SIGSTOP), concurrent scrapes each get a 503 with the reason
# within the documented bound (1 s; asserted generously), sharing one
# fetch, and a request for another path is answered before they are;
# after SIGCONT scrapes get 200 again. Every check runs and reports.
set -u
. "$(dirname "$0")/lib.sh"
need_built "$ZCSENDD" "$ZCSENDCTL"

BAD=0
bad() {
	echo "FAIL: $*"
	BAD=1
}

# http_seq PORT REQ...: each REQ "METHOD PATH" sent in turn on one TCP
# connection, each response read framed as HTTP/1.1 frames it (HEAD: no
# body; else Content-Length, else until the close). Prints one JSON list
# of {req, status, headers, body_len, body, error}; exits 1 when a
# response does not parse: bytes before a status line (a body where none
# belongs) or bytes after the last response.
http_seq() {
	python3 - "$@" <<'PY'
import json, socket, sys
port, reqs = int(sys.argv[1]), sys.argv[2:]
s = socket.create_connection(("127.0.0.1", port), timeout=20)
buf, out, ok = b"", [], True

def more():
    global buf
    d = s.recv(65536)
    if not d:
        raise EOFError("connection closed")
    buf += d

def response(method):
    global buf
    while b"\r\n\r\n" not in buf:
        more()
    head, buf = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    if not lines[0].startswith("HTTP/1.1 "):
        raise ValueError("not a status line: %r" % lines[0][:60])
    hdrs = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    status = int(lines[0].split()[1])
    cl = hdrs.get("content-length")
    if method == "HEAD":
        body = b""
    elif cl is not None:
        while len(buf) < int(cl):
            more()
        body, buf = buf[:int(cl)], buf[int(cl):]
    else:
        try:
            while True:
                more()
        except EOFError:
            pass
        body, buf = buf, b""
    return status, hdrs, body

for r in reqs:
    method, path = r.split()
    body = b"x" if method in ("POST", "PUT") else b""
    msg = "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n" % (method, path)
    if body:
        msg += "Content-Length: %d\r\n" % len(body)
    s.sendall(msg.encode() + b"\r\n" + body)
    rec = {"req": r}
    try:
        st, h, b = response(method)
        rec.update(status=st, headers=h, body_len=len(b),
                   body=b[:200].decode("utf-8", "replace"))
    except Exception as e:
        rec["error"] = "%s: %s" % (type(e).__name__, e)
        ok = False
    out.append(rec)
    if not ok:
        break
if ok:
    s.settimeout(0.3)
    try:
        d = s.recv(65536)
    except socket.timeout:
        d = None
    if buf or d:
        out.append({"error": "%d bytes after the last response: %r" %
                    (len(buf) + len(d or b""), (buf + (d or b""))[:60])})
        ok = False
json.dump(out, sys.stdout)
sys.exit(0 if ok else 1)
PY
}

# field JSON INDEX EXPR: a Python expression over response r of a list.
field() {
	python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))[int(sys.argv[2])]
print(eval(sys.argv[3]))' "$@"
}

start_daemon
start_exporter 127.0.0.1:0
PORT=$EX_PORT

# HEAD between two GETs on one connection: its Content-Length is the GET
# body's. The exposition changes length only when a counter gains a
# digit, so a HEAD between two GETs of different lengths is asked again.
ok=
for _ in 1 2 3; do
	if ! http_seq "$PORT" "GET /metrics" "HEAD /metrics" "GET /metrics" \
		>"$T/seq.json"; then
		bad "HEAD then GET on one connection do not parse: $(cat "$T/seq.json")"
		break
	fi
	g1=$(field "$T/seq.json" 0 'r["body_len"]')
	g2=$(field "$T/seq.json" 2 'r["body_len"]')
	[ "$g1" = "$g2" ] || continue
	hl=$(field "$T/seq.json" 1 'r["headers"].get("content-length")')
	hs=$(field "$T/seq.json" 1 'r["status"]')
	[ "$hs" = 200 ] || bad "HEAD /metrics: status $hs"
	[ "$hl" = "$g1" ] ||
		bad "HEAD /metrics: Content-Length $hl, the GET body is $g1 bytes"
	ok=1
	echo "HEAD /metrics: 200, Content-Length $hl = GET body; next GET parses"
	break
done
[ -n "$ok" ] || [ "$BAD" = 1 ] || bad "GET length changed on three tries"

# HEAD of an error page is framed the same way.
if http_seq "$PORT" "HEAD /nope" "GET /nope" "GET /metrics" >"$T/seq2.json"; then
	hl=$(field "$T/seq2.json" 0 'r["headers"].get("content-length")')
	gl=$(field "$T/seq2.json" 1 'r["body_len"]')
	hs=$(field "$T/seq2.json" 0 'r["status"]')
	[ "$hs" = 404 ] && [ "$hl" = "$gl" ] ||
		bad "HEAD /nope: status $hs Content-Length $hl, GET /nope body $gl bytes"
else
	bad "HEAD /nope then GET on one connection: $(cat "$T/seq2.json")"
fi

# Other methods: 405 with Allow, and the connection serves on.
for m in POST PUT DELETE; do
	http_seq "$PORT" "$m /metrics" "GET /metrics" >"$T/m.json"
	st=$(field "$T/m.json" 0 'r.get("status")')
	allow=$(field "$T/m.json" 0 'r.get("headers", {}).get("allow")')
	[ "$st" = 405 ] && [ "$allow" = "GET, HEAD" ] ||
		bad "$m /metrics: status $st, Allow: $allow (want 405, Allow: GET, HEAD): $(cat "$T/m.json")"
	st=$(field "$T/m.json" 1 'r.get("status")')
	[ "$st" = 200 ] || bad "GET after $m on the same connection: $st"
done
[ "$BAD" = 1 ] || echo "POST, PUT, DELETE /metrics: 405, Allow: GET, HEAD"

# stall PORT N: N concurrent GET /metrics, one more that hangs up, then
# GET /nope while they wait.
# Prints one JSON object: scrape results and the /nope result, each with
# start and end times (seconds from the start) and status or error.
stall() {
	python3 - "$@" <<'PY'
import http.client, json, socket, sys, threading, time
port, n = int(sys.argv[1]), int(sys.argv[2])
t0, res = time.monotonic(), {}
def get(key, path):
    start = time.monotonic() - t0
    r = {"start": start}
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=40)
        c.request("GET", path)
        resp = c.getresponse()
        r["status"], r["body"] = resp.status, resp.read().decode("utf-8", "replace")
    except Exception as e:
        r["error"] = "%s: %s" % (type(e).__name__, e)
    r["end"] = time.monotonic() - t0
    res[key] = r
ts = [threading.Thread(target=get, args=("scrape%d" % i, "/metrics"))
      for i in range(n)]
for t in ts:
    t.start()
# A scraper that hangs up before its answer: the exporter must not trip
# over the request it still holds when the fetch ends.
h = socket.create_connection(("127.0.0.1", port), timeout=20)
h.sendall(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
time.sleep(0.1)
h.close()
time.sleep(0.1)
get("nope", "/nope")
for t in ts:
    t.join()
json.dump(res, sys.stdout)
PY
}

on_exit 'kill -CONT $DAEMON_PID 2>/dev/null'
kill -STOP "$DAEMON_PID"
# One stalled scrape alone, for scale; then four at once must not take
# four times as long: they share one fetch instead of queueing.
stall "$PORT" 1 >"$T/stall1.json"
stall "$PORT" 4 >"$T/stall4.json"
kill -CONT "$DAEMON_PID"
kill -0 "$EX_PID" 2>/dev/null || bad "exporter died: $(tail -5 "$T/ex.err")"
python3 - "$T/stall1.json" "$T/stall4.json" <<'PY' || BAD=1
import json, sys
one, four = (json.load(open(f)) for f in sys.argv[1:3])
errs = []
scrapes = [(k, r) for k, r in four.items() if k.startswith("scrape")]
scrapes.append(("alone", one["scrape0"]))
for k, r in scrapes:
    took = r["end"] - r["start"]
    if "error" in r:
        errs.append("%s: no HTTP response after %.2f s (%s)" % (k, took, r["error"]))
    elif r["status"] != 503 or "zcsendd" not in r["body"]:
        errs.append("%s: %s after %.2f s: %r, want 503 with a reason" %
                    (k, r["status"], took, r["body"][:200]))
    elif took >= 5:
        errs.append("%s: 503 after %.2f s, want well within the 1 s bound (< 5 s)" % (k, took))
alone = one["scrape0"]["end"] - one["scrape0"]["start"]
last = max(r["end"] - r["start"] for k, r in scrapes)
if last > 2.5 * alone:
    errs.append("4 concurrent scrapes took up to %.2f s, one alone %.2f s: "
                "they queue instead of sharing a fetch" % (last, alone))
for res in (one, four):
    nope = res["nope"]
    first = min(r["end"] for k, r in res.items() if k.startswith("scrape"))
    if nope.get("status") != 404:
        errs.append("GET /nope during a stalled scrape: %s" %
                    nope.get("status", nope.get("error")))
    elif nope["end"] >= first:
        errs.append("GET /nope waited behind a stalled scrape: answered at "
                    "%.2f s, after the first scrape ended at %.2f s" %
                    (nope["end"], first))
for e in errs:
    print("FAIL:", e)
if errs:
    sys.exit(1)
print("daemon stopped: scrapes 503 after %.2f s alone, at most %.2f s for 4 "
      "at once; GET /nope 404 after %.2f s: %s" %
      (alone, last, four["nope"]["end"] - four["nope"]["start"],
       one["scrape0"]["body"].strip()))
PY

# SIGCONT: scrapes recover (the daemon first works through what piled up).
st=
for _ in $(seq 10); do
	st=$(http_seq "$PORT" "GET /metrics" | python3 -c \
		'import json, sys; print(json.load(sys.stdin)[0].get("status"))')
	[ "$st" = 200 ] && break
	sleep 0.5
done
[ "$st" = 200 ] || bad "after SIGCONT: GET /metrics $st, want 200"
[ "$st" = 200 ] && echo "after SIGCONT: 200"

kill "$EX_PID"
wait "$EX_PID"
rc=$?
[ $rc -eq 0 ] || bad "exporter exited $rc on SIGTERM"
[ "$BAD" = 0 ] || fail "see above"
stop_daemon
echo "metrics-http: ok"
