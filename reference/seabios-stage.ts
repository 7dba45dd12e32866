// SeaBIOS stage: Handoff + SeaBIOS profile → FirmwareMap (the final E820 table INT 15h returns).
// Follows src/e820map.c, src/malloc.c, src/fw/paravirt.c, src/post.c and src/fw/pciinit.c of
// each release. Pure: the e820 list is a value that every step replaces; the stage never mutates
// its inputs.

import { alignDown, FOUR_GIB, hexPadded, kernelHex, MiB } from './address.ts';
import { E820, type E820Range } from './e820.ts';
import type { FirmwareChange, Int15Service } from './intent.ts';
import {
  DEVICE_ZONEHIGH_FOOTPRINT,
  imageMissingDrivers,
  SEABIOS_LAYOUT as L,
  TRANSIENT_USB_DRIVERS,
  UHCI_PROBE_FOOTPRINT,
  XHCI_PROBE_FOOTPRINT,
  type SeabiosProfile,
  type SelfBuiltAcpiAml,
} from './profiles/seabios.ts';
import { QEMU_LAYOUT } from './profiles/qemu.ts';
import { UnsupportedOptionError, type FirmwareInputs, type FirmwareMap, type Handoff, type Int15Answers } from './stages.ts';

// ---------------------------------------------------------------------------------------------
// e820_add / e820_remove

/** An entry of SeaBIOS's e820_list, with the rules that produced its bytes. */
export interface TaggedEntry {
  readonly start: bigint;
  readonly size: bigint;
  readonly type: number;
  readonly provenance: readonly string[];
}

export interface E820Result<T> {
  readonly entries: readonly T[];
  /** Insertions dropped because the list was full ("WARNING - Unable to allocate resource at insert_e820:35!"). */
  readonly dropped: number;
}

const union = (a: readonly string[], b: readonly string[]): string[] => [...a, ...b.filter((x) => !a.includes(x))];

/**
 * src/e820map.c e820_add() (identical in 1.14.0–1.17.0), replayed on a copy: first pass finds the
 * first entry whose end ≥ start and splits or widens it, second pass deletes/trims what the new
 * range covers (merging a same-type entry that reaches past its end), then the new entry is
 * inserted unless it is a hole. insert_e820 drops the insertion when the list holds `max` entries.
 */
export function e820AddTagged(
  list: readonly TaggedEntry[],
  start: bigint,
  size: bigint,
  type: number,
  provenance: string,
  max: number,
): E820Result<TaggedEntry> {
  if (size === 0n) return { entries: list, dropped: 0 };
  const l: TaggedEntry[] = [...list];
  let dropped = 0;
  const insert = (i: number, e: TaggedEntry): void => {
    if (l.length >= max) {
      dropped++;
      return;
    }
    l.splice(i, 0, e);
  };
  let s = start;
  let sz = size;
  let prov: string[] = [provenance];
  const end = start + size;
  let i = 0;
  for (; i < l.length; i++) {
    const e = l[i]!;
    const eEnd = e.start + e.size;
    if (s > eEnd) continue;
    if (s > e.start) {
      if (type === e.type) {
        sz += s - e.start;
        s = e.start;
        prov = union(e.provenance, prov);
      } else {
        l[i] = { ...e, size: s - e.start };
        i++;
        if (eEnd > end) insert(i, { start: end, size: eEnd - end, type: e.type, provenance: e.provenance });
      }
    }
    break;
  }
  while (i < l.length) {
    const e = l[i]!;
    if (end < e.start) break;
    const eEnd = e.start + e.size;
    if (end >= eEnd) {
      l.splice(i, 1);
      continue;
    }
    l[i] = { ...e, start: end, size: eEnd - end };
    if (type === e.type) {
      sz += eEnd - end;
      prov = union(prov, e.provenance);
      l.splice(i, 1);
    }
    break;
  }
  if (type !== L.E820_HOLE) insert(i, { start: s, size: sz, type, provenance: prov });
  return { entries: l, dropped };
}

