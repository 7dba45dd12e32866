// The -device / -drive / -usb configuration as SeaBIOS will find it: which drivers run and what
// they allocate (FirmwareInputs.devices), for pc/q35 and for isapc.

import type { MachineConfig } from '../config.ts';
import { QemuRefusal, UnsupportedOptionError, type FirmwareInputs } from '../stages.ts';
import { prop } from './options.ts';

/**
 * Devices `e820 explore` draws from each release's `-device help` (reference/profiles/qemu-devices.ts)
 * that leave nothing in SeaBIOS's ZoneHigh, by why. Evidence: `e820 check --scope firmware` of each
 * group together, on pc next to a virtio-blk disk and on q35 next to its AHCI CD-ROM, on QEMU 5.2 +
 * SeaBIOS 1.14.0, 7.2 + 1.16.2, 10.0 + 1.16.3 and 11.1 + 1.17.0 (the devices each release has): the
 * map is the one without them; named cells in suites/matrix/versions.yaml (`devices:` notes).
 */
const QUIET_STANDALONE_DEVICES = {
  /**
   * SCSI/SD hosts whose SeaBIOS driver keeps memory only per unit it finds (src/hw/lsi-scsi.c
   * lsi_scsi_add_lun, esp-scsi.c esp_scsi_add_lun, mpt-scsi.c mpt_scsi_add_lun: malloc_fseg;
   * megasas.c megasas_scan_target: memalign_tmp, megasas_add_lun: malloc_fseg/memalign_low;
   * sdcard.c sdcard_controller_setup: malloc_fseg per card) or has no driver at all (lsi_scsi_setup
   * takes the 53C895A only, so lsi53c810 runs nothing): with no disk on them nothing stays.
   */
  storageWithoutDisk: ['lsi53c895a', 'lsi53c810', 'megasas', 'megasas-gen2', 'mptsas1068', 'am53c974', 'dc390', 'sdhci-pci'],
  /**
   * NICs: SeaBIOS has no NIC driver; their iPXE option ROM (QEMU's efi-*.rom / pxe-*.rom, run by
   * src/optionroms.c optionrom_setup) asks PMM only for temporary memory (src/pmm.c handle_pmm00:
   * ZoneTmpHigh unless flags & 8), as e1000 does.
   */
  nic: [
    'e1000-82544gc', 'e1000-82545em', 'igb', 'i82550', 'i82551', 'i82557a', 'i82557b', 'i82557c', 'i82558a', 'i82558b',
    'i82559a', 'i82559b', 'i82559c', 'i82559er', 'i82562', 'i82801', 'ne2k_pci', 'ne2k_isa', 'pcnet', 'tulip', 'vmxnet3',
  ],
  /**
   * Displays with a PCI ROM: optionrom_setup skips display-class functions and vgarom_setup runs
   * only the first VGA's SeaVGABIOS, whose extra stack is a permanent *low* PMM block (ZoneLow,
   * upper memory: src/malloc.c CONFIG_MALLOC_UPPERMEMORY), not ZoneHigh. (ramfb differs: below.)
   */
  display: ['ati-vga', 'secondary-vga', 'vmware-svga', 'qxl'],
  /** Sound, serial and input devices SeaBIOS has no driver for (sb16, cs4231a: ISA; QEMU falls back to its `none` audio backend here). */
  soundSerialInput: ['ES1370', 'sb16', 'cs4231a', 'pci-serial-2x', 'pci-serial-4x', 'virtio-multitouch-pci'],
  /** Test, watchdog, panic and IOMMU-less misc devices: no SeaBIOS driver, no ROM. */
  misc: ['edu', 'pci-testdev', 'pc-testdev', 'pvpanic-pci', 'hyperv-testdev', 'i6300esb', 'ib700', 'virtio-iommu-pci', 'vmcoreinfo'],
} as const;

