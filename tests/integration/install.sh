#!/bin/bash
# SPDX-License-Identifier: MIT
# `make install` as a packager and an admin use it: into a DESTDIR with
# PREFIX=/usr, a program built with `pkg-config --cflags --libs libzcsend`
# against that DESTDIR compiles, links and runs; a second install keeps
# the admin's edited zcsendd.conf; zcsend.py lands on the system python's
# path and imports; files get their modes whatever the umask; and a daemon
# built with another SYSCONFDIR reads its config there.
# Installs from the build under test ($BUILD); builds of its own go under $T.
set -u
. "$(dirname "$0")/lib.sh"
need_built "$ZCSENDD" "$ZCSENDCTL" "$BUILD/libzcsend.so.1"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
for t in make pkg-config cc; do
	command -v $t >/dev/null || skip "no $t (make deps installs it)"
done
MAKEARGS=(--no-print-directory -C "$SRC" BUILD="$BUILD")
# An ASan build's library needs the program linked the same way.
CCFLAGS=()
if ldd "$BUILD/libzcsend.so.1" | grep -q libasan; then
	MAKEARGS+=(SANITIZE=1)
	CCFLAGS=("-fsanitize=address,undefined")
fi

# --- PREFIX given at install time only, as after a plain `make`.
D=$T/dest
(umask 077 && make "${MAKEARGS[@]}" install DESTDIR="$D" PREFIX=/usr) \
	>"$T/install.out" 2>&1 || fail "make install: $(tail -20 "$T/install.out")"
pc=$D/usr/lib/pkgconfig/libzcsend.pc
[ -f "$pc" ] || fail "no $pc"
grep -q '^prefix=/usr$' "$pc" || fail "libzcsend.pc: $(head -3 "$pc" | tr '\n' ' ')"

cat >"$T/prog.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <zcsend.h>
int main(void)
{
	printf("libzcsend %s\n", zcs_version());
	return strlen(zcs_version()) ? 0 : 1;
}
C
export PKG_CONFIG_SYSROOT_DIR=$D PKG_CONFIG_LIBDIR=$D/usr/lib/pkgconfig
flags=$(pkg-config --cflags --libs libzcsend) ||
	fail "pkg-config does not find libzcsend in $D"
echo "pkg-config: $flags"
# shellcheck disable=SC2086
cc "${CCFLAGS[@]}" -o "$T/prog" "$T/prog.c" $flags >"$T/cc.out" 2>&1 ||
	fail "build against DESTDIR with '$flags': $(cat "$T/cc.out")"
unset PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_LIBDIR
LD_LIBRARY_PATH=$D/usr/lib "$T/prog" >"$T/prog.out" 2>&1 ||
	fail "program built against DESTDIR: $(cat "$T/prog.out")"
cat "$T/prog.out"

# --- zcsend.py lands where the system's python3 looks for /usr's modules,
# and imports from there (PYTHONPATH at the DESTDIR copy) with its library.
PY=$(find "$D" -name zcsend.py)
[ "$(echo "$PY" | grep -c .)" = 1 ] || fail "zcsend.py installed as: '$PY'"
PYTHON=$(command -v /usr/bin/python3 python3 | head -1)
if [ -n "$PYTHON" ]; then
	pydir=$(dirname "${PY#"$D"}")
	if [ "$("$PYTHON" -c 'import sys; print(sys.prefix)')" = /usr ]; then
		"$PYTHON" -c 'import sys; sys.exit(sys.argv[1] not in sys.path)' \
			"$pydir" || fail "zcsend.py in $pydir, not on $PYTHON's path"
	fi
	# An ASan build's library needs its runtimes loaded first.
	asan=$(ldd "$BUILD/libzcsend.so.1" |
		awk '/lib(asan|ubsan)/ { printf "%s ", $3 }')
	out=$(PYTHONPATH=$(dirname "$PY") ZCSEND_LIBRARY=$D/usr/lib/libzcsend.so.1 \
		LD_PRELOAD=$asan ASAN_OPTIONS=detect_leaks=0 "$PYTHON" -c \
		'import zcsend; print(zcsend.__file__, "libzcsend", zcsend.version())' \
		2>&1) || fail "import zcsend from $PY: $out"
	[ "${out%% *}" = "$PY" ] || fail "imported another zcsend: $out"
	echo "python: $out"
fi

# --- modes do not follow the installer's umask.
mode() { stat -c %a "$1"; }
for f in usr/lib/systemd/system/zcsendd.service \
	 usr/lib/systemd/system/zcsendd.socket etc/zcsendd/zcsendd.conf \
	 usr/lib/pkgconfig/libzcsend.pc "${PY#"$D"/}"; do
	[ "$(mode "$D/$f")" = 644 ] || fail "$f has mode $(mode "$D/$f") under umask 077"
done

# --- a second install keeps the admin's config.
echo "# edited by the admin" >>"$D/etc/zcsendd/zcsendd.conf"
make "${MAKEARGS[@]}" install DESTDIR="$D" PREFIX=/usr >"$T/install2.out" 2>&1 ||
	fail "second make install: $(tail -20 "$T/install2.out")"
grep -q "edited by the admin" "$D/etc/zcsendd/zcsendd.conf" ||
	fail "make install overwrote the admin's zcsendd.conf"
grep -q "zcsendd.conf" "$T/install2.out" ||
	fail "make install did not say it kept zcsendd.conf"
grep -i "kept\|keep" "$T/install2.out"

# --- SYSCONFDIR reaches the daemon's default config path.
E=$T/etc
mkdir -p "$E/zcsendd"
printf '[daemon]\nno_such_key = 1\n' >"$E/zcsendd/zcsendd.conf"
make "${MAKEARGS[@]}" BUILD="$T/b" SYSCONFDIR="$E" "$T/b/zcsendd" \
	>"$T/build.out" 2>&1 || fail "build with SYSCONFDIR: $(tail -20 "$T/build.out")"
"$T/b/zcsendd" --help | grep -q "default $E/zcsendd/zcsendd.conf" ||
	fail "SYSCONFDIR=$E ignored: $("$T/b/zcsendd" --help | grep -- --config)"
"$T/b/zcsendd" --check-config >"$T/check.out" 2>&1 &&
	fail "a bad $E/zcsendd/zcsendd.conf passed --check-config"
grep -q "$E/zcsendd/zcsendd.conf" "$T/check.out" ||
	fail "--check-config did not read $E/zcsendd/zcsendd.conf: $(cat "$T/check.out")"
echo "install: ok"
