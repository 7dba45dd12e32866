// The E820 steps of setup_arch() after the command line (arch/x86/kernel/setup.c, e820.c; docs/model/linux.md):
// loading the firmware map, setup_data, the user-defined map, trim_bios_range, last_pfn,
// nosave regions and the PCI gap. Each is a pure function of the working table.

import { E820 } from '../e820.ts';
import { FOUR_GIB, MiB, hex, kernelHex } from '../address.ts';
import type { E820Range } from '../e820.ts';
import type { KernelProfile } from '../profiles/kernel.ts';
import { KERN } from '../profiles/kernel.ts';
import { type EntryDigits, entryDigits, printTable } from './print.ts';
import { sanitize } from './sanitize.ts';
import { detectMemory, E820_MAX_ENTRIES_ZEROPAGE, type MemorySetup, memorySetupDefault } from './boot-memory.ts';
import { type KLine, type KTable, rangeRemove, rangeUpdate, u64 } from './table.ts';

export const PAGE_SHIFT = 12n;
export const PAGE_SIZE = 1n << PAGE_SHIFT;
export { E820_MAX_ENTRIES_ZEROPAGE };
/** trim_bios_range(): the legacy VGA/ROM hole [BIOS_BEGIN, BIOS_END) (asm/e820/types.h). */
export const BIOS_BEGIN = 0xa0000n;
export const BIOS_END = 0x100000n;
/** e820_search_gap(): MAX_GAP_END and the minimum gap e820__setup_pci_gap() asks for. */
export const MAX_GAP_END = FOUR_GIB;
export const MIN_PCI_GAP = 0x400000n;

const pfnDown = (a: bigint): bigint => a >> PAGE_SHIFT;
const pfnUp = (a: bigint): bigint => (a + PAGE_SIZE - 1n) >> PAGE_SHIFT;

export interface Loaded {
  /** The working table after load + sanitise (= e820_table_firmware = e820_table_kexec). */
  readonly table: KTable;
  /** `BIOS-provided physical RAM map:` plus the `<who>:` dump. */
  readonly header: KLine;
  readonly dump: readonly KLine[];
  /** The hex digits of `table`'s entries as the dump spelled them (for /sys/firmware/memmap, which prints the same table). */
  readonly digits: readonly EntryDigits[];
  readonly who: string;
  /** Which way the kernel sized memory, and why (reference/linux/boot-memory.ts). */
  readonly setup: MemorySetup;
}

/**
 * e820__memory_setup(): the BIOS's answers as detect_memory() stored them in boot_params,
 * e820__memory_setup_default() (the E820 table, or the E801/88h fallback map), then the dump.
 * `memory` is what e820__memory_setup_default() made of the firmware's INT 15h answers
 * (memorySetupDefault(detectMemory(bios)), reference/linux/boot-memory.ts), which the caller has
 * already computed to decide whether the kernel starts. Without it the E820 answer is `entries`
 * and the other two are unknown: a map the kernel would refuse then throws FallbackUnmodelled,
 * as the fallback needs the E801/88h sizes.
 */
export function loadFirmwareMap(entries: readonly E820Range[], profile: KernelProfile, memory?: MemorySetup): Loaded {
  let setup: MemorySetup;
  if (memory === undefined) {
    setup = memorySetupDefault({ e820Table: detectMemory({ e820: entries, e801: null, e88: { ax: 0 } }).e820Table, altMemK: 0, extMemK: 0 }, profile);
    if (setup.path !== 'e820') throw new FallbackUnmodelled(Math.min(entries.length, E820_MAX_ENTRIES_ZEROPAGE));
  } else setup = memory;
  const digits = entryDigits(setup.table);
  return {
    table: setup.table,
    who: setup.who,
    header: { level: KERN.INFO, text: 'BIOS-provided physical RAM map:' },
    dump: printTable(setup.who, setup.table, profile, digits),
    digits,
    setup,
  };
}

