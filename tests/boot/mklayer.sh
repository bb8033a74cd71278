#!/bin/bash
# SPDX-License-Identifier: MIT
# Make, once, the layer check-boot's package stage puts over mktree.sh's
# tree: what the life cycle needs beyond it (a C compiler and pkg-config to
# build client/example.c, python3 for python3-zcsend). A layer of its own,
# so that the tree stays without build packages (check-fresh needs that).
# apt-get runs in a chroot on an overlay, with this machine's network.
# Usage: tests/boot/mklayer.sh TREE LAYER (the layer is LAYER/upper)
set -eu
TREE=$1
LAYER=$2
PKGS="gcc libc6-dev pkg-config python3"

# Remade when the list or the tree under it changes.
STAMP="$PKGS $(stat -c %Y "$TREE/.zcs-tree-ok")"
if [ -f "$LAYER/.zcs-layer-ok" ] && [ "$(cat "$LAYER/.zcs-layer-ok")" = "$STAMP" ]; then
	exit 0
fi
rm -rf "$LAYER"
mkdir -p "$LAYER/upper" "$LAYER/work" "$LAYER/root"
R=$LAYER/root
echo "  BOOT   apt-get install $PKGS into $LAYER (once)"
# In a mount namespace of our own: everything mounted goes with it.
unshare -m --propagation private /bin/bash -eu -c '
	mount -t overlay overlay -o "lowerdir=$1,upperdir=$2/upper,workdir=$2/work" "$3"
	mount -t proc proc "$3/proc" && mount --rbind /dev "$3/dev"
	mount -t tmpfs -o mode=0755 tmpfs "$3/run"
	# The host resolver and proxy, for this chroot only (not kept).
	mount -t tmpfs tmpfs "$3/mnt" && cp -L /etc/resolv.conf "$3/mnt/resolv.conf"
	mount --bind "$3/mnt/resolv.conf" "$3/etc/resolv.conf"
	apt-config dump | grep -i "^Acquire::[a-z]*::proxy" >"$3/mnt/proxy.conf" || :
	chroot "$3" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
		DEBIAN_FRONTEND=noninteractive /bin/sh -c "apt-get -c /mnt/proxy.conf \
		update -qq && apt-get -c /mnt/proxy.conf install -y -qq \
		--no-install-recommends $4 && apt-get clean"
' mklayer "$TREE" "$LAYER" "$R" "$PKGS" >"$LAYER.log" 2>&1 || {
	tail -20 "$LAYER.log" >&2
	exit 1
}
rm -rf "$LAYER/work" "$LAYER/root"
echo "$STAMP" >"$LAYER/.zcs-layer-ok"
