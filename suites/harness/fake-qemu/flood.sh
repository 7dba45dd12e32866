#!/bin/sh
# A guest that prints terminal control bytes (clear screen, retitle, NUL) and then one endless
# line: FLOOD_BYTES bytes of it (default 50 MB), then hangs — or exits when FLOOD_EXIT is set
# (a cut log whose last line is the long one).
. "$(dirname "$0")/lib.sh"
cat "$HERE/canned/firmware.log" >>"$FIRMWARE"
printf 'Linux version 6.1.0 (fake)\n\033[2J\033]0;pwned\007\000' >>"$SERIAL"
head -c "${FLOOD_BYTES:-50000000}" /dev/zero | tr '\0' 'A' >>"$SERIAL"
[ -n "$FLOOD_EXIT" ] && exit 0
exec sleep 1000
