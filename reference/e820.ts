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
