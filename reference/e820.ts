// E820 entry types and the typed range every layer's map is made of.

/** Numeric E820 types as the firmware interface defines them (ACPI spec, Linux e820/types.h). */
export const E820 = {
  RAM: 1,
  RESERVED: 2,
  ACPI: 3,
  NVS: 4,
  UNUSABLE: 5,
  PMEM: 7,
  PRAM: 12,
  RESERVED_KERN: 128,
  SOFT_RESERVED: 0xefffffff,
} as const;

export type E820TypeNumber = number;

/**
 * The one table of E820 type names. `seabios`: as SeaBIOS's `e820 map has N items:` dump prints
 * the type (src/e820map.c, e820_type_name(): types 1–5; anything else prints UNKNOWN), null for
 * the types it does not name. `short`: as the harness's tables and memory maps label it.
 * Comparison diffs use the dump's spelling where there is one (harness/matrix/compare.ts).
 */
export const E820_TYPE_NAMES: Readonly<Record<number, { readonly seabios: string | null; readonly short: string }>> = {
  [E820.RAM]: { seabios: 'RAM', short: 'RAM' },
  [E820.RESERVED]: { seabios: 'RESERVED', short: 'reserved' },
  [E820.ACPI]: { seabios: 'ACPI', short: 'ACPI' },
  [E820.NVS]: { seabios: 'NVS', short: 'NVS' },
  [E820.UNUSABLE]: { seabios: 'UNUSABLE', short: 'unusable' },
  [E820.PMEM]: { seabios: null, short: 'PMEM' },
  [E820.PRAM]: { seabios: null, short: 'PRAM' },
};

/** A map entry as a half-open range [start, end). */
export interface E820Range {
  readonly start: bigint;
  readonly end: bigint;
  readonly type: E820TypeNumber;
}

/** A record as QEMU writes it into fw_cfg `etc/e820` (address, length, type), file order. */
export interface E820Record {
  readonly start: bigint;
  readonly length: bigint;
  readonly type: E820TypeNumber;
}
