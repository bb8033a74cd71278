#!/bin/bash
# SPDX-License-Identifier: MIT
# Under journald, whose lines already read "zcsendd[PID]: ", the daemon's
# own "zcsendd: " prefix is dropped: JOURNAL_STREAM names stderr's device
# and inode. On a terminal or a file it stays; a JOURNAL_STREAM left over
# from a parent (naming another file) does not count. (With a journal
# running, lines go to it instead: journal-fields.sh.) The sd-daemon
# priority prefix ("<6>") is for whoever collects a file or a pipe; on a
# terminal, which a person reads, lines stay plain (issue 16).
set -u
. "$(dirname "$0")/lib.sh"
need_built "$ZCSENDD" "$ZCSENDCTL"

run() {	# run JOURNAL_STREAM-value: the daemon's log from start to stop
	: >"$T/zcsendd.log"
	start_daemon env JOURNAL_STREAM="$1"
	stop_daemon
}
if [ -S /run/systemd/journal/socket ]; then
	echo "a journal runs here: stderr-is-the-journal is journal-fields.sh's"
else
	: >"$T/zcsendd.log"
	run "$(stat -c %d:%i "$T/zcsendd.log")"
	grep -q "ready" "$T/zcsendd.log" ||
		fail "no ready line: $(cat "$T/zcsendd.log")"
	grep -q "zcsendd: " "$T/zcsendd.log" && fail "stderr is the journal," \
		"yet: $(grep -m1 "zcsendd: " "$T/zcsendd.log")"
	grep -m1 "ready" "$T/zcsendd.log" | cat -v
fi

: >"$T/other"
run "$(stat -c %d:%i "$T/other")"
grep -q "^<[0-7]>zcsendd: .*ready" "$T/zcsendd.log" ||
	fail "stderr is a file, yet: $(grep -m1 ready "$T/zcsendd.log")"
run ""
grep -q "^<[0-7]>zcsendd: .*ready" "$T/zcsendd.log" ||
	fail "no JOURNAL_STREAM, yet: $(grep -m1 ready "$T/zcsendd.log")"

# On a terminal (a pty of our own): "zcsendd: ...", no "<6>".
python3 - "$ZCSENDD" "$SOCK" >"$T/tty.log" 2>&1 <<'PY' || fail "tty run: $(cat "$T/tty.log")"
import os, pty, select, signal, subprocess, sys, time
master, slave = pty.openpty()
p = subprocess.Popen([sys.argv[1], "-s", sys.argv[2]], stdin=subprocess.DEVNULL,
                     stdout=slave, stderr=slave, env=dict(os.environ, JOURNAL_STREAM=""))
os.close(slave)
out, deadline, stopped = b"", time.time() + 10, False
while time.time() < deadline:
    if not stopped and b"ready" in out:
        p.send_signal(signal.SIGTERM)
        stopped = True
    r, _, _ = select.select([master], [], [], 0.2)
    if r:
        try:
            chunk = os.read(master, 4096)
        except OSError:         # EIO: the last writer has gone
            break
        if not chunk:
            break
        out += chunk
    elif stopped and p.poll() is not None:
        break
if p.poll() is None:
    p.kill()
sys.stdout.write(out.decode(errors="replace"))
sys.exit(0 if p.wait() == 0 else 1)
PY
grep -q "ready" "$T/tty.log" || fail "no ready line on the terminal: $(cat "$T/tty.log")"
grep -q "<[0-7]>" "$T/tty.log" &&
	fail "priority prefixes on a terminal: $(grep -m1 "<[0-7]>" "$T/tty.log")"
grep -q "^zcsendd: .*ready" "$T/tty.log" ||
	fail "terminal lines lost their name: $(grep -m1 ready "$T/tty.log")"
echo "journal-prefix: ok"
