#!/bin/sh
# QEMU that cannot open /dev/kvm: its real messages (7.2.22 run as an unprivileged user), exit 1.
. "$(dirname "$0")/lib.sh"
echo "Could not access KVM kernel module: Permission denied" >&2
echo "qemu-system-x86_64: -accel kvm: failed to initialize kvm: Permission denied" >&2
exit 1
