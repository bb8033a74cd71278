#!/bin/bash
# SPDX-License-Identifier: MIT
# Under journald, whose lines already read "zcsendd[PID]: ", the daemon's
# own "zcsendd: " prefix is dropped: JOURNAL_STREAM names stderr's device
# and inode. On a terminal or a file it stays; a JOURNAL_STREAM left over
# from a parent (naming another file) does not count. (With a journal
# running, lines go to it instead: journal-fields.sh.)
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
echo "journal-prefix: ok"
