#!/bin/sh
# KVM that runs SeaBIOS to "Booting from ROM..." (the real debug log of canned/real-kvm-pc-1G.firmware.log)
# and then stops the guest with an internal error, as nested KVM can: QEMU 7.2 prints
# "KVM internal error. Suberror: N" (accel/kvm/kvm-all.c kvm_handle_internal_error) and, the
# guest paused with no monitor to resume it, is ended here with status 1.
. "$(dirname "$0")/lib.sh"
cat "$HERE/canned/real-kvm-pc-1G.firmware.log" >>"$FIRMWARE"
echo "KVM internal error. Suberror: 1" >&2
exit 1
