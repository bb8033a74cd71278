#!/bin/bash
# SPDX-License-Identifier: MIT
# The Python asyncio pattern (issue 16): python-evloop.py waits with
# loop.add_reader(c.fileno(), ...) and reaps with timeout 0, over each
# transport in turn (the one $ZCSEND_TRANSPORT names, or socket then
# ring); a completion held back by the library must not stall the loop.
set -u
. "$(dirname "$0")/lib.sh"
need_built "$ZCSENDD" "$BUILD/libzcsend.so.1"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
python_env

start_daemon
python_per_transport python-evloop.py 120
stop_daemon
echo "python event loop: ok"
