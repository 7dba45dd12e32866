#!/bin/sh
# Nested KVM on the development machine: SeaBIOS runs to "Booting from ROM..." (its real debug
# log, canned/real-kvm-pc-1G.firmware.log), then the guest kernel never prints a line.
. "$(dirname "$0")/lib.sh"
echo "qemu-system-x86_64: warning: host doesn't support requested feature: CPUID.01H:ECX.pni [bit 0]" >&2
cat "$HERE/canned/real-kvm-pc-1G.firmware.log" >>"$FIRMWARE"
hang
