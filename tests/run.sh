#!/bin/bash
# SPDX-License-Identifier: MIT
# Run the test suite: every $BUILD/tests/test-* program and every
# tests/integration/*.sh, each in its own temp dir under a timeout.
# Tests that drive the daemon through libzcsend run twice, as "NAME
# [socket]" and "NAME [ring]" (ZCSEND_TRANSPORT): a daemon that refuses
# rings fails the ring pass.
# Exit status of a test: 0 pass, 77 skip, anything else fail.
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

# uses_lib NAME: the test reaches the daemon through libzcsend
# (zcs_connect, zcsendctl send, zcsend-soak, zcsend-bench).
uses_lib() {
	local src=$TESTS_DIR/integration/$1
	case $1 in
	test-*) [ -f "$src.c" ] && grep -q 'zcs_connect' "$src.c" ;;
	*) grep -Eq '"\$ZCSENDCTL".* send |zcsend-(soak|bench)|python-binding\.py' "$src.sh" ;;
	esac
}

# run_test NAME CMD...: once, or once per transport for libzcsend tests.
run_test() {
	local name=$1
	shift
	if ! uses_lib "$name"; then
		run_one "$name" "$@"
		return
	fi
	run_one "$name [socket]" env ZCSEND_TRANSPORT=socket "$@"
	run_one "$name [ring]" env ZCSEND_TRANSPORT=ring "$@"
}

for bin in "$BUILD"/tests/test-*; do
	[ -x "$bin" ] && [ -f "$bin" ] || continue
	case $bin in *.d | *.o) continue ;; esac
	name=$(basename "$bin")
	wanted "$name" "$@" || continue
	run_test "$name" "$bin"
done

for script in "$TESTS_DIR"/integration/*.sh; do
	[ -f "$script" ] || continue
	case $(basename "$script") in lib*.sh) continue ;; esac
	name=$(basename "$script" .sh)
	wanted "$name" "$@" || continue
	run_test "$name" bash "$script"
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