const toTagged = (list: readonly E820Range[]): TaggedEntry[] =>
  list.map((r) => ({ start: r.start, size: r.end - r.start, type: r.type, provenance: [] }));
const toRanges = (list: readonly TaggedEntry[]): E820Range[] => list.map((e) => ({ start: e.start, end: e.start + e.size, type: e.type }));

/** e820_add on a plain map ([start, end) ranges), with the entry limit `max` (BUILD_MAX_E820). */
export function e820Add(list: readonly E820Range[], start: bigint, size: bigint, type: number, max: number): E820Result<E820Range> {
  const r = e820AddTagged(toTagged(list), start, size, type, '', max);
  return { entries: toRanges(r.entries), dropped: r.dropped };
}

/** e820_remove = e820_add with the internal E820_HOLE type: the range is cut out. */
export function e820Remove(list: readonly E820Range[], start: bigint, size: bigint, max: number): E820Result<E820Range> {
  return e820Add(list, start, size, L.E820_HOLE, max);
}

// ---------------------------------------------------------------------------------------------
// ZoneHigh allocator (src/malloc.c alloc_new): blocks from highest to lowest address.

interface Block {
  data: bigint;
  dataEnd: bigint;
  allocEnd: bigint;
}

/** Allocates top-down; returns the new block list, or null when nothing fits (warn_noalloc). */
function allocHigh(blocks: readonly Block[], size: bigint, align: bigint): Block[] | null {
  for (let i = 0; i < blocks.length; i++) {
    const b = blocks[i]!;
    if (b.allocEnd < size) continue;
    const p = alignDown(b.allocEnd - size, align);
    if (p >= b.dataEnd && p <= b.allocEnd) {
      const out = [...blocks];
      out.splice(i, 1, { data: p, dataEnd: p + size, allocEnd: b.allocEnd }, { ...b, allocEnd: p });
      return out;
    }
  }
  return null;
}

/**
 * The tables SeaBIOS's own acpi_setup() (src/fw/acpi.c, rel-1.14.0 to rel-1.16.3) allocates in
 * ZoneHigh, in its order, with the sizes it asks malloc_high/memalign_high for (packed structs of
 * src/std/acpi.h). MaxCountCPUs is etc/max-cpus, raised to the present CPUs (src/fw/smp.c
 * smp_setup), which QEMU's APIC id limit always covers.
 */
export function selfBuiltAcpiTables(fi: FirmwareInputs, aml: SelfBuiltAcpiAml): Array<{ table: string; size: bigint; align: bigint }> {
  const HEADER = 36;
  const cpus = fi.maxCpusKey;
  const acpiCpus = Math.min(cpus, 0xff);
  const PCI_SLOTS = 32;
  const tables: Array<{ table: string; size: number; align: number }> = [
    { table: 'FADT', size: 116, align: 16 }, // build_fadt: fadt_descriptor_rev1 …
    { table: 'FACS', size: 64, align: 64 }, // … and memalign_high(64, facs_descriptor_rev1)
    {
      table: 'SSDT', // build_ssdt's `length`
      size:
        aml.ssdtMiscBytes +
        (1 + 3 + 4) + // Scope(_SB_)
        acpiCpus * aml.processorBytes +
        (1 + 2 + 5 + 12 * acpiCpus) + // NTFY
        (6 + 2 + 1 + acpiCpus) + // CPON
        (1 + 3 + 4) + // Scope(PCI0)
        (PCI_SLOTS - 1) * aml.pciSlotBytes +
        (1 + 2 + 5 + 12 * (PCI_SLOTS - 1)), // PCNT
      align: 16,
    },
    // build_madt: header + flags, a processor entry per id, the IO-APIC, room for 16 overrides, the local NMI.
    { table: 'MADT', size: HEADER + 8 + 8 * cpus + 12 + 10 * 16 + 6, align: 16 },
  ];
  if (fi.hpet) tables.push({ table: 'HPET', size: HEADER + 20, align: 16 }); // build_hpet: only when the HPET answers
  // build_srat: only with etc/numa-nodes (QEMU's FW_CFG_NUMA lists the nodes), a CPU entry per id, a memory entry per node + 2.
  if (fi.numaNodes > 0) tables.push({ table: 'SRAT', size: HEADER + 12 + 16 * fi.maxCpusKey + 40 * (fi.numaNodes + 2), align: 16 });
  if (fi.acpiPmDevice === 'ich9-lpc') tables.push({ table: 'MCFG', size: HEADER + 8 + 16, align: 16 }); // build_mcfg_q35
  const rsdtEntries = tables.length - 1; // every table but the FACS, which the FADT points to
  tables.push({ table: 'DSDT', size: aml.dsdtBytes, align: 16 }); // the default DSDT (no acpi/ romfile one)
  tables.push({ table: 'RSDT', size: HEADER + 4 * rsdtEntries, align: 16 });
  return tables.map((t) => ({ table: t.table, size: BigInt(t.size), align: BigInt(t.align) }));
}

