#!/bin/sh
# The real pc-1G console replay, but SeaBIOS's debug log is random bytes (a broken debug port,
# a firmware that logs elsewhere): the firmware layer is unobserved, and the cell must not pass.
. "$(dirname "$0")/lib.sh"
head -c 4096 /dev/urandom >>"$FIRMWARE"
cat "$HERE/canned/real-pc-1G.serial.log" >>"$SERIAL"
exit 0
