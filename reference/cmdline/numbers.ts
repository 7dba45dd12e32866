// Integer option values as QEMU reads them, and the bound the model represents them within.

import { U64_MAX } from '../address.ts';
import { UnsupportedOptionError } from '../stages.ts';

/** qemu_strtou64(value, NULL, 0, …): base 0 (0x hex, 0 octal), whole string. */
export function strtou64Base0(text: string): bigint | null {
  const m = /^[ \t\n\v\f\r]*\+?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(text);
  if (m?.[1] === undefined) return null;
  const t = m[1];
  const v = /^0[xX]/.test(t) ? BigInt(t) : t.length > 1 && t.startsWith('0') ? BigInt(`0o${t.slice(1)}`) : BigInt(t);
  return v > U64_MAX ? null : v;
}

export function toSafeNumber(v: bigint, option: string, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new UnsupportedOptionError(option, `${what} ${v} is beyond what the model represents (2^53)`);
  }
  return Number(v);
}
