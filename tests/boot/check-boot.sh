#!/bin/bash
# SPDX-License-Identifier: MIT
# make check-boot: boot a minimal Debian 12 tree with systemd-nspawn and
# run tests/boot/scenario.sh inside as root, the way an admin would use the
# service under a real systemd (252), in two stages ($ZCS_BOOT_STAGES):
# "install", the build put in with `make install`, and "packages", the
# .debs of `make deb` through apt's install, upgrade, remove and purge.
# The debootstrapped tree is made once and kept under $ZCS_BOOT_CACHE
# (default ${XDG_CACHE_HOME:-~/.cache}/zcsendd/boot-bookworm), the
# packages stage's layer beside it; each stage boots a throwaway overlay.
# Needs root. Everything mounted lives in a private mount namespace.
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
# poweroff: the container of the stage that runs, if any.
poweroff() {
	if [ -n "$INIT" ] && kill -0 "$INIT" 2>/dev/null; then
		kill -RTMIN+3 "$INIT"	# systemd: poweroff
	fi
	if [ -n "$NSPID" ]; then
		for _ in $(seq 300); do kill -0 "$NSPID" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$NSPID" 2>/dev/null && kill -KILL "$NSPID"
		wait "$NSPID" 2>/dev/null
	fi
	NSPID='' INIT=''
}
cleanup() {
	poweroff
	umount "$W"/*/root 2>/dev/null
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

# overlay STAGE LOWER: a throwaway root for STAGE over LOWER, in $W/STAGE/root.
overlay() {
	mkdir -p "$W/$1/upper" "$W/$1/work" "$W/$1/root"
	mount -t overlay overlay -o "lowerdir=$2,upperdir=$W/$1/upper,workdir=$W/$1/work" \
		"$W/$1/root" || die "cannot mount an overlay of $2"
	mkdir -p "$W/$1/root/zcs-boot"
	cp "$HERE/scenario.sh" "$BUILD/tests/zcs-recv" "$BUILD/tests/zcs-stream" \
		"$BUILD/tests/zcs-hold" "$BUILD/tests/boot/rlimit-probe" \
		"$SRC/client/example.c" "$W/$1/root/zcs-boot/"
}

# boot STAGE: systemd in $W/STAGE/root until it is up; sets NSPID, INIT.
boot() {
	local root=$W/$1/root log=$W/$1/console.log t1 ns p state
	t1=$(date +%s)
	systemd-nspawn --register=no --keep-unit --private-network -b -D "$root" \
		--console=read-only >"$log" 2>&1 </dev/null &
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
		kill -0 "$NSPID" 2>/dev/null || die "systemd-nspawn: $(tail -5 "$log")"
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
	*) die "the container did not boot ($state): $(tail -5 "$log")" ;;
	esac
	echo "  BOOT   Debian 12 up in $(elapsed "$t1") s ($1: $state, $(nsenter -t "$INIT" -a systemctl --version | head -1))"
}

PASSED=0 FAILED=0
# scenario STAGE ARGS...: scenario.sh ARGS in the booted STAGE; adds its
# counts to PASSED and FAILED.
scenario() {
	local stage=$1 out=$W/$1/scenario.out t2 rc summary
	shift
	t2=$(date +%s)
	timeout -k 10 900 nsenter -t "$INIT" -a /bin/bash /zcs-boot/scenario.sh "$@" >"$out" 2>&1
	rc=$?
	grep -v ' passed, .* failed$' "$out"
	[ $rc -eq 124 ] && echo "FAIL $stage: scenario timed out"
	echo "check-boot: $stage scenario $(elapsed "$t2") s"
	summary=$(tail -1 "$out")
	case $summary in
	*" passed, "*" failed")
		set -- $summary
		PASSED=$((PASSED + $1)) FAILED=$((FAILED + $3)) ;;
	*) FAILED=$((FAILED + 1)) ;;
	esac
	[ $rc -eq 0 ] || [ $FAILED -gt 0 ] || FAILED=1
}

# Stage install: `make install PREFIX=/usr` into the tree, and the service
# scenario as an admin runs it after that.
stage_install() {
	overlay install "$CACHE"
	make --no-print-directory -C "$SRC" BUILD="$BUILD" install DESTDIR="$W/install/root" \
		PREFIX=/usr >"$W/install/make.log" 2>&1 ||
		die "make install: $(tail -5 "$W/install/make.log")"
	boot install
	scenario install
	poweroff
}

# Stage packages: in a tree where nothing of zcsendd was ever installed,
# the apt life cycle of the .debs (`make deb`), and an upgrade to a build
# of this tree one version newer whose shipped zcsendd.conf changed (so
# dpkg's conffile prompt comes up). mklayer.sh adds the compiler and
# python3 in a layer of their own.
stage_packages() {
	local deb=$W/packages/root/zcs-boot/deb
	"$HERE/mklayer.sh" "$CACHE" "$CACHE.pkg" ||
		die "cannot add the package stage's layer to $CACHE"
	overlay packages "$CACHE.pkg/upper:$CACHE"
	make --no-print-directory -C "$SRC" deb DEB_DIR="$deb/old" \
		>"$W/packages/deb.log" 2>&1 &&
		make --no-print-directory -C "$SRC" deb DEB_DIR="$deb/new" \
			DEB_VERSION_SUFFIX=+2 \
			DEB_CONF_NOTE='# check-boot: a shipped config that changed' \
			>>"$W/packages/deb.log" 2>&1 ||
		die "make deb: $(tail -5 "$W/packages/deb.log")"
	echo "  BOOT   make deb: $(cd "$deb" && echo */*.deb)"
	boot packages
	scenario packages packages
	poweroff
}

for stage in ${ZCS_BOOT_STAGES:-install packages}; do
	"stage_$stage"
done
echo "check-boot: all $(elapsed "$T0") s"
echo "$PASSED passed, $FAILED failed"
[ $FAILED -eq 0 ]