export class FallbackUnmodelled extends Error {
  constructor(readonly entries: number) {
    super(
      `the kernel would fall back to E801/88h memory sizing (firmware map with ${entries} usable entries); ` +
        'the model does not predict that path without the E801/88h answers',
    );
    this.name = 'FallbackUnmodelled';
  }
}

/** A setup_data node as QEMU chains it (header address, payload length, type). */
export interface SetupDataNode {
  readonly addr: bigint;
  /** Payload length; the node covers [addr, addr + 16 + len). */
  readonly len: bigint;
  readonly type: number;
}

/** e820__reserve_setup_data() (5.10–6.12): RAM → RESERVED_KERN per node, then the `reserve setup_data` dump. */
export function reserveSetupData(table: KTable, nodes: readonly SetupDataNode[], profile: KernelProfile): { table: KTable; lines: KLine[] } {
  if (!profile.reservesSetupData || nodes.length === 0) return { table, lines: [] };
  let t = table;
  const lines: KLine[] = [];
  for (const n of nodes) {
    const r = rangeUpdate(t, n.addr, 16n + n.len, E820.RAM, E820.RESERVED_KERN, profile);
    t = r.table;
    lines.push(...r.lines);
    const skip = profile.setupDataKexecSkip;
    // The kexec-table update prints the same line again; its table is not otherwise observed.
    if (skip !== 'all' && !skip.includes(n.type)) lines.push(r.lines[0]!);
  }
  t = sanitize(t).table;
  lines.push({ level: KERN.INFO, text: 'extended physical RAM map:' });
  lines.push(...printTable('reserve setup_data', t, profile));
  return { table: t, lines };
}

/** The kernel panics with this where the user map does not sanitise (docs/model/linux.md#the-user-defined-map). */
export const INVALID_USER_MAP = 'Invalid user supplied memory map';

/** e820__finish_early_params(): null table = panic. */
export function finishEarlyParams(table: KTable, userdef: boolean, profile: KernelProfile): { table: KTable | null; lines: KLine[] } {
  if (!userdef) return { table, lines: [] };
  const s = sanitize(table);
  if (!s.ok) return { table: null, lines: [] };
  return {
    table: s.table,
    lines: [{ level: KERN.INFO, text: 'user-defined physical RAM map:' }, ...printTable('user', s.table, profile)],
  };
}

/** trim_bios_range(): page 0 RAM → reserved, RAM out of [0xa0000, 0x100000), sanitise. */
export function trimBiosRange(table: KTable, profile: KernelProfile): { table: KTable; lines: KLine[] } {
  const a = rangeUpdate(table, 0n, PAGE_SIZE, E820.RAM, E820.RESERVED, profile);
  const b = rangeRemove(a.table, BIOS_BEGIN, BIOS_END - BIOS_BEGIN, E820.RAM, profile);
  return { table: sanitize(b.table).table, lines: [...a.lines, ...b.lines] };
}

/** e820_end_pfn(limit) and its `last_pfn = … max_arch_pfn = …` line. */
export function endPfn(table: KTable, limitPfn: bigint, profile: KernelProfile): { pfn: bigint; line: KLine } {
  let last = 0n;
  for (const e of table) {
    if (!profile.lastPfnTypes.includes(e.type)) continue;
    const s = pfnDown(e.addr);
    const en = pfnDown(u64(e.addr + e.size));
    if (s >= limitPfn) continue;
    if (en > limitPfn) {
      last = limitPfn;
      break;
    }
    if (en > last) last = en;
  }
  if (last > profile.maxArchPfn) last = profile.maxArchPfn;
  const line = { level: KERN.INFO, text: `last_pfn = ${hex(last)} max_arch_pfn = ${hex(profile.maxArchPfn)}` };
  return { pfn: last, line };
}

/** max_pfn (and max_low_pfn when max_pfn is above 4 GiB), with their lines. */
export function lastPfnLines(table: KTable, profile: KernelProfile): { maxPfn: bigint; lines: KLine[] } {
  const first = endPfn(table, profile.maxArchPfn, profile);
  const lines = [first.line];
  if (first.pfn > 1n << 20n) lines.push(endPfn(table, 1n << 20n, profile).line);
  return { maxPfn: first.pfn, lines };
}

