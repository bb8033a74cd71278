#!/bin/bash
# SPDX-License-Identifier: MIT
# `make install` and `make uninstall` as a packager and an admin use them:
# into a DESTDIR with PREFIX=/usr, a program built with `pkg-config
# --cflags --libs libzcsend` against that DESTDIR (sysroot or
# --define-prefix) compiles, links and runs; ldconfig runs for the live
# system only (as root, in a private mount namespace with a tmpfs over
# /usr/local and an overlay over /etc); a second install keeps the admin's
# edited zcsendd.conf, and uninstall removes all else; the zcsend package
# lands on the system python's path and imports; files get their modes whatever the
# umask; and a daemon built with another SYSCONFDIR reads its config there.
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

# --- LICENSE is the license every SPDX header names; install ships it.
ids=$(grep -rhoI --exclude-dir='build*' --exclude-dir=.git \
	'SPDX-License-Identifier:[[:space:]]*[A-Za-z0-9.+-]\+' "$SRC" | sort -u)
[ "$ids" = "SPDX-License-Identifier: MIT" ] || fail "SPDX headers name: $ids"
[ "$(head -1 "$SRC/LICENSE" 2>&1)" = "MIT License" ] ||
	fail "LICENSE is not the MIT license the headers name: $(head -1 "$SRC/LICENSE" 2>&1)"

# An ldconfig that only notes it ran: a DESTDIR install must not call it.
mkdir "$T/bin"
printf '#!/bin/sh\necho "ldconfig $*" >>"%s/ldconfig.log"\n' "$T" >"$T/bin/ldconfig"
chmod +x "$T/bin/ldconfig"
no_ldconfig() {
	[ ! -s "$T/ldconfig.log" ] || fail "$1 under DESTDIR ran $(cat "$T/ldconfig.log")"
}

# --- PREFIX given at install time only, as after a plain `make`.
D=$T/dest
(umask 077 && PATH=$T/bin:$PATH make "${MAKEARGS[@]}" install DESTDIR="$D" \
	PREFIX=/usr) >"$T/install.out" 2>&1 ||
	fail "make install: $(tail -20 "$T/install.out")"
no_ldconfig "make install"
cmp -s "$SRC/LICENSE" "$D/usr/share/doc/zcsendd/LICENSE" ||
	fail "make install did not put LICENSE in /usr/share/doc/zcsendd"
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

# --- the .pc file names its directories from ${prefix}, so pkg-config
# --define-prefix (a relocated or DESTDIR tree) gives paths in that tree.
flags=$(PKG_CONFIG_PATH=$D/usr/lib/pkgconfig pkg-config --define-prefix \
	--cflags --libs libzcsend) || fail "pkg-config --define-prefix: no libzcsend in $D"
echo "pkg-config --define-prefix: $flags"
for f in $flags; do
	case $f in
	-I"$D"/usr/include | -L"$D"/usr/lib | -l*) ;;
	*) fail "pkg-config --define-prefix gives '$f' (all of it: '$flags'), not a path in $D" ;;
	esac
done
for f in "-I$D/usr/include" "-L$D/usr/lib"; do
	case " $flags " in *" $f "*) ;;
	*) fail "pkg-config --define-prefix gives '$flags', without $f" ;;
	esac
done
# shellcheck disable=SC2086
cc "${CCFLAGS[@]}" -o "$T/prog2" "$T/prog.c" $flags >"$T/cc2.out" 2>&1 ||
	fail "build with --define-prefix '$flags': $(cat "$T/cc2.out")"
LD_LIBRARY_PATH=$D/usr/lib "$T/prog2" >/dev/null 2>&1 ||
	fail "program built with --define-prefix does not run"

# --- a LIBDIR outside PREFIX stays literal; one inside follows ${exec_prefix}.
pcvars() { grep -E '^(prefix|exec_prefix|libdir|includedir)=' "$1" | tr '\n' ' '; }
D2=$T/dest2
PATH=$T/bin:$PATH make "${MAKEARGS[@]}" install DESTDIR="$D2" PREFIX=/opt/zcs \
	LIBDIR=/srv/zcs-lib >"$T/install3.out" 2>&1 ||
	fail "make install LIBDIR=/srv/zcs-lib: $(tail -20 "$T/install3.out")"
pc2=$D2/srv/zcs-lib/pkgconfig/libzcsend.pc
[ "$(pcvars "$pc2")" = 'prefix=/opt/zcs exec_prefix=${prefix} libdir=/srv/zcs-lib includedir=${prefix}/include ' ] ||
	fail "libzcsend.pc for PREFIX=/opt/zcs LIBDIR=/srv/zcs-lib: $(pcvars "$pc2")"
[ "$(pcvars "$pc")" = 'prefix=/usr exec_prefix=${prefix} libdir=${exec_prefix}/lib includedir=${prefix}/include ' ] ||
	fail "libzcsend.pc for PREFIX=/usr: $(pcvars "$pc")"
# An unedited config goes too: nothing at all is left.
PATH=$T/bin:$PATH make "${MAKEARGS[@]}" uninstall DESTDIR="$D2" PREFIX=/opt/zcs \
	LIBDIR=/srv/zcs-lib >"$T/uninstall2.out" 2>&1 ||
	fail "make uninstall: $(tail -20 "$T/uninstall2.out")"
