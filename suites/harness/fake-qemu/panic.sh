#!/bin/sh
# The kernel panics, then the machine sits there (as with a guest lacking panic=-1).
. "$(dirname "$0")/lib.sh"
cat "$HERE/canned/firmware.log" >>"$FIRMWARE"
sed -n '1,/^\[    0.9/p' "$HERE/canned/serial.log" | head -n 8 >>"$SERIAL"
cat >>"$SERIAL" <<'LOG'
[    1.018232] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)
[    1.018512] CPU: 0 PID: 1 Comm: swapper/0 Not tainted 6.1.0-31-cloud-amd64 #1  Debian 6.1.128-1
[    1.018802] Call Trace:
[    1.018900]  <TASK>
LOG
hang