/** register_nosave_region(s, e)'s line, appended to `out` (none for an empty range). */
function pushNosaveLine(out: KLine[], s: bigint, e: bigint): void {
  if (s >= e) return;
  const text = `PM: hibernation: Registered nosave memory: [mem ${kernelHex(s << PAGE_SHIFT, 10)}-${kernelHex((e << PAGE_SHIFT) - 1n, 10)}]`;
  out.push({ level: KERN.INFO, text });
}

/** e820__register_nosave_regions(max_pfn) (silent without CONFIG_HIBERNATION), old (5.10.223) or new algorithm (docs/model/linux.md#nosave-regions). */
export function nosaveLines(table: KTable, maxPfn: bigint, profile: KernelProfile): KLine[] {
  if (!profile.hibernation) return [];
  const isRam = (t: number): boolean => profile.nosaveRamTypes.includes(t);
  const out: KLine[] = [];
  if (profile.nosave === 'ram-holes') {
    let last = 0n;
    for (const e of table) {
      if (!isRam(e.type)) continue;
      if (last < e.addr) pushNosaveLine(out, pfnDown(last), pfnUp(e.addr));
      last = u64(e.addr + e.size);
    }
    pushNosaveLine(out, pfnDown(last), maxPfn);
    return out;
  }
  let pfn = 0n;
  for (const e of table) {
    // PFN_UP(entry->addr) once an entry (a bigint shift is ~15 ns, and the loop needed it up to three times).
    const startPfn = pfnUp(e.addr);
    if (pfn < startPfn) pushNosaveLine(out, pfn, startPfn);
    pfn = pfnDown(u64(e.addr + e.size));
    if (!isRam(e.type)) pushNosaveLine(out, startPfn, pfn);
    if (pfn >= maxPfn) break;
  }
  return out;
}

/** e820__setup_pci_gap(): the largest hole below 4 GiB (≥ 4 MiB), searched per profile (docs/model/linux.md#the-pci-gap). */
export function pciGapLines(table: KTable, maxPfn: bigint, profile: KernelProfile): KLine[] {
  let gapSize = MIN_PCI_GAP;
  let gapStart: bigint | null = null;
  if (profile.pciGapSearch === 'backward') {
    let last = MAX_GAP_END;
    for (let i = table.length - 1; i >= 0; i--) {
      const e = table[i]!;
      const end = u64(e.addr + e.size);
      if (last > end && last - end >= gapSize) {
        gapSize = last - end;
        gapStart = end;
      }
      if (e.addr < last) last = e.addr;
    }
  } else {
    let prevEnd = 0n;
    const consider = (start: bigint, end: bigint): void => {
      if (end - start >= gapSize) {
        gapSize = end - start;
        gapStart = start;
      }
    };
    for (const e of table) {
      if (e.addr > prevEnd && prevEnd < MAX_GAP_END) consider(prevEnd, e.addr < MAX_GAP_END ? e.addr : MAX_GAP_END);
      prevEnd = u64(e.addr + e.size);
    }
    if (prevEnd < MAX_GAP_END) consider(prevEnd, MAX_GAP_END);
  }
  const lines: KLine[] = [];
  let start: bigint;
  if (gapStart === null) {
    start = (maxPfn << PAGE_SHIFT) + MiB;
    lines.push({ level: KERN.ERR, text: 'Cannot find an available gap in the 32-bit address range' });
    lines.push({ level: KERN.ERR, text: 'PCI devices with unassigned 32-bit BARs may not work!' });
  } else start = gapStart;
  const text = `[${profile.pciGapTag} ${kernelHex(start, 10)}-${kernelHex(start + gapSize - 1n, 10)}] available for PCI devices`;
  lines.push({ level: KERN.INFO, text });
  return lines;
}