left=$(cd "$D2" && find . ! -type d | sort | tr '\n' ' ')
[ -z "$left" ] || fail "make uninstall PREFIX=/opt/zcs left $left"
[ ! -e "$D2/etc/zcsendd" ] || fail "make uninstall left $D2/etc/zcsendd"
no_ldconfig "make install or uninstall"

# --- the zcsend package lands where the system's python3 looks for /usr's
# modules, and imports from there (PYTHONPATH at the DESTDIR copy) with its
# library.
PY=$(find "$D" -path '*/zcsend/__init__.py')
[ "$(echo "$PY" | grep -c .)" = 1 ] || fail "zcsend installed as: '$PY'"
[ -f "$(dirname "$PY")/py.typed" ] || fail "no py.typed beside $PY"
PYTHON=$(command -v /usr/bin/python3 python3 | head -1)
if [ -n "$PYTHON" ]; then
	pyroot=$(dirname "$(dirname "$PY")")
	pydir=${pyroot#"$D"}
	if [ "$("$PYTHON" -c 'import sys; print(sys.prefix)')" = /usr ]; then
		"$PYTHON" -c 'import sys; sys.exit(sys.argv[1] not in sys.path)' \
			"$pydir" || fail "zcsend in $pydir, not on $PYTHON's path"
	fi
	# An ASan build's library needs its runtimes loaded first.
	asan=$(ldd "$BUILD/libzcsend.so.1" |
		awk '/lib(asan|ubsan)/ { printf "%s ", $3 }')
	out=$(PYTHONPATH=$pyroot ZCSEND_LIBRARY=$D/usr/lib/libzcsend.so.1 \
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

# --- uninstall removes everything install put there but the admin's config.
PATH=$T/bin:$PATH make "${MAKEARGS[@]}" uninstall DESTDIR="$D" PREFIX=/usr \
	>"$T/uninstall.out" 2>&1 || fail "make uninstall: $(tail -20 "$T/uninstall.out")"
no_ldconfig "make uninstall"
left=$(cd "$D" && find . ! -type d | sort | tr '\n' ' ')
[ "$left" = "./etc/zcsendd/zcsendd.conf " ] ||
	fail "make uninstall left '$left', want only the edited ./etc/zcsendd/zcsendd.conf"
grep -q "edited by the admin" "$D/etc/zcsendd/zcsendd.conf" ||
	fail "make uninstall changed the admin's zcsendd.conf"
[ ! -e "$(dirname "$PY")/__pycache__" ] ||
	fail "make uninstall left $(dirname "$PY")/__pycache__ (import made it)"
grep "zcsendd.conf" "$T/uninstall.out" | grep -i kept ||
	fail "make uninstall did not say it kept zcsendd.conf: $(cat "$T/uninstall.out")"

# --- the live system (no DESTDIR): after `make install` the loader finds the
# library at once, and after `make uninstall` no longer. Only as root, in a
# private mount namespace: a tmpfs over /usr/local and an overlay over /etc
# (ld.so.cache, zcsendd.conf) take every write, and vanish with it.
live() {
	set -e
	mount -t tmpfs zcs-test /usr/local
	mkdir "$T/ov"
	mount -t tmpfs zcs-test "$T/ov"
	mkdir "$T/ov/up" "$T/ov/work"
	mount -t overlay zcs-test -o "lowerdir=/etc,upperdir=$T/ov/up,workdir=$T/ov/work" /etc
	set +e
	make "${MAKEARGS[@]}" install >"$T/live.out" 2>&1 ||
		{ echo "make install: $(tail -20 "$T/live.out")"; return 1; }
	ldconfig -p | grep -q "libzcsend.so.1 .*=> /usr/local/lib/libzcsend.so.1" ||
		{ echo "after make install, the loader's cache lacks /usr/local/lib/libzcsend.so.1"; return 1; }
	# shellcheck disable=SC2046
	cc "${CCFLAGS[@]}" -o "$T/prog3" "$T/prog.c" $(PKG_CONFIG_PATH=/usr/local/lib/pkgconfig \
		pkg-config --cflags --libs libzcsend) >"$T/cc3.out" 2>&1 ||
		{ echo "build against /usr/local: $(cat "$T/cc3.out")"; return 1; }
	"$T/prog3" >"$T/prog3.out" 2>&1 ||
		{ echo "installed under /usr/local, without LD_LIBRARY_PATH: $(cat "$T/prog3.out")"; return 1; }
	make "${MAKEARGS[@]}" uninstall >>"$T/live.out" 2>&1 ||
		{ echo "make uninstall: $(tail -20 "$T/live.out")"; return 1; }
	! ldconfig -p | grep -q libzcsend ||
		{ echo "after make uninstall, the loader's cache still has libzcsend"; return 1; }
	left=$(find /usr/local ! -type d)
	[ -z "$left" ] || { echo "make uninstall left $left"; return 1; }
	echo "live install: ldconfig ran, $(cat "$T/prog3.out"); uninstall left nothing"
}
if [ "$(id -u)" != 0 ]; then
	echo "live install: not tested (needs root for a private mount namespace)"
elif [ -e /etc/zcsendd ] || ldconfig -p | grep -q libzcsend; then
	echo "live install: not tested (this machine has zcsendd installed already)"
elif ! command -v unshare >/dev/null; then
	echo "live install: not tested (no unshare)"
else
	out=$(unshare --mount --propagation private bash -c \
		"$(declare -p MAKEARGS CCFLAGS T); $(declare -f live); live" 2>&1) ||
		fail "live install: $out"
	echo "$out"
fi

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
