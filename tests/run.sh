#!/bin/bash
# SPDX-License-Identifier: MIT
# Run the test suite: every $BUILD/tests/test-* program and every
# tests/integration/*.sh, each in its own temp dir under a timeout.
# Exit status of a test: 0 pass, 77 skip, anything else fail.
#
# Transports: a test says which it runs over in one line of its source,
#   /* transports: socket ring */     in a C test (tests/integration/NAME.c)
#   # transports: socket ring         in a script (tests/integration/NAME.sh)
# and runs once per transport named, as "NAME [socket]" and "NAME [ring]"
# with ZCSEND_TRANSPORT set, so a daemon that refuses rings fails the ring
# pass. "transports: default" runs it once with the library's choice, as
# does no line at all. A test that reaches the daemon through libzcsend
# (zcs_connect in a C test; zcsendctl send, zcsend-soak, zcsend-bench or
# python-binding.py in a script) but has no line FAILs, so that a new one
# cannot lose its ring pass by being forgotten.
# Usage: BUILD=build tests/run.sh [NAME...]   (NAME filters by test name)
set -u

TESTS_DIR=$(cd "$(dirname "$0")" && pwd)
SRC_DIR=$(dirname "$TESTS_DIR")
BUILD=${BUILD:-build}
case $BUILD in
/*) ;;
*) BUILD=$SRC_DIR/$BUILD ;;
esac
export BUILD
TIMEOUT=${ZCS_TEST_TIMEOUT:-300}

passed=0 failed=0 skipped=0
ROOT=$(mktemp -d "${TMPDIR:-/tmp}/zcs-check.XXXXXX") || exit 1
trap 'rm -rf "$ROOT"' EXIT

wanted() {
	[ $# -eq 1 ] && return 0
	local name=$1 w
	shift
	for w in "$@"; do
		[ "$name" = "$w" ] && return 0
	done
	return 1
}

# run_one NAME CMD...: run in a fresh dir, classify, print one line.
run_one() {
	local name=$1 dir out rc t0 t1 secs reason
	shift
	# "test-udp [ring]" -> test-udp-ring-: socket paths stay short and plain
	dir=$(mktemp -d "$ROOT/$(echo "$name" | tr -c 'A-Za-z0-9._\n-' -).XXXXXX")
	out=$dir/output.log
	t0=$(date +%s.%N)
	(cd "$dir" && TMPDIR=$dir exec timeout -k 10 "$TIMEOUT" "$@") \
		>"$out" 2>&1 </dev/null
	rc=$?
	t1=$(date +%s.%N)
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
	case $rc in
	0)
		echo "PASS $name (${secs}s)"
		passed=$((passed + 1))
		;;
	77)
		reason=$(grep -m1 '^SKIP' "$out" | sed 's/^SKIP:* *//')
		echo "SKIP $name: ${reason:-exit 77}"
		skipped=$((skipped + 1))
		;;
	*)
		[ $rc -eq 124 ] && echo "FAIL $name (timed out after ${TIMEOUT}s)" \
			|| echo "FAIL $name (exit $rc, ${secs}s)"
		tail -n 40 "$out" | sed 's/^/    /'
		failed=$((failed + 1))
		;;
	esac
}

# uses_lib SRC: the test reaches the daemon through libzcsend.
uses_lib() {
	case $1 in
	*.c) grep -q 'zcs_connect' "$1" ;;
	*) grep -Eq '"\$ZCSENDCTL".* send |zcsend-(soak|bench)|python-binding\.py' "$1" ;;
	esac
}

# transports_of SRC: what SRC's "transports:" line names, if it has one.
transports_of() {
	sed -nE -e 's@^/\* transports: ([a-z ]*[a-z]) \*/$@\1@p' \
		-e 's@^# transports: ([a-z ]*[a-z])$@\1@p' "$1" | head -n1
}

# fail_line NAME WHY...: a FAIL that comes from here, not from running NAME.
fail_line() {
	local name=$1

	shift
	echo "FAIL $name ($*)"
	failed=$((failed + 1))
}

# run_test NAME SRC CMD...: once, or once per transport SRC declares.
run_test() {
	local name=$1 src=$2 list t rel
	shift 2
	[ -f "$src" ] || src=/dev/null
	rel=${src#"$SRC_DIR"/}
	list=$(transports_of "$src")
	if [ -z "$list" ] && uses_lib "$src"; then
		fail_line "$name" "uses libzcsend but $rel has no" \
			"transports: line; see tests/run.sh"
		return
	fi
	if [ -z "$list" ] || [ "$list" = default ]; then
		run_one "$name" "$@"
		return
	fi
	for t in $list; do
		case $t in
		socket | ring)
			run_one "$name [$t]" env ZCSEND_TRANSPORT="$t" "$@" ;;
		*) fail_line "$name [$t]" "no such transport, in $rel" ;;
		esac
	done
}

# source_of NAME: the C source of test program NAME.
source_of() {
	local d

	for d in integration unit; do
		[ -f "$TESTS_DIR/$d/$1.c" ] &&
			echo "$TESTS_DIR/$d/$1.c" && return
	done
	echo /dev/null
}

for bin in "$BUILD"/tests/test-*; do
	[ -x "$bin" ] && [ -f "$bin" ] || continue
	case $bin in *.d | *.o) continue ;; esac
	name=$(basename "$bin")
	wanted "$name" "$@" || continue
	run_test "$name" "$(source_of "$name")" "$bin"
done

for script in "$TESTS_DIR"/integration/*.sh; do
	[ -f "$script" ] || continue
	case $(basename "$script") in lib*.sh) continue ;; esac
	name=$(basename "$script" .sh)
	wanted "$name" "$@" || continue
	run_test "$name" "$script" bash "$script"
done

total=$((passed + failed + skipped))
summary="$passed passed, $failed failed"
[ $skipped -gt 0 ] && summary="$summary, $skipped skipped"
if [ $total -eq 0 ]; then
	echo "no tests found under $BUILD/tests or $TESTS_DIR/integration"
	echo "$summary"
	exit 1
fi
echo "$summary"
[ $failed -eq 0 ] && [ $passed -gt 0 ]
