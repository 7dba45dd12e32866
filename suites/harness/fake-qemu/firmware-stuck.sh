#!/bin/sh
# SeaBIOS starts (banner) but never reaches its e820 dump; nothing on the console.
. "$(dirname "$0")/lib.sh"
head -n 5 "$HERE/canned/real-kvm-pc-1G.firmware.log" >>"$FIRMWARE"
hang
