#!/bin/sh
# Prints everything, then the "guest" never powers off: the runner must kill it after its grace.
. "$(dirname "$0")/lib.sh"
cat "$HERE/canned/firmware.log" >>"$FIRMWARE"
cat "$HERE/canned/serial.log" >>"$SERIAL"
hang
