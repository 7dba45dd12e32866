// ZoneHigh (src/malloc.c): where malloc_preinit puts it, what POST allocates in it (SMBIOS and
// ACPI tables, table-loader records, the disk and USB drivers' data), in allocation order
// (docs/model/seabios.md#what-stays-in-zonehigh), and the unused bottom malloc_prepboot gives back.

import { alignDown, MiB } from '../address.ts';
import { insertAt } from '../list.ts';
import { E820 } from '../e820.ts';
import {
  DEVICE_ZONEHIGH_FOOTPRINT,
  imageMissingDrivers,
  SEABIOS_LAYOUT as L,
  TRANSIENT_USB_DRIVERS,
  UHCI_PROBE_FOOTPRINT,
  XHCI_PROBE_FOOTPRINT,
  type SeabiosProfile,
} from '../profiles/seabios.ts';
import { UnsupportedOptionError, type Handoff } from '../stages.ts';
import type { TaggedEntry } from './e820-list.ts';
import { pciPadMem64 } from './pci.ts';
import { legacySmbiosBytes, selfBuiltAcpiTables } from './tables.ts';

export interface Block {
  data: bigint;
  dataEnd: bigint;
  allocEnd: bigint;
}

/**
 * Allocates top-down in `blocks` itself (the allocator's list, owned by one zoneHighUse call);
 * false when nothing fits (warn_noalloc).
 */
function allocHigh(blocks: Block[], size: bigint, align: bigint): boolean {
  for (let i = 0; i < blocks.length; i++) {
    const b = blocks[i]!;
    if (b.allocEnd < size) continue;
    const p = alignDown(b.allocEnd - size, align);
    if (p >= b.dataEnd && p <= b.allocEnd) {
      // The block becomes the allocation, followed by what is left below it.
      blocks[i] = { data: p, dataEnd: p + size, allocEnd: b.allocEnd };
      insertAt(blocks, i + 1, { data: b.data, dataEnd: b.dataEnd, allocEnd: p });
      return true;
    }
  }
  return false;
}

/** src/hw/virtio-ring.h MAX_QUEUE_NUM: the largest virtqueue SeaBIOS's legacy virtio path takes. */
const VIRTIO_MAX_QUEUE_NUM = 256;

/** Calibration: the ZoneHigh record a table-loader WRITE_POINTER leaves (vmgenid: measured +0x2000 total, docs/model/calibration.md#table-loader-records). */
export const WRITE_POINTER_RECORD = { size: 16n, align: 16n } as const;
/** malloc_preinit: walk from the last entry; the first RAM entry ending ≤ 4 GiB − 1 that can hold the zone. */
export function chooseZoneHigh(list: readonly TaggedEntry[], profile: SeabiosProfile): { start: bigint; end: bigint } | null {
  const [maxZone, ...smaller] = profile.zoneHighSizes;
  const tries = [
    ...(maxZone !== undefined ? [{ size: maxZone, slack: smaller.length > 0 ? maxZone : 0n }] : []),
    ...smaller.map((z) => ({ size: z, slack: 0n })),
  ];
  for (let i = list.length - 1; i >= 0; i--) {
    const e = list[i]!;
    const end = e.start + e.size;
    if (end < MiB) break;
    if (e.type !== E820.RAM || end > 0xffffffffn) continue;
    for (const t of tries) {
      if (end < t.size) continue; // u32 wrap: new > e
      const candidate = alignDown(end - t.size, L.MALLOC_MIN_ALIGN);
      if (candidate >= e.start + t.slack) return { start: candidate, end: candidate + t.size };
    }
  }
  return null;
}

export interface ZoneHighUse {
  /** The allocator's blocks after POST, highest first; the last one's allocEnd is the zone's lowest use. */
  blocks: Block[];
  /** What lives in the zone, in allocation order (names the reserved block). */
  residents: string[];
}

