#!/bin/bash
# SPDX-License-Identifier: MIT
# The binding's type hints (issue 20): mypy --strict passes on the zcsend
# package, the example and the asyncio test; python-typed-use.py, which
# uses every public name, sees no Any come out of the binding (checked
# with --disallow-any-expr outside zcsend). Skips only when mypy is not
# installed (`make deps` installs Debian's).
set -u
. "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
command -v mypy >/dev/null || skip "no mypy (apt-get install mypy)"

# A cache of its own: parallel runs and the tree stay clean.
export MYPYPATH=$SRC/client/python
args=(--cache-dir "$T/mypy-cache" --python-executable "$(command -v python3)")
mypy --version
mypy --strict "${args[@]}" -p zcsend 2>&1 ||
	fail "mypy --strict -p zcsend (above)"
mypy --strict "${args[@]}" "$SRC/client/python/examples/zcsend-file.py" \
	"$SRC/tests/integration/python-asyncio.py" 2>&1 ||
	fail "mypy --strict on the binding's users (above)"
cat >"$T/any.ini" <<'INI'
[mypy]
strict = True
disallow_any_expr = True
[mypy-zcsend,zcsend.*]
disallow_any_expr = False
INI
mypy --config-file "$T/any.ini" "${args[@]}" \
	"$SRC/tests/integration/python-typed-use.py" 2>&1 ||
	fail "an Any from the binding's public API (above)"
echo "python mypy: ok"