/**
 * Length of the SMBIOS tables SeaBIOS builds itself (src/fw/smbios.c smbios_legacy_setup, unchanged
 * from rel-1.14.0 to rel-1.17.0): when QEMU hands over only legacy fields (key 0x8001), or an anchor
 * this SeaBIOS does not read. A type 4 per possible CPU (MaxCountCPUs), so it grows past
 * BUILD_MAX_SMBIOS_FSEG and moves to ZoneHigh from 9 CPUs at 1 GiB. Strings are SeaBIOS's defaults
 * unless QEMU gives type 1 fields (`type1Strings`: manufacturer, product, version).
 */
export function legacySmbiosBytes(maxCpus: number, ramBelow4g: bigint, ramAbove4g: bigint, type1Strings: readonly string[]): number {
  const APPNAME = 'Bochs'.length + 1; // src/config.h BUILD_APPNAME
  const withStrings = (struct: number, strings: readonly number[]): number => struct + strings.reduce((a, b) => a + b, 0) + (strings.length > 0 ? 1 : 2);
  const type0 = withStrings(24, [APPNAME, APPNAME, '01/01/2011'.length + 1]); // vendor, version: BUILD_APPNAME; RELEASE_DATE_STR
  const type1 = withStrings(27, type1Strings.length > 0 ? type1Strings.map((t) => t.length + 1) : [APPNAME, APPNAME]);
  const type3 = withStrings(20, [APPNAME]);
  let type4 = 0;
  for (let cpu = 1; cpu <= maxCpus; cpu++) type4 += withStrings(32, [`CPU${cpu.toString(16).padStart(2, ' ')}`.length + 1, APPNAME]);
  const ramMb = Number((ramBelow4g + ramAbove4g) >> 20n);
  const memDevs = (ramMb + 0x3fff) >> 14;
  let type17 = 0;
  for (let i = 0; i < memDevs; i++) type17 += withStrings(21, [`DIMM ${i}`.length + 1]);
  const over4g = ramAbove4g > 0n;
  const type19 = withStrings(15, []) * (over4g ? 2 : 1);
  const type20 = withStrings(19, []) * (over4g ? 1 + memDevs : 1);
  return type0 + type1 + type3 + type4 + withStrings(15, []) + type17 + type19 + type20 + withStrings(11, []) + withStrings(4, []);
}

/** calcRamSize (src/malloc.c): last RAM/ACPI entry ending ≤ 4 GiB − 1; at least 1 MiB. */
export function calcRamSize(entries: readonly { start: bigint; size: bigint; type: number }[]): bigint {
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i]!;
    const end = e.start + e.size;
    if ((e.type === E820.RAM || e.type === E820.ACPI) && end <= 0xffffffffn) return end > MiB ? end : MiB;
  }
  return MiB;
}

