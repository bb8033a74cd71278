#!/bin/bash
# SPDX-License-Identifier: MIT
# The binding as a Python package (issue 20): `pip install` of client/python
# into a fresh virtual environment, offline (--no-index: setuptools and
# wheel from Debian's /usr/share/python-wheels), as the README shows. The
# venv's python imports it from the venv, at the Makefile's VERSION, with
# py.typed (mypy reads its hints from the installed copy) and the library.
set -u
. "$(dirname "$0")/lib.sh"
need_built "$BUILD/libzcsend.so.1"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
PYTHON=$(command -v /usr/bin/python3 python3 | head -1)
[ -n "$PYTHON" ] || skip "no python3"
WHEELS=/usr/share/python-wheels
"$PYTHON" -c 'import ensurepip' 2>/dev/null ||
	skip "no venv with pip (apt-get install python3-venv)"
ls "$WHEELS"/wheel-*.whl >/dev/null 2>&1 ||
	skip "no $WHEELS/wheel-*.whl (apt-get install python3-wheel-whl)"

# A copy: pip builds in the source directory, which stays clean.
cp -r "$SRC/client/python" "$T/src"
"$PYTHON" -m venv "$T/venv" || fail "$PYTHON -m venv"
"$T/venv/bin/pip" --version
"$T/venv/bin/pip" install --no-index --find-links "$WHEELS" "$T/src" \
	>"$T/pip.out" 2>&1 || fail "pip install: $(tail -20 "$T/pip.out")"
tail -1 "$T/pip.out"

want=$(sed -n 's/^VERSION := *//p' "$SRC/Makefile")
# An ASan build's library needs its runtimes loaded first.
asan=$(asan_runtimes "$BUILD/libzcsend.so.1")
out=$(cd "$T" && env -u PYTHONPATH ZCSEND_LIBRARY="$BUILD/libzcsend.so.1" \
	LD_PRELOAD="$asan" ASAN_OPTIONS=detect_leaks=0 "$T/venv/bin/python" -c '
import os, zcsend
print(zcsend.__file__, zcsend.__version__, zcsend.version(),
      os.path.exists(os.path.join(os.path.dirname(zcsend.__file__), "py.typed")))
' 2>&1) || fail "import zcsend in the venv: $out"
echo "venv: $out"
set -- $out
case $1 in "$T/venv/"*) ;; *) fail "imported zcsend from $1, not the venv" ;; esac
[ "$2" = "$want" ] || fail "__version__ $2, the Makefile's VERSION is $want"
[ "$3" = "$want" ] || fail "libzcsend says $3, the Makefile's VERSION is $want"
[ "$4" = True ] || fail "no py.typed beside $1"
ver=$("$T/venv/bin/pip" show zcsend | sed -n 's/^Version: //p')
[ "$ver" = "$want" ] || fail "pip show zcsend: version '$ver', want $want"

# mypy (when installed) types a user's code from the installed hints alone.
if command -v mypy >/dev/null; then
	(cd "$T" && env -u MYPYPATH mypy --strict --cache-dir "$T/mypy-cache" \
		--python-executable "$T/venv/bin/python" \
		"$SRC/tests/integration/python-typed-use.py") 2>&1 ||
		fail "mypy with the venv's zcsend (above)"
fi
echo "python venv: ok"
