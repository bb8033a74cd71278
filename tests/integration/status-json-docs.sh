#!/bin/bash
# SPDX-License-Identifier: MIT
# zcsendctl.1's JSON OUTPUT section and the real `status --json` agree,
# both ways: every member name the page documents appears in the output,
# and every member name in the output is documented (issue 16: five were
# missing). The daemon has a UDP and a TCP destination and a connected
# client, so every kind of object is there. By the page's convention,
# member names are in bold and values in italics in that section.
# transports: socket ring
set -u
. "$(dirname "$0")/lib.sh"
need_built "$ZCSENDD" "$ZCSENDCTL" "$ZCSRECV"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
MAN=$SRC/client/zcsendctl.1

start_recv u udp 127.0.0.1 --timeout 60
UP=$RECV_PORT
start_recv t tcp 127.0.0.1 --timeout 60
TP=$RECV_PORT
cat >"$T/conf" <<EOC
[destination u]
address = udp://127.0.0.1:$UP
[destination t]
address = tcp://127.0.0.1:$TP
EOC
DAEMON_ARGS="-c $T/conf" start_daemon

# A client that stays connected: its input is a pipe that stays open.
held_client_start t "$T/s.json"

python3 - "$MAN" "$T/s.json" <<'PY' || fail "zcsendctl.1 and status --json differ (above)"
import json, re, shlex, sys

man, out = sys.argv[1], json.load(open(sys.argv[2]))
ident = re.compile(r"^[a-z_][a-z0-9_]*$")

def bold_words(lines):
    """Words set in bold by .B, .BR, .RB, .BI, .IB lines."""
    words = set()
    for line in lines:
        m = re.match(r"^\.(B|BR|RB|BI|IB)(\s+(.*))?$", line)
        if not m or not m.group(3):
            continue
        try:
            args = shlex.split(m.group(3).replace("\\-", "-"))
        except ValueError:
            continue
        first = 1 if m.group(1) in ("RB", "IB") else 0
        step = 1 if m.group(1) == "B" else 2
        for w in args[first::step]:
            w = w.rstrip(",.;:")
            if ident.match(w):
                words.add(w)
    return words

lines = open(man).read().split("\n")
start = lines.index(".SH JSON OUTPUT")
end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith(".SH "))
section = lines[start + 1:end]
first_tp = section.index(".TP")     # before it: the command, not members
documented = bold_words(section[first_tp:])

keys = set()
def walk(v):
    if isinstance(v, dict):
        for k, x in v.items():
            keys.add(k)
            walk(x)
    elif isinstance(v, list):
        for x in v:
            walk(x)
walk(out)
for kind in ("clients", "destinations"):
    if not out.get(kind):
        print("status has no %s: the comparison would be partial" % kind)
        sys.exit(1)

bad = 0
for k in sorted(keys - documented):
    print("in the output, not in zcsendctl.1: %s" % k)
    bad = 1
for k in sorted(documented - keys):
    print("in zcsendctl.1, not in the output: %s" % k)
    bad = 1
print("%d member names in the output, %d documented" % (len(keys), len(documented)))
sys.exit(bad)
PY
held_client_end
stop_daemon
echo "status-json-docs: ok"
