#!/bin/sh
# A boot that goes well: firmware log, full console log ending in ==E820== DONE, exit 0.
. "$(dirname "$0")/lib.sh"
cat "$HERE/canned/firmware.log" >>"$FIRMWARE"
# In two parts, so the runner has to follow a growing file.
head -n 20 "$HERE/canned/serial.log" >>"$SERIAL"
sleep 0.1
tail -n +21 "$HERE/canned/serial.log" >>"$SERIAL"
exit 0
