#!/bin/sh
# One process, as QEMU is (the other fakes sleep in a child). `-m 1G` replays the real boot of
# real-pc-1G.sh and exits; any other size hangs inside dmesg in `exec sleep`, which keeps the
# recorded pid, so a test can watch exactly that pid die with its parent; `-m 4G` also ignores
# SIGTERM (a teardown that has to wait for SIGKILL). Its parent (the harness's node, since
# setpriv execs) goes to FAKE_QEMU_PARENTFILE.
if [ "$1" = --version ]; then echo 'QEMU emulator version 7.2.22 (fake)'; exit 0; fi
# `-M help`, which --qemu-binary's version detection asks for (harness/user-toolchain.ts).
if [ "$1" = -M ] && [ "$2" = help ]; then echo 'pc-i440fx-7.2        Standard PC (i440FX + PIIX, 1996) (default)'; exit 0; fi
. "$(dirname "$0")/lib.sh"
[ -n "$FAKE_QEMU_PARENTFILE" ] && echo "$PPID" >>"$FAKE_QEMU_PARENTFILE"
case " $* " in
  *" -m 1G "*)
    cat "$HERE/canned/real-pc-1G.firmware.log" >>"$FIRMWARE"
    cat "$HERE/canned/real-pc-1G.serial.log" >>"$SERIAL"
    exit 0 ;;
  *" -m 4G "*) trap '' TERM ;; # the ignored disposition survives exec
esac
cat "$HERE/canned/firmware.log" >>"$FIRMWARE"
sed -n '1,/^==E820== BEGIN dmesg/p' "$HERE/canned/serial.log" >>"$SERIAL"
exec sleep 1000
