// User RAM over nothing: `memmap=nn@ss` (or `memmap=exactmap` with its own pieces, or a `%…+1`
// type change) can declare usable RAM where the machine has no memory at all, e.g. in the PCI hole
// below 4 GiB or past the end of RAM. The kernel then hands those pages to memblock like any other
// RAM and its first allocations (top-down) may land there. Seen: exactmap declaring RAM up to
// 0xaefff000 on q35 whose low RAM ends at 2 GiB (QEMU aligns `-m 2883580K` up to 8 KiB, 0xb0000000,
// so q35 splits at 2 GiB) — Linux 5.10 on QEMU 5.2 hangs before its console starts, with and
// without nokaslr, while the same command line without exactmap boots (explore seed 161501 cell
// 081). What the kernel does with memory that is not there is not modelled, so the model declines.
// The range below 1 MiB is left alone: e820__memblock_setup never hands out [640 KiB, 1 MiB)
// (trim_bios_range makes it reserved), and the firmware's gap there is the VGA window.

import { UnsupportedOptionError } from '../stages.ts';
import { E820 } from '../e820.ts';
import type { KTable } from './table.ts';

const ONE_MIB = 0x100000n;
const FOUR_GIB = 0x100000000n;

/**
 * The memory the firmware's map says is there: its entries, of any type, that chain without a gap
 * from 1 MiB upwards (low RAM and what SeaBIOS reserves at its top, below the PCI hole), and every
 * RAM entry. Reserved entries past that chain (q35's MMCONFIG, the BIOS ROM, the KVM identity map,
 * AMD's HyperTransport hole) have no memory behind them.
 */
function backedRanges(firmware: ReadonlyArray<{ start: bigint; end: bigint; type: number }>): Array<{ start: bigint; end: bigint }> {
  const sorted = [...firmware].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  let low = ONE_MIB;
  for (const f of sorted) if (f.start <= low && f.end > low && f.start < FOUR_GIB) low = f.end;
  return [{ start: 0n, end: low }, ...sorted.filter((f) => f.type === E820.RAM)];
}

/** The first stretch (at or above 1 MiB) of usable RAM in `table` the firmware's map has no memory for, or null. */
export function userRamOverNothing(firmware: ReadonlyArray<{ start: bigint; end: bigint; type: number }>, table: KTable): { start: bigint; end: bigint } | null {
  const backed = backedRanges(firmware).sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  for (const e of table) {
    if (e.type !== E820.RAM || e.size === 0n) continue;
    let at = e.addr < ONE_MIB ? ONE_MIB : e.addr;
    const end = e.addr + e.size;
    for (const f of backed) {
      if (at >= end) break;
      if (f.end <= at) continue;
      if (f.start > at) return { start: at, end: f.start < end ? f.start : end };
      at = f.end;
    }
    if (at < end) return { start: at, end };
  }
  return null;
}

/** Declines a user map (early params changed the table) that puts RAM where the firmware's map has nothing. */
export function checkUserRamOverNothing(firmware: ReadonlyArray<{ start: bigint; end: bigint; type: number }>, table: KTable, userdef: boolean): void {
  if (!userdef) return;
  const gap = userRamOverNothing(firmware, table);
  if (gap === null) return;
  throw new UnsupportedOptionError(
    '-append memmap=',
    `usable RAM at [0x${gap.start.toString(16)}, 0x${gap.end.toString(16)}), where the firmware's map has no memory: ` +
      'the kernel may allocate from it (Linux 5.10 hung before its console on QEMU 5.2 with such an exactmap); not modelled',
  );
}
