// QEMU size strings (`2G`, `1.5G`, `100001k`, `0x10`), parsed exactly as QEMU's
// util/cutils.c do_strtosz() does, per version. Pure.
//
// Two implementations existed in the versions we model:
//  * 5.2 (util/cutils.c @ v5.2.0): the whole number goes through strtod(), so decimal
//    exponents (`1e3`), hex floats (`0x10`, `0x1p4`), leading whitespace and a `+` sign are
//    accepted, a negative value is ERANGE, and the result is `(uint64_t)(val * mul)` in double
//    precision (large values lose low bits).
//  * 6.0+ (Eric Blake's rewrite, used by 7.2, 10.0, 11.x): the integral part is strtoull()
//    base 10, `0x…` is re-read base 16, a fraction is a 64.64 fixed-point value, the result is
//    exact, rounded half up. An explicit suffix on a hex number is deprecated in 6.0 … 7.2
//    (warn_report) and rejected (EINVAL) from 8.0 on.
// Suffixes B/K/M/G/T/P/E, case-insensitive, powers of 1024. With no suffix the caller's default
// unit applies ('B' for most options, 'M' for qemu_strtosz_MiB()); a fraction needs a unit
// other than bytes (`1000.5` is EINVAL with default 'B', `1.k` is fine).

import type { QemuVersion } from './toolchain.ts';

export type SizeUnit = 'B' | 'M';

export interface QemuSizeSyntax {
  /** Which do_strtosz(). */
  readonly arithmetic: 'double' | 'fixed-point';
  /** An explicit suffix after a hex number (`0x10M`). */
  readonly hexWithSuffix: 'accepted' | 'warn' | 'rejected';
  /**
   * A '-' in the number: EINVAL up to 7.2; from the strtosz rework ERANGE when the text is only
   * the signed integer and EINVAL when anything follows it, as for an overflow (seen on 10.0.13
   * and 11.1.3: `-m -1`, `-m -1024` out of range; `-m -1G`, `-1k`, `-1.5`, `-0x10` invalid).
   */
  readonly negative: 'EINVAL' | 'ERANGE';
}

/** util/cutils.c do_strtosz() per QEMU version (see the header comment for the upstream commits). */
export const QEMU_SIZE_SYNTAX: Readonly<Record<QemuVersion, QemuSizeSyntax>> = {
  '5.2': { arithmetic: 'double', hexWithSuffix: 'accepted', negative: 'ERANGE' },
  '7.2': { arithmetic: 'fixed-point', hexWithSuffix: 'warn', negative: 'EINVAL' },
  '10.0': { arithmetic: 'fixed-point', hexWithSuffix: 'rejected', negative: 'ERANGE' },
  '11.1': { arithmetic: 'fixed-point', hexWithSuffix: 'rejected', negative: 'ERANGE' },
};

export type SizeResult =
  | { readonly ok: true; readonly value: bigint; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly error: 'EINVAL' | 'ERANGE'; readonly warnings: readonly string[] };

const TWO_64 = 1n << 64n;
/** isspace() in the C locale: what strtoull()/strtod() skip before the number. */
const C_SPACE = '[ \\t\\n\\v\\f\\r]*';

function suffixMul(c: string | undefined): bigint | null {
  switch (c?.toUpperCase()) {
    case 'B':
      return 1n;
    case 'K':
      return 1n << 10n;
    case 'M':
      return 1n << 20n;
    case 'G':
      return 1n << 30n;
    case 'T':
      return 1n << 40n;
    case 'P':
      return 1n << 50n;
    case 'E':
      return 1n << 60n;
    default:
      return null;
  }
}

/** The hex-suffix deprecation line as QEMU 6.0 … 7.2 prints it. */
export function hexSuffixWarning(text: string): string {
  return `warning: Using a multiplier suffix on hex numbers is deprecated: ${text}`;
}

/**
 * qemu_strtosz() with `end == NULL` (trailing characters are an error), for one QEMU version.
 * `defaultUnit` is the unit of a suffix-less number ('B': qemu_strtosz, 'M': qemu_strtosz_MiB).
 */
export function qemuStrtosz(text: string, syntax: QemuSizeSyntax, defaultUnit: SizeUnit = 'B'): SizeResult {
  return syntax.arithmetic === 'double'
    ? strtoszDouble(text, defaultUnit)
    : strtoszFixed(text, syntax, defaultUnit);
}

// ---- 6.0+ -------------------------------------------------------------------------------------

