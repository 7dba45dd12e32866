// The -device / -drive / -usb configuration as SeaBIOS will find it: which drivers run and what
// they allocate (FirmwareInputs.devices), for pc/q35 and for isapc.

import type { MachineConfig } from '../config.ts';
import { QemuRefusal, UnsupportedOptionError, type FirmwareInputs } from '../stages.ts';
import { prop } from './options.ts';

/** Drivers SeaBIOS runs whose allocations do not stay in ZoneHigh (or that it does not drive at all). */
const NO_ZONEHIGH_DEVICES = new Set([
  'e1000', 'e1000e', 'rtl8139', 'virtio-net-pci', 'virtio-net', 'VGA', 'cirrus-vga', 'std-vga', 'virtio-vga',
  'qxl-vga', 'bochs-display', 'isa-debugcon', 'virtio-rng-pci', 'virtio-balloon', 'virtio-balloon-pci', 'virtio-serial-pci',
  'isa-serial', 'pvpanic', 'ide-cd', 'ide-hd', 'ide-drive', 'pc-dimm', 'pci-bridge', 'pcie-root-port',
  // What libvirt adds around a guest: PCIe ports, switches and bridges (SeaBIOS's pci_setup gives
  // them windows but its drivers allocate nothing for them), and devices SeaBIOS has no driver or
  // option ROM for. Each is booted on pc and/or q35 by suites/matrix/libvirt.yaml.
  'ioh3420', 'x3130-upstream', 'xio3130-downstream', 'i82801b11-bridge', 'pcie-pci-bridge',
  'virtio-9p-pci', 'virtserialport', 'virtconsole', 'intel-hda', 'ich9-intel-hda', 'hda-duplex', 'hda-micro', 'hda-output', 'AC97',
  'virtio-mouse-pci', 'virtio-keyboard-pci', 'virtio-tablet-pci', 'virtio-gpu-pci', 'pci-serial', 'isa-parallel',
]);

/**
 * USB HID devices: SeaBIOS's UHCI driver finds the tablet (no boot protocol) and frees its
 * structures as if no device answered (measured: nothing moves behind UHCI); behind xHCI the same
 * tablet moves the end of RAM down 4 KiB (measured), which is not modelled.
 */
const USB_HID_DEVICES = new Set(['usb-tablet', 'usb-mouse', 'usb-kbd']);

/**
 * USB host controllers and the SeaBIOS driver that sets each up (src/hw/usb.c usb_setup). Their
 * ZoneHigh allocations are transient (freed when no USB device answers); reference/profiles/seabios.ts
 * TRANSIENT_USB_DRIVERS.
 */
const USB_HOST_CONTROLLERS: ReadonlyMap<string, string> = new Map([
  ['qemu-xhci', 'xhci'], ['nec-usb-xhci', 'xhci'], ['usb-ehci', 'ehci'], ['ich9-usb-ehci1', 'ehci'],
  ['piix3-usb-uhci', 'uhci'], ['pci-ohci', 'ohci'],
  ...[1, 2, 3, 4, 5, 6].map((n) => [`ich9-usb-uhci${n}`, 'uhci'] as const),
  ['ich9-usb-ehci2', 'ehci'],
]);

/**
 * The board's own USB controllers with -machine usb=on (-usb): pc_piix.c pc_init1 creates a
 * piix3-usb-uhci; pc_q35.c pc_q35_init an ICH9 EHCI with its three UHCI companions
 * (hw/usb/hcd-ehci-pci.c ehci_create_ich9_with_companions).
 */
const BOARD_USB: Readonly<Record<'pc' | 'q35', readonly string[]>> = {
  pc: ['piix3-usb-uhci'],
  q35: ['ich9-usb-ehci1', 'ich9-usb-uhci1', 'ich9-usb-uhci2', 'ich9-usb-uhci3'],
};

/** Devices whose creation clears default_cdrom (softmmu/vl.c default_list; ide-drive until 6.0). */
const CLEARS_DEFAULT_CDROM = new Set(['ide-cd', 'ide-hd', 'ide-drive', 'scsi-cd', 'scsi-hd']);