// SeaBIOS prints `0x%016llx` / `0x%08x`: the same spelling as the kernel's `%#018llx` / `%#010x`.
const hex16 = (v: bigint): string => kernelHex(v, 18);
const hex8 = (v: bigint): string => kernelHex(v, 10);

// ---------------------------------------------------------------------------------------------
// The stage

/**
 * `intent`: declared changes to the map (reference/intent.ts), applied in order with e820_add /
 * e820_remove at the end of qemu_preinit (src/fw/paravirt.c), where a patch there takes effect:
 * after the etc/e820 (or CMOS) RAM and the BIOS reserve at 0xfffc0000, before malloc_preinit,
 * qemu_cfg_e820's legacy path, bda_init, pci_setup and malloc_prepboot add theirs.
 */
export function seabiosStage(handoff: Handoff, profile: SeabiosProfile, intent: readonly FirmwareChange[] = []): FirmwareMap {
  if (handoff.platform.chipset === 'microvm') {
    throw new UnsupportedOptionError('-machine', `SeaBIOS on ${handoff.platform.chipset} is not modelled`);
  }
  const inputs = handoff.firmwareInputs;
  // By the image's variant when given (a project-built or user image), else by its file name.
  const is256k = inputs.biosVariant !== undefined ? inputs.biosVariant === 'bios-256k' : /(^|\/)bios-256k\.bin$/.test(inputs.biosImage);
  if (handoff.platform.chipset === 'isapc' && is256k) {
    // Observed (QEMU 5.2/7.2 with Debian SeaBIOS 1.14.0/1.16.2, 10.0/11.1 with 1.16.3/1.17.0): the
    // 256 KiB image logs "Unable to unlock ram - bridge not found" and then resets or hangs; no
    // map is ever dumped and nothing boots. isapc's own default is the 128 KiB bios.bin.
    throw new UnsupportedOptionError(
      '-bios',
      `${inputs.biosVariant !== undefined ? `a ${inputs.biosVariant} image` : inputs.biosImage} on isapc: SeaBIOS's 256 KiB image does not finish POST there (it stops after "Unable to unlock ram - bridge not found"); the model covers isapc with its default bios.bin`,
    );
  }
  const max = profile.maxE820;
  const log: string[] = [];
  let list: readonly TaggedEntry[] = [];
  const add = (start: bigint, size: bigint, type: number, why: string): void => {
    const r = e820AddTagged(list, start, size, type, why, max);
    list = r.entries;
    for (let k = 0; k < r.dropped; k++) log.push('WARNING - Unable to allocate resource at insert_e820:35!');
  };
  const remove = (start: bigint, size: bigint, why: string): void => add(start, size, L.E820_HOLE, why);

  // 1c/1d. qemu_early_e820 (paravirt.c): etc/e820 records of type 1 and 2, in file order.
  const fromFile = handoff.hasFwCfg && handoff.e820 !== null;
  if (fromFile) {
    for (const r of handoff.e820 ?? []) {
      if (r.type === E820.RESERVED) {
        add(r.start, r.length, r.type, 'etc/e820 reserved');
        if (profile.reservedLineLogLevel <= 1) log.push(`qemu/e820: addr ${hex16(r.start)} len ${hex16(r.length)} [reserved]`);
      } else if (r.type === E820.RAM) {
        add(r.start, r.length, r.type, 'etc/e820 RAM');
        log.push(`qemu/e820: addr ${hex16(r.start)} len ${hex16(r.length)} [RAM]`);
      }
    }
  } else if (handoff.hasFwCfg) {
    log.push('qemu/e820: fw_cfg file etc/e820 not found');
    const c = handoff.cmos;
    // CMOS 0x34/0x35 (64 KiB units above 16 MiB), else 0x30/0x31 (KiB above 1 MiB).
    let rs = BigInt(c.above16MiB64K) << 16n;
    rs = rs !== 0n ? rs + 16n * MiB : (BigInt(c.extendedKiB) << 10n) + MiB;
    add(0n, rs, E820.RAM, 'CMOS RAM size (qemu_early_e820 fallback)');
    log.push(`RamSize: ${hex8(rs)} [cmos]`);
  }
  // 1e. The top 256 KiB below 4 GiB, whatever the ROM size.
  add(L.BIOS_RESERVE_START, L.BIOS_RESERVE_SIZE, E820.RESERVED, 'SeaBIOS BIOS reserve 0xfffc0000 (qemu_preinit)');
  // 1f. Declared changes (a patched qemu_preinit): what POST adds later still lands on top of them.
  const declared: string[] = [];
  for (const c of intent) {
    const before = log.length;
    if (c.op === 'add') add(c.start, c.size, c.type, 'declared firmware add (expect)');
    else remove(c.start, c.size, 'declared firmware remove (expect)');
    declared.push(
      log.length > before
        ? `e820_${c.op} at the end of qemu_preinit: the list was full (BUILD_MAX_E820 ${max}), an insertion was dropped`
        : `e820_${c.op} at the end of qemu_preinit, before malloc_preinit`,
    );
  }
  // 3a/3b. malloc_preinit: the VGA/option-ROM hole and the BIOS segment.
  remove(L.LOWRAM_END, L.BIOS_ADDR - L.LOWRAM_END, 'malloc_preinit hole');
  add(L.BIOS_ADDR, L.BIOS_SIZE, E820.RESERVED, 'SeaBIOS BIOS segment 0xf0000 (malloc_preinit)');

  // 3c. ZoneHigh: walk from the last entry; first RAM entry ending ≤ 4 GiB − 1 that can hold it.
  let zone: { start: bigint; end: bigint } | null = null;
  const [maxZone, ...smaller] = profile.zoneHighSizes;
  const tries = [
    ...(maxZone !== undefined ? [{ size: maxZone, slack: smaller.length > 0 ? maxZone : 0n }] : []),
    ...smaller.map((z) => ({ size: z, slack: 0n })),
  ];
  for (let i = list.length - 1; i >= 0 && zone === null; i--) {
    const e = list[i]!;
    const end = e.start + e.size;
    if (end < MiB) break;
    if (e.type !== E820.RAM || end > 0xffffffffn) continue;
    for (const t of tries) {
      if (end < t.size) continue; // u32 wrap: new > e
      const candidate = alignDown(end - t.size, L.MALLOC_MIN_ALIGN);
      if (candidate >= e.start + t.slack) {
        zone = { start: candidate, end: candidate + t.size };
        break;
      }
    }
  }
  if (zone !== null) add(zone.start, zone.end - zone.start, E820.RESERVED, 'SeaBIOS ZoneHigh (malloc_preinit)');
  const earlyLegacyRamSize = calcRamSize(list);

  // 5. qemu_cfg_e820 legacy path (only without etc/e820).
  if (!fromFile && handoff.hasFwCfg) {
    const legacy = handoff.legacyE820 ?? [];
    for (const r of legacy) add(r.start, r.length, r.type, 'fw_cfg key 0x8003');
    if (legacy.length === 0 && handoff.platform.accel === 'kvm') {
      add(L.KVM_LEGACY_IDENTITY_START, L.KVM_LEGACY_IDENTITY_SIZE, E820.RESERVED, 'SeaBIOS KVM identity pages (qemu_cfg_e820)');
    }
    const high = BigInt(handoff.cmos.above4GiB64K) << 16n;
    add(FOUR_GIB, high, E820.RAM, 'CMOS RAM above 4 GiB (qemu_cfg_e820)');
    log.push(`RamSizeOver4G: ${hex16(high)} [cmos]`);
  }

  // 6. bda_init: EBDA just below 640 KiB; BDA 0x413 = its segment / 64.
  const ebdaStart = L.LOWRAM_END - L.EBDA_SIZE;
  add(ebdaStart, L.EBDA_SIZE, E820.RESERVED, 'SeaBIOS EBDA (bda_init)');
  const baseMemKiB = Number(ebdaStart / 1024n);

  // 7. pci_setup on q35: MMCONFIG (mch_mem_addr_setup), then RCBA (mch_isa_bridge_setup).
  if (handoff.platform.chipset === 'q35') {
    add(L.Q35_MMCONFIG_START, L.Q35_MMCONFIG_SIZE, E820.RESERVED, 'SeaBIOS q35 MMCONFIG (mch_mem_addr_setup)');
    add(L.Q35_RCBA_START, L.Q35_RCBA_SIZE, E820.RESERVED, 'SeaBIOS q35 RCBA (mch_isa_bridge_setup)');
  }

  // ZoneHigh residents, in allocation order (docs/model/seabios.md#what-stays-in-zonehigh).
  let blocks: Block[] = zone === null ? [] : [{ data: zone.start, dataEnd: zone.start, allocEnd: zone.end }];
  const residents: string[] = [];
  if (zone !== null) {
    const alloc = (size: bigint, align: bigint, what: string): void => {
      const next = allocHigh(blocks, size, align < L.MALLOC_MIN_ALIGN ? L.MALLOC_MIN_ALIGN : align);
      if (next === null) log.push(`WARNING - Unable to allocate resource (${what})`);
      else {
        blocks = next;
        if (!residents.includes(what)) residents.push(what);
      }
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
    // UHCI's and xHCI's probe structures are allocated first and freed after the disk drivers
    // allocate below them: the freed space stays reserved (UHCI_/XHCI_PROBE_FOOTPRINT).
    const probe = transient.length === 0 ? null : transient.every((d) => d.kind === 'uhci') ? { name: 'UHCI', footprint: UHCI_PROBE_FOOTPRINT } : transient.length === 1 && transient[0]!.kind === 'xhci' ? { name: 'xHCI', footprint: XHCI_PROBE_FOOTPRINT } : null;
    if (probe !== null && permanent.length > 0) {
      for (const _ of transient) for (const a of probe.footprint) alloc(a.size, a.align, `${probe.name} probe structures in ZoneHigh (freed, below the ACPI tables)`);
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
      for (const a of fp) alloc(a.size, a.align, `${d.kind} driver data in ZoneHigh`);
    }
  }

  // 10a. malloc_prepboot: reserve [BDA 0x413 × 1 KiB, 0xa0000) (merges with the EBDA).
  add(BigInt(baseMemKiB) * 1024n, L.LOWRAM_END - BigInt(baseMemKiB) * 1024n, E820.RESERVED, 'SeaBIOS EBDA (bda_init)');

  let zoneReturned = 0n;
  if (zone !== null) {
    // 10b. Give back the unused bottom of the zone.
    const base = blocks[blocks.length - 1]!;
    zoneReturned = alignDown(base.allocEnd - zone.start, L.PAGE_SIZE);
    // The reserved block that stays gets the names of what lives in it.
    list = list.map((e) =>
      e.type === E820.RESERVED && e.start <= zone!.start && e.start + e.size >= zone!.end && e.provenance.includes('SeaBIOS ZoneHigh (malloc_preinit)')
        ? { ...e, provenance: residents.length > 0 ? residents : e.provenance }
        : e,
    );
    add(zone.start, zoneReturned, E820.RAM, 'ZoneHigh giveback (malloc_prepboot)');
    log.push(`Returned ${zoneReturned} bytes of ZoneHigh`);
  }
  const legacyRamSize = calcRamSize(list);
  // acpi_setup builds its own tables when QEMU offers no table-loader (the same test as above).
  const ownDsdt = !handoff.firmwareInputs.hasTableLoader && profile.selfBuiltAcpi !== null && handoff.firmwareInputs.acpiPmDevice !== null;

  return {
    entries: toRanges(list),
    zoneHighReturned: Number(zoneReturned),
    legacyRamSize,
    baseMemKiB,
    provenance: list.map((e) => e.provenance.join(' + ')),
    zoneHigh: zone,
    earlyLegacyRamSize,
    log,
    ...(intent.length > 0 ? { declared } : {}),
    ...(ownDsdt ? { pciWindows: selfBuiltPciWindows(handoff) } : {}),
    // build_mcfg_q35: Q35_HOST_BRIDGE_PCIEXBAR_ADDR, buses 0-255 — where pci_setup put MMCONFIG.
    ...(ownDsdt && handoff.firmwareInputs.acpiPmDevice === 'ich9-lpc' ? { mmconfig: { start: L.Q35_MMCONFIG_START, end: L.Q35_MMCONFIG_START + L.Q35_MMCONFIG_SIZE - 1n } } : {}),
  };
}

/**
 * PCI0._CRS of the DSDT SeaBIOS builds itself (src/fw/acpi-dsdt-pci-crs.dsl, patched by
 * src/fw/acpi.c build_ssdt with pcimem_start/pcimem_end): the VGA window and
 * [pcimem_start, BUILD_PCIMEM_END). pcimem_start is RamSize raised to 2 or 3 GiB on i440fx
 * (src/fw/pciinit.c i440fx_mem_addr_setup), the end of MMCONFIG on q35 (mch_mmconfig_setup) —
 * not the end of RAM that QEMU's own DSDT uses. The 64-bit window (PW64) exists only when
 * SeaBIOS mapped BARs above 4 GiB, which the model assumes it did not.
 */
function selfBuiltPciWindows(handoff: Handoff): Array<{ start: bigint; end: bigint }> {
  const ramSize = handoff.ramBelow4g;
  const start =
    handoff.platform.chipset === 'q35' ? L.Q35_PCIMEM_START : ramSize <= 0x80000000n ? 0x80000000n : ramSize <= 0xc0000000n ? 0xc0000000n : ramSize;
  return [{ ...QEMU_LAYOUT.VGA_WINDOW }, { start, end: L.PCIMEM_END - 1n }];
}

/**
 * pci_setup's pci_pad_mem64 (src/fw/pciinit.c): true when every 64-bit memory BAR goes above 4 GiB.
 * RamSizeOver4G: from etc/e820 the highest end of a RAM record at or above 4 GiB, minus 4 GiB
 * (src/fw/paravirt.c qemu_early_e820), else CMOS 0x5b-0x5d (qemu_cfg_e820). CPUPhysBits: physbits(1)
 * (paravirt.c, 1.16.3+): CPUID 0x80000008 bits, kept only if ≥ 41, or 36/39 on GenuineIntel, or
 * 40 on AuthenticAMD (the QEMU quirk), else 0. CPUs with long mode here all have PAE and leaf
 * 0x80000008; without long mode the pad is off in both releases that have it.
 */
export function pciPadMem64(handoff: Handoff, profile: SeabiosProfile): boolean {
  if (profile.mem64BarsHigh === 'never' || !handoff.platform.longMode) return false;
  let over4G = 0n;
  if (handoff.hasFwCfg && handoff.e820 !== null) {
    for (const r of handoff.e820) {
      if (r.type === E820.RAM && r.start >= FOUR_GIB && r.start + r.length - FOUR_GIB > over4G) over4G = r.start + r.length - FOUR_GIB;
    }
  } else if (handoff.hasFwCfg) over4G = BigInt(handoff.cmos.above4GiB64K) << 16n;
  if (over4G === 0n) return false;
  if (profile.mem64BarsHigh === 'ram-over-4g') return true;
  const bits = handoff.platform.physBits;
  const vendor = handoff.platform.cpuVendor;
  const valid = bits >= 41 || (vendor === 'GenuineIntel' && (bits === 36 || bits === 39)) || (vendor === 'AuthenticAMD' && bits === 40);
  return valid && bits >= 36;
}

/** src/hw/virtio-ring.h MAX_QUEUE_NUM: the largest virtqueue SeaBIOS's legacy virtio path takes. */
const VIRTIO_MAX_QUEUE_NUM = 256;

/** Calibration: the ZoneHigh record a table-loader WRITE_POINTER leaves (vmgenid: measured +0x2000 total, docs/model/calibration.md#table-loader-records). */
export const WRITE_POINTER_RECORD = { size: 16n, align: 16n } as const;

/** `e820 map has N items:` and its entry lines, exactly as dump_map prints them. */
export function dumpMapLines(entries: readonly E820Range[]): string[] {
  const names: Record<number, string> = { 1: 'RAM', 2: 'RESERVED', 3: 'ACPI', 4: 'NVS', 5: 'UNUSABLE' };
  return [
    `e820 map has ${entries.length} items:`,
    ...entries.map(
      (e, i) =>
        `  ${i}: ${hexPadded(e.start, 16)} - ${hexPadded(e.end, 16)} = ${e.type} ${names[e.type] ?? 'UNKNOWN'}`,
    ),
  ];
}

// ---------------------------------------------------------------------------------------------
// INT 15h / INT 12h services (src/system.c; identical in all four tags)

export type Int15E820Result =
  | { cf: 0; eax: number; ebx: number; ecx: number; entry: E820Range }
  | { cf: 1; ah: 0x86 };

/** handle_15e820: entry BX of the map; EBX+1 (32-bit) or 0 after the last; errors CF=1 AH=86h. */
export function int15E820(map: readonly E820Range[], ebx: number, ecx: number, edx: number): Int15E820Result {
  const bx = ebx & 0xffff;
  if (edx >>> 0 !== 0x534d4150 || bx >= map.length || ecx >>> 0 < 20) return { cf: 1, ah: 0x86 };
  const entry = map[bx]!;
  return { cf: 0, eax: 0x534d4150, ecx: 20, ebx: bx === map.length - 1 ? 0 : ((ebx >>> 0) + 1) >>> 0, entry };
}

/** handle_15e801: AX=CX KiB between 1 and 16 MiB, BX=DX 64 KiB blocks above 16 MiB (from LegacyRamSize). */
export function int15E801(legacyRamSize: bigint): { ax: number; bx: number; cx: number; dx: number } {
  if (legacyRamSize > L.INT15_E801_SPLIT) {
    const dx = Number((legacyRamSize - L.INT15_E801_SPLIT) / (64n * 1024n));
    const cx = Number((L.INT15_E801_SPLIT - MiB) / 1024n);
    return { ax: cx, bx: dx, cx, dx };
  }
  const cx = Number((legacyRamSize - MiB) / 1024n);
  return { ax: cx, bx: 0, cx, dx: 0 };
}

/** handle_1588: KiB above 1 MiB, capped at 63 MiB. */
export function int1588(legacyRamSize: bigint): { ax: number } {
  return { ax: Number(((legacyRamSize > L.INT15_88H_LIMIT ? L.INT15_88H_LIMIT : legacyRamSize) - MiB) / 1024n) };
}

/**
 * What the three services answer after POST (E801 and 88h from the final LegacyRamSize, which
 * malloc_prepboot's calcRamSize sets), with the declared failures (reference/intent.ts int15Fails)
 * answering CF=1 instead.
 */
export function int15Answers(firmware: Pick<FirmwareMap, 'entries' | 'legacyRamSize'>, fails: readonly Int15Service[] = []): Int15Answers {
  return {
    e820: fails.includes('e820') ? null : firmware.entries,
    e801: fails.includes('e801') ? null : int15E801(firmware.legacyRamSize),
    e88: fails.includes('88h') ? null : int1588(firmware.legacyRamSize),
  };
}
