#!/bin/bash
# SPDX-License-Identifier: MIT
# The service scenario of `make check-boot`, run as root inside the booted
# Debian 12 container, as an admin would after `make install PREFIX=/usr`:
# sysusers, a member of zcsend allowed by allowed_groups, the socket
# enabled; then sends as root and as that member, status, a good and a bad
# reload, a stop during a transfer, socket activation, SIGKILL and the
# restart, a crash that tells each client why, a restart that keeps them,
# the unit's rlimits and system-call filter, and the journal; last, the
# metrics exporter unit. `scenario.sh packages`: the Debian packages'
# life cycle instead (step_pkg_*), in a tree without make install's files.
# Every step prints PASS or FAIL; the last line is "N passed, N failed".
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
SOCK=/run/zcsendd/zcsendd.sock
CONF=/etc/zcsendd/zcsendd.conf
D=/var/tmp/zcs-boot
passed=0 failed=0

pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }
# check NAME CMD...: PASS if CMD succeeds, else FAIL with its output.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then pass "$name"; else fail "$name" "$(echo "$out" | tail -3)"; fi
}
ALICE=(timeout 60 setpriv --reuid=alice --regid=alice --init-groups)

# journal_has NAME REGEX FIELD=VALUE...: the unit's journal, filtered by
# those fields as an operator would, has a line matching REGEX.
journal_has() {
	local name=$1 re=$2 out
	shift 2
	journalctl --sync 2>/dev/null
	out=$(journalctl -q -u zcsendd -o cat "$@" 2>&1)
	if echo "$out" | grep -q -- "$re"; then
		pass "$name"
	else
		fail "$name" "journalctl -u zcsendd $*: $(echo "$out" | tail -3)"
	fi
}
as_alice() { "${ALICE[@]}" "$@"; }
# wait_for SECONDS CMD...: until CMD succeeds.
wait_for() {
	local n=$(($1 * 10))
	shift
	while [ $n -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}
mainpid() { systemctl show -P MainPID zcsendd; }

# recv NAME: a loopback TCP receiver in the background; sets PORT, RPID.
recv() {
	rm -f "$D/$1.port" "$D/$1.bin"
	"$HERE/zcs-recv" tcp 127.0.0.1 0 --out "$D/$1.bin" \
		--port-file "$D/$1.port" --timeout 60 >"$D/$1.out" 2>&1 &
	RPID=$!
	wait_for 10 test -s "$D/$1.port"
	PORT=$(cat "$D/$1.port")
}
# send_as NAME WHO [TRANSPORT]: send $D/data.bin through zcsendd as WHO,
# over the socket or the shared-memory rings, and check the bytes.
send_as() {
	local name=$1 who=$2 tr=${3:-socket} out rc
	recv "$name"
	if [ "$who" = root ]; then
		out=$(ZCSEND_TRANSPORT=$tr timeout 60 zcsendctl send \
			"tcp://127.0.0.1:$PORT" "$D/data.bin" 2>&1)
	else
		out=$("${ALICE[@]}" env ZCSEND_TRANSPORT=$tr zcsendctl -s $SOCK \
			send "tcp://127.0.0.1:$PORT" "$D/data.bin" 2>&1)
	fi
	rc=$?
	[ $rc -eq 0 ] || kill "$RPID" 2>/dev/null
	wait "$RPID"
	if [ $rc -ne 0 ]; then
		fail "$name" "zcsendctl send as $who: $out"
	elif ! cmp -s "$D/data.bin" "$D/$name.bin"; then
		fail "$name" "received $(stat -c %s "$D/$name.bin") bytes that differ"
	else
		pass "$name"
	fi
}

# --- what the admin does after make install.
setup() {
	mkdir -p $D && chmod 0755 $D
	head -c $((8 << 20)) /dev/urandom >$D/data.bin
	chmod 0644 $D/data.bin
	systemd-sysusers
	getent passwd alice >/dev/null || useradd -m -G zcsend alice
	getent passwd bob >/dev/null || useradd -m bob
	sed -i 's/^#allowed_groups = zcsend/allowed_groups = zcsend/' $CONF
	grep -q '^allowed_groups = zcsend' $CONF || echo "setup: no allowed_groups in $CONF"
	systemctl daemon-reload
	systemctl enable --now zcsendd.socket 2>&1 | sed 's/^/     /'
}

step_start() {
	check "systemctl start zcsendd" systemctl start zcsendd
	check "service active" systemctl is-active zcsendd
	check "socket unit active" systemctl is-active zcsendd.socket
	local st
	st=$(stat -L -c '%U:%G %a' $SOCK 2>&1)
	[ "$st" = "root:zcsend 660" ] && pass "socket is root:zcsend 0660" ||
		fail "socket is root:zcsend 0660" "$SOCK is $st ($(ls -ld /run/zcsendd))"
	st=$(namei -m $SOCK | awk 'NR > 1 && $1 ~ /^d/ && $1 !~ /r.x$/ { print $0 }')
	[ -z "$st" ] && pass "socket directory open to others" ||
		fail "socket directory open to others" "$(namei -l $SOCK | tr '\n' ';')"
}

step_sends() {
	send_as "send as root" root
	send_as "send as alice (member of zcsend)" alice
	send_as "send as root over rings" root ring
	send_as "send as alice over rings" alice ring
	local out
	out=$(setpriv --reuid=bob --regid=bob --init-groups zcsendctl -s $SOCK status 2>&1) &&
		fail "bob (not allowed) refused" "status worked: $out" ||
		pass "bob (not allowed) refused"
	check "zcsendctl status as root" zcsendctl status
	check "zcsendctl status as alice" as_alice zcsendctl -s $SOCK status
	out=$(systemctl show -P StatusText zcsendd)
	case $out in *clients*) pass "STATUS= in systemctl" ;;
	*) fail "STATUS= in systemctl" "StatusText='$out'" ;; esac
}

