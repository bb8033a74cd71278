#!/bin/bash
# SPDX-License-Identifier: MIT
# make check-fresh: what a newcomer sees. In a throwaway overlay of the
# Debian 12 tree check-boot caches (no build package in it), a fresh clone
# of this repository runs the README's first sh block as written, as root,
# with this machine's network and apt sources; it must end with `demo OK`
# and "N passed, 0 failed". ZCS_FRESH_REF picks the commit (default HEAD).
# Needs root. Every mount and process lives in namespaces that go with it.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
CACHE=${ZCS_BOOT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/zcsendd/boot-bookworm}
REF=${ZCS_FRESH_REF:-HEAD}
# What any machine has that can follow the README: make to run it, git
# to have cloned. Nothing of `make deps` may be there before it runs.
PREREQ="make git"
BUILD_DEBS="build-essential gcc cc pkg-config liburing-dev libevent-dev \
	libsystemd-dev libinih-dev"
T0=$(date +%s)

die() {
	echo "check-fresh: $*"
	echo "0 passed, 1 failed"
	exit 1
}
elapsed() { echo $(($(date +%s) - $1)); }

[ "$(id -u)" = 0 ] || die "needs root (debootstrap, mounts, chroot)"
if ! command -v debootstrap >/dev/null; then
	echo "  FRESH  apt-get install debootstrap"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		debootstrap >/dev/null || die "cannot install debootstrap"
fi
COMMIT=$(git -C "$SRC" rev-parse --verify -q "$REF^{commit}") ||
	die "no commit $REF in $SRC"

# A mount namespace, and a PID namespace whose end kills whatever the
# tests left running in the root.
if [ -z "${ZCS_FRESH_NS:-}" ]; then
	ZCS_FRESH_NS=1 exec unshare -m -p -f --mount-proc --propagation private \
		"$0" "$@"
fi

"$HERE/../boot/mktree.sh" "$CACHE" || die "cannot make the Debian 12 tree in $CACHE"
W=$(mktemp -d "${TMPDIR:-/var/tmp}/zcs-fresh.XXXXXX") || die "mktemp"
R=$W/root
cleanup() {
	umount -R "$R" 2>/dev/null
	# Never into a mount (/dev is the host's): only W's own filesystem.
	if [ -n "${ZCS_FRESH_KEEP:-}" ]; then
		echo "check-fresh: kept $W"
	elif mountpoint -q "$R"; then
		echo "check-fresh: $R still mounted; left $W"
	else
		rm -rf --one-file-system "$W"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$W/upper" "$W/work" "$R"
mount -t overlay overlay -o "lowerdir=$CACHE,upperdir=$W/upper,workdir=$W/work" "$R" ||
	die "cannot mount an overlay of $CACHE"
mount -t proc proc "$R/proc" && mount -t sysfs sysfs "$R/sys" &&
	mount --rbind /dev "$R/dev" && mount -t tmpfs -o mode=0755 tmpfs "$R/run" ||
	die "cannot mount /proc, /sys, /dev and /run in the root"
# Debian's archive the way this machine reaches it.
rm -f "$R/etc/resolv.conf" "$R/etc/apt/sources.list"
cp -L /etc/resolv.conf "$R/etc/resolv.conf" || die "no /etc/resolv.conf"
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
	/etc/apt/sources.list.d/*.sources /etc/apt/apt.conf.d/*proxy*; do
	[ -f "$f" ] && { cp "$f" "$R$f" || die "cp $f"; }
done
# The host's Acquire::*::Proxy too, whichever file sets it.
apt-config dump 2>/dev/null | grep -i '^Acquire::[a-z]*::proxy' \
	>"$R/etc/apt/apt.conf.d/90zcs-host-proxy"

in_root() {
	chroot "$R" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		/bin/bash -c "$1"
}

echo "  FRESH  apt-get install $PREREQ (what the README takes for granted)"
in_root "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install \
	-y -qq --no-install-recommends $PREREQ" >"$W/prereq.log" 2>&1 ||
	die "apt-get install $PREREQ in the root: $(tail -5 "$W/prereq.log")"
# shellcheck disable=SC2086
present=$(in_root "dpkg-query -W -f='\${Package} \${Status}\n' $BUILD_DEBS \
	2>/dev/null | awk '/ installed\$/ { print \$1 }'; command -v pkg-config cc gcc")
[ -z "$present" ] || die "the root is not fresh, it has: $(echo "$present" | tr "\n" " ")"

git clone -q --no-checkout "$SRC" "$R/root/zcsendd" &&
	git -C "$R/root/zcsendd" checkout -q --detach "$COMMIT" ||
	die "cannot clone $SRC at $COMMIT"
echo "  FRESH  clone of $(git -C "$SRC" log -1 --format='%h %s' "$COMMIT" | cut -c1-60)"

# The README's first sh block, each line as written (comments dropped).
cmds=$(awk '/^```sh$/ { on = 1; next } on && /^```/ { exit } on' \
	"$R/root/zcsendd/README.md" | sed 's/[[:space:]]*#.*//; /^[[:space:]]*$/d')
[ -n "$cmds" ] || die "no sh block in the README"
T1=$(date +%s)
rc=0
while IFS= read -r cmd; do
	echo "  FRESH  # $cmd"
	in_root "cd /root/zcsendd && $cmd" </dev/null 2>&1 | tee -a "$W/readme.log"
	rc=${PIPESTATUS[0]}
	[ "$rc" -eq 0 ] || { echo "check-fresh: '$cmd' exited $rc"; break; }
done <<<"$cmds"
echo "check-fresh: README $(elapsed "$T1") s, all $(elapsed "$T0") s"

grep -qx 'demo OK' "$W/readme.log" || { echo "FAIL no 'demo OK'"; rc=1; }
summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$W/readme.log" | tail -1)
case $summary in
"" | "0 passed, "*) echo "FAIL no test passed"; rc=1 ;;
*" passed, 0 failed" | *" passed, 0 failed, "*" skipped") ;;
*) rc=1 ;;
esac
if [ $rc -eq 0 ]; then
	echo "check-fresh: demo OK"
	echo "$summary"
else
	echo "check-fresh: FAILED"
	echo "${summary:-0 passed, 1 failed}" | grep -v ' 0 failed' || echo "0 passed, 1 failed"
	rc=1
fi
exit $rc
