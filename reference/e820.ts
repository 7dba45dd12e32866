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

/** Types below this are read from nameOfType's dense arrays. */
const DENSE_TYPES = 256;
const denseNames = new WeakMap<object, readonly (string | undefined)[]>();

/**
 * `names[type]` for a table of names by E820 type (a kernel profile's typeText, resourceName). Those
 * tables have SOFT_RESERVED's 0xefffffff as a key, which V8 (Node 20) keeps as a dictionary, read at
 * ~20 ns, and a prediction reads them a few dozen times: the types below 256 are read from a dense
 * array made once per table instead (the profiles' tables never change).
 */
export function nameOfType(names: Readonly<Record<number, string>>, type: number): string | undefined {
  if (!(type >= 0 && type < DENSE_TYPES)) return names[type];
  let dense = denseNames.get(names);
  if (dense === undefined) {
    dense = Array.from({ length: DENSE_TYPES }, (_, t) => names[t]);
    denseNames.set(names, dense);
  }
  return dense[type];
}

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
