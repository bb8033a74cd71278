#!/bin/bash
# SPDX-License-Identifier: MIT
# zcsendd --check-config reports every error of a file, each as FILE:LINE,
# calls a key given twice in one section an error at its second line,
# suggests the nearest known key for a misspelt one, and exits 1. A reload
# of such a file (zcsendctl reload, SIGHUP) changes nothing and logs each
# error once.
set -u
. "$(dirname "$0")/lib.sh"
need_built "$ZCSENDD" "$ZCSENDCTL"

# check_errors FILE WHAT LINE...: --check-config on FILE (WHAT it holds)
# exits 1 and gives each LINE, whole, and no other FILE:N: line. Its
# output stays in $out.
check_errors() {
	local f=$1 what=$2 rc n w
	shift 2
	out=$("$ZCSENDD" --check-config -c "$f" 2>&1)
	rc=$?
	echo "$out"
	[ $rc -eq 1 ] || fail "--check-config exit $rc on $what, want 1"
	for w in "$@"; do
		grep -qxF -- "$w" <<<"$out" || fail "--check-config lacks the line '$w'"
	done
	n=$(grep -c "^$f:[0-9]*: " <<<"$out")
	[ "$n" -eq $# ] || fail "--check-config gave $n errors, want $#"
}

B=$T/bad.conf
cat >"$B" <<'C'
# line 1: several mistakes, each on its own line
[daemon]
max_clients = 0
max_clients = 8
turbo = 1
flush = batch
[defaults]
bach_max = 32
flush = sometimes
this line is no key
[destination a]
address = udp://127.0.0.1:9
address = udp://127.0.0.1:10
zerocpy = off
[daemon]
ring_entries = 64
ring_entries = 128
[deamon]
poll_usec = 5
C
want=(
	"$B:3: bad value '0' for max_clients: expected 1 to 4096"
	"$B:4: max_clients is given again in [daemon] (first on line 3)"
	"$B:5: unknown key 'turbo' in [daemon]"
	"$B:6: unknown key 'flush' in [daemon]; it belongs in [defaults] or [destination NAME]"
	"$B:8: unknown key 'bach_max' in [defaults]; did you mean 'batch_max'?"
	"$B:9: bad value 'sometimes' for flush: expected immediate or batch"
	"$B:10: expected 'key = value' or '[section]'"
	"$B:13: address is given again in [destination a] (first on line 12)"
	"$B:14: unknown key 'zerocpy' in [destination a]; did you mean 'zerocopy'?"
	"$B:17: ring_entries is given again in [daemon] (first on line 16)"
	"$B:18: unknown section [deamon]; did you mean [daemon]?"
)
check_errors "$B" "a bad file" "${want[@]}"
grep -q "did you mean" <<<"$(grep turbo <<<"$out")" &&
	fail "a far-off key got a suggestion: $(grep turbo <<<"$out")"

# Per-user limits and weights: each bad one at its line, all of them.
W=$T/weights.conf
cat >"$W" <<'C'
[daemon]
max_clients = 8
max_user_connections = 0
user_pool_total_bytes = -1
admin_reserved_connections = 100
[weights]
user root = 0
user root = 4
group 0 = -3
user 0 = 2
user nosuchuser_zcs = 2
group 65534 = 5000
nobody = 2
C
wantw=(
	"$W:3: bad value '0' for max_user_connections: expected 1 to 4096"
	"$W:4: bad value '-1' for user_pool_total_bytes: expected 4096 to 1099511627776 (K, M, G allowed)"
	"$W:5: bad value '100' for admin_reserved_connections: expected 0 to 16"
	"$W:7: bad weight '0' for user root: expected 1 to 1000"
	"$W:9: bad weight '-3' for group 0: expected 1 to 1000"
	"$W:10: 'user 0' (uid 0) is given again in [weights] (first on line 8)"
	"$W:11: unknown user 'nosuchuser_zcs' in [weights]: expected a user name or uid"
	"$W:12: bad weight '5000' for group 65534: expected 1 to 1000"
	"$W:13: bad key 'nobody' in [weights]: expected 'user NAME = WEIGHT' or 'group NAME = WEIGHT'"
)
check_errors "$W" "bad weights and limits" "${wantw[@]}"
# Limits over the totals they share, at the line that sets them.
printf '[daemon]\nmax_clients = 8\nmax_user_connections = 9\npool_total_bytes = 64M\nuser_pool_total_bytes = 1G\n' >"$W"
out=$("$ZCSENDD" --check-config -c "$W" 2>&1) && fail "limits over the totals accepted"
grep -qxF "$W:3: max_user_connections (9) is over max_clients (8)" <<<"$out" ||
	fail "max_user_connections over max_clients not at its line: $out"
grep -qxF "$W:5: user_pool_total_bytes (1073741824) is over pool_total_bytes (67108864)" <<<"$out" ||
	fail "user_pool_total_bytes over pool_total_bytes not at its line: $out"

# A good file still passes.
printf '[daemon]\nmax_clients = 8\nmax_user_connections = 2\n[defaults]\nbatch_max = 32\n[weights]\nuser root = 5\ngroup 0 = 1000\n' >"$T/good.conf"
out=$("$ZCSENDD" --check-config -c "$T/good.conf" 2>&1) ||
	fail "--check-config refused a good file: $out"

# --- a reload of the bad file changes nothing and logs each error once.
cp "$T/good.conf" "$T/run.conf"
DAEMON_ARGS="-c $T/run.conf"
start_daemon
cp "$B" "$T/run.conf"
out=$("$ZCSENDCTL" -s "$SOCK" reload 2>&1) && fail "reload of a bad file succeeded: $out"
echo "zcsendctl reload: $out"
# The answer is short (ZCS_ERRMSG_MAX): the count and the first error's place.
grep -qF "run.conf:3: " <<<"$out" || fail "reload's answer lacks the first error: $out"
grep -q "11 errors" <<<"$out" || fail "reload's answer does not count the errors: $out"
kill -HUP "$DAEMON_PID"
for _ in $(seq 50); do
	[ "$(grep -c 'run.conf:18: unknown section' "$T/zcsendd.log")" -ge 2 ] && break
	sleep 0.1
done
for w in "${want[@]}"; do
	w=${w/#"$B"/"$T/run.conf"}
	n=$(grep -cF -- "$w" "$T/zcsendd.log")
	[ "$n" -eq 2 ] || fail "two failed reloads logged '$w' $n times, want 2: $(cat "$T/zcsendd.log")"
done
stop_daemon
echo "check-config: every error with its line, repeats, suggestions; reload refuses"
