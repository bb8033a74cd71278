#!/bin/bash
# SPDX-License-Identifier: MIT
# Out of file descriptors. The daemon runs with a small RLIMIT_NOFILE
# (soft = hard, so raising the soft limit cannot help): it must say at
# start and at reload that max_clients x max_flows does not fit, and when
# accept() fails with EMFILE while connections keep waiting it must not
# spin: its CPU time stays well below the wall time and the log grows by
# a line or two, not millions. Once connections close, a new client is
# served again. With a soft limit below the hard one, the daemon takes the
# hard one.
set -u
. "$(dirname "$0")/lib.sh"
need_built "$ZCSENDD" "$ZCSENDCTL"
command -v prlimit >/dev/null || skip "no prlimit(1)"
command -v python3 >/dev/null || skip "no python3"

NOFILE=40
CONF=$T/zcsendd.conf
printf '[daemon]\nmax_clients = 64\nmax_flows = 64\n' >"$CONF"
DAEMON_ARGS="-c $CONF"
start_daemon prlimit --nofile=$NOFILE:$NOFILE
[ "$(awk '/^Max open files/ { print $4 }' /proc/$DAEMON_PID/limits)" = $NOFILE ] ||
	fail "prlimit did not apply"

warned() {
	grep -c "RLIMIT_NOFILE is $NOFILE.*64 clients with 64 flows" \
		"$T/zcsendd.log"
}
[ "$(warned)" = 1 ] || fail "no warning at start that descriptors are short"

# Fill the descriptor table, keep 20 more connections waiting in the
# backlog, and watch the daemon for 2 s of wall time.
python3 - "$SOCK" "$DAEMON_PID" "$T/zcsendd.log" >"$T/spin.out" 2>&1 <<'PY'
import os, socket, sys, time
sock, pid, log = sys.argv[1], sys.argv[2], sys.argv[3]
tick = os.sysconf("SC_CLK_TCK")

def cpu():
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / tick

def lines():
    with open(log, "rb") as f:
        return sum(1 for _ in f)

conns = []
for i in range(int(os.environ.get("NCONN", "60"))):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(sock)
    conns.append(s)
time.sleep(0.3)          # let the daemon reach EMFILE
c0, l0, t0 = cpu(), lines(), time.monotonic()
time.sleep(2)
c1, l1, t1 = cpu(), lines(), time.monotonic()
ratio = (c1 - c0) / (t1 - t0)
print(f"cpu {c1 - c0:.2f}s over {t1 - t0:.2f}s wall = {ratio:.0%}; "
      f"log grew {l1 - l0} lines (total {l1})")
bad = ratio >= 0.3 or l1 - l0 > 5
for s in conns:
    s.close()
sys.exit(1 if bad else 0)
PY
rc=$?
cat "$T/spin.out"
[ $rc -eq 0 ] || fail "the daemon spins at the descriptor limit: $(cat "$T/spin.out")"
grep -q "accept.*Too many open files" "$T/zcsendd.log" ||
	fail "EMFILE never reached or not logged"

# The descriptors are back: a new client is served.
timeout 10 "$ZCSENDCTL" -s "$SOCK" status >"$T/status.out" 2>&1 ||
	fail "status after the connections closed: $(cat "$T/status.out")"

# The check runs again on reload.
kill -HUP "$DAEMON_PID"
for i in $(seq 50); do
	[ "$(warned)" = 2 ] && break
	sleep 0.1
done
[ "$(warned)" = 2 ] || fail "no warning at reload that descriptors are short"
stop_daemon

# A soft limit below the hard one is raised to it at start.
start_daemon prlimit --nofile=$NOFILE:4096
[ "$(awk '/^Max open files/ { print $4 }' /proc/$DAEMON_PID/limits)" = 4096 ] ||
	fail "the soft RLIMIT_NOFILE was not raised to the hard limit"
stop_daemon
echo "limits: ok"
