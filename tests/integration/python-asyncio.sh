#!/bin/bash
# SPDX-License-Identifier: MIT
# The binding's asyncio helpers (issue 20): python-asyncio.py runs 16
# coroutines sending over UDP and TCP flows of one Client, with completions
# from client.completions() and from client.reap_async(), over each
# transport in turn (the one $ZCSEND_TRANSPORT names, or socket then ring).
# transports: socket ring
set -u
. "$(dirname "$0")/lib.sh"
need_built "$ZCSENDD" "$BUILD/libzcsend.so.1"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
command -v python3 >/dev/null || skip "no python3"
python3 -c 'import sys; sys.exit(sys.version_info < (3, 9))' ||
	skip "python3 older than 3.9"

export ZCSEND_LIBRARY=$BUILD/libzcsend.so.1
export PYTHONPATH=$SRC/client/python
export ZCS_SOCK=$SOCK
# An ASan build's library needs its runtime loaded first, and Python's
# own allocations at exit are not this test's leaks.
asan=$(ldd "$ZCSEND_LIBRARY" | awk '/libasan/ { print $3 }')
if [ -n "$asan" ]; then
	ubsan=$(ldd "$ZCSEND_LIBRARY" | awk '/libubsan/ { print $3 }')
	export LD_PRELOAD="$asan${ubsan:+ $ubsan}"
	export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
fi

start_daemon
for transport in ${ZCSEND_TRANSPORT:-socket ring}; do
	echo "== transport $transport"
	ZCSEND_TRANSPORT=$transport timeout 120 python3 \
		"$SRC/tests/integration/python-asyncio.py" 2>&1 ||
		fail "python-asyncio.py, transport $transport (above)"
done
stop_daemon
echo "python asyncio: ok"
