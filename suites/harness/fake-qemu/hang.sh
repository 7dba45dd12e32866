#!/bin/sh
# Hangs inside the dmesg section, after SeaBIOS, the kernel and init have started.
. "$(dirname "$0")/lib.sh"
cat "$HERE/canned/firmware.log" >>"$FIRMWARE"
sed -n '1,/^==E820== BEGIN dmesg/p' "$HERE/canned/serial.log" >>"$SERIAL"
hang