step_reload() {
	local pid out
	pid=$(mainpid)
	check "good systemctl reload" systemctl reload zcsendd
	[ "$(mainpid)" = "$pid" ] && systemctl is-active -q zcsendd &&
		pass "same process after reload" ||
		fail "same process after reload" "MainPID $pid -> $(mainpid)"
	cp $CONF $D/conf.good
	printf '\n[daemon]\nno_such_key = 1\n' >>$CONF
	if out=$(timeout 60 systemctl reload zcsendd 2>&1); then
		fail "bad systemctl reload fails" "reload of a bad file succeeded"
	else
		pass "bad systemctl reload fails"
	fi
	systemctl is-active -q zcsendd && [ "$(mainpid)" = "$pid" ] &&
		pass "still running after a bad reload" ||
		fail "still running after a bad reload" "$(systemctl is-active zcsendd) $(mainpid)"
	journal_has "failed reload in the journal by MESSAGE_ID" \
		"reload: .*no_such_key" MESSAGE_ID=f25c71b50564484685744911072e9606
	# Refused by the daemon itself (bob cannot even reach the socket):
	# alice, once allowed_groups no longer lets her in.
	cp $D/conf.good $CONF
	sed -i 's/^allowed_groups = zcsend/#allowed_groups = zcsend/' $CONF
	check "reload without allowed_groups" systemctl reload zcsendd
	as_alice zcsendctl -s $SOCK status >/dev/null 2>&1 &&
		fail "alice refused without allowed_groups" "status worked" ||
		pass "alice refused without allowed_groups"
	journal_has "refusal in the journal by CLIENT_UID" \
		"refusing client pid [0-9]* uid $(id -u alice)" \
		CLIENT_UID="$(id -u alice)" \
		MESSAGE_ID=281c2233538f4ee584a1950d51bf0854
	cp $D/conf.good $CONF
	check "reload after fixing the file" systemctl reload zcsendd
	send_as "send after reloads" alice
}

