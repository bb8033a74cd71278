#!/bin/bash
# SPDX-License-Identifier: MIT
# A short soak in `make check`: 15 s of steady verified TCP and UDP traffic
# through a private zcsendd while churn clients are killed at random
# moments; the daemon must end with every send completed once, every
# stream intact and its fds, memory and pool bytes back to the baseline.
# The long run is `make soak SOAK_SECONDS=N`.
set -u

: "${BUILD:=build}"
SOAK=$BUILD/zcsend-soak
if [ ! -x "$SOAK" ]; then
	echo "SKIP: $SOAK not built (make $SOAK)"
	exit 77
fi
if [ ! -x "$BUILD/zcsendd" ]; then
	echo "SKIP: $BUILD/zcsendd not built"
	exit 77
fi
export BUILD
exec timeout -k 5 60 "$SOAK" --seconds 15
