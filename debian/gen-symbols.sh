#!/bin/sh
# SPDX-License-Identifier: MIT
# Print debian/libzcsend1.symbols from a built libzcsend.so.1: each symbol
# under the node of client/libzcsend.map that exports it, with the package
# version that first shipped that node (from the map's git history).
# Usage: debian/gen-symbols.sh build/libzcsend.so.1 > debian/libzcsend1.symbols
# The package build checks the file (dpkg-gensymbols -c4): rerun this when
# the map gains a node, and add the node's version below.
set -eu
LIB=$1

# Node -> first version. All four came in while the Makefile said 0.1.0:
# ZCSEND_1 27345df, 1.1 a180b66, 1.2 025f69e, 1.3 89d11a4 and 776a7d0.
node_version() {
	case $1 in
	ZCSEND_1 | ZCSEND_1.1 | ZCSEND_1.2 | ZCSEND_1.3) echo 0.1.0 ;;
	*) echo "gen-symbols: no version for node $1" >&2; exit 1 ;;
	esac
}

echo "libzcsend.so.1 libzcsend1 #MINVER#"
echo "* Build-Depends-Package: libzcsend-dev"
objdump -T "$LIB" | awk 'NF >= 2 && $(NF-1) ~ /^ZCSEND_/ { print $NF, $(NF-1) }' |
	LC_ALL=C sort | while read -r sym node; do
	v=$(node_version "$node") || exit 1
	echo " $sym@$node $v"
done
