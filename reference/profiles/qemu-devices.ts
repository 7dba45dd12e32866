// Devices `-device NAME` adds on its own (no required backend, drive, chardev or bus id), per
// QEMU release, for `e820 explore`'s draws from the whole option space (harness/explore/generate.ts).
// Taken once per release, 2026-12-05, from `qemu-system-x86_64 -device help` of the Debian builds
// the project caches (5.2+dfsg-11+deb11u3, 7.2+dfsg-7 (host), 10.0.13+ds-0+deb13u1, 11.1.3+ds-1):
// the curated list below is every storage controller, USB host controller, USB HID device, NIC,
// display, sound card, serial/input and miscellaneous device of those lists that can be plugged
// alone on pc or q35; vhost-*, vfio-*, xen-*, -device (MMIO), *-transitional variants and devices
// that need a backend (virtio-blk, scsi-hd, ivshmem, tpm-*, virtio-pmem …) are left out. What the
// reference model does with each is not recorded here: data only, the model's own tables
// (reference/qemu/ NO_ZONEHIGH_DEVICES and firmwareDevices) decide.

import type { QemuVersion } from '../toolchain.ts';

/** What kind of device a name is (how the generator places it: a USB device needs a host controller). */
export type QemuDeviceKind = 'storage' | 'usb-host' | 'usb-device' | 'nic' | 'display' | 'sound' | 'serial-input' | 'misc';

/** The curated names, by kind (each present in at least one release). */
export const QEMU_STANDALONE_DEVICES: Readonly<Record<QemuDeviceKind, readonly string[]>> = {
  storage: ['ich9-ahci', 'ahci', 'lsi53c895a', 'lsi53c810', 'megasas', 'megasas-gen2', 'mptsas1068', 'pvscsi', 'am53c974', 'dc390', 'virtio-scsi-pci', 'sdhci-pci'],
  'usb-host': ['ich9-usb-ehci1', 'ich9-usb-uhci1', 'ich9-usb-uhci2', 'ich9-usb-uhci3', 'nec-usb-xhci', 'pci-ohci', 'piix3-usb-uhci', 'piix4-usb-uhci', 'qemu-xhci', 'usb-ehci'],
  'usb-device': ['usb-tablet', 'usb-kbd', 'usb-mouse'],
  nic: [
    'e1000', 'e1000-82544gc', 'e1000-82545em', 'e1000e', 'igb', 'i82550', 'i82551', 'i82557a', 'i82557b', 'i82557c', 'i82558a', 'i82558b',
    'i82559a', 'i82559b', 'i82559c', 'i82559er', 'i82562', 'i82801', 'ne2k_pci', 'ne2k_isa', 'pcnet', 'rtl8139', 'tulip', 'virtio-net-pci', 'vmxnet3',
  ],
  display: ['VGA', 'ati-vga', 'bochs-display', 'cirrus-vga', 'qxl', 'qxl-vga', 'ramfb', 'secondary-vga', 'virtio-gpu-pci', 'virtio-vga', 'vmware-svga'],
  sound: ['AC97', 'ES1370', 'intel-hda', 'ich9-intel-hda', 'sb16', 'adlib', 'cs4231a', 'gus'],
  'serial-input': ['pci-serial', 'pci-serial-2x', 'pci-serial-4x', 'isa-serial', 'isa-parallel', 'virtio-serial-pci', 'virtio-keyboard-pci', 'virtio-mouse-pci', 'virtio-tablet-pci', 'virtio-multitouch-pci'],
  misc: [
    'edu', 'pci-testdev', 'pc-testdev', 'pvpanic', 'pvpanic-pci', 'virtio-balloon-pci', 'virtio-rng-pci', 'vmcoreinfo', 'vmgenid', 'hyperv-testdev',
    'i6300esb', 'ib700', 'kvaser_pci', 'pcm3680_pci', 'mioe3680_pci', 'virtio-iommu-pci', 'intel-iommu', 'amd-iommu', 'vmclock',
  ],
};

/** Curated names a release's `-device help` does not list (the only differences among the four). */
const ABSENT: Readonly<Record<QemuVersion, readonly string[]>> = {
  '5.2': ['igb', 'virtio-multitouch-pci', 'pvpanic-pci', 'vmclock'],
  '7.2': ['igb', 'virtio-multitouch-pci', 'vmclock'],
  // qxl and qxl-vga are not in the -device help of the Debian 10.0.13 and 11.1.3 builds.
  '10.0': ['qxl', 'qxl-vga'],
  '11.1': ['qxl', 'qxl-vga'],
};

/** The curated devices of one kind this release has. */
export function qemuStandaloneDevices(qemu: QemuVersion, kind: QemuDeviceKind): readonly string[] {
  const absent = new Set(ABSENT[qemu]);
  return QEMU_STANDALONE_DEVICES[kind].filter((n) => !absent.has(n));
}
