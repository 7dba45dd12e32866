// The E820-derived lines of /proc/iomem (docs/model/linux.md#prociomem).
//
// ── The rule ─────────────────────────────────────────────────────────────────────────────────
// PREDICTED: every /proc/iomem line whose name is one e820 code gives (reference/kernel-lines.ts
// IOMEM_E820_NAMES: System RAM, Reserved, ACPI Tables, ACPI Non-volatile Storage, Unusable
// memory, Persistent Memory, Persistent Memory (legacy), Soft Reserved, Unknown E820 type,
// RAM buffer), with its exact text: indentation (two spaces per depth, capped at the profile's
// MAX_IORES_LEVEL), start and end as %0*llx (8 digits minimum), ` : `, name — in /proc/iomem
// order (depth first, siblings by address).
// EXCLUDED (neither predicted nor compared, only counted by the parser): every other line —
// PCI host bridge windows, BARs, MMCONFIG/ECAM, ROMs, Kernel code/rodata/data/bss, Crash
// kernel, IOAPIC/HPET/Local APIC, PNP, hmem.N, driver children.
//
// The excluded resources still decide the *depth* of the compared ones, so the model builds the
// real tree in kernel order with the non-E820 resources it can place from Platform:
//   1. probe_roms(): `System ROM` [0xf0000, 0xfffff], request_resource (top level).
//   2. e820__reserve_resources(): each entry of the final table; < 1 MiB or a busy type →
//      insert_resource now; RESERVED/SOFT_RESERVED/PRAM/PMEM ≥ 1 MiB deferred.
//   3. ACPI host bridge windows (Platform.pciWindows, clipped to 2^physBits − 1),
//      insert_resource_conflict; a conflicting window is dropped.
//   4. e820__reserve_resources_late(): every e820 resource without a parent,
//      insert_resource_expand_to_fit (→ `Expanded resource` lines; 7.2 sends SOFT_RESERVED to a
//      separate tree: absent); then `RAM buffer` pieces (reserve_region_with_split, top level).
//      It runs from pcibios_resource_survey() (arch/x86/pci/i386.c), i.e. only when the kernel
//      found PCI: without a PCI host bridge (isapc) the deferred entries never reach /proc/iomem
//      and there are no RAM buffers (observed on 6.1: "PCI: System does not support PCI").
//   5. late_initcall: q35's MMCONFIG/ECAM resource (insert_resource; it wraps an identical
//      Reserved entry) and, 5.10/6.1, an `hmem.N` wrapper around each Soft Reserved range.
// The Kernel code/rodata/data/bss resources are left out: they are children of the System RAM
// entry holding the kernel and cannot change an E820 line's depth unless an entry boundary cuts
// through the (KASLR-placed) kernel image, which e820_add_kernel_range() territory the stage
// already declares unpredictable.
//
// ── When `iomem` is absent ───────────────────────────────────────────────────────────────────
// Some non-E820 resources have extents the model does not know. If an E820-derived resource
// (after any expansion) or a RAM-buffer request intersects one of these zones without
// containing it whole, its depth (or its existence) could differ, so the stage omits `iomem`:
//   • [0xc0000, 0xeffff]: Video/Adapter/Extension ROMs (size read from the ROM images);
//   • [0xe0000000, 0xfebfffff] and every PCI window above 4 GiB: SeaBIOS packs BARs downward
//     from BUILD_PCIMEM_END (0xfec00000) and moves them to the 64-bit window when they do not
//     fit (src/fw/pciinit.c pci_bios_init_root_regions_mem), so where BARs sit depends on the
//     devices;
//   • IOAPIC 0xfec00000-0xfec003ff, HPET 0xfed00000-0xfed003ff, Local APIC 0xfee00000-0xfee00fff
//     (inserted after the late e820 pass; Local APIC only shown by 5.10/6.1).
// Also absent when the kernel image's placement matters (see linux-stage.ts) or the kernel
// panics, and when the user map makes RAM of a firmware-reserved range that may hold the ACPI
// tables and the lines would differ without the ACPI host bridge windows (linux-stage.ts
// acpiTablesMayBeRam: drivers/acpi/osl.c acpi_map() cannot map a multi-page table on System RAM,
// so the namespace and its _CRS windows are lost; seen on 5.10, 6.1, 6.12 and 7.2).

import { U64_MAX, hexPadded } from '../address.ts';
import { E820 } from '../e820.ts';
import type { Platform } from '../stages.ts';
import type { KernelProfile } from '../profiles/kernel.ts';
import { type Res, insertExpandToFit, insertResource, makeRoot, requestResource, reserveRegionWithSplit, walk } from './resource-tree.ts';
import { type KLine, type KTable, memRange, u64 } from './table.ts';

