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

import { FOUR_GIB, U64_MAX, hexPadded, hexPaddedOfDigits } from '../address.ts';
import { E820, nameOfType } from '../e820.ts';
import type { Platform } from '../stages.ts';
import type { KernelProfile } from '../profiles/kernel.ts';
import { type Res, ResourceTree, resource } from './resource-tree.ts';
import type { EntryDigits } from './print.ts';
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
  return nameOfType(profile.resourceName, type) ?? profile.unknownResourceName;
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
  /** The hex digits of `table`'s entries, by index, where already spelled for the boot dump (undefined: not spelled). */
  readonly digits?: readonly (EntryDigits | undefined)[];
}

/** Two spaces per depth: the indentation strings, made once. */
const INDENTS = Array.from({ length: 16 }, (_, depth) => '  '.repeat(depth));

export function renderLine(r: Res, depth: number, profile: KernelProfile): string {
  const levels = Math.min(depth, profile.iomemMaxDepth);
  const indent = INDENTS[levels] ?? '  '.repeat(levels);
  if (r.digits !== null) return `${indent}${hexPaddedOfDigits(r.digits.first, 8)}-${hexPaddedOfDigits(r.digits.last, 8)} : ${r.name}`;
  return `${indent}${hexPadded(r.start, 8)}-${hexPadded(r.end, 8)} : ${r.name}`;
}

function uncertainZones(platform: IomemPlatform): UncertainZone[] {
  // Without shadowed option ROMs (qboot) probe_roms() adds nothing below the System ROM.
  const zones = platform.optionRoms === false ? UNCERTAIN_ZONES.filter((z) => z.what !== OPTION_ROMS) : [...UNCERTAIN_ZONES];
  for (const w of platform.pciWindows) {
    if (w.end >= FOUR_GIB) zones.push({ start: w.start, end: w.end, what: 'PCI BARs in the 64-bit window', beforeLate: true });
  }
  return zones;
}

function straddles(r: { start: bigint; end: bigint }, z: { start: bigint; end: bigint }): boolean {
  // Most resources meet no zone: that answer needs only the first two comparisons.
  if (!(r.start <= z.end && z.start <= r.end)) return false;
  return !(r.start <= z.start && r.end >= z.end);
}

export function buildIomem(inp: IomemInputs): IomemResult {
  const { table, platform, profile } = inp;
  const rootEnd = (1n << BigInt(platform.physBits)) - 1n;
  const tree = new ResourceTree(rootEnd);
  const zones = uncertainZones(platform);
  // Zones in ascending order of start (the fixed ones are, and the 64-bit windows above them
  // nearly always): then no zone after one that starts past a resource's end can meet it.
  const ascending = zones.every((z, i) => i === 0 || zones[i - 1]!.start <= z.start);
  const problems: string[] = [];
  let lateUncertain = false;
  const check = (r: { start: bigint; end: bigint; name: string }, buffer: boolean): void => {
    for (const z of zones) {
      if (ascending && z.start > r.end) break;
      if (!straddles(r, z)) continue;
      problems.push(`${r.name} ${hexPadded(r.start, 8)}-${hexPadded(r.end, 8)} meets ${z.what}`);
      // A late e820 insert that meets a resource already present may print `Expanded resource`.
      if (z.beforeLate && !buffer) lateUncertain = true;
    }
  };

  // 1. probe_roms()
  tree.request(resource(SYSTEM_ROM.start, SYSTEM_ROM.end, 'System ROM', false));

  // The e820 resources in the tree, by table index, as placed (an expansion widens them).
  // Resources are never removed once inserted, so this answers "is it in the tree?" without walking it.
  const placedE820: Array<Res | undefined> = [];

  // 2. e820__reserve_resources()
  const e820Res: Res[] = [];
  for (let i = 0; i < table.length; i++) {
    const e = table[i]!;
    const res = resource(e.addr, u64(e.addr + e.size - 1n), resourceName(e.type, profile), true, inp.digits?.[i] ?? null);
    e820Res.push(res);
    if (insertedEarly(e.addr, e.type) && tree.insert(res) === null) placedE820[i] = res;
  }

  // 3. ACPI host bridge windows.
  for (const w of platform.pciWindows) {
    if (w.start > rootEnd) continue;
    tree.insert(resource(w.start, w.end > rootEnd ? rootEnd : w.end, 'PCI Bus 0000:00', false));
  }

  // 4. e820__reserve_resources_late(), from pcibios_resource_survey(): not without PCI.
  const lateLines: KLine[] = [];
  const late = platform.pci ? table : [];
  for (let i = 0; i < late.length; i++) {
    const e = late[i]!;
    const res = e820Res[i]!;
    if (placedE820[i] !== undefined || res.end === 0n) continue;
    if (e.type === E820.SOFT_RESERVED && profile.softReservedInIomem === 'absent') continue;
    const r = tree.insertExpandToFit(res);
    if (r.placed !== null) placedE820[i] = r.placed;
    for (const name of r.expandedWith) {
      lateLines.push({
        level: profile.expandedResourceLevel,
        text: `${profile.expandedResourcePrefix}Expanded resource ${res.name} due to conflict with ${name}`,
      });
    }
  }
  for (const e of late) {
    if (e.type !== E820.RAM) continue;
    const start = u64(e.addr + e.size);
    const align = ramAlignment(start);
    let end = ((start + align - 1n) / align) * align - 1n;
    if (end > U64_MAX) end = U64_MAX;
    if (start >= end) continue;
    lateLines.push({ level: profile.ramBufferLevel, text: `${profile.ramBufferText} ${memRange(start, end)}` });
    check({ start, end, name: 'RAM buffer' }, true);
    tree.reserveRegionWithSplit(start, end, 'RAM buffer');
  }

  // ACPI memory hotplug (subsys_initcall): each cold-plugged DIMM becomes top-level System RAM
  // (mm/memory_hotplug.c register_memory_resource). Marked e820 so it is printed and compared.
  for (const r of platform.hotplugRam) tree.insert(resource(r.start, r.end, resourceName(E820.RAM, profile), true));

  // 5. late_initcall: MMCONFIG/ECAM, hmem.N.
  if (platform.mmconfig !== null && inp.mmconfigInserted) {
    tree.insert(resource(platform.mmconfig.start, platform.mmconfig.end, 'PCI MMCONFIG', false));
  }
  if (profile.softReservedInIomem === 'inside-hmem') {
    let n = 0;
    for (let i = 0; i < table.length; i++) {
      const placed = table[i]!.type === E820.SOFT_RESERVED ? placedE820[i] : undefined;
      if (placed === undefined) continue;
      tree.insert(resource(placed.start, placed.end, `hmem.${n}`, false));
      n++;
    }
  }

  const placed = tree.walk((r) => r.e820);
  for (const p of placed) if (p.res.name !== 'RAM buffer') check(p.res, false);
  // The original (unexpanded) ranges too: an expansion may already have swallowed the zone
  // (only the late pass expands; without it the unplaced ranges show nowhere).
  // (One placed as it was has just been checked.)
  if (platform.pci) for (let i = 0; i < e820Res.length; i++) if (placedE820[i] !== e820Res[i]) check(e820Res[i]!, false);
  if (problems.length > 0) return { lines: null, unpredictable: [...new Set(problems)].join('; '), lateLines, lateUncertain };
  return { lines: placed.map((p) => renderLine(p.res, p.depth, profile)), unpredictable: null, lateLines, lateUncertain };
}
