#!/bin/sh
# A guest that prints terminal control bytes (clear screen, retitle, NUL) and then one endless
# line: FLOOD_BYTES bytes of it (default 50 MB), then hangs — or exits when FLOOD_EXIT is set
# (a cut log whose last line is the long one).
# --version and -M help: what --qemu-binary's version detection asks (harness/user-toolchain.ts).
if [ "$1" = --version ]; then echo 'QEMU emulator version 7.2.22 (fake)'; exit 0; fi
if [ "$1" = -M ] && [ "$2" = help ]; then echo 'pc-i440fx-7.2        Standard PC (i440FX + PIIX, 1996) (default)'; exit 0; fi
. "$(dirname "$0")/lib.sh"
cat "$HERE/canned/firmware.log" >>"$FIRMWARE"
printf 'Linux version 6.1.0 (fake)\n\033[2J\033]0;pwned\007\000' >>"$SERIAL"
head -c "${FLOOD_BYTES:-50000000}" /dev/zero | tr '\0' 'A' >>"$SERIAL"
[ -n "$FLOOD_EXIT" ] && exit 0
exec sleep 1000