/** arch/x86/kernel/probe_roms.c system_rom_resource. */
export const SYSTEM_ROM = { start: 0xf0000n, end: 0xfffffn } as const;
/** do_mark_busy(): the legacy BIOS/ROM-shadow area below 1 MiB is always busy and inserted early. */
export const LEGACY_AREA_END = 0x100000n;

/** Extents the model cannot know; see the header. */
export interface UncertainZone {
  readonly start: bigint;
  readonly end: bigint;
  readonly what: string;
  /** Already in the tree when e820__reserve_resources_late() runs (so it can cause `Expanded resource`). */
  readonly beforeLate: boolean;
}

const OPTION_ROMS = 'option ROMs (probe_roms)';

export const UNCERTAIN_ZONES: readonly UncertainZone[] = [
  { start: 0xc0000n, end: 0xeffffn, what: OPTION_ROMS, beforeLate: true },
  { start: 0xe0000000n, end: 0xfebfffffn, what: 'PCI BARs (SeaBIOS BUILD_PCIMEM_START..END)', beforeLate: true },
  { start: 0xfec00000n, end: 0xfec003ffn, what: 'IOAPIC 0', beforeLate: false },
  { start: 0xfed00000n, end: 0xfed003ffn, what: 'HPET 0', beforeLate: false },
  { start: 0xfee00000n, end: 0xfee00fffn, what: 'Local APIC', beforeLate: false },
];

export function resourceName(type: number, profile: KernelProfile): string {
  return profile.resourceName[type] ?? profile.unknownResourceName;
}

/** do_mark_busy() (≤ 6.12) / !e820_device_region() (7.2). */
export function insertedEarly(start: bigint, type: number): boolean {
  if (start < LEGACY_AREA_END) return true;
  return !(type === E820.RESERVED || type === E820.SOFT_RESERVED || type === E820.PRAM || type === E820.PMEM);
}

/** ram_alignment(): 64 KiB in the first MiB, 1 MiB below 16 MiB, else 64 MiB. */
export function ramAlignment(pos: bigint): bigint {
  const mb = pos >> 20n;
  if (mb === 0n) return 64n * 1024n;
  if (mb < 16n) return 1n << 20n;
  return 64n << 20n;
}

export interface IomemResult {
  /** null: not predictable (reason given). */
  readonly lines: readonly string[] | null;
  readonly unpredictable: string | null;
  /** `Expanded resource …` lines then RAM buffer lines, in the order e820__reserve_resources_late() prints them. */
  readonly lateLines: readonly KLine[];
  /** lateLines may miss an `Expanded resource` line caused by a resource of unknown extent. */
  readonly lateUncertain: boolean;
}

/** What of the platform /proc/iomem depends on. */
export type IomemPlatform = Pick<Platform, 'physBits' | 'pciWindows' | 'optionRoms' | 'pci' | 'hotplugRam' | 'mmconfig'>;

export interface IomemInputs {
  readonly table: KTable;
  readonly platform: IomemPlatform;
  /** The q35 ECAM window passed the E820 check, so its resource is inserted at late_initcall. */
  readonly mmconfigInserted: boolean;
  readonly profile: KernelProfile;
}

export function renderLine(r: Res, depth: number, profile: KernelProfile): string {
  const indent = '  '.repeat(Math.min(depth, profile.iomemMaxDepth));
  return `${indent}${hexPadded(r.start, 8)}-${hexPadded(r.end, 8)} : ${r.name}`;
}

function uncertainZones(platform: IomemPlatform): UncertainZone[] {
  const above4g = platform.pciWindows
    .filter((w) => w.end >= 1n << 32n)
    .map((w) => ({ start: w.start, end: w.end, what: 'PCI BARs in the 64-bit window', beforeLate: true }));
  // Without shadowed option ROMs (qboot) probe_roms() adds nothing below the System ROM.
  const zones = platform.optionRoms === false ? UNCERTAIN_ZONES.filter((z) => z.what !== OPTION_ROMS) : UNCERTAIN_ZONES;
  return [...zones, ...above4g];
}

function straddles(r: { start: bigint; end: bigint }, z: { start: bigint; end: bigint }): boolean {
  const meets = r.start <= z.end && z.start <= r.end;
  const contains = r.start <= z.start && r.end >= z.end;
  return meets && !contains;
}

