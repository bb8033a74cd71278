#!/bin/bash
# SPDX-License-Identifier: MIT
# A short soak in `make check`: 20 s of steady verified TCP and UDP traffic
# through a private zcsendd while churn clients are killed at random
# moments; the daemon must end with every send completed once, every
# stream intact and its fds, memory and pool bytes back to the baseline.
# The churn is heavy (16 clients alive, up to 100 started a second), and
# RSS may end at most 1 MiB over the baseline: per-client arrays taken
# from the heap once fragmented it by many MiB within 20 s (21160 KiB
# after, 4024 before), which the default churn needs minutes to show.
# The long run is `make soak SOAK_SECONDS=N`.
# transports: socket ring
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
exec timeout -k 5 60 "$SOAK" --seconds 20 --churn-live 16 --churn-rate 100 \
	--rss-slack 1024
