#!/bin/bash
# SPDX-License-Identifier: MIT
# The Python binding (issue 12): python-binding.py drives client/python/
# zcsend/ against a real daemon (UDP datagrams plain and segmented, a TCP
# stream, reap timeouts, fileno() in a selector, errors with errno, buffers
# outside the pool, views outliving close, reap's renamed max, __version__
# against the Makefile's VERSION and the library's) and runs examples/
# zcsend-file.py to a receiver; every byte is checked. Runs once per transport: the one
# $ZCSEND_TRANSPORT names, or socket then ring.
# transports: socket ring
set -u
. "$(dirname "$0")/lib.sh"
need_built "$ZCSENDD" "$ZCSENDCTL" "$BUILD/libzcsend.so.1"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
python_env
export ZCSENDCTL ZCS_EXAMPLE=$SRC/client/python/examples/zcsend-file.py
# The release's version, which zcsend.__version__ must be.
ZCS_VERSION=$(sed -n 's/^VERSION := *//p' "$SRC/Makefile")
export ZCS_VERSION

start_daemon
# A second daemon that takes one client, for a refusal with a reason.
printf '[daemon]\nmax_clients = 1\n' >"$T/one.conf"
"$ZCSENDD" -s "$T/one.sock" -c "$T/one.conf" >"$T/one.log" 2>&1 &
on_exit "kill $! 2>/dev/null"
for _ in $(seq 100); do
	sock_ready "$T/one.sock" && break
	sleep 0.1
done
sock_ready "$T/one.sock" || fail "one-client daemon: $(cat "$T/one.log")"
export ZCS_SOCK_ONE=$T/one.sock

python_per_transport python-binding.py
stop_daemon
echo "python binding: ok"
