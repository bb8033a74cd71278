#!/bin/bash
# SPDX-License-Identifier: MIT
# When stderr is the journal, the daemon logs through the journal's native
# protocol with structured fields. Here the journal is the test's own: a
# datagram socket mounted over /run/systemd/journal in a private mount
# namespace of the daemon's, so every field of every line can be read back
# exactly. A refused client, a client that leaves, one that is dropped (a
# hostile program name with a newline must not forge a field) and a failed
# reload must carry CLIENT_PID, CLIENT_UID, CLIENT_NAME, MESSAGE_ID and
# PRIORITY as zcsendd.8 says; and without a journal to take them, lines
# still reach stderr.
# transports: socket ring
set -u
. "$(dirname "$0")/lib.sh"
need_built "$ZCSENDD" "$ZCSENDCTL"
[ "$(id -u)" -eq 0 ] || skip "needs root (a mount namespace, another uid)"
command -v unshare >/dev/null || skip "no unshare(1)"
command -v setpriv >/dev/null || skip "no setpriv(1)"

# journal_sink SOCKET OUT: one JSON object per datagram received.
journal_sink() {
	python3 - "$1" "$2" <<'PY' &
import json, socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
out = open(sys.argv[2], "w")
while True:
    d, f = s.recv(1 << 16), {}
    while d:
        nl = d.index(b"\n")
        key, eq, val = d[:nl].partition(b"=")
        if eq:			# KEY=value\n
            d = d[nl + 1:]
        else:			# KEY\n, le64 length, value, \n
            n = struct.unpack("<Q", d[nl + 1:nl + 9])[0]
            val, d = d[nl + 9:nl + 9 + n], d[nl + 10 + n:]
        f.setdefault(key.decode(), []).append(val.decode("utf-8", "replace"))
    out.write(json.dumps(f) + "\n")
    out.flush()
PY
	SINK_PID=$!
	on_exit "kill $SINK_PID 2>/dev/null"
	for _ in $(seq 100); do
		[ -S "$1" ] && return 0
		sleep 0.05
	done
	fail "journal sink did not start"
}

# The daemon in a mount namespace whose /run has only $1 as the journal.
private_run() {
	printf 'mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/journal && '
	printf '{ [ -z "$0" ] || mount --bind "$0" /run/systemd/journal; } && '
	printf 'exec "$@"'
}

# lines FIELD=VALUE...: the journal entries having all these fields.
lines() {
	python3 - "$T/journal.txt" "$@" <<'PY'
import json, sys
want = [a.split("=", 1) for a in sys.argv[2:]]
for l in open(sys.argv[1]):
    e = json.loads(l)
    if all(v in e.get(k, []) for k, v in want):
        print(json.dumps(e))
PY
}

S=$(mktemp -d /tmp/zcs-journal.XXXXXX)	# the other uid reaches it
chmod 755 "$S"
on_exit "rm -rf $S"
SOCK=$S/zcs.sock
CONF=$T/zcsendd.conf
printf '[daemon]\nsocket_mode = 0666\n' >"$CONF"
DAEMON_ARGS="-c $CONF"
mkdir "$T/journal"
journal_sink "$T/journal/socket" "$T/journal.txt"
: >"$T/zcsendd.log"
start_daemon env JOURNAL_STREAM="$(stat -c %d:%i "$T/zcsendd.log")" \
	unshare -m --propagation private sh -c "$(private_run)" "$T/journal"

# A refused client: uid 65534 is not allowed.
setpriv --reuid 65534 --regid 65534 --clear-groups \
	"$ZCSENDCTL" -s "$SOCK" status >/dev/null 2>&1 &&
	fail "uid 65534 was let in"
# A client whose program name holds a newline and a forged field: the
# daemon keeps names printable, so it is logged as "evil?MESSAGE_ID=...".
evil=$'evil\nMESSAGE_ID=forged'
echo x | (exec -a "$evil" "$ZCSENDCTL" -s "$SOCK" send udp://127.0.0.1:9 - \
	--quiet) || fail "send as $(printf %q "$evil")"
# A dropped client: a malformed message.
python3 - "$SOCK" <<'PY' || fail "could not send a malformed message"
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
s.send(b"\0" * 16)
time.sleep(0.2)
PY
# A failed reload.
printf '[daemon]\nno_such_key = 1\n' >"$CONF"
kill -HUP "$DAEMON_PID"
for _ in $(seq 50); do
	[ -n "$(lines MESSAGE_ID=f25c71b50564484685744911072e9606)" ] && break
	sleep 0.1
done
stop_daemon

refused=$(lines MESSAGE_ID=281c2233538f4ee584a1950d51bf0854 CLIENT_UID=65534 \
	PRIORITY=4 SYSLOG_IDENTIFIER=zcsendd)
echo "refused: $refused"
echo "$refused" | grep -q '"CLIENT_PID": \["[1-9]' ||
	fail "no refusal with MESSAGE_ID, CLIENT_UID, CLIENT_PID and PRIORITY"
left=$(lines CLIENT_UID=0 "CLIENT_NAME=evil?MESSAGE_ID=forged" PRIORITY=6)
echo "left: $left"
echo "$left" | grep -q "left after 1 sends" ||
	fail "the client's lines lack its CLIENT_NAME"
[ -z "$(lines MESSAGE_ID=forged)" ] || fail "a client's name forged a field"
dropped=$(lines MESSAGE_ID=969b69042f1445b79f59ce0e029861b6 CLIENT_UID=0)
echo "dropped: $dropped"
[ -n "$dropped" ] || fail "no dropped-client line with its MESSAGE_ID"
[ -n "$(lines MESSAGE_ID=f25c71b50564484685744911072e9606 PRIORITY=4)" ] ||
	fail "no failed-reload line with its MESSAGE_ID"
grep -q "ready" "$T/zcsendd.log" &&
	fail "with a journal, lines went to stderr too: $(cat "$T/zcsendd.log")"
lines PRIORITY=6 SYSLOG_IDENTIFIER=zcsendd | grep -q '"MESSAGE": \["zcsendd .* ready"' ||
	fail "the ready line is not in the journal"

# No journal to take them: stderr, without "zcsendd: " (journald names us).
printf '[daemon]\nsocket_mode = 0666\n' >"$CONF"
: >"$T/zcsendd.log"
start_daemon env JOURNAL_STREAM="$(stat -c %d:%i "$T/zcsendd.log")" \
	unshare -m --propagation private sh -c "$(private_run)" ""
stop_daemon
grep -q "^<6>zcsendd .*ready" "$T/zcsendd.log" ||
	fail "no journal: the ready line did not reach stderr: $(cat "$T/zcsendd.log")"
echo "journal-fields: ok"
