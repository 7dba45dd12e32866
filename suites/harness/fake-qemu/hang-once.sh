#!/bin/sh
# Hangs (inside dmesg, like hang.sh) on its first FAKE_HANGS boots (default 1), then boots like
# real-pc-1G.sh. Boots are counted in FAKE_QEMU_COUNTER (a file holding a number), so a retried
# cell sees a second QEMU that behaves differently.
if [ "$1" = --version ]; then echo 'QEMU emulator version 7.2.22 (fake)'; exit 0; fi
. "$(dirname "$0")/lib.sh"
n=$(( $(cat "$FAKE_QEMU_COUNTER" 2>/dev/null || echo 0) + 1 ))
echo "$n" >"$FAKE_QEMU_COUNTER"
cat "$HERE/canned/real-pc-1G.firmware.log" >>"$FIRMWARE"
if [ "$n" -le "${FAKE_HANGS:-1}" ]; then
  sed -n '1,/^==E820== BEGIN dmesg/p' "$HERE/canned/real-pc-1G.serial.log" >>"$SERIAL"
  hang
fi
cat "$HERE/canned/real-pc-1G.serial.log" >>"$SERIAL"
exit 0