function strtoszFixed(text: string, syntax: QemuSizeSyntax, defaultUnit: SizeUnit): SizeResult {
  const warnings: string[] = [];
  const fail = (error: 'EINVAL' | 'ERANGE'): SizeResult => ({ ok: false, error, warnings });
  // qemu_strtou64(nptr, &endptr, 10): strtoull skips C whitespace, takes an optional sign.
  const dec = new RegExp(`^${C_SPACE}([+-]?)([0-9]+)`).exec(text);
  if (dec === null) return fail('EINVAL');
  const sign = dec[1] ?? '';
  const digits = dec[2] ?? '';
  let rest = text.slice(dec[0].length);
  let val = BigInt(digits);
  // strtoull overflow is reported first (ERANGE, or EINVAL when characters follow) …
  if (val >= TWO_64) return rest.length > 0 ? fail('EINVAL') : fail('ERANGE');
  // … then QEMU rejects any '-' in the consumed text (strtoull would have negated it).
  if (sign === '-') return fail(syntax.negative === 'ERANGE' && rest.length === 0 ? 'ERANGE' : 'EINVAL');
  let hex = false;
  let valf = 0n;
  if (val === 0n && (rest[0] === 'x' || rest[0] === 'X')) {
    const h = new RegExp(`^${C_SPACE}[+]?0[xX]([0-9a-fA-F]+)`).exec(text);
    if (h === null) return fail('EINVAL'); // "0x" alone: strtoull stops at the 'x'
    val = BigInt(`0x${h[1] ?? ''}`);
    rest = text.slice(h[0].length);
    if (val >= TWO_64) return rest.length > 0 ? fail('EINVAL') : fail('ERANGE');
    if (rest[0] === '.') return fail('EINVAL');
    if (syntax.hexWithSuffix === 'rejected' && suffixMul(rest[0]) !== null) return fail('EINVAL');
    hex = true;
  } else if (rest[0] === '.') {
    // qemu_strtod_finite() on ".…"; failure just skips the '.', so `1.k` works.
    const f = /^\.[0-9]+(?:[eE][+-]?[0-9]+)?/.exec(rest);
    if (f === null) {
      rest = rest.slice(1);
    } else {
      if (/[eE]/.test(f[0])) return fail('EINVAL');
      const fraction = Number(f[0]); // same IEEE double glibc's strtod yields (both round correctly)
      // (uint64_t)(fraction * 0x1p64): exact scaling by a power of two, then truncation.
      valf = BigInt(Math.trunc(fraction * 2 ** 64));
      if (valf >= TWO_64) valf = TWO_64 - 1n; // fraction rounded to 1.0: C leaves this undefined
      rest = rest.slice(f[0].length);
    }
  }
  let mul = suffixMul(rest[0]);
  if (mul !== null) {
    if (hex && syntax.hexWithSuffix === 'warn') warnings.push(hexSuffixWarning(text));
    rest = rest.slice(1);
  } else {
    mul = suffixMul(defaultUnit) ?? 1n;
  }
  let result: bigint;
  if (mul === 1n) {
    if (valf !== 0n) return fail('EINVAL');
    result = val;
  } else {
    const frac = valf * mul;
    // 64.64 × 64.0 → 128.64 fixed point; round 0.5 upward.
    result = val * mul + (frac >> 64n) + ((frac >> 63n) & 1n);
    if (result >= TWO_64) return rest.length > 0 ? fail('EINVAL') : fail('ERANGE');
  }
  if (rest.length > 0) return fail('EINVAL');
  return { ok: true, value: result, warnings };
}

// ---- 5.2 --------------------------------------------------------------------------------------

/** glibc strtod() in the C locale: decimal (with exponent), hex float, inf/nan. */
const STRTOD = new RegExp(
  `^${C_SPACE}([+-]?)(?:` +
    `0[xX]((?:[0-9a-fA-F]+(?:\\.[0-9a-fA-F]*)?|\\.[0-9a-fA-F]+))(?:[pP]([+-]?[0-9]+))?` +
    `|((?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)(?:[eE][+-]?[0-9]+)?)` +
    `|(inf(?:inity)?|nan(?:\\([0-9A-Za-z_]*\\))?)` +
    `)`,
  'i',
);

function hexFloat(mantissa: string, exponent: string | undefined): number {
  const [intPart = '', fracPart = ''] = mantissa.split('.');
  const digits = intPart + fracPart;
  // Exact while the digits fit a double's mantissa; size strings never come close.
  const m = digits.length === 0 ? 0 : Number(BigInt(`0x${digits}`));
  return m * 2 ** (Number(exponent ?? '0') - 4 * fracPart.length);
}

function strtoszDouble(text: string, defaultUnit: SizeUnit): SizeResult {
  const fail = (error: 'EINVAL' | 'ERANGE'): SizeResult => ({ ok: false, error, warnings: [] });
  const m = STRTOD.exec(text);
  if (m === null) return fail('EINVAL');
  if (m[5] !== undefined) return fail('EINVAL'); // qemu_strtod_finite(): inf/nan are EINVAL
  let val = m[2] !== undefined ? hexFloat(m[2], m[3]) : Number(m[4]);
  if (!Number.isFinite(val)) return fail('ERANGE'); // strtod overflow → ERANGE
  if (m[1] === '-') val = -val;
  let rest = text.slice(m[0].length);
  const fractional = val % 1 !== 0;
  let mul = suffixMul(rest[0]);
  if (mul !== null) rest = rest.slice(1);
  else mul = suffixMul(defaultUnit) ?? 1n;
  // qemu_strtosz(…, NULL, …): trailing characters are EINVAL before the range check matters.
  if (rest.length > 0) return fail('EINVAL');
  if (mul === 1n && fractional) return fail('EINVAL');
  const product = val * Number(mul);
  // "val * mul > nextafter(0x1p64, 0) || val < 0" → ERANGE.
  if (product > 18446744073709549568 || val < 0) return fail('ERANGE');
  return { ok: true, value: BigInt(Math.trunc(product)), warnings: [] };
}

// ---- printing ---------------------------------------------------------------------------------

/**
 * The shortest spelling every modelled QEMU version reads back as exactly `bytes` with a
 * suffix-less default unit of bytes: the largest power-of-1024 suffix that divides it, decimal.
 */
export function formatQemuSize(bytes: bigint): string {
  if (bytes < 0n) throw new RangeError(`negative size ${bytes}`);
  if (bytes === 0n) return '0';
  const units: ReadonlyArray<readonly [string, bigint]> = [
    ['E', 1n << 60n],
    ['P', 1n << 50n],
    ['T', 1n << 40n],
    ['G', 1n << 30n],
    ['M', 1n << 20n],
    ['K', 1n << 10n],
  ];
  for (const [suffix, unit] of units) {
    if (bytes % unit === 0n) return `${bytes / unit}${suffix}`;
  }
  return `${bytes}`;
}
