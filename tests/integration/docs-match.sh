#!/bin/bash
# SPDX-License-Identifier: MIT
# What the user reads says what the code does, for the numbers that drifted
# once (issue 16): the spin default in zcsend.h and libzcsend.3 is
# ZCSI_SPIN_USEC, and the header version PROTOCOL.md states is
# ZCS_PROTO_VERSION. And for what is added (issue 19): every message type
# zcs_proto.h defines is a row of PROTOCOL.md's table with its number, and
# every zcsendctl command has its section in zcsendctl.1 and (but help)
# its line in the README's command list. Reads the sources, so it needs
# no build.
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

# Message types: "#define ZCS_MSG_NAME N" -> "| NAME | N |".
types=$(sed -n 's/^#define[[:space:]]*ZCS_MSG_\([A-Z_]*\)[[:space:]]*\([0-9][0-9]*\)[[:space:]]*\/\*.*/\1 \2/p' \
	"$SRC/proto/zcs_proto.h")
[ "$(echo "$types" | wc -l)" -ge 20 ] || { echo "FAIL: no message types in zcs_proto.h"; exit 1; }
while read -r name num; do
	grep -Eq "^\| $name +\| $num \|" "$SRC/proto/PROTOCOL.md" ||
		{ echo "FAIL: PROTOCOL.md's table has no row for $name ($num)"; bad=1; }
done <<<"$types"
echo "message types: $(echo "$types" | wc -l) in zcs_proto.h"

# zcsendctl commands: the names of cmds[] in zcsendctl.c.
cmds=$(sed -n '/^} cmds\[\] = {/,/^};/s/^\t{ "\([a-z]*\)", cmd_.*/\1/p' \
	"$SRC/client/zcsendctl.c")
[ "$(echo "$cmds" | wc -w)" -ge 6 ] || { echo "FAIL: no command table in zcsendctl.c"; exit 1; }
for cmd in $cmds; do
	grep -Eq "^\.SS $cmd( |\$)" "$SRC/client/zcsendctl.1" ||
		{ echo "FAIL: zcsendctl.1 has no section for $cmd"; bad=1; }
	[ "$cmd" = help ] && continue
	grep -Eq "^zcsendctl \[-s PATH\] $cmd( |\$)" "$SRC/README.md" ||
		{ echo "FAIL: README's command list lacks $cmd"; bad=1; }
done
echo "zcsendctl commands: $(echo $cmds)"
[ $bad -eq 0 ] || exit 1
echo "docs-match: ok"
