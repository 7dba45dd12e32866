// /sys/firmware/memmap (drivers/firmware/memmap.c; docs/model/linux.md#sysfirmwarememmap): one directory per entry of
// e820_table_firmware (≤ 6.12) or e820_table_kexec (7.2), filled in e820__reserve_resources().
// Both are the sanitised firmware map; mem=, memmap=, trim_bios_range and (for the firmware
// table) setup_data never touch them, so the caller passes the table the profile names.

import { resourceName } from './iomem.ts';
import { type EntryDigits, entryDigits } from './print.ts';
import type { KernelProfile } from '../profiles/kernel.ts';
import type { KTable } from './table.ts';

export interface MemmapEntry {
  /** `start` file without its newline: `0x%llx`. */
  readonly start: string;
  /** `end` file: addr + size − 1 (inclusive). */
  readonly end: string;
  /** `type` file: the /proc/iomem name of the type. */
  readonly type: string;
}

/** `digits`: entryDigits(table), when the boot dump has spelled the same table (reference/linux/setup-arch.ts Loaded). */
export function firmwareMemmap(table: KTable, profile: KernelProfile, digits: readonly EntryDigits[] = entryDigits(table)): MemmapEntry[] {
  return table.map((e, i) => ({
    start: `0x${digits[i]!.first}`,
    end: `0x${digits[i]!.last}`,
    type: resourceName(e.type, profile),
  }));
}
