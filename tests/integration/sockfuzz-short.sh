#!/bin/bash
# SPDX-License-Identifier: MIT
# A short protocol fuzz in `make check`: 3000 sessions of random, mutated
# and malformed messages with ancillary data, and ring clients that
# scribble over their shared-memory rings, from clients that die at
# random points, against a private zcsendd (the ASan one under
# `make check SANITIZE=1`). The daemon must stay up, answer STATUS, log no
# sanitizer report, end with its fds at baseline and exit 0 on SIGTERM;
# a well-behaved ring client (the canary) must see every send complete.
# The seed is printed; SOCKFUZZ_SEED=N reruns one. The long run is
# `make sockfuzz-run SOCKFUZZ_SESSIONS=100000`.
set -u

: "${BUILD:=build}"
FUZZ=$BUILD/tests/sockfuzz
if [ ! -x "$FUZZ" ]; then
	echo "SKIP: $FUZZ not built (make $FUZZ)"
	exit 77
fi
if [ ! -x "$BUILD/zcsendd" ]; then
	echo "SKIP: $BUILD/zcsendd not built"
	exit 77
fi
export BUILD
seed=${SOCKFUZZ_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
exec timeout -k 5 240 "$FUZZ" --seed "$seed" --sessions 3000 --jobs 4 \
	--check-every 500 ${SOCKFUZZ_ARGS:-}
