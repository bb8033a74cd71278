#!/bin/bash
# SPDX-License-Identifier: MIT
# What the user reads says what the code does, for the numbers that drifted
# once (issue 16): the spin default in zcsend.h and libzcsend.3 is
# ZCSI_SPIN_USEC, and the header version PROTOCOL.md states is
# ZCS_PROTO_VERSION. Reads the sources, so it needs no build.
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
bad=0

# define_of FILE NAME: the number a #define gives NAME.
define_of() {
	sed -n "s/^#define[[:space:]]*$2[[:space:]]*\([0-9][0-9]*\).*/\1/p" "$1"
}

spin=$(define_of "$SRC/client/libzcsend_int.h" ZCSI_SPIN_USEC)
[ -n "$spin" ] || { echo "FAIL: no ZCSI_SPIN_USEC in libzcsend_int.h"; exit 1; }
# zcsend.h: the "Default: N" in zcs_set_spin_usec's comment.
hdr=$(sed -n '/zcs_set_spin_usec - /,/^int zcs_set_spin_usec/p' \
	"$SRC/client/include/zcsend.h" | tr '\n' ' ' |
	sed -n 's/.*Default: *\([0-9][0-9]*\).*/\1/p')
# libzcsend.3: "The default is N." under zcs_set_spin_usec.
man=$(sed -n '/^\.BR zcs_set_spin_usec ()$/,/^\.TP/p' "$SRC/client/libzcsend.3" |
	sed -n 's/^The default is \([0-9][0-9]*\).*/\1/p')
echo "spin default: code $spin, zcsend.h ${hdr:-none}, libzcsend.3 ${man:-none}"
[ "$hdr" = "$spin" ] || { echo "FAIL: zcsend.h says the spin default is ${hdr:-nothing}, the code $spin"; bad=1; }
[ "$man" = "$spin" ] || { echo "FAIL: libzcsend.3 says the spin default is ${man:-nothing}, the code $spin"; bad=1; }

ver=$(define_of "$SRC/proto/zcs_proto.h" ZCS_PROTO_VERSION)
title=$(sed -n '1s/.*version \([0-9][0-9]*\).*/\1/p' "$SRC/proto/PROTOCOL.md")
field=$(sed -n 's/^| version *| u8 *| `ZCS_PROTO_VERSION` (\([0-9][0-9]*\)).*/\1/p' \
	"$SRC/proto/PROTOCOL.md")
echo "protocol version: code $ver, PROTOCOL.md title ${title:-none}, header table ${field:-none}"
[ -n "$ver" ] || { echo "FAIL: no ZCS_PROTO_VERSION in zcs_proto.h"; exit 1; }
[ "$title" = "$ver" ] || { echo "FAIL: PROTOCOL.md's title says version ${title:-nothing}, zcs_proto.h $ver"; bad=1; }
[ "$field" = "$ver" ] || { echo "FAIL: PROTOCOL.md's header table says version ${field:-nothing}, zcs_proto.h $ver"; bad=1; }
[ $bad -eq 0 ] || exit 1
echo "docs-match: ok"
