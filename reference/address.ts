// Address arithmetic and the hex spellings each layer prints. Addresses and sizes are bigint
// end to end: maps reach 2^52 and `number` silently rounds past 2^53.

export type Address = bigint;

export const KiB = 1n << 10n;
export const MiB = 1n << 20n;
export const GiB = 1n << 30n;
export const TiB = 1n << 40n;
export const FOUR_GIB = 4n * GiB;
export const U64_MAX = (1n << 64n) - 1n;

export function alignDown(value: bigint, alignment: bigint): bigint {
  return value - (value % alignment);
}

export function alignUp(value: bigint, alignment: bigint): bigint {
  const rem = value % alignment;
  return rem === 0n ? value : value + (alignment - rem);
}

/** `0x` + lowercase hex, no padding (`0x0` for zero): JSON reports and sysfs memmap files. */
export function hex(value: bigint): string {
  return `0x${value.toString(16)}`;
}

const ZEROS = '0'.repeat(32);

/**
 * `digits` of hex, zeros in front. The same string as `.padStart(digits, '0')`, which costs twice
 * as much (V8, Node 20): every layer's line goes through here, a prediction prints dozens.
 */
function zeroPadded(hexDigits: string, digits: number): string {
  const missing = digits - hexDigits.length;
  if (missing <= 0) return hexDigits;
  return missing <= ZEROS.length ? ZEROS.slice(0, missing) + hexDigits : hexDigits.padStart(digits, '0');
}

/** Lowercase hex zero-padded to `digits` (wider when needed), no prefix: /proc/iomem, SeaBIOS dumps. */
export function hexPadded(value: bigint, digits: number): string {
  return zeroPadded(value.toString(16), digits);
}

/**
 * The kernel's `%#0<width>llx`: the width counts the `0x`, so `%#010llx` of 0 is `0x00000000`
 * and of 0x100000000 is `0x100000000`.
 */
export function kernelHex(value: bigint, width: number): string {
  return `0x${zeroPadded(value.toString(16), width - 2)}`;
}
