#!/bin/bash
# SPDX-License-Identifier: MIT
# The Makefile with a packager's flags and on a machine without the build
# dependencies: `make CPPFLAGS=-D_FORTIFY_SOURCE=2` (what Debian's build
# flags pass) builds under -Werror, and a missing library gives one clear
# message naming `make deps` instead of a pkg-config error per compile.
# Builds go under $T, never into the build under test.
set -u
. "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
for t in make pkg-config cc; do
	command -v $t >/dev/null || skip "no $t (make deps installs it)"
done
# A packager's make, not one that inherits `make check SANITIZE=1`'s
# variables (under ASan there is no _FORTIFY_SOURCE).
unset MAKEFLAGS MFLAGS MAKELEVEL SANITIZE
M=(make --no-print-directory -C "$SRC")

# --- a packager's _FORTIFY_SOURCE is taken, not redefined.
"${M[@]}" BUILD="$T/f" CPPFLAGS=-D_FORTIFY_SOURCE=2 \
	"$T/f/obj/proto/zcs_proto.o" "$T/f/obj/conf/config.o" \
	>"$T/fortify.out" 2>&1 ||
	fail "make CPPFLAGS=-D_FORTIFY_SOURCE=2: $(grep -m3 -i 'error\|warning' "$T/fortify.out")"
"${M[@]}" BUILD="$T/f" CPPFLAGS=-D_FORTIFY_SOURCE=2 V=1 -B \
	"$T/f/obj/proto/zcs_proto.o" >"$T/fortify-v.out" 2>&1
grep -q -- '-D_FORTIFY_SOURCE=2' "$T/fortify-v.out" &&
	! grep -q -- '-D_FORTIFY_SOURCE=3' "$T/fortify-v.out" ||
	fail "the packager's level was not the one used: $(grep -o -- '-[UD]_FORTIFY_SOURCE[=0-9]*' "$T/fortify-v.out" | tr '\n' ' ')"
# Without one, ours (3) is used.
"${M[@]}" BUILD="$T/d" V=1 "$T/d/obj/proto/zcs_proto.o" >"$T/default.out" 2>&1 ||
	fail "plain make: $(tail -5 "$T/default.out")"
grep -q -- '-D_FORTIFY_SOURCE=3' "$T/default.out" ||
	fail "no -D_FORTIFY_SOURCE=3 by default"

# --- no build dependencies: one message, naming `make deps`.
mkdir -p "$T/nopc"
PKG_CONFIG_LIBDIR=$T/nopc PKG_CONFIG_PATH='' "${M[@]}" BUILD="$T/n" all \
	>"$T/nodeps.out" 2>&1 && fail "make without the libraries succeeded"
echo "without the libraries, make says:"
sed 's/^/  /' "$T/nodeps.out" | head -5
n=$(grep -c "was not found\|No package" "$T/nodeps.out")
[ "$n" -le 1 ] || fail "$n pkg-config errors instead of one message"
grep -q "make deps" "$T/nodeps.out" || fail "the message does not name 'make deps'"
[ ! -e "$T/n/obj" ] || fail "make compiled without the libraries"
# `make deps` itself must not be stopped by the check (dry run).
PKG_CONFIG_LIBDIR=$T/nopc PKG_CONFIG_PATH='' "${M[@]}" -n deps \
	>"$T/deps.out" 2>&1 || fail "make -n deps: $(cat "$T/deps.out")"
grep -q "apt-get install" "$T/deps.out" || fail "make -n deps: $(cat "$T/deps.out")"
echo "makeflags: ok"