/**
 * Of QUIET_STANDALONE_DEVICES, those QEMU refuses twice or next to another display, with reasons not
 * modelled: a second vmware-svga (`RAMBlock "vmsvga.fifo" already registered, abort!`), vmware-svga
 * next to a VGA-class device (10.0+: `Detected duplicate SaveStateEntry: id=vga`), and the ISA
 * devices, whose fixed ports and IRQs a second copy shares. Declined when named twice / together.
 */
const SINGLE_ONLY_DEVICES = new Set(['ati-vga', 'secondary-vga', 'vmware-svga', 'qxl', 'sb16', 'cs4231a', 'ne2k_isa', 'pc-testdev', 'hyperv-testdev', 'ib700']);

/** Devices of reference/profiles/qemu-devices.ts the model declines, with what was measured. */
const NOT_MODELLED_WHY: Readonly<Record<string, string>> = {
  // QEMU adds vgaroms/vgabios-ramfb.bin (use-legacy-x86-rom=on on pc/q35); SeaBIOS runs it after the
  // PCI VGA ROM (src/optionroms.c vgarom_setup) and its framebuffer is a permanent PMM block.
  ramfb:
    'its SeaVGABIOS ROM allocates a 3 MiB framebuffer as permanent PMM memory (ZoneHigh on SeaBIOS 1.16+, a reserved block below it on 1.14: measured on pc 1G); not modelled',
  // Measured on the four toolchains here: QEMU refuses them without a host audio voice, words that depend on the host.
  gus: 'QEMU refuses it when the host audio backend gives no voice (`No voice`, host-dependent); not modelled',
  adlib: 'QEMU refuses it when the host audio backend gives no voice (`Initializing audio voice failed`, host-dependent); not modelled',
  'intel-iommu': 'an IOMMU (its ACPI DMAR table, the guest\'s IOMMU driver) is not modelled',
  'amd-iommu': 'an IOMMU (its ACPI IVRS table and PCI function, the guest\'s IOMMU driver) is not modelled',
  vmclock: 'it adds a reserved range to the map (measured: one etc/e820 entry more on 10.0 and 11.1); not modelled',
};

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
  ...Object.values(QUIET_STANDALONE_DEVICES).flat(),
]);

/**
 * USB HID devices: SeaBIOS's UHCI driver finds the tablet (no boot protocol) and frees its
 * structures as if no device answered (measured: nothing moves behind UHCI); behind xHCI the same
 * tablet moves the end of RAM down 4 KiB (measured), which is not modelled.
 */
const USB_HID_DEVICES = new Set(['usb-tablet', 'usb-mouse', 'usb-kbd']);

/**
 * USB HID devices with the boot interface (QEMU's usb-kbd: subclass 1 protocol 1; usb-mouse:
 * subclass 1 protocol 2; the tablet has none): SeaBIOS sets them up (src/hw/usb-hid.c
 * usb_hid_setup → usb_kbd_setup / usb_mouse_setup) and keeps their interrupt pipe, so they move
 * the end of RAM even behind UHCI: measured on 11.1 + 1.17.0, pc 1G with piix3-usb-uhci, 2 pages
 * for usb-kbd and for usb-mouse (usb-tablet: none), and 1 page in explore seed 161504 cell 011
 * (ich9-usb-uhci2 + usb-kbd). Their pipes' allocations are not modelled.
 */
const BOOT_PROTOCOL_HID = new Set(['usb-kbd', 'usb-mouse']);
const BOOT_PROTOCOL_HID_WHY =
  "a boot-protocol USB keyboard or mouse: SeaBIOS keeps its interrupt pipe (src/hw/usb-hid.c usb_hid_setup), which moves the end of RAM even behind UHCI (measured); not modelled";

/**
 * USB host controllers and the SeaBIOS driver that sets each up (src/hw/usb.c usb_setup). Their
 * ZoneHigh allocations are transient (freed when no USB device answers); reference/profiles/seabios.ts
 * TRANSIENT_USB_DRIVERS.
 */
