// e820__print_table() (arch/x86/kernel/e820.c; docs/model/linux.md#print-formats): `<who>: [mem %#018Lx-%#018Lx] <type>` per entry; 7.2 adds
// `[gap …]` lines and the out-of-order firmware-bug line, and puts the space into the type text.

import { hexDigits, kernelHex, kernelHexOfDigits } from '../address.ts';
import type { KernelProfile } from '../profiles/kernel.ts';
import { KERN } from '../profiles/kernel.ts';
import { type KLine, type KTable, typeText, u64 } from './table.ts';

const hex18 = (v: bigint): string => kernelHex(u64(v), 18);

/** 7.2's warning for an entry that starts below the previous one's end: the one dump line without `<who>: `. */
export const OUT_OF_ORDER_LINE: KLine = { level: KERN.INFO, text: '[Firmware Bug]: out of order E820 entry!' };

/** The hex digits of an entry's first and last byte (u64), as the dump and /sys/firmware/memmap both print them. */
export interface EntryDigits {
  readonly first: string;
  readonly last: string;
}

/**
 * Each entry's EntryDigits, spelled once for the two files that print the same table (the boot
 * dump and /sys/firmware/memmap, reference/linux/memmap.ts): 17 of a prediction's ~100 toString(16)
 * calls in ci/bench-model.ts were the same numbers spelled a second time.
 */
export function entryDigits(table: KTable): EntryDigits[] {
  return table.map((e) => ({ first: hexDigits(e.addr), last: hexDigits(u64(e.addr + e.size - 1n)) }));
}

/**
 * The spelling in `digits` (entryDigits(spelled)) of each entry of `table` that is an entry of
 * `spelled` itself (the same object: the edits after the boot dump keep the entries they do not
 * change), undefined for the others; /proc/iomem prints most of the final table's entries so.
 */
export function keptEntryDigits(table: KTable, spelled: KTable, digits: readonly EntryDigits[]): (EntryDigits | undefined)[] {
  return table.map((e) => {
    const at = spelled.indexOf(e);
    return at === -1 ? undefined : digits[at];
  });
}

/** `digits`: entryDigits(table), when the caller spells the table for another file too. */
export function printTable(who: string, table: KTable, profile: KernelProfile, digits: readonly EntryDigits[] = entryDigits(table)): KLine[] {
  const lines: KLine[] = [];
  // The start of every entry's line, made once (one concatenation fewer a line).
  const memHead = `${who}: [mem `;
  let prevEnd = 0n;
  for (let i = 0; i < table.length; i++) {
    const e = table[i]!;
    const { first, last } = digits[i]!;
    const end = u64(e.addr + e.size);
    if (profile.printOutOfOrder && e.addr < prevEnd) {
      lines.push(OUT_OF_ORDER_LINE);
    } else if (profile.printGapLines && e.addr > prevEnd) {
      lines.push({ level: KERN.INFO, text: `${who}: [gap ${hex18(prevEnd)}-${hex18(e.addr - 1n)}]` });
    }
    lines.push({ level: KERN.INFO, text: `${memHead}${kernelHexOfDigits(first, 18)}-${kernelHexOfDigits(last, 18)}] ${typeText(e.type, profile)}` });
    prevEnd = end;
  }
  return lines;
}
