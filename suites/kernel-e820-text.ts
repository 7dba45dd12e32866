// The kernel's spelling of the E820 map, written out for the tests that check one layer against
// another (real boots, fixtures, the model's own layers) — never taken from the code under test.
// Sources: arch/x86/kernel/e820.c (e820_print_type(), e820_type_to_string()); 7.2 prints
// `System RAM` and `device reserved` in the dump, and the holes between ranges as `[gap …]`.

/** `BIOS-e820:` type text → /sys/firmware/memmap type, before 7.2 and from 7.2 on. */
export const MEMMAP_TYPE: Readonly<Record<string, string>> = {
  usable: 'System RAM',
  'System RAM': 'System RAM',
  reserved: 'Reserved',
  'device reserved': 'Reserved',
  'ACPI data': 'ACPI Tables',
  'ACPI NVS': 'ACPI Non-volatile Storage',
  unusable: 'Unusable memory',
};

/** SeaBIOS's E820 type numbers → the `BIOS-e820:` type text, [before 7.2, from 7.2 on]. */
export const BIOS_E820_TYPE: Readonly<Record<number, readonly [string, string]>> = {
  1: ['usable', 'System RAM'],
  2: ['reserved', 'device reserved'],
  3: ['ACPI data', 'ACPI data'],
  4: ['ACPI NVS', 'ACPI NVS'],
  5: ['unusable', 'unusable'],
};

export interface KernelRange {
  start: bigint;
  /** Inclusive, as the kernel prints it. */
  last: bigint;
  type: string;
}

/** The ranges of a BIOS-e820 dump; a `[gap …]` line (7.2) is no range, any other line is an error. */
export function biosE820Ranges(lines: readonly string[]): KernelRange[] {
  return lines
    .filter((l) => !l.startsWith('BIOS-e820: [gap '))
    .map((line) => {
      const m = /^BIOS-e820: \[mem (0x[0-9a-f]+)-(0x[0-9a-f]+)\] {1,2}(.+)$/.exec(line);
      if (!m) throw new Error(`not a BIOS-e820 line: ${line}`);
      return { start: BigInt(m[1]!), last: BigInt(m[2]!), type: m[3]! };
    });
}

/** Sort and merge touching same-type ranges: enough of Linux's sanitize for SeaBIOS's non-overlapping map. */
export function sanitize(ranges: readonly KernelRange[]): KernelRange[] {
  const sorted = [...ranges].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const out: KernelRange[] = [];
  for (const r of sorted) {
    const last = out.at(-1);
    if (last && last.type === r.type && last.last + 1n >= r.start) last.last = r.last > last.last ? r.last : last.last;
    else out.push({ ...r });
  }
  return out;
}