/** Everything POST allocates in ZoneHigh, in order; failed allocations are logged as SeaBIOS does. */
export function zoneHighUse(handoff: Handoff, profile: SeabiosProfile, zone: { start: bigint; end: bigint }, log: string[]): ZoneHighUse {
  const blocks: Block[] = [{ data: zone.start, dataEnd: zone.start, allocEnd: zone.end }];
  const residents: string[] = [];
  const alloc = (size: bigint, align: bigint, what: string): void => {
    if (!allocHigh(blocks, size, align < L.MALLOC_MIN_ALIGN ? L.MALLOC_MIN_ALIGN : align)) log.push(`WARNING - Unable to allocate resource (${what})`);
    else if (!residents.includes(what)) residents.push(what);
  };
  const fi = handoff.firmwareInputs;
  // smbios_setup: QEMU's tables + SeaBIOS's type 0; > BUILD_MAX_SMBIOS_FSEG goes high.
  if (fi.smbiosTablesBytes !== null && (fi.smbiosEntryPoint !== '3.0' || profile.smbios30)) {
    const len = fi.smbiosTablesBytes + (fi.smbiosHasType0 ? 0 : L.smbiosType0Bytes(profile.versionString));
    if (len > L.MAX_SMBIOS_FSEG) alloc(BigInt(len), 16n, 'SMBIOS tables in ZoneHigh');
  } else if (handoff.hasFwCfg) {
    // smbios_setup: no etc/smbios tables it can read, so smbios_legacy_setup builds its own.
    const len = legacySmbiosBytes(fi.maxCpusKey, handoff.ramBelow4g, handoff.ramAbove4g, fi.smbiosLegacyType1 ?? []);
    if (len > L.MAX_SMBIOS_FSEG) alloc(BigInt(len), 16n, 'SeaBIOS-built SMBIOS tables in ZoneHigh');
  }
  if (fi.hasTableLoader) {
    for (const a of fi.highAllocations) alloc(a.size, a.align, a.file === 'etc/acpi/tables' ? 'QEMU ACPI tables in ZoneHigh' : `QEMU ${a.file} in ZoneHigh`);
    for (let k = 0; k < fi.loaderWritePointers; k++) alloc(WRITE_POINTER_RECORD.size, WRITE_POINTER_RECORD.align, 'table-loader record in ZoneHigh');
  } else if (profile.selfBuiltAcpi !== null && fi.acpiPmDevice !== null) {
    // acpi_setup() builds tables only for the PIIX4 PM or ICH9 LPC device it finds on PCI (src/fw/acpi.c).
    for (const t of selfBuiltAcpiTables(fi, profile.selfBuiltAcpi)) alloc(t.size, t.align, 'SeaBIOS-built ACPI tables in ZoneHigh');
  }
  for (const a of driverAllocations(handoff, profile)) alloc(a.size, a.align, a.what);
  return { blocks, residents };
}

