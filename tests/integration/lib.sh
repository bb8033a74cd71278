# SPDX-License-Identifier: MIT
# Shared shell helpers for tests/integration/*.sh (sourced, not run:
# tests/run.sh skips lib*.sh). Gives a private temp dir $T, a daemon on
# $T/zcs.sock, a zcs-recv receiver on loopback, the metrics exporter, a
# client held connected, and cleanup on exit.

: "${BUILD:=build}"
case $BUILD in
/*) ;;
*) BUILD=$(cd "$BUILD" && pwd) ;;
esac
ZCSENDD=$BUILD/zcsendd
ZCSENDCTL=$BUILD/zcsendctl
ZCSRECV=$BUILD/tests/zcs-recv
T=$(mktemp -d "${TMPDIR:-/tmp}/zcs-sh.XXXXXX")
SOCK=$T/zcs.sock
DAEMON_PID=
CLEANUPS=

skip() {
	echo "SKIP: $*"
	exit 77
}

dump_log() {
	[ -f "$T/zcsendd.log" ] || return 0
	echo "---- daemon log ----"
	tail -n 60 "$T/zcsendd.log"
	echo "---- end of daemon log ----"
}

fail() {
	echo "FAIL: $*"
	dump_log
	exit 1
}

# on_exit CMD: run CMD at exit (last registered runs first).
on_exit() {
	CLEANUPS="$1; $CLEANUPS"
}

lib_cleanup() {
	local pid
	eval "$CLEANUPS"
	for pid in $DAEMON_PID $(jobs -p); do
		kill "$pid" 2>/dev/null
	done
	wait 2>/dev/null
	[ -n "${ZCS_TEST_KEEP:-}" ] || rm -rf "$T"
}
trap lib_cleanup EXIT
trap 'exit 143' TERM INT

need_built() {
	local f
	for f in "$@"; do
		[ -x "$f" ] || skip "$f not built"
	done
}

# sock_ready PATH: 0 when a SEQPACKET connect() to PATH succeeds.
sock_ready() {
	python3 - "$1" <<'PY' 2>/dev/null
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
PY
}

# start_daemon [PREFIX...]: run [PREFIX...] zcsendd -s $SOCK $DAEMON_ARGS;
# wait 10 s for its socket.
start_daemon() {
	local i
	# shellcheck disable=SC2086
	"$@" "$ZCSENDD" -s "$SOCK" ${DAEMON_ARGS:-} >"$T/zcsendd.log" 2>&1 &
	DAEMON_PID=$!
	for i in $(seq 100); do
		sock_ready "$SOCK" && return 0
		kill -0 "$DAEMON_PID" 2>/dev/null || fail "daemon exited at start"
		sleep 0.1
	done
	fail "daemon not listening on $SOCK after 10 s"
}

# stop_daemon: SIGTERM, expect exit 0 within 10 s.
stop_daemon() {
	local i rc
	[ -n "$DAEMON_PID" ] || return 0
	kill -TERM "$DAEMON_PID"
	for i in $(seq 100); do
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$DAEMON_PID" 2>/dev/null && fail "daemon ignored SIGTERM"
	wait "$DAEMON_PID"
	rc=$?
	DAEMON_PID=
	[ $rc -eq 0 ] || fail "daemon exited $rc on SIGTERM"
}

# start_recv NAME tcp|udp ADDR [ARGS...]: zcs-recv in the background;
# sets RECV_PID and RECV_PORT; output in $T/NAME.out, data in $T/NAME.bin.
# $RECV_WRAP (e.g. "ip netns exec NS") prefixes the command when set.
start_recv() {
	local name=$1 proto=$2 addr=$3 i
	shift 3
	rm -f "$T/$name.port"
	${RECV_WRAP:-} "$ZCSRECV" "$proto" "$addr" 0 --out "$T/$name.bin" \
		--port-file "$T/$name.port" "$@" >"$T/$name.out" 2>&1 &
	RECV_PID=$!
	for i in $(seq 100); do
		if [ -s "$T/$name.port" ]; then
			RECV_PORT=$(cat "$T/$name.port")
			return 0
		fi
		kill -0 "$RECV_PID" 2>/dev/null ||
			fail "zcs-recv: $(cat "$T/$name.out")"
		sleep 0.05
	done
	fail "zcs-recv did not start"
}

# start_daemon_udp NAME [RECV_ARGS...]: a UDP zcs-recv NAME on loopback
# (start_recv), and a daemon whose config ($T/conf) has one destination,
# NAME, that sends to it.
start_daemon_udp() {
	local name=$1
	shift
	start_recv "$name" udp 127.0.0.1 "$@"
	printf '[destination %s]\naddress = udp://127.0.0.1:%s\n' "$name" \
		"$RECV_PORT" >"$T/conf"
	DAEMON_ARGS="-c $T/conf" start_daemon
}

# wait_pid PID SECONDS: wait for a background job with a bound; its status.
wait_pid() {
	local pid=$1 i
	for i in $(seq $(($2 * 10))); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill "$pid"
		wait "$pid"
		return 124
	fi
	wait "$pid"
}

# status_json FILE: zcsendctl status --json into FILE, checked to parse.
status_json() {
	"$ZCSENDCTL" -s "$SOCK" status --json >"$1" ||
		fail "zcsendctl status --json failed: $(cat "$1")"
	python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$1" ||
		fail "status --json is not JSON: $(head -c 2000 "$1")"
}

# dest_field JSON NAME KEY: one field of a destination in a status file.
dest_field() {
	python3 - "$@" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
for d in s["destinations"]:
    if d["name"] == sys.argv[2]:
        v = d[sys.argv[3]]
        print(str(v).lower() if isinstance(v, bool) else v)
        sys.exit(0)
print("absent")
PY
}

# start_exporter ADDR: `zcsendctl metrics --listen ADDR` in the background;
# waits 5 s for the address it says it serves at. Sets EX_PID, URL
# (http://HOST:PORT) and EX_PORT; its output in $T/ex.out and $T/ex.err.
start_exporter() {
	local hp=
	"$ZCSENDCTL" -s "$SOCK" metrics --listen "$1" >"$T/ex.out" 2>"$T/ex.err" &
	EX_PID=$!
	for _ in $(seq 50); do
		hp=$(sed -n 's|.*serving metrics at http://\(.*\)/metrics$|\1|p' "$T/ex.err")
		[ -n "$hp" ] && break
		kill -0 "$EX_PID" 2>/dev/null || fail "exporter: $(cat "$T/ex.err")"
		sleep 0.1
	done
	[ -n "$hp" ] || fail "exporter did not say where it listens"
	URL=http://$hp
	EX_PORT=${hp##*:}
}

# held_client_start DEST JSON [ARGS...]: `zcsendctl send DEST PIPE ARGS`
# with a pipe that stays open on fd 3, so that the client stays connected;
# sends 'hello' and waits 10 s until `status --json` (into JSON) lists a
# client. Sets SEND_PID; its output in $T/send.out.
held_client_start() {
	local dest=$1 json=$2
	shift 2
	mkfifo "$T/in"
	"$ZCSENDCTL" -s "$SOCK" send "$dest" "$T/in" "$@" >"$T/send.out" 2>&1 &
	SEND_PID=$!
	exec 3>"$T/in"
	printf 'hello' >&3
	for _ in $(seq 100); do
		status_json "$json"
		python3 -c 'import json,sys; sys.exit(not json.load(open(sys.argv[1]))["clients"])' \
			"$json" && break
		sleep 0.1
	done
}

# held_client_end: close the held client's input; it must exit 0 in 20 s.
held_client_end() {
	exec 3>&-
	wait_pid "$SEND_PID" 20 || fail "zcsendctl send: $(cat "$T/send.out")"
}

# asan_runtimes LIB: the ASan and UBSan runtimes an ASan build of LIB needs
# loaded first (for LD_PRELOAD), or nothing.
asan_runtimes() {
	ldd "$1" | awk '/lib(asan|ubsan)/ { printf "%s%s", s, $3; s = " " }'
}

# python_env: python3 (3.9 or later) with the binding from this tree on
# this build's library, at $SOCK; an ASan build's runtimes loaded first,
# and Python's own allocations at exit not taken for the test's leaks.
python_env() {
	local rt

	command -v python3 >/dev/null || skip "no python3"
	python3 -c 'import sys; sys.exit(sys.version_info < (3, 9))' ||
		skip "python3 older than 3.9"
	export ZCSEND_LIBRARY=$BUILD/libzcsend.so.1
	export PYTHONPATH=$SRC/client/python
	export ZCS_SOCK=$SOCK
	rt=$(asan_runtimes "$ZCSEND_LIBRARY")
	[ -n "$rt" ] || return 0
	export LD_PRELOAD=$rt
	export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
}

# python_per_transport SCRIPT [SECONDS]: tests/integration/SCRIPT once per
# transport ($ZCSEND_TRANSPORT's, or socket then ring), each bounded by
# SECONDS when given.
python_per_transport() {
	local transport bound=()

	[ -n "${2:-}" ] && bound=(timeout "$2")
	for transport in ${ZCSEND_TRANSPORT:-socket ring}; do
		echo "== transport $transport"
		ZCSEND_TRANSPORT=$transport "${bound[@]}" python3 \
			"$SRC/tests/integration/$1" 2>&1 ||
			fail "$1, transport $transport (above)"
	done
}