export function buildIomem(inp: IomemInputs): IomemResult {
  const { table, platform, profile } = inp;
  const rootEnd = (1n << BigInt(platform.physBits)) - 1n;
  let root = makeRoot(rootEnd);
  const zones = uncertainZones(platform);
  const problems: string[] = [];
  let lateUncertain = false;
  const check = (r: { start: bigint; end: bigint; name: string }, buffer: boolean): void => {
    for (const z of zones) {
      if (!straddles(r, z)) continue;
      problems.push(`${r.name} ${hexPadded(r.start, 8)}-${hexPadded(r.end, 8)} meets ${z.what}`);
      // A late e820 insert that meets a resource already present may print `Expanded resource`.
      if (z.beforeLate && !buffer) lateUncertain = true;
    }
  };

  // 1. probe_roms()
  root = requestResource(root, { id: 'rom.system', ...SYSTEM_ROM, name: 'System ROM', e820: false, children: [] }).root;

  // The e820 resources in the tree, by id, as placed (an expansion widens them). Resources are
  // never removed once inserted, so this answers "is it in the tree?" without walking it.
  const placedE820 = new Map<string, Res>();
  const insertE820 = (res: Res): void => {
    const r = insertResource(root, res);
    root = r.root;
    if (r.conflict === null) placedE820.set(res.id, res);
  };

  // 2. e820__reserve_resources()
  const e820Res: Res[] = [];
  table.forEach((e, i) => {
    const end = u64(e.addr + e.size - 1n);
    const res: Res = { id: `e820.${i}`, start: e.addr, end, name: resourceName(e.type, profile), e820: true, children: [] };
    e820Res.push(res);
    if (insertedEarly(e.addr, e.type)) insertE820(res);
  });

  // 3. ACPI host bridge windows.
  platform.pciWindows.forEach((w, i) => {
    if (w.start > rootEnd) return;
    const end = w.end > rootEnd ? rootEnd : w.end;
    root = insertResource(root, { id: `pci.${i}`, start: w.start, end, name: 'PCI Bus 0000:00', e820: false, children: [] }).root;
  });

  // 4. e820__reserve_resources_late(), from pcibios_resource_survey(): not without PCI.
  const lateLines: KLine[] = [];
  const late = platform.pci ? table : [];
  late.forEach((e, i) => {
    const res = e820Res[i]!;
    if (placedE820.has(res.id) || res.end === 0n) return;
    if (e.type === E820.SOFT_RESERVED && profile.softReservedInIomem === 'absent') return;
    const r = insertExpandToFit(root, res);
    root = r.root;
    if (r.placed !== null) placedE820.set(res.id, r.placed);
    for (const name of r.expandedWith) {
      lateLines.push({
        level: profile.expandedResourceLevel,
        text: `${profile.expandedResourcePrefix}Expanded resource ${res.name} due to conflict with ${name}`,
      });
    }
  });
  late.forEach((e, i) => {
    if (e.type !== E820.RAM) return;
    const start = u64(e.addr + e.size);
    const align = ramAlignment(start);
    let end = ((start + align - 1n) / align) * align - 1n;
    if (end > U64_MAX) end = U64_MAX;
    if (start >= end) return;
    lateLines.push({ level: profile.ramBufferLevel, text: `${profile.ramBufferText} ${memRange(start, end)}` });
    check({ start, end, name: 'RAM buffer' }, true);
    root = reserveRegionWithSplit(root, start, end, 'RAM buffer', `buf.${i}`).root;
  });

  // ACPI memory hotplug (subsys_initcall): each cold-plugged DIMM becomes top-level System RAM
  // (mm/memory_hotplug.c register_memory_resource). Marked e820 so it is printed and compared.
  platform.hotplugRam.forEach((r, i) => {
    root = insertResource(root, { id: `hotplug.${i}`, start: r.start, end: r.end, name: resourceName(E820.RAM, profile), e820: true, children: [] }).root;
  });

  // 5. late_initcall: MMCONFIG/ECAM, hmem.N.
  if (platform.mmconfig !== null && inp.mmconfigInserted) {
    root = insertResource(root, { id: 'mmconfig', ...platform.mmconfig, name: 'PCI MMCONFIG', e820: false, children: [] }).root;
  }
  if (profile.softReservedInIomem === 'inside-hmem') {
    let n = 0;
    table.forEach((e, i) => {
      const placed = e.type === E820.SOFT_RESERVED ? (placedE820.get(`e820.${i}`) ?? null) : null;
      if (placed === null) return;
      root = insertResource(root, { id: `hmem.${n}`, start: placed.start, end: placed.end, name: `hmem.${n}`, e820: false, children: [] }).root;
      n++;
    });
  }

  const placed = walk(root).filter((p) => p.res.e820);
  for (const p of placed) if (p.res.name !== 'RAM buffer') check(p.res, false);
  // The original (unexpanded) ranges too: an expansion may already have swallowed the zone
  // (only the late pass expands; without it the unplaced ranges show nowhere).
  if (platform.pci) for (const r of e820Res) check(r, false);
  if (problems.length > 0) return { lines: null, unpredictable: [...new Set(problems)].join('; '), lateLines, lateUncertain };
  return { lines: placed.map((p) => renderLine(p.res, p.depth, profile)), unpredictable: null, lateLines, lateUncertain };
}