# A sender streams from a pipe; its receiver stops reading with 4 MiB in,
# so the next sends sit in flight; stop the service under it (the receiver
# reads again 2 s later): it drains, exits cleanly and in time, and what
# arrived is the stream's beginning, every byte right.
step_stop() {
	local spid t0 secs out got
	recv stop
	rm -f $D/fifo && mkfifo -m 0644 $D/fifo
	"${ALICE[@]}" zcsendctl -s $SOCK send "tcp://127.0.0.1:$PORT" - <$D/fifo \
		>$D/stop-send.out 2>&1 &
	spid=$!
	# The write end stays open: the sender's stream has no end yet.
	exec 3>$D/fifo
	head -c $((64 << 20)) /dev/urandom >$D/big.bin
	head -c $((4 << 20)) $D/big.bin >&3
	wait_for 30 sh -c "[ \"\$(stat -c %s $D/stop.bin)\" = $((4 << 20)) ]" &&
		pass "4 MiB delivered, the sender's stream still open" ||
		fail "transfer before stop" "received $(stat -c %s $D/stop.bin)"
	kill -STOP "$RPID"
	tail -c +$(((4 << 20) + 1)) $D/big.bin >&3 &
	sleep 1
	echo "     at stop: $(zcsendctl status | grep -o '[0-9]* in flight')"
	(sleep 2 && kill -CONT "$RPID" 2>/dev/null) &
	t0=$(date +%s%N)
	check "systemctl stop during a transfer" timeout 30 systemctl stop zcsendd
	secs=$(( ($(date +%s%N) - t0) / 1000000 ))
	kill -CONT "$RPID" 2>/dev/null
	[ $secs -lt 20000 ] && pass "stop took $secs ms" || fail "stop in time" "$secs ms"
	out=$(systemctl show -P Result zcsendd)
	[ "$out" = success ] && pass "stopped cleanly (Result=success)" ||
		fail "stopped cleanly (Result=success)" "Result=$out"
	# The sender learns of it when it next sends, and says so.
	exec 3>&-
	if wait_for 10 sh -c "! kill -0 $spid"; then
		wait "$spid" && fail "sender fails after the stop" "it exited 0" ||
			pass "sender fails after the stop"
		echo "     sender: $(tr '\n' ' ' <$D/stop-send.out)"
	else
		fail "sender fails after the stop" "zcsendctl still running"
	fi
	wait_for 30 sh -c "! kill -0 $RPID"
	kill "$spid" "$RPID" 2>/dev/null
	wait
	got=$(stat -c %s $D/stop.bin)
	[ "$got" -ge $((4 << 20)) ] && cmp -s -n "$got" $D/big.bin $D/stop.bin &&
		pass "received $got bytes, the stream's beginning" ||
		fail "bytes before stop intact" "$got bytes, $(cmp -n "$got" $D/big.bin $D/stop.bin)"
	rm -f $D/big.bin $D/stop.bin
}

step_activation() {
	check "service inactive, socket listening" sh -c \
		"! systemctl is-active -q zcsendd && systemctl is-active -q zcsendd.socket"
	check "connect starts the service (as alice)" as_alice zcsendctl -s $SOCK status
	check "service active after the connect" wait_for 10 systemctl is-active zcsendd
	send_as "send after activation" alice
}

