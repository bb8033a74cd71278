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
python_env

start_daemon
python_per_transport python-asyncio.py 120
stop_daemon
echo "python asyncio: ok"
