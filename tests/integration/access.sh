#!/bin/bash
# SPDX-License-Identifier: MIT
# Who may connect and who may administer (root only: it runs zcsendctl as
# the unprivileged user 65534). By default only root and the daemon's own
# uid may connect; allowed_users lets another in, but not to change policy,
# reload or upgrade; admin_group lets a group administer. The config
# changes with reloads, so this also checks that access rules follow a
# reload.
set -u
. "$(dirname "$0")/lib.sh"
need_built "$ZCSENDD" "$ZCSENDCTL"
[ "$(id -u)" -eq 0 ] || skip "needs root (runs commands as uid 65534)"
command -v setpriv >/dev/null || skip "no setpriv(1)"

# A socket directory the other user can reach ($T is private).
S=$(mktemp -d /tmp/zcs-access.XXXXXX)
chmod 755 "$S"
on_exit "rm -rf $S"
SOCK=$S/zcs.sock
CONF=$T/zcsendd.conf
DAEMON_ARGS="-c $CONF"
as_nobody() {
	setpriv --reuid 65534 --regid 65534 --clear-groups \
		"$ZCSENDCTL" -s "$SOCK" "$@" 2>&1
}
conf() {
	printf '[daemon]\nsocket_mode = 0666\n%s\n' "$1" >"$CONF"
	printf '[destination d]\naddress = udp://127.0.0.1:9\n' >>"$CONF"
}

conf ""
start_daemon
out=$(as_nobody status) && fail "uid 65534 connected without being allowed"
echo "$out" | grep -q "Permission denied" || fail "refusal unclear: $out"
grep -q "refusing client pid [0-9]* uid 65534" "$T/zcsendd.log" ||
	fail "refusal not logged with pid and uid"

conf "allowed_users = 65534"
"$ZCSENDCTL" -s "$SOCK" reload || fail "reload as root"
as_nobody status >/dev/null || fail "allowed user cannot get status"
out=$(as_nobody policy d batch_max=5) && fail "non-admin changed policy"
echo "$out" | grep -q "only root" || fail "policy refusal unclear: $out"
out=$(as_nobody reload) && fail "non-admin reloaded"
echo "$out" | grep -q "only root" || fail "reload refusal unclear: $out"
out=$(as_nobody upgrade) && fail "non-admin upgraded"
echo "$out" | grep -q "^zcsendctl: upgrade: only root" ||
	fail "upgrade refusal unclear: $out"
grep -q "UPGRADE refused: not an admin" "$T/zcsendd.log" ||
	fail "upgrade refusal not logged"

conf "$(printf 'allowed_users = 65534\nadmin_group = 65534')"
"$ZCSENDCTL" -s "$SOCK" reload || fail "reload as root"
as_nobody policy d batch_max=5 || fail "admin group member cannot set policy"
status_json "$T/s.json"
[ "$(dest_field "$T/s.json" d batch_max)" = 5 ] || fail "policy not applied"
stop_daemon
echo "access: ok"
