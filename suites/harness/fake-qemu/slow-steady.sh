#!/bin/sh
# A busy machine's boot: the real pc-1G boot (real-pc-1G.sh's logs), but the console arrives in
# 50-line pieces FAKE_CHUNK_DELAY seconds apart (default 0.2: about 3 s in all). It never goes
# quiet for long, so a stall deadline shorter than the whole boot must not end it.
if [ "$1" = --version ]; then echo 'QEMU emulator version 7.2.22 (fake)'; exit 0; fi
. "$(dirname "$0")/lib.sh"
cat "$HERE/canned/real-pc-1G.firmware.log" >>"$FIRMWARE"
total=$(wc -l <"$HERE/canned/real-pc-1G.serial.log")
i=1
while [ "$i" -le "$total" ]; do
  sed -n "${i},$((i + 49))p" "$HERE/canned/real-pc-1G.serial.log" >>"$SERIAL"
  i=$((i + 50))
  sleep "${FAKE_CHUNK_DELAY:-0.2}"
done
exit 0