const USB_HOST_CONTROLLERS: ReadonlyMap<string, string> = new Map([
  ['qemu-xhci', 'xhci'], ['nec-usb-xhci', 'xhci'], ['usb-ehci', 'ehci'], ['ich9-usb-ehci1', 'ehci'],
  ['piix3-usb-uhci', 'uhci'], ['piix4-usb-uhci', 'uhci'], ['pci-ohci', 'ohci'],
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

/** IDE devices a bus can take (ide-drive until 6.0). */
const IDE_DEVICES = new Set(['ide-hd', 'ide-cd', 'ide-drive']);

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
const DRIVER_ORDER = ['ahci-port', 'virtio-blk', 'virtio-scsi', 'pvscsi', 'nvme'];

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

/**
 * IDE devices without bus= all go to ide.0: qdev_device_add → qbus_find_recursive returns the first
 * IDE bus, which is never "full" (an IDE bus sets no max_dev), and ide_dev_initfn (hw/ide/qdev.c)
 * takes unit 1 once unit 0 is taken. q35's ide.0 is an AHCI port of one unit, so the second is
 * refused ("Can't create IDE unit 1, bus supports only 1 units"); pc's PIIX ide.0 has two, so the
 * third is ("IDE unit 1 is in use"). The same words on 5.2, 7.2, 10.0 and 11.1 (measured with -S;
 * explore seed 171502 cell 015). With unit= or a -drive if=ide beside them, which unit each takes
 * is not modelled.
 */
function checkIde0Units(config: MachineConfig, family: 'pc' | 'q35'): void {
  const onIde0 = config.devices.filter((d) => IDE_DEVICES.has(d.driver) && (prop(d.props, 'bus') ?? 'ide.0') === 'ide.0');
  const units = family === 'q35' ? 1 : 2;
  if (onIde0.length <= units) return;
  if (onIde0.some((d) => prop(d.props, 'unit') !== undefined) || config.drives.some((d) => (prop(d, 'if') ?? 'ide') === 'ide')) {
    throw new UnsupportedOptionError('-device', `${onIde0.length} IDE devices on ide.0 beside unit= or -drive if=ide: which unit each takes is not modelled`);
  }
  const refused = onIde0[units]!;
  throw new QemuRefusal(`-device ${optText(refused.driver, refused.props)}: ${family === 'q35' ? "Can't create IDE unit 1, bus supports only 1 units" : 'IDE unit 1 is in use'}`);
}

export function firmwareDevices(config: MachineConfig, family: 'pc' | 'q35', virtio: VirtioDefaults): FirmwareInputs['devices'] {
  checkIde0Units(config, family);
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
    else if (BOOT_PROTOCOL_HID.has(drv)) {
      throw new UnsupportedOptionError('-device', `${drv}: ${BOOT_PROTOCOL_HID_WHY}`);
    }
    else if (USB_HID_DEVICES.has(drv)) usbHid.push(drv);
    else if (drv === 'ahci' || drv === 'ich9-ahci') {
      // (`ahci` is qdev's alias of ich9-ahci, hw/ide/ich.c.) An AHCI controller with no drive probes its ports and keeps nothing (as q35's own ICH9 AHCI
      // does under -nodefaults); a drive on it would need its bus resolved, which is not modelled.
      // Without id= its ports are named ide.N after the board's own IDE buses (qbus naming), and
      // an IDE device without bus= takes the first bus with room (qdev_device_add →
      // qbus_find_recursive), which can be this one: only then can a drive sit on it.
      const id = prop(dev.props, 'id');
      const onIt = config.devices.find((o) => {
        const bus = prop(o.props, 'bus');
        if (id !== undefined) return (bus ?? '').startsWith(`${id}.`);
        return IDE_DEVICES.has(o.driver) && (bus === undefined || /^ide\.\d+$/.test(bus));
      });
      if (onIt !== undefined) {
        throw new UnsupportedOptionError('-device', `ahci${id === undefined ? ' without id=' : ''} with ${onIt.driver} ${id === undefined ? 'that may sit on it' : 'on its bus'}: which drives sit on an added AHCI controller is not modelled (one with no drive is)`);
      }
    }
    else if (drv === 'virtio-scsi-pci' || drv === 'virtio-scsi') {
      scsiControllers++;
      scsiLegacy = legacy(dev.props, 'virtqueue_size');
    }
    else if (drv === 'pvscsi') devices.push({ kind: 'pvscsi', detail: drv });
    else if (drv === 'scsi-hd' || drv === 'scsi-cd') scsiDisks++;
    else if (drv === 'vmgenid') continue; // a table-loader allocation, see below
    else if (drv === 'ide-hd' || drv === 'ide-cd') {
      if (family === 'q35') devices.push({ kind: 'ahci-port', detail: drv });
    } else if (!NO_ZONEHIGH_DEVICES.has(drv)) {
      throw new UnsupportedOptionError('-device', `${drv}: ${NOT_MODELLED_WHY[drv] ?? 'its firmware footprint is not modelled'}`);
    }
  }
  checkQuietDeviceCombinations(config);
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
  if (scsiDisks > 0 && devices.some((d) => d.kind === 'pvscsi')) {
    throw new UnsupportedOptionError('-device', 'a SCSI disk next to pvscsi: which controller holds it (bus=) is not modelled');
  }
  if (scsiControllers > 0 && scsiDisks > 0) devices.push({ kind: 'virtio-scsi', detail: 'virtio-scsi-pci with a disk', ...scsiLegacy });
  // Array.prototype.sort is stable (ES2019): devices of one kind keep their order.
  return devices.length < 2 ? devices : devices.sort((a, b) => DRIVER_ORDER.indexOf(a.kind) - DRIVER_ORDER.indexOf(b.kind));
}

/** Display devices (QEMU's default_list VGA types and the other displays): vmware-svga shares the `vga` vmstate with them. */
const DISPLAY_DEVICES = new Set(['VGA', 'cirrus-vga', 'virtio-vga', 'qxl-vga', 'qxl', 'bochs-display', 'ati-vga', 'secondary-vga', 'vmware-svga', 'virtio-gpu-pci', 'ramfb']);

/** Displays vmware-svga clashes with in some order (checkQuietDeviceCombinations). */
const VMWARE_SVGA_CLASHES = new Set(['VGA', 'secondary-vga', 'qxl-vga']);

/** SINGLE_ONLY_DEVICES named twice, or vmware-svga next to another display device: not modelled. */
function checkQuietDeviceCombinations(config: MachineConfig): void {
  const seen = new Set<string>();
  for (const d of config.devices) {
    if (SINGLE_ONLY_DEVICES.has(d.driver) && seen.has(d.driver)) {
      throw new UnsupportedOptionError('-device', `${d.driver} twice: QEMU refuses some such pairs (a duplicate RAMBlock or vmstate, shared ISA ports); not modelled`);
    }
    seen.add(d.driver);
  }
  // Measured pairwise with -S on 5.2, 7.2, 10.0, 11.1: vmware-svga after VGA or secondary-vga is
  // refused on 10.0+ (`Detected duplicate SaveStateEntry: id=vga`), qxl-vga after vmware-svga on all
  // (`primary qxl-vga device must be console 0`); next to bochs-display, virtio-vga, cirrus-vga,
  // ati-vga, virtio-gpu-pci, qxl QEMU starts. An explicit -vga next to it was not measured.
  const displays = config.devices.filter((d) => DISPLAY_DEVICES.has(d.driver)).map((d) => d.driver);
  const clash = displays.filter((d) => VMWARE_SVGA_CLASHES.has(d));
  if (displays.includes('vmware-svga') && (clash.length > 0 || (config.vga !== null && config.vga !== undefined && config.vga !== 'none'))) {
    throw new UnsupportedOptionError('-device', `vmware-svga next to ${clash.length > 0 ? clash.join(', ') : `-vga ${config.vga}`}: QEMU refuses some orders of these (duplicate vmstate 'vga' on 10.0+, qxl-vga's console 0); not modelled`);
  }
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
