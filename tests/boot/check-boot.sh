#!/bin/bash
# SPDX-License-Identifier: MIT
# make check-boot: install the build into a minimal Debian 12 tree, boot it
# with systemd-nspawn, and run tests/boot/scenario.sh inside as root, the
# way an admin would use the service under a real systemd (252).
# The debootstrapped tree is made once and kept under $ZCS_BOOT_CACHE
# (default ${XDG_CACHE_HOME:-~/.cache}/zcsendd/boot-bookworm); each run
# boots a throwaway overlay of it. Needs root. Everything mounted lives
# in a private mount namespace and goes with it.
# Last line: "N passed, N failed"; exit status non-zero on any failure.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$SRC/$BUILD ;; esac
CACHE=${ZCS_BOOT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/zcsendd/boot-bookworm}
T0=$(date +%s)

die() {
	echo "check-boot: $*"
	echo "0 passed, 1 failed"
	exit 1
}
elapsed() { echo $(($(date +%s) - $1)); }

[ "$(id -u)" = 0 ] || die "needs root (debootstrap, mounts, systemd-nspawn)"
for f in zcsendd zcsendctl tests/zcs-recv tests/zcs-stream tests/zcs-hold \
	tests/boot/rlimit-probe; do
	[ -x "$BUILD/$f" ] || die "$BUILD/$f not built (run it through make check-boot)"
done
if ! command -v systemd-nspawn >/dev/null || ! command -v debootstrap >/dev/null; then
	echo "  BOOT   apt-get install systemd-container debootstrap"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		systemd-container debootstrap >/dev/null || die "cannot install systemd-container debootstrap"
fi

# Everything below in a mount namespace of our own.
if [ -z "${ZCS_BOOT_NS:-}" ]; then
	ZCS_BOOT_NS=1 exec unshare -m --propagation private "$0" "$@"
fi

"$HERE/mktree.sh" "$CACHE" || die "cannot make the Debian 12 tree in $CACHE"
W=$(mktemp -d "${TMPDIR:-/var/tmp}/zcs-boot.XXXXXX") || die "mktemp"
NSPID='' INIT=''
cleanup() {
	if [ -n "$INIT" ] && kill -0 "$INIT" 2>/dev/null; then
		kill -RTMIN+3 "$INIT"	# systemd: poweroff
	fi
	if [ -n "$NSPID" ]; then
		for _ in $(seq 300); do kill -0 "$NSPID" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$NSPID" 2>/dev/null && kill -KILL "$NSPID"
		wait "$NSPID" 2>/dev/null
	fi
	umount "$W/root" 2>/dev/null
	[ -n "${ZCS_BOOT_KEEP:-}" ] && echo "check-boot: kept $W" || rm -rf "$W"
}
trap cleanup EXIT

# What systemd-nspawn needs from a host whose PID 1 is not systemd.
mkdir -p /run/systemd/nspawn && mount -t tmpfs -o mode=0755 tmpfs /run/systemd/nspawn ||
	die "cannot mount a tmpfs on /run/systemd/nspawn"
if [ ! -e /run/systemd/inaccessible/sock ]; then
	mkdir -p /run/systemd/inaccessible &&
		mount -t tmpfs -o mode=0755 tmpfs /run/systemd/inaccessible || die "inaccessible"
	(cd /run/systemd/inaccessible && touch reg && mkdir dir && mknod chr c 0 0 &&
		mknod blk b 0 0 && mkfifo fifo &&
		python3 -c 'import socket; socket.socket(socket.AF_UNIX).bind("sock")' &&
		chmod 0000 reg dir chr blk fifo sock) || die "cannot make /run/systemd/inaccessible"
fi

mkdir -p "$W/upper" "$W/work" "$W/root"
mount -t overlay overlay -o "lowerdir=$CACHE,upperdir=$W/upper,workdir=$W/work" \
	"$W/root" || die "cannot mount an overlay of $CACHE"
make --no-print-directory -C "$SRC" BUILD="$BUILD" install DESTDIR="$W/root" \
	PREFIX=/usr >"$W/install.log" 2>&1 || die "make install: $(tail -5 "$W/install.log")"
mkdir -p "$W/root/zcs-boot"
cp "$HERE/scenario.sh" "$BUILD/tests/zcs-recv" "$BUILD/tests/zcs-stream" \
	"$BUILD/tests/zcs-hold" "$BUILD/tests/boot/rlimit-probe" "$W/root/zcs-boot/"

T1=$(date +%s)
systemd-nspawn --register=no --keep-unit --private-network -b -D "$W/root" \
	--console=read-only >"$W/console.log" 2>&1 </dev/null &
NSPID=$!
# The container's PID 1 is the child of systemd-nspawn in a new PID
# namespace (a first child in ours comes and goes while it sets up).
MYNS=$(readlink /proc/self/ns/pid)
for _ in $(seq 100); do
	INIT=
	for p in $(pgrep -P "$NSPID"); do
		ns=$(readlink "/proc/$p/ns/pid" 2>/dev/null) || continue
		[ "$ns" != "$MYNS" ] && INIT=$p && break
	done
	[ -n "$INIT" ] && break
	kill -0 "$NSPID" 2>/dev/null || die "systemd-nspawn: $(tail -5 "$W/console.log")"
	sleep 0.1
done
[ -n "$INIT" ] || die "no init in the container"
# Until it has exec'd systemd and systemd has its socket up, systemctl
# says "offline" or cannot connect.
for _ in $(seq 90); do
	state=offline
	[ "$(cat "/proc/$INIT/comm" 2>/dev/null)" = systemd ] &&
		state=$(timeout 90 nsenter -t "$INIT" -a systemctl is-system-running --wait 2>&1)
	case $state in *"connect to bus"* | offline) sleep 1 ;; *) break ;; esac
done
case $state in
running | degraded) ;;
*) die "the container did not boot ($state): $(tail -5 "$W/console.log")" ;;
esac
echo "  BOOT   Debian 12 up in $(elapsed "$T1") s ($state, $(nsenter -t "$INIT" -a systemctl --version | head -1))"

T2=$(date +%s)
timeout -k 10 900 nsenter -t "$INIT" -a /bin/bash /zcs-boot/scenario.sh >"$W/scenario.out" 2>&1
rc=$?
grep -v ' passed, .* failed$' "$W/scenario.out"
[ $rc -eq 124 ] && echo "FAIL scenario timed out"
echo "check-boot: scenario $(elapsed "$T2") s, all $(elapsed "$T0") s"
summary=$(tail -1 "$W/scenario.out")
case $summary in
*" passed, "*" failed") echo "$summary" ;;
*) echo "0 passed, 1 failed"; rc=1 ;;
esac
exit $rc
