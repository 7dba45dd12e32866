// How the kernel learns the memory size before it has a map: the real-mode setup code asks the
// BIOS three ways (arch/x86/boot/memory.c detect_memory(): INT 15h E820, then E801, then 88h,
// always all three, each into its own boot_params field), and setup_arch() takes the E820 table
// when it is usable, else fabricates a two-entry map from the larger of the other two sizes
// (arch/x86/kernel/e820.c e820__memory_setup_default()). Same code in 5.10, 6.1, 6.12 and 7.2
// (observed on each through suites/matrix/fallback.yaml). Pure: BIOS answers in, a path and a
// table out.

import { E820 } from '../e820.ts';
import type { KernelProfile } from '../profiles/kernel.ts';
import { UnsupportedOptionError, type Int15Answers } from '../stages.ts';
import { sanitize } from './sanitize.ts';
import { type KTable, u64 } from './table.ts';

/** arch/x86/boot/memory.c: boot_params.e820_table holds 128 entries (E820_MAX_ENTRIES_ZEROPAGE). */
export const E820_MAX_ENTRIES_ZEROPAGE = 128;
/** detect_memory_e801(): an AX above 15 MiB (in KiB) is "Bogus!" and leaves alt_mem_k at 0. */
const E801_LOW_LIMIT_KIB = 15 * 1024;

/** The memory fields of boot_params the setup code fills. */
export interface BootParamsMemory {
  /** boot_params.e820_table[0..e820_entries): what detect_memory_e820() copied, at most 128. */
  readonly e820Table: KTable;
  /** boot_params.alt_mem_k: KiB above 1 MiB from E801, 0 when E801 failed or answered nonsense. */
  readonly altMemK: number;
  /** boot_params.screen_info.ext_mem_k: KiB above 1 MiB from 88h. */
  readonly extMemK: number;
}

/**
 * detect_memory() (arch/x86/boot/memory.c). E820: entries until EBX returns 0 or CF is set, at most
 * 128 (a failing first call leaves e820_entries 0). E801: CX/DX replace AX/BX when non-zero; AX ==
 * 15 MiB adds BX × 64 KiB; AX above that is rejected. 88h: AX is stored whatever CF says, so a
 * failing 88h leaves in ext_mem_k whatever AX the BIOS left behind — not modelled.
 */
export function detectMemory(bios: Int15Answers): BootParamsMemory {
  const e820Table = (bios.e820 ?? []).slice(0, E820_MAX_ENTRIES_ZEROPAGE).map((r) => ({ addr: r.start, size: r.end - r.start, type: r.type }));
  let altMemK = 0;
  if (bios.e801 !== null) {
    const moved = bios.e801.cx !== 0 || bios.e801.dx !== 0;
    const ax = moved ? bios.e801.cx : bios.e801.ax;
    const bx = moved ? bios.e801.dx : bios.e801.bx;
    if (ax === E801_LOW_LIMIT_KIB) altMemK = (bx << 6) + ax;
    else if (ax < E801_LOW_LIMIT_KIB) altMemK = ax;
  }
  if (bios.e88 === null) {
    throw new UnsupportedOptionError(
      'int15',
      'a failing INT 15h 88h: detect_memory_88() (arch/x86/boot/memory.c) stores AX without looking at CF, so the size the kernel uses is whatever AX the failing BIOS call left behind; not modelled',
    );
  }
  return { e820Table, altMemK, extMemK: bios.e88.ax };
}

/** Which way the kernel sized memory: the BIOS's E820 table, or a map made from E801's or 88h's size. */
export type MemoryPath = 'e820' | 'e801' | '88h';

export interface MemorySetup {
  readonly path: MemoryPath;
  /** The `<who>:` of the dump: `BIOS-e820`, `BIOS-e801` or `BIOS-88`. */
  readonly who: string;
  /** e820_table after e820__update_table() (the result is ignored, so an unsanitisable table stays). */
  readonly table: KTable;
  /** One sentence: why this path (for `predict --explain`). */
  readonly why: string;
  /** On a fallback: what RAM the firmware's map had that the fabricated one leaves out, one sentence. */
  readonly lost?: string;
}

/**
 * e820__memory_setup_default(): append_e820_table() refuses a table with fewer than
 * `minFirmwareEntries` entries or with an entry that wraps past 2^64; then
 *   `if (boot_params.alt_mem_k < boot_params.screen_info.ext_mem_k) { 88h } else { e801 }`
 * and the map is [0, LOWMEMSIZE()) + [HIGH_MEMORY, HIGH_MEMORY + mem_size KiB), both RAM.
 */
export function memorySetupDefault(bp: BootParamsMemory, profile: KernelProfile): MemorySetup {
  const t = bp.e820Table;
  const wraps = t.some((e) => e.size !== 0n && u64(e.addr + e.size - 1n) < e.addr);
  if (t.length >= profile.minFirmwareEntries && !wraps) {
    return { path: 'e820', who: 'BIOS-e820', table: sanitize(t).table, why: `INT 15h E820 returned ${t.length} entries` };
  }
  const e820Why =
    t.length === 0
      ? 'INT 15h E820 failed (no entries)'
      : wraps
        ? 'an INT 15h E820 entry wraps past 2^64'
        : `INT 15h E820 returned ${t.length} ${t.length === 1 ? 'entry' : 'entries'}, fewer than append_e820_table() accepts (${profile.minFirmwareEntries})`;
  const use88 = bp.altMemK < bp.extMemK;
  const memK = use88 ? bp.extMemK : bp.altMemK;
  const path: MemoryPath = use88 ? '88h' : 'e801';
  const fabricated = [
    { addr: 0n, size: profile.memoryFallback.lowEnd, type: E820.RAM },
    { addr: profile.memoryFallback.highStart, size: BigInt(memK) << 10n, type: E820.RAM },
  ];
  const sizes = `alt_mem_k (E801) ${bp.altMemK} KiB, ext_mem_k (88h) ${bp.extMemK} KiB`;
  return {
    path,
    who: use88 ? 'BIOS-88' : 'BIOS-e801',
    table: sanitize(fabricated).table,
    why: `${e820Why}, so e820__memory_setup_default() fabricated the map from the larger size: ${sizes} → ${use88 ? '88h' : 'E801'}`,
  };
}

/** RAM of `firmware` (the BIOS's own map) the fabricated `table` does not cover, as a sentence; null if none. */
export function ramLeftOut(firmware: ReadonlyArray<{ start: bigint; end: bigint; type: number }>, table: KTable): string | null {
  let lost = 0n;
  let above4g = 0n;
  for (const r of firmware) {
    if (r.type !== E820.RAM) continue;
    let pieces = [{ start: r.start, end: r.end }];
    for (const e of table) {
      if (e.type !== E820.RAM) continue;
      const cut = { start: e.addr, end: e.addr + e.size };
      pieces = pieces.flatMap((p) =>
        cut.end <= p.start || cut.start >= p.end
          ? [p]
          : [...(cut.start > p.start ? [{ start: p.start, end: cut.start }] : []), ...(cut.end < p.end ? [{ start: cut.end, end: p.end }] : [])],
      );
    }
    for (const p of pieces) {
      lost += p.end - p.start;
      if (p.start >= 1n << 32n) above4g += p.end - p.start;
    }
  }
  if (lost === 0n) return null;
  const kib = (v: bigint): string => `${v / 1024n} KiB`;
  return `the BIOS's map has ${kib(lost)} of RAM the fabricated map leaves out${above4g > 0n ? ` (${kib(above4g)} of it above 4 GiB, which neither E801 nor 88h can describe)` : ''}`;
}