/** The disk and USB drivers' ZoneHigh allocations, in order; refuses what depends on thread timing. */
function driverAllocations(handoff: Handoff, profile: SeabiosProfile): Array<{ size: bigint; align: bigint; what: string }> {
  const fi = handoff.firmwareInputs;
  // No device to drive: no allocation, whichever drivers the image has (microvm's build).
  if (fi.devices.length === 0) return [];
  // By the image's variant when given (a project-built or user image), else by its file name.
  const missing = imageMissingDrivers(fi.biosImage, fi.biosVariant);
  if (missing === null) throw new UnsupportedOptionError('-bios', `${fi.biosImage}: which drivers this SeaBIOS image has is not modelled (known: bios.bin, bios-256k.bin, or an image whose variant is given)`);
  const mem64High = pciPadMem64(handoff, profile);
  const live = fi.devices.filter((d) => {
    if (missing.includes(d.kind)) return false; // not compiled into this image: the device is ignored
    // With pci_pad_mem64 the root bus's 64-bit BARs move above 4 GiB, except USB controllers'
    // (src/fw/pciinit.c pci_region_migrate_64bit_entries skips PCI_CLASS_SERIAL_USB; observed:
    // qemu-xhci stays at 0xfebf8000); pci_enable_membar (src/hw/pcidevice.c) then refuses NVMe's
    // BAR0 ("Can not map memory bar over 4Gig") and its driver stops before allocating.
    if (d.kind === 'nvme' && mem64High) {
      // Behind a bridge BAR0 sits in the bridge's non-prefetchable window, which is never
      // 64-bit (pci_bios_bridge_region_is64); which bus the name means is not modelled.
      if (d.busGiven === true) throw new UnsupportedOptionError('-device', `nvme on a bus other than the root bus while SeaBIOS moves 64-bit BARs above 4 GiB: not modelled`);
      return false;
    }
    if (d.kind === 'nvme' && !profile.zoneHighFitsNvme) return false; // init fails, nothing stays
    // src/hw/virtio-pci.c vp_find_vq: "ERROR: queue size N > 256" on the legacy path; the queue it
    // had just allocated is freed at once (and virtio-scsi's vp_device with it).
    if (d.legacyQueueSize !== undefined && d.legacyQueueSize > VIRTIO_MAX_QUEUE_NUM) return false;
    return true;
  });
  const transient = live.filter((d) => TRANSIENT_USB_DRIVERS.includes(d.kind));
  const permanent = live.filter((d) => !TRANSIENT_USB_DRIVERS.includes(d.kind));
  const out: Array<{ size: bigint; align: bigint; what: string }> = [];
  // UHCI's and xHCI's probe structures are allocated first and freed after the disk drivers
  // allocate below them: the freed space stays reserved (UHCI_/XHCI_PROBE_FOOTPRINT).
  const probe = transient.length === 0 ? null : transient.every((d) => d.kind === 'uhci') ? { name: 'UHCI', footprint: UHCI_PROBE_FOOTPRINT } : transient.length === 1 && transient[0]!.kind === 'xhci' ? { name: 'xHCI', footprint: XHCI_PROBE_FOOTPRINT } : null;
  // UHCI frees its probe structures after polling its ports (USB_TIME_SIGATT); an AHCI port
  // allocates only after its device answered IDENTIFY (src/hw/ahci.c ahci_port_detect →
  // ahci_port_realloc), by then they are gone: measured q35 + piix3/piix4/ich9-usb-uhci1 next to
  // the AHCI CD-ROM on 5.2, 7.2 and 11.1 = the CD-ROM alone. (xHCI still holds them then:
  // versions.yaml xhci-q35-1G-ide-hd.) UHCI with AHCI and another disk driver is not measured.
  const ahciOnly = permanent.length > 0 && permanent.every((d) => d.kind === 'ahci-port');
  if (probe?.name === 'UHCI' && permanent.some((d) => d.kind === 'ahci-port') && !ahciOnly) {
    throw new UnsupportedOptionError('-device', `UHCI next to an AHCI drive and ${permanent.filter((d) => d.kind !== 'ahci-port').map((d) => d.detail ?? d.kind).join(', ')}: where the AHCI port's allocation lands (in the freed probe hole or below) is not modelled`);
  }
  if (probe?.name === 'UHCI' && ahciOnly) {
    // nothing of UHCI's stays
  } else if (probe !== null && permanent.length > 0) {
    for (const _ of transient) for (const a of probe.footprint) out.push({ size: a.size, align: a.align, what: `${probe.name} probe structures in ZoneHigh (freed, below the ACPI tables)` });
  } else if (transient.length > 0 && permanent.length > 0) {
    // The USB drivers allocate their controller structures in ZoneHigh from a thread and free them
    // when no USB device answers (src/hw/usb-xhci.c configure_xhci, usb-ehci.c, usb-uhci.c,
    // usb-ohci.c); a disk driver's allocation made meanwhile lands below them and the freed hole
    // is not given back (pc + qemu-xhci + a virtio-blk disk: +0x1000, observed). Where it lands
    // depends on the structures' sizes and on thread timing, which the model does not have.
    throw new UnsupportedOptionError(
      '-device',
      `${transient.map((d) => d.detail ?? d.kind).join(', ')} together with ${permanent.map((d) => d.detail ?? d.kind).join(', ')}: SeaBIOS's USB driver holds transient ZoneHigh allocations while the disk driver allocates, so the reserved block below the ACPI tables depends on allocation timing; not modelled (either alone is)`,
    );
  }
  const nvmeCount = permanent.filter((d) => d.kind === 'nvme').length;
  if (nvmeCount > 1) {
    throw new UnsupportedOptionError(
      '-device',
      `${nvmeCount} NVMe controllers: SeaBIOS sets each up in its own thread (src/hw/nvme.c nvme_scan run_thread) and they yield while waiting for admin commands, so their ZoneHigh allocations interleave in timing-dependent order; not modelled (one is)`,
    );
  }
  for (const d of permanent) {
    const fp = DEVICE_ZONEHIGH_FOOTPRINT[d.kind];
    if (fp === undefined) throw new UnsupportedOptionError('device', `no ZoneHigh footprint for ${d.kind}`);
    for (const a of fp) out.push({ size: a.size, align: a.align, what: `${d.kind} driver data in ZoneHigh` });
  }
  return out;
}
