// The lines SeaBIOS's debug log prints about the map.

import { hexPadded, kernelHex } from '../address.ts';
import type { E820Range } from '../e820.ts';

// SeaBIOS prints `0x%016llx` / `0x%08x`: the same spelling as the kernel's `%#018llx` / `%#010x`.
export const hex16 = (v: bigint): string => kernelHex(v, 18);

export const hex8 = (v: bigint): string => kernelHex(v, 10);

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