/**
 * Does QEMU add its default CD-ROM? vl.c: not with -nodefaults or a device of default_list;
 * default_drive(default_cdrom, …, block_default_type (IDE), index 2) also skips it when a user
 * -drive of that interface already holds index 2 (drive_get_by_index). Auto-placed drives take the
 * first free (bus, unit) (blockdev.c drive_new), index = bus × units_per_default_bus + unit
 * (q35 1, pc 2).
 */
function hasDefaultCdrom(config: MachineConfig, family: 'pc' | 'q35'): boolean {
  if (config.nodefaults || config.devices.some((d) => CLEARS_DEFAULT_CDROM.has(d.driver))) return false;
  const units = family === 'q35' ? 1 : 2;
  const taken = new Set<number>();
  const auto: number[] = [];
  config.drives.forEach((d, i) => {
    if ((prop(d, 'if') ?? 'ide') !== 'ide') return;
    const index = prop(d, 'index');
    const bus = prop(d, 'bus');
    const unit = prop(d, 'unit');
    if (index !== undefined) taken.add(Number(index));
    else if (bus !== undefined || unit !== undefined) taken.add(Number(bus ?? 0) * units + Number(unit ?? 0));
    else auto.push(i);
  });
  for (let k = 0, next = 0; k < auto.length; k++) {
    while (taken.has(next)) next++;
    taken.add(next);
  }
  return !taken.has(2);
}

/** SeaBIOS block_setup() order (src/block.c): ahci, virtio-blk, virtio-scsi, …, nvme. */
const DRIVER_ORDER = ['ahci-port', 'virtio-blk', 'virtio-scsi', 'nvme'];

/** What decides a virtio device's legacy queue size (see virtioLegacyQueue). */
export interface VirtioDefaults {
  legacyOnly: boolean;
  queue128: boolean;
  reportsMaxQueue: boolean;
}

/**
 * The queue size a legacy-only virtio device reports through VIRTIO_PCI_QUEUE_NUM, or undefined when
 * it also speaks modern virtio (SeaBIOS then uses that). disable-modern= on the device wins over
 * the machine type's default.
 */
function virtioLegacyQueue(props: ReadonlyArray<readonly [string, string]>, sizeProp: string, v: VirtioDefaults): number | undefined {
  const modernOff = prop(props, 'disable-modern') ?? (v.legacyOnly ? 'on' : 'off');
  if (!['on', 'true', 'yes'].includes(modernOff)) return undefined;
  if (v.reportsMaxQueue) return 1024;
  return Number(prop(props, sizeProp) ?? (v.queue128 ? 128 : 256));
}

