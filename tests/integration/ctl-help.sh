#!/bin/bash
# SPDX-License-Identifier: MIT
# Every zcsendctl subcommand that `zcsendctl --help` lists answers --help
# and -h with its own usage on standard output and exit 0, without
# reaching for a daemon (issue 16: `send --help` was "bad argument" with
# exit 2, `reload --help` an "unknown option").
set -u
. "$(dirname "$0")/lib.sh"
need_built "$ZCSENDCTL"

"$ZCSENDCTL" --help >"$T/help" || fail "zcsendctl --help exit $?"
# The command lines of the list: two spaces, then the name.
cmds=$(sed -n '/^commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p;/^commands:/,/^$/s/^  \([a-z][a-z-]*\)$/\1/p' "$T/help")
[ "$(echo "$cmds" | wc -w)" -ge 5 ] || fail "no command list in: $(cat "$T/help")"
bad=0
for cmd in $cmds; do
	for opt in --help -h; do
		# No daemon listens there: help must not need one.
		out=$("$ZCSENDCTL" -s "$T/none.sock" "$cmd" "$opt" 2>"$T/err" </dev/null)
		rc=$?
		if [ $rc -ne 0 ] || ! echo "$out" | grep -q "^usage: zcsendctl" ||
			! echo "$out" | grep -qw -- "$cmd"; then
			echo "FAIL: zcsendctl $cmd $opt: exit $rc, stdout" \
				"'$(echo "$out" | head -n 2)', stderr '$(cat "$T/err")'"
			bad=1
		fi
	done
done
[ $bad -eq 0 ] || exit 1
echo "ctl-help: ok ($(echo $cmds))"
