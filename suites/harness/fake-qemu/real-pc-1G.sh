#!/bin/sh
# Replays a real boot (QEMU 7.2, SeaBIOS 1.16.2, Debian cloud kernel 6.1.0-56, `-M pc -m 1G`,
# captured by harness/capture.ts with --keep-logs), so capture + parsers run end to end in ms.
. "$(dirname "$0")/lib.sh"
cat "$HERE/canned/real-pc-1G.firmware.log" >>"$FIRMWARE"
cat "$HERE/canned/real-pc-1G.serial.log" >>"$SERIAL"
exit 0