export function firmwareDevices(config: MachineConfig, family: 'pc' | 'q35', virtio: VirtioDefaults): FirmwareInputs['devices'] {
  const devices: Array<{ kind: string; detail?: string; busGiven?: boolean; legacyQueueSize?: number }> = [];
  const legacy = (props: ReadonlyArray<readonly [string, string]>, sizeProp: string) => {
    const q = virtioLegacyQueue(props, sizeProp, virtio);
    return q !== undefined ? { legacyQueueSize: q } : {};
  };
  // Default CD-ROM (default_cdrom) sits on IDE (pc: no ZoneHigh use) or on the q35 AHCI.
  if (family === 'q35' && hasDefaultCdrom(config, family)) devices.push({ kind: 'ahci-port', detail: 'default CD-ROM' });
  for (const d of config.drives) {
    const iface = prop(d, 'if') ?? 'ide';
    if (iface === 'none') continue;
    if (iface === 'ide') {
      if (family === 'q35') devices.push({ kind: 'ahci-port', detail: '-drive if=ide' });
    } else if (iface === 'virtio') devices.push({ kind: 'virtio-blk', detail: '-drive if=virtio', ...legacy([], 'queue-size') });
    else if (iface !== 'floppy') throw new UnsupportedOptionError('-drive', `if=${iface} is not modelled`);
  }
  let scsiControllers = 0;
  let scsiDisks = 0;
  const usbHid: string[] = [];
  let scsiLegacy: { legacyQueueSize?: number } = {};
  const board = prop(config.machineProps, 'usb') === 'on' ? BOARD_USB[family].map((driver) => ({ driver, props: [] })) : [];
  for (const dev of [...board, ...config.devices]) {
    const drv = dev.driver;
    const usb = USB_HOST_CONTROLLERS.get(drv);
    if (drv === 'virtio-blk-pci' || drv === 'virtio-blk') devices.push({ kind: 'virtio-blk', detail: drv, ...legacy(dev.props, 'queue-size') });
    else if (drv === 'nvme') {
      const bus = prop(dev.props, 'bus');
      devices.push({ kind: 'nvme', detail: drv, ...(bus !== undefined && bus !== 'pci.0' && bus !== 'pcie.0' ? { busGiven: true } : {}) });
    }
    else if (usb !== undefined) {
      // SeaBIOS sizes xHCI's device-context array by the controller's slots (XHCI_PROBE_FOOTPRINT).
      if (usb === 'xhci' && prop(dev.props, 'slots') !== undefined) throw new UnsupportedOptionError('-device', `${drv},slots=: a slot count other than the default 64 is not modelled`);
      devices.push({ kind: usb, detail: drv });
    }
    else if (USB_HID_DEVICES.has(drv)) usbHid.push(drv);
    else if (drv === 'ahci' || drv === 'ich9-ahci') {
      // (`ahci` is qdev's alias of ich9-ahci, hw/ide/ich.c.) An AHCI controller with no drive probes its ports and keeps nothing (as q35's own ICH9 AHCI
      // does under -nodefaults); a drive on it would need its bus resolved, which is not modelled.
      const id = prop(dev.props, 'id');
      const onIt = config.devices.find((o) => id !== undefined && (prop(o.props, 'bus') ?? '').startsWith(`${id}.`));
      if (id === undefined || onIt !== undefined) {
        throw new UnsupportedOptionError('-device', `ahci${onIt !== undefined ? ` with ${onIt.driver} on its bus` : ' without id='}: which drives sit on an added AHCI controller is not modelled (one with no drive is)`);
      }
    }
    else if (drv === 'virtio-scsi-pci' || drv === 'virtio-scsi') {
      scsiControllers++;
      scsiLegacy = legacy(dev.props, 'virtqueue_size');
    }
    else if (drv === 'scsi-hd' || drv === 'scsi-cd') scsiDisks++;
    else if (drv === 'vmgenid') continue; // a table-loader allocation, see below
    else if (drv === 'ide-hd' || drv === 'ide-cd') {
      if (family === 'q35') devices.push({ kind: 'ahci-port', detail: drv });
    } else if (!NO_ZONEHIGH_DEVICES.has(drv)) {
      throw new UnsupportedOptionError('-device', `${drv}: its firmware footprint is not modelled`);
    }
  }
  const hidHosts = devices.filter((d) => USB_HOST_CONTROLLERS.has(d.detail ?? ''));
  if (usbHid.length > 0 && !hidHosts.every((d) => d.kind === 'uhci')) {
    throw new UnsupportedOptionError('-device', `${usbHid.join(', ')} next to ${hidHosts.map((d) => d.detail).join(', ')}: a USB HID device is modelled behind UHCI only (behind xHCI it moves the end of RAM, measured)`);
  }
  if (scsiControllers > 1) {
    // Which controller holds which disk (bus=) is not modelled, and a controller without a disk
    // frees its queue only after scanning 256 targets (src/hw/virtio-scsi.c init_virtio_scsi).
    throw new UnsupportedOptionError('-device', `${scsiControllers} virtio-scsi controllers: their firmware footprint is not modelled (one is)`);
  }
  if (scsiControllers > 0 && scsiDisks === 0 && devices.some((d) => !USB_HOST_CONTROLLERS.has(d.detail ?? ''))) {
    // The empty controller's vp_device and queue stay allocated while it scans its 256 targets,
    // so another driver's allocation made meanwhile lands below them (as with USB, M8).
    throw new UnsupportedOptionError('-device', 'virtio-scsi without a disk next to another disk controller: its transient queue allocation is not modelled');
  }
  if (scsiControllers > 0 && scsiDisks > 0) devices.push({ kind: 'virtio-scsi', detail: 'virtio-scsi-pci with a disk', ...scsiLegacy });
  return devices
    .map((d, i) => ({ d, i }))
    .sort((a, b) => DRIVER_ORDER.indexOf(a.d.kind) - DRIVER_ORDER.indexOf(b.d.kind) || a.i - b.i)
    .map(({ d }) => d);
}

