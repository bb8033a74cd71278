#!/bin/bash
# SPDX-License-Identifier: MIT
# Make, once, the minimal Debian 12 tree that `make check-boot` boots:
# debootstrap's minbase plus systemd, dbus and the libraries zcsendd and
# libzcsend link. The tree is kept (it takes minutes to make) and reused;
# a half-made one is thrown away and made again.
# Usage: tests/boot/mktree.sh DIR [MIRROR]
set -eu
DIR=$1
MIRROR=${2:-http://deb.debian.org/debian}
PKGS=systemd,dbus,liburing2,libevent-core-2.1-7,libevent-extra-2.1-7,libsystemd0,libinih1,procps

# The stamp names the packages: a tree made with another list is remade.
if [ -f "$DIR/.zcs-tree-ok" ] && [ "$(cat "$DIR/.zcs-tree-ok")" = "$PKGS" ]; then
	exit 0
fi
command -v debootstrap >/dev/null || {
	echo "check-boot: no debootstrap (apt-get install debootstrap systemd-container)" >&2
	exit 1
}
rm -rf "$DIR"
mkdir -p "$(dirname "$DIR")"
echo "  BOOT   debootstrap bookworm into $DIR (once; about a minute)"
debootstrap --variant=minbase --include="$PKGS" bookworm "$DIR" "$MIRROR" \
	>"$DIR.log" 2>&1 || {
	tail -20 "$DIR.log" >&2
	exit 1
}
# A root without a password; nspawn checks for os-release and init.
chroot "$DIR" passwd -d root >/dev/null
echo zcs-boot >"$DIR/etc/hostname"
echo "$PKGS" >"$DIR/.zcs-tree-ok"