step_kill() {
	local pid
	pid=$(mainpid)
	check "systemctl kill -s KILL" systemctl kill -s KILL zcsendd
	if wait_for 15 sh -c "[ \"\$(systemctl show -P MainPID zcsendd)\" != $pid ] &&
	    [ \"\$(systemctl show -P MainPID zcsendd)\" != 0 ] &&
	    systemctl is-active -q zcsendd"; then
		pass "restarted after SIGKILL (NRestarts=$(systemctl show -P NRestarts zcsendd))"
	else
		fail "restarted after SIGKILL" "$(systemctl status zcsendd --no-pager | head -5)"
	fi
	send_as "send after the restart" alice
	local st
	st=$(stat -L -c '%U:%G %a' $SOCK 2>&1)
	[ "$st" = "root:zcsend 660" ] && pass "socket still root:zcsend 0660" ||
		fail "socket still root:zcsend 0660" "$st"
}

# Streaming clients for the restart and crash steps: tests/tools/zcs-stream
# (TCP and UDP flows to receivers of its own that check every byte) and
# zcs-hold (a connection that prints how it ends). Their ready and stop
# files go in $R, which alice may write.
R=$D/run
declare -A SPIDS
# stream_start NAME WHO TRANSPORT [ARGS...]: zcs-stream as WHO (root or
# alice) in the background, output in $D/NAME.out, pid in SPIDS[NAME].
stream_start() {
	local name=$1 who=$2 tr=$3
	shift 3
	rm -f "$R/$name.ready"
	if [ "$who" = root ]; then
		timeout 120 env ZCSEND_TRANSPORT="$tr" "$HERE/zcs-stream" -s $SOCK \
			--ready "$R/$name.ready" --timeout 100 "$@" >"$D/$name.out" 2>&1 &
	else
		"${ALICE[@]}" env ZCSEND_TRANSPORT="$tr" "$HERE/zcs-stream" -s $SOCK \
			--ready "$R/$name.ready" --timeout 55 "$@" >"$D/$name.out" 2>&1 &
	fi
	SPIDS[$name]=$!
}
# streams_ready NAME...: each is streaming (its ready file is there).
streams_ready() {
	local name
	for name in "$@"; do
		wait_for 20 test -e "$R/$name.ready" || return 1
	done
}
# streams_start PREFIX WHAT: root and alice each stream over the socket
# and over the rings (PREFIX-root-socket, ..., named in $STREAMS) until
# $R/PREFIX.stop appears; all four must be under way before WHAT.
streams_start() {
	local prefix=$1 what=$2 name
	STREAMS=("$prefix-root-socket" "$prefix-root-ring" "$prefix-alice-socket"
		"$prefix-alice-ring")
	mkdir -p $R && chown alice $R && rm -f $R/*
	for name in "${STREAMS[@]}"; do
		set -- ${name//-/ }
		stream_start "$name" "$2" "$3" --stop "$R/$prefix.stop"
	done
	streams_ready "${STREAMS[@]}" ||
		fail "clients streaming before $what" "$(cat $D/$prefix-*.out | tr '\n' ' ')"
}
# stream_end NAME: wait for it; its exit status, its output in $OUT.
stream_end() {
	local rc
	wait "${SPIDS[$1]}"
	rc=$?
	OUT=$(tr '\n' ' ' <"$D/$1.out")
	return $rc
}

# A crash with clients connected: each client's socket is in systemd's fd
# store (FileDescriptorStoreMax=), so the process systemd restarts finds
# them and answers each with an ERROR naming the restart. Every client ends
# at once with that reason: no hang, and no bare EOF (a killed daemon
# without the store: "Broken pipe", "EOF without a reason").
step_crash_tells() {
	local name hpid t0 ms
	mkdir -p $R && chown alice $R && rm -f $R/*
	"$HERE/zcs-hold" $SOCK --ready $R/hold.ready --timeout 60 >$D/hold.out 2>&1 &
	hpid=$!
	stream_start crash-socket alice socket
	stream_start crash-ring alice ring
	if ! wait_for 20 test -e $R/hold.ready || ! streams_ready crash-socket crash-ring; then
		fail "clients streaming before the crash" "$(cat $D/hold.out $D/crash-*.out | tr '\n' ' ')"
	fi
	t0=$(date +%s%N)
	check "systemctl kill -s KILL with clients connected" systemctl kill -s KILL zcsendd
	if wait "$hpid"; then
		ms=$(( ($(date +%s%N) - t0) / 1000000 ))
		pass "held client told why, $ms ms after the kill (RestartSec=1s): $(grep ERROR $D/hold.out)"
	else
		fail "held client told why" "$(tr '\n' ' ' <$D/hold.out)"
	fi
	for name in crash-socket crash-ring; do
		if stream_end $name; then
			fail "$name: client fails after the crash" "exit 0: $OUT"
		else
			case $OUT in
			*"Connection reset by peer"*) pass "$name: client fails with the reset ($OUT)" ;;
			*) fail "$name: client fails with the reset" "$OUT" ;;
			esac
		fi
	done
	journal_has "crash: clients told, in the journal by MESSAGE_ID" \
		"client connections kept by systemd, [0-9]* told why" \
		MESSAGE_ID=57aaa4bd3dd64d0ab887a2843366c76d
	send_as "send after the crash" alice
}

# What the hand-over stands on: systemd 252 keeps the fd store across a
# restart job, not only across an automatic restart after a crash. With
# KillSignal=SIGKILL the old process cannot tidy up, so a held client is
# told why by the next process only if its socket stayed in the store.
step_restart_store() {
	local hpid
	mkdir -p $R /run/systemd/system/zcsendd.service.d && rm -f $R/*
	printf '[Service]\nKillSignal=SIGKILL\n' \
		>/run/systemd/system/zcsendd.service.d/kill.conf
	systemctl daemon-reload
	"$HERE/zcs-hold" $SOCK --ready $R/hold.ready --timeout 30 >$D/hold.out 2>&1 &
	hpid=$!
	wait_for 20 test -e $R/hold.ready
	check "systemctl restart, KillSignal=SIGKILL" timeout 60 systemctl restart zcsendd
	wait "$hpid" && pass "the fd store outlives a restart job: $(grep ERROR $D/hold.out)" ||
		fail "the fd store outlives a restart job" "$(tr '\n' ' ' <$D/hold.out)"
	rm -rf /run/systemd/system/zcsendd.service.d
	systemctl daemon-reload
}

# systemctl restart, $BOOT_RESTARTS times (3 unless set), while root and
# alice stream TCP and UDP over the socket and the rings: the hand-over
# through systemd's fd store carries every client, so each send completes
# once with every byte, the TCP receivers see one connection, and the
# journal has the hand-over's line. Needs the hand-over
# (zcsendd/handover/): before it, the restart drains and closes every
# client ("Broken pipe").
RESTARTS=${BOOT_RESTARTS:-3}
step_restart_keeps() {
	local pid name i
	streams_start keep "the restart"
	pid=$(mainpid)
	# 2.1 s apart: systemd refuses a sixth start within 10 s
	# (StartLimitBurst=5), restarts included.
	for ((i = 1; i <= RESTARTS; i++)); do
		timeout 60 systemctl restart zcsendd || break
		sleep 2.1
	done
	[ $i -gt $RESTARTS ] && pass "systemctl restart with clients streaming, $RESTARTS times" ||
		fail "systemctl restart with clients streaming" "restart $i of $RESTARTS failed"
	[ "$(mainpid)" != "$pid" ] && systemctl is-active -q zcsendd &&
		pass "a new process after the restart" ||
		fail "a new process after the restart" "MainPID $pid -> $(mainpid)"
	sleep 1	# streaming on through the new process
	touch $R/keep.stop
	local bad=0
	for name in "${STREAMS[@]}"; do
		stream_end "$name" && pass "$name: every send once, every byte, one TCP connection ($OUT)" ||
			{ fail "$name: kept through the restart" "$OUT"; bad=1; }
	done
	[ $bad = 0 ] || journalctl -b -u zcsendd -o cat --no-pager |
		grep -iE 'carried|refused|abandon|drain|dropping|error|cannot|fail' |
		tail -n 30 | sed 's/^/     journal: /'
	journal_has "hand-over in the journal by MESSAGE_ID" . \
		MESSAGE_ID=7a2a54e8abdc4d1baca8a9fcd2129148
	blackouts
}

# The daemon's own count of the last $RESTARTS hand-overs' blackouts.
blackouts() {
	journalctl -b -u zcsendd -o cat --no-pager \
		MESSAGE_ID=7a2a54e8abdc4d1baca8a9fcd2129148 |
		sed -n 's/.*blackout \([0-9.]*\) ms.*/\1/p' | tail -n "$RESTARTS" |
		sort -n | awk '{ v[NR] = $1 } END { if (NR) printf "     %d restarts: blackout p50 %s ms, max %s ms (the daemon'"'"'s count)\n", NR, v[int((NR + 1) / 2)], v[NR] }'
}

# limit_check NAME LIMITS-ROW WANT PID: the unit sets Limit$NAME=WANT,
# and the daemon's hard limit is WANT or, where the host's own hard limit
# (PID 1's, without CAP_SYS_RESOURCE) is lower, that.
limit_check() {
	local unit ceil got want=$3
	unit=$(systemctl show -P "Limit$1" zcsendd)
	ceil=$(awk -v r="^$2" '$0 ~ r { print $(NF - 1) }' /proc/1/limits)
	got=$(awk -v r="^$2" '$0 ~ r { print $(NF - 1) }' /proc/$4/limits)
	[ "$ceil" != unlimited ] && [ "$ceil" -lt "$want" ] && want=$ceil
	[ "$unit" = "$3" ] && [ "$got" = "$want" ] &&
		pass "Limit$1=$unit (hard $got, host allows $ceil)" ||
		fail "Limit$1" "unit $unit, hard $got, host allows $ceil"
}

# The unit's limits, and setrlimit under its own system-call filter: a
# drop-in runs rlimit-probe as an ExecStartPre= of the real unit.
step_limits() {
	local pid n
	pid=$(mainpid)
	limit_check NOFILE "Max open files" 65536 "$pid"
	limit_check MEMLOCK "Max locked memory" $((1 << 30)) "$pid"
	mkdir -p /run/systemd/system/zcsendd.service.d
	cp "$HERE/rlimit-probe" /usr/local/sbin/zcs-rlimit-probe
	printf '[Service]\nExecStartPre=/usr/local/sbin/zcs-rlimit-probe\n' \
		>/run/systemd/system/zcsendd.service.d/probe.conf
	systemctl daemon-reload
	timeout 60 systemctl restart zcsendd
	n=$(journalctl -b -u zcsendd -o cat --no-pager | grep rlimit-probe | tail -1)
	systemctl is-active -q zcsendd && pass "setrlimit allowed by the unit's filter" ||
		fail "setrlimit allowed by the unit's filter" "${n:-no probe output}"
	echo "     ${n:-no probe output}"
	rm -rf /run/systemd/system/zcsendd.service.d /usr/local/sbin/zcs-rlimit-probe
	systemctl daemon-reload
	timeout 60 systemctl restart zcsendd
}

step_journal() {
	local lines
	lines=$(journalctl -b -u zcsendd -o cat --no-pager _PID="$(mainpid)")
	echo "$lines" | grep -q ready && ! echo "$lines" | grep -q '^zcsendd: ' &&
		pass "journal lines without a second name" ||
		fail "journal lines without a second name" "$(echo "$lines" | head -2 | tr '\n' ';')"
	journalctl -b -u zcsendd -o short --no-pager _PID="$(mainpid)" | grep -m1 ready | sed 's/^/     /'
}

step_security() {
	local out score
	out=$(systemd-analyze security --no-pager zcsendd.service 2>&1)
	score=$(echo "$out" | sed -n 's/.*Overall exposure level for zcsendd.service: \([0-9.]*\).*/\1/p')
	[ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' &&
		pass "systemd-analyze security: exposure $score" ||
		fail "systemd-analyze security" "$(echo "$out" | tail -2)"
}

# http_get PATH: GET http://127.0.0.1:9568PATH with bash's /dev/tcp (the
# tree has neither curl nor python); the whole response on stdout.
http_get() {
	timeout 20 bash -c 'exec 3<>/dev/tcp/127.0.0.1/9568 &&
		printf "GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n" "$1" >&3 &&
		cat <&3' http_get "$1"
}

# The exporter as an admin turns it on: off by default, then enabled;
# /metrics from the running daemon, as a dynamic user; 503 while the
# socket and service are stopped, and back (by socket activation) after.
step_exporter() {
	local out pid score
	out=$(systemctl is-enabled zcsendd-exporter 2>&1)
	[ "$out" = disabled ] && ! systemctl is-active -q zcsendd-exporter &&
		pass "exporter installed, off by default" ||
		fail "exporter installed, off by default" "is-enabled: $out"
	check "systemctl enable --now zcsendd-exporter" timeout 60 \
		systemctl enable --now zcsendd-exporter
	send_as "send before the scrape" alice	# counters restarted with zcsendd
	wait_for 10 sh -c "systemctl is-active -q zcsendd-exporter" || true
	wait_for 10 http_get /metrics
	out=$(http_get /metrics 2>&1)
	echo "$out" | head -1 | grep -q ' 200 ' &&
		echo "$out" | grep -q '^zcsendd_build_info{version="' &&
		echo "$out" | grep -q '^zcsendd_sent_bytes_total [1-9]' &&
		echo "$out" | grep -q '^zcsendd_feature{name="send_zc"} [01]$' &&
		pass "GET /metrics: $(echo "$out" | grep -c '^zcsendd_') samples" ||
		fail "GET /metrics" "$(echo "$out" | head -3 | tr '\r\n' '  ')"
	echo "$out" | grep '^zcsendd_sent_bytes_total' | sed 's/^/     /'
	pid=$(systemctl show -P MainPID zcsendd-exporter)
	out=$(stat -c %u "/proc/$pid" 2>&1)
	[ -n "$out" ] && [ "$out" != 0 ] && pass "exporter runs as uid $out, not root" ||
		fail "exporter runs unprivileged" "pid $pid uid $out"
	out=$(http_get /nothing 2>&1)
	echo "$out" | head -1 | grep -q ' 404 ' && pass "GET /nothing: 404" ||
		fail "GET /nothing: 404" "$(echo "$out" | head -1)"
	systemctl stop zcsendd.socket zcsendd
	out=$(http_get /metrics 2>&1)
	echo "$out" | head -1 | grep -q ' 503 ' && echo "$out" | grep -q 'cannot connect' &&
		pass "daemon stopped: 503 ($(echo "$out" | tail -1))" ||
		fail "daemon stopped: 503" "$(echo "$out" | tr '\r\n' '  ' | tail -c 300)"
	systemctl start zcsendd.socket
	out=$(http_get /metrics 2>&1)
	echo "$out" | head -1 | grep -q ' 200 ' && systemctl is-active -q zcsendd &&
		pass "socket back: 200, and the scrape started zcsendd" ||
		fail "socket back: 200" "$(echo "$out" | head -1) $(systemctl is-active zcsendd)"
	out=$(systemd-analyze security --no-pager zcsendd-exporter.service 2>&1)
	score=$(echo "$out" | sed -n 's/.*Overall exposure level for zcsendd-exporter.service: \([0-9.]*\).*/\1/p')
	[ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 1.5) }' &&
		pass "systemd-analyze security zcsendd-exporter: exposure $score" ||
		fail "systemd-analyze security zcsendd-exporter" "$(echo "$out" | grep -v '^✓' | tail -12 | tr '\n' ';')"
	check "systemctl disable --now zcsendd-exporter" timeout 60 \
		systemctl disable --now zcsendd-exporter
}

# --- the package life cycle (`scenario.sh packages`), in a tree where
# nothing of zcsendd was installed: the .debs of this tree in
# $HERE/deb/old, those of a build one version newer (its shipped
# zcsendd.conf changed) in $HERE/deb/new. apt as an admin runs it, dpkg's
# conffile prompt answered by its default.
APT=(timeout 300 env DEBIAN_FRONTEND=noninteractive apt-get -y -q
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
PKGS=(zcsendd libzcsend1 libzcsend-dev python3-zcsend)
# debs DIR: the four .debs in DIR, as apt takes local files.
debs() {
	local p
	for p in "${PKGS[@]}"; do echo "$HERE/deb/$1/${p}_"*.deb; done
}
# apt_step NAME ARGS...: apt-get ARGS; PASS, or FAIL with apt's last lines.
apt_step() {
	local name=$1 out
	shift
	out=$("${APT[@]}" "$@" 2>&1) && pass "$name" ||
		fail "$name" "$(echo "$out" | grep -v '^[GH]et:' | tail -4 | tr '\n' ' ')"
}
pkg_version() { dpkg-query -W -f '${Version} ${db:Status-Abbrev}' "$1" 2>&1; }

step_pkg_install() {
	local out
	[ ! -e /usr/sbin/zcsendd ] && ! getent group zcsend >/dev/null &&
		pass "nothing of zcsendd before the install" ||
		fail "nothing of zcsendd before the install" "$(ls -l /usr/sbin/zcsendd 2>&1)"
	mkdir -p $D && chmod 0755 $D
	head -c $((8 << 20)) /dev/urandom >$D/data.bin && chmod 0644 $D/data.bin
	# shellcheck disable=SC2046
	apt_step "apt install ./zcsendd_*.deb ./libzcsend1_*.deb ./libzcsend-dev_*.deb ./python3-zcsend_*.deb" \
		install $(debs old)
	check "zcsendd.socket enabled by the install" systemctl is-enabled zcsendd.socket
	check "zcsendd.socket active after the install" systemctl is-active zcsendd.socket
	out=$(systemctl is-enabled zcsendd.service zcsendd-exporter.service 2>&1 | tr '\n' ' ')
	[ "$out" = "disabled disabled " ] && ! systemctl -q is-active zcsendd-exporter &&
		pass "zcsendd.service and the exporter installed, not enabled ($out)" ||
		fail "zcsendd.service and the exporter not enabled" "$out"
	check "group zcsend made by the sysusers entry" getent group zcsend
	dpkg-query -W -f '${Conffiles}' zcsendd | grep -q "^ $CONF " &&
		pass "$CONF is a conffile" || fail "$CONF is a conffile" "$(dpkg-query -W -f '${Conffiles}' zcsendd)"
	# The admin's edit, kept across the upgrade below.
	sed -i 's/^#allowed_groups = zcsend/allowed_groups = zcsend/' $CONF
	getent passwd alice >/dev/null || useradd -m -G zcsend alice
	send_as "a member of zcsend sends at once (socket activation)" alice
	send_as "and over the rings" alice ring
	pkg_example
	out=$(as_alice python3 -c 'import zcsend
c = zcsend.Client("'$SOCK'"); c.close()
print(zcsend.__file__, zcsend.version())' 2>&1) &&
		pass "python3-zcsend: import and connect as alice ($out)" ||
		fail "python3-zcsend: import and connect as alice" "$out"
}

# The C example, built against libzcsend-dev with pkg-config as its
# README says, run as alice: its one payload reaches a receiver.
pkg_example() {
	local out
	# shellcheck disable=SC2046
	out=$(cc -o $D/example "$HERE/example.c" $(pkg-config --cflags --libs libzcsend) 2>&1) &&
		pass "example.c builds with pkg-config --cflags --libs libzcsend" ||
		{ fail "example.c builds with pkg-config" "$out"; return; }
	recv example
	out=$(as_alice $D/example "tcp://127.0.0.1:$PORT" $SOCK 2>&1)
	wait "$RPID"
	grep -qx 'hello from libzcsend' $D/example.bin &&
		pass "the example sends as alice ($out)" ||
		fail "the example sends as alice" "$out; received $(head -c 100 $D/example.bin)"
}

# The newer build over the running one, with root and alice streaming
# TCP over the socket and the rings: the postinst restarts the service
# (a hand-over: every client goes on), the socket stays up, the admin's
# zcsendd.conf stays and the changed shipped one goes beside it.
step_pkg_upgrade() {
	local pid name
	streams_start up "the upgrade"
	pid=$(mainpid)
	# shellcheck disable=SC2046
	apt_step "apt install the newer build (upgrade in place)" install $(debs new)
	case $(pkg_version zcsendd) in
	*+2" ii ") pass "zcsendd upgraded: $(pkg_version zcsendd)" ;;
	*) fail "zcsendd upgraded" "$(pkg_version zcsendd)" ;;
	esac
	[ -n "$pid" ] && [ "$pid" != 0 ] && [ "$(mainpid)" != "$pid" ] &&
		systemctl is-active -q zcsendd &&
		pass "the upgrade restarted zcsendd (MainPID $pid -> $(mainpid))" ||
		fail "the upgrade restarted zcsendd" "MainPID $pid -> $(mainpid), $(systemctl is-active zcsendd)"
	sleep 1	# streaming on through the new process
	touch $R/up.stop
	for name in "${STREAMS[@]}"; do
		stream_end "$name" && pass "$name: streamed across the upgrade, every byte ($OUT)" ||
			fail "$name: streamed across the upgrade" "$OUT"
	done
	journal_has "the upgrade's hand-over in the journal" "0.1.0+2" \
		MESSAGE_ID=7a2a54e8abdc4d1baca8a9fcd2129148
	grep -q '^allowed_groups = zcsend' $CONF && ! grep -q check-boot $CONF &&
		grep -q '^# check-boot' $CONF.dpkg-dist &&
		pass "the admin's $CONF kept, the new one in $CONF.dpkg-dist" ||
		fail "the admin's $CONF kept" "$(ls $CONF* | tr '\n' ' ')"
	send_as "alice sends after the upgrade" alice
}

# apt remove: units stopped and gone, the config kept; apt purge: the
# config gone too. Then nothing of zcsendd runs.
step_pkg_remove() {
	local out
	apt_step "apt remove zcsendd" remove zcsendd
	out=$(systemctl is-active zcsendd.socket zcsendd.service zcsendd-exporter 2>&1 | tr '\n' ' ')
	[ "$out" = "inactive inactive inactive " ] && pass "remove stopped the socket and the service" ||
		fail "remove stopped the socket and the service" "$out"
	out=$(systemctl list-unit-files 'zcsendd*' --no-legend 2>&1)
	[ -z "$out" ] && pass "remove: no zcsendd unit left to enable or start" ||
		fail "remove: no zcsendd unit left" "$out"
	case $(pkg_version zcsendd) in
	*" rc ") grep -q '^allowed_groups = zcsend' $CONF &&
		pass "remove kept $CONF ($(pkg_version zcsendd))" ||
		fail "remove kept $CONF" "$(ls -l $CONF 2>&1)" ;;
	*) fail "zcsendd removed, its config kept" "$(pkg_version zcsendd)" ;;
	esac
	apt_step "apt purge the four packages" purge "${PKGS[@]}"
	[ ! -e /etc/zcsendd ] && pass "purge removed /etc/zcsendd" ||
		fail "purge removed /etc/zcsendd" "$(ls -la /etc/zcsendd)"
	out=$(dpkg-query -W -f '${Package} ${db:Status-Abbrev}\n' "${PKGS[@]}" 2>&1 | grep -v 'no packages found')
	[ -z "$out" ] && pass "dpkg knows none of the four any more" ||
		fail "dpkg knows none of the four any more" "$out"
	out=$(find /etc/systemd/system -name 'zcsendd*' 2>&1)
	[ -z "$out" ] && pass "no zcsendd symlink left in /etc/systemd/system" ||
		fail "no zcsendd symlink left in /etc/systemd/system" "$out"
	out=$(pgrep -a zcsendd; systemctl list-units --all --no-legend 'zcsendd*'; ls $SOCK 2>/dev/null)
	[ -z "$out" ] && pass "nothing of zcsendd left running (no process, unit or socket)" ||
		fail "nothing of zcsendd left running" "$out"
}

if [ "${1:-}" = packages ]; then
	step_pkg_install
	step_pkg_upgrade
	step_pkg_remove
	echo "$passed passed, $failed failed"
	[ $failed -eq 0 ]
	exit
fi

setup
step_start
step_sends
step_reload
step_stop
step_activation
step_kill
step_crash_tells
step_restart_store
step_restart_keeps
step_limits
step_journal
step_security
step_exporter
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