/** PCI device types (and the aliases qdev resolves to them: qdev_get_device_class()), for isapc's refusal. */
const PCI_DEVICE_TYPES: ReadonlyMap<string, string> = new Map([
  ...[
    'e1000', 'e1000e', 'rtl8139', 'virtio-net-pci', 'VGA', 'cirrus-vga', 'virtio-vga', 'qxl-vga', 'bochs-display',
    'qemu-xhci', 'nec-usb-xhci', 'usb-ehci', 'ich9-usb-ehci1', 'piix3-usb-uhci', 'pci-ohci', 'virtio-rng-pci',
    'virtio-balloon-pci', 'virtio-serial-pci', 'pci-bridge', 'pcie-root-port', 'virtio-blk-pci', 'virtio-scsi-pci',
    'nvme', 'ahci', 'ich9-ahci',
  ].map((t) => [t, t] as const),
  ['virtio-net', 'virtio-net-pci'],
  ['virtio-blk', 'virtio-blk-pci'],
  ['virtio-scsi', 'virtio-scsi-pci'],
  ['virtio-balloon', 'virtio-balloon-pci'],
  ['virtio-serial', 'virtio-serial-pci'],
  ['virtio-rng', 'virtio-rng-pci'],
]);

/** ISA devices that may sit on isapc and leave nothing in SeaBIOS's ZoneHigh (ISA IDE: the ATA driver uses the f-segment). */
const ISAPC_QUIET_DEVICES = new Set(['ide-hd', 'ide-cd', 'ide-drive', 'isa-serial', 'pvpanic']);

/** An option's argument as QEMU echoes it in a located error (`-device e1000,…: …`). */
export const optText = (head: string | null, props: ReadonlyArray<readonly [string, string]>): string =>
  [...(head === null ? [] : [head]), ...props.map(([k, v]) => `${k}=${v.replaceAll(',', ',,')}`)].join(',');

/**
 * isapc's devices: no PCI bus, so a PCI device (or an if=virtio drive, which becomes
 * virtio-blk-pci) is refused when QEMU creates it — "No 'PCI' bus found for device '…'", located at
 * the option (checked on 5.2, 7.2, 10.0 and 11.1). ISA IDE disks and CD-ROMs leave no ZoneHigh
 * allocation; anything else is not modelled.
 */
export function isapcDevices(config: MachineConfig): FirmwareInputs['devices'] {
  for (const d of config.drives) {
    const iface = prop(d, 'if') ?? 'ide';
    if (iface === 'virtio') throw new QemuRefusal(`-drive ${optText(null, d)}: No 'PCI' bus found for device 'virtio-blk-pci'`);
    if (iface !== 'ide' && iface !== 'floppy' && iface !== 'none') throw new UnsupportedOptionError('-drive', `if=${iface} on isapc is not modelled`);
  }
  for (const dev of config.devices) {
    const pciType = PCI_DEVICE_TYPES.get(dev.driver);
    if (pciType !== undefined) throw new QemuRefusal(`-device ${optText(dev.driver, dev.props)}: No 'PCI' bus found for device '${pciType}'`);
    if (!ISAPC_QUIET_DEVICES.has(dev.driver)) throw new UnsupportedOptionError('-device', `${dev.driver} on isapc: its firmware footprint is not modelled`);
  }
  for (const nic of config.nics ?? []) {
    const model = prop(nic, 'model');
    if (model !== undefined && model !== 'ne2k_isa') throw new UnsupportedOptionError('-nic', `model=${model} on isapc is not modelled (its NIC is the ISA ne2k_isa)`);
  }
  return [];
}
