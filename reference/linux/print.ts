// e820__print_table() (arch/x86/kernel/e820.c; docs/model/linux.md#print-formats): `<who>: [mem %#018Lx-%#018Lx] <type>` per entry; 7.2 adds
// `[gap …]` lines and the out-of-order firmware-bug line, and puts the space into the type text.

import { kernelHex } from '../address.ts';
import type { KernelProfile } from '../profiles/kernel.ts';
import { KERN } from '../profiles/kernel.ts';
import { type KLine, type KTable, typeText, u64 } from './table.ts';

const hex18 = (v: bigint): string => kernelHex(u64(v), 18);

/** 7.2's warning for an entry that starts below the previous one's end: the one dump line without `<who>: `. */
export const OUT_OF_ORDER_LINE: KLine = { level: KERN.INFO, text: '[Firmware Bug]: out of order E820 entry!' };

export function printTable(who: string, table: KTable, profile: KernelProfile): KLine[] {
  const lines: KLine[] = [];
  let prevEnd = 0n;
  for (const e of table) {
    const end = u64(e.addr + e.size);
    if (profile.printOutOfOrder && e.addr < prevEnd) {
      lines.push(OUT_OF_ORDER_LINE);
    } else if (profile.printGapLines && e.addr > prevEnd) {
      lines.push({ level: KERN.INFO, text: `${who}: [gap ${hex18(prevEnd)}-${hex18(e.addr - 1n)}]` });
    }
    lines.push({ level: KERN.INFO, text: `${who}: [mem ${hex18(e.addr)}-${hex18(e.addr + e.size - 1n)}] ${typeText(e.type, profile)}` });
    prevEnd = end;
  }
  return lines;
}
