// parse_early_param() for the two E820 options, `mem=` and `memmap=` (docs/model/linux.md#mem-and-memmap;
// init/main.c do_early_param, kernel/params.c next_arg, lib/cmdline.c memparse,
// lib/vsprintf.c simple_strtoull, arch/x86/kernel/e820.c parse_memopt / parse_memmap_one).
// Each option edits the working table immediately, in command-line order.

import { E820 } from '../e820.ts';
import { U64_MAX } from '../address.ts';
import type { KernelProfile } from '../profiles/kernel.ts';
import { KERN } from '../profiles/kernel.ts';
import { type KLine, type KTable, rangeAdd, rangeRemove, rangeUpdate } from './table.ts';

/** One `param[=value]` as next_arg() splits it; value null when there is no `=`. */
export interface KernelArg {
  readonly param: string;
  readonly value: string | null;
}

/**
 * The six ASCII whitespace characters (isspace(): space and \t \n \v \f \r, codes 9-13), by
 * character code: two comparisons for most characters, where comparing one-character strings
 * took six (a regex test per character before that was a measurable part of a prediction).
 */
const isSpaceCode = (code: number): boolean => code === 0x20 || (code >= 0x09 && code <= 0x0d);
const QUOTE = 0x22; // "
const EQUALS = 0x3d; // =

/** The index of the first character at or after `from` that is not whitespace (isSpaceCode). */
function skipSpaces(text: string, from: number): number {
  let i = from;
  while (i < text.length && isSpaceCode(text.charCodeAt(i))) i++;
  return i;
}

/**
 * kernel/params.c parse_args() + next_arg(): whitespace-separated, double quotes group, the
 * first `=` splits (quotes around the value are dropped), a bare `--` ends the options. Walks
 * the line by index: only the tokens are sliced out of it.
 */
export function splitKernelArgs(cmdline: string): KernelArg[] {
  const out: KernelArg[] = [];
  let pos = skipSpaces(cmdline, 0);
  while (pos < cmdline.length) {
    let start = pos;
    let inQuote = false;
    let quoted = false;
    if (cmdline.charCodeAt(start) === QUOTE) {
      start++;
      inQuote = true;
      quoted = true;
    }
    let i = start;
    let equals = 0;
    for (; i < cmdline.length; i++) {
      const c = cmdline.charCodeAt(i);
      if (isSpaceCode(c) && !inQuote) break;
      // `equals == 0` doubles as "not found": a leading `=` is never a separator (kernel quirk).
      if (equals === 0 && c === EQUALS) equals = i - start;
      if (c === QUOTE) inQuote = !inQuote;
    }
    let token = cmdline.slice(start, i);
    if (quoted && i > start && token.endsWith('"')) token = token.slice(0, -1);
    let param: string;
    let value: string | null;
    if (equals === 0) {
      param = token;
      value = null;
    } else {
      param = token.slice(0, equals);
      value = token.slice(equals + 1);
      if (value.startsWith('"')) {
        value = value.slice(1);
        if (!quoted && value.endsWith('"')) value = value.slice(0, -1);
      }
    }
    if (value === null && param === '--') break;
    out.push({ param, value });
    pos = skipSpaces(cmdline, i + 1);
  }
  return out;
}

/** parameq(): `-` and `_` are the same character in parameter names. */
export function parameq(a: string, b: string): boolean {
  // The replacement keeps lengths, so names of different lengths never match.
  return a.length === b.length && (a === b || a.replace(/-/g, '_') === b.replace(/-/g, '_'));
}

export interface Parsed {
  readonly value: bigint;
  /** Characters consumed. */
  readonly used: number;
}

const isXDigit = (c: string | undefined): boolean => c !== undefined && /[0-9a-fA-F]/.test(c);

/** The value of a hex digit's character code (either case), 99 for any other character (or NaN past the end). */
function digitValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30; // 0-9
  const lower = code | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : 99; // a-f, A-F
}

/** simple_strtoull(s, &end, 0): base auto-detection (`0x` → 16, leading `0` → 8, else 10). */
export function simpleStrtoull(s: string, saturate: boolean): Parsed {
  let base = 10;
  let i = 0;
  if (s[0] === '0') {
    if ((s[1] === 'x' || s[1] === 'X') && isXDigit(s[2])) {
      base = 16;
      i = 2;
    } else base = 8;
  }
  let res = 0n;
  let overflow = false;
  const radix = BigInt(base);
  for (; i < s.length; i++) {
    const v = digitValue(s.charCodeAt(i));
    if (v >= base) break;
    const next = res * radix + BigInt(v);
    if (next > U64_MAX) overflow = true;
    res = next & U64_MAX;
  }
  return { value: overflow && saturate ? U64_MAX : res, used: i };
}

const SUFFIX_SHIFT: Readonly<Record<string, bigint>> = { k: 10n, m: 20n, g: 30n, t: 40n, p: 50n, e: 60n };

/** memparse(): simple_strtoull + optional K/M/G/T/P/E suffix (either case); shifts wrap mod 2^64. */
export function memparse(s: string, profile: KernelProfile): Parsed {
  const n = simpleStrtoull(s, profile.memparseSaturates);
  const shift = SUFFIX_SHIFT[(s[n.used] ?? '').toLowerCase()];
  // 7.2 only takes a suffix after digits; ≤ 6.12 also after nothing (`K` alone parses as 0).
  if (shift !== undefined && (profile.memparseSuffixWithoutDigits || n.used > 0)) {
    return { value: (n.value << shift) & U64_MAX, used: n.used + 1 };
  }
  return n;
}

/** State carried through the early options. */
export interface EarlyState {
  readonly table: KTable;
  readonly userdef: boolean;
  readonly lines: readonly KLine[];
}

function edit(state: EarlyState, r: { table: KTable; lines: readonly KLine[] }, userdef = state.userdef): EarlyState {
  return { table: r.table, userdef, lines: [...state.lines, ...r.lines] };
}

function warn(state: EarlyState, text: string): EarlyState {
  return { ...state, lines: [...state.lines, { level: KERN.WARNING, text }] };
}

/** `mem=` (parse_memopt). Returns the state and whether the handler failed (→ Malformed early option). */
export function applyMem(state: EarlyState, value: string | null, profile: KernelProfile): { state: EarlyState; failed: boolean } {
  if (value === null) return { state, failed: true };
  if (value === 'nopentium') return { state: warn(state, 'mem=nopentium ignored! (only supported on x86_32)'), failed: true };
  const size = memparse(value, profile).value;
  if (size === 0n) return { state: { ...state, userdef: true }, failed: true };
  return { state: edit(state, rangeRemove(state.table, size, U64_MAX - size, E820.RAM, profile), true), failed: false };
}

/** One comma-separated piece of `memmap=` (parse_memmap_one); its return value is ignored by the caller. */
export function applyMemmapPiece(state: EarlyState, piece: string, profile: KernelProfile): EarlyState {
  if (piece.startsWith('exactmap')) return { ...state, table: [], userdef: true };
  const sizeP = memparse(piece, profile);
  if (sizeP.used === 0) return state;
  const size = sizeP.value;
  let rest = piece.slice(sizeP.used);
  const op = rest[0];
  rest = rest.slice(1);
  const addType: Readonly<Record<string, number>> = { '@': E820.RAM, '#': E820.ACPI, $: E820.RESERVED, '!': E820.PRAM };
  if (op !== undefined && addType[op] !== undefined) {
    const at = memparse(rest, profile).value;
    return edit(state, rangeAdd(state.table, at, size, addType[op]!, profile), true);
  }
  if (op === '%') {
    const atP = memparse(rest, profile);
    let p = rest.slice(atP.used);
    let from = 0;
    let to = 0;
    // enum e820_type is 32-bit: the parsed u64 is truncated.
    if (p[0] === '-') {
      const f = simpleStrtoull(p.slice(1), profile.memparseSaturates);
      from = Number(f.value & 0xffffffffn);
      p = p.slice(1 + f.used);
    }
    if (p[0] === '+') {
      const t = simpleStrtoull(p.slice(1), profile.memparseSaturates);
      to = Number(t.value & 0xffffffffn);
      p = p.slice(1 + t.used);
    }
    if (p.length > 0) return { ...state, userdef: true };
    const at = atP.value;
    if (from !== 0 && to !== 0) return edit(state, rangeUpdate(state.table, at, size, from, to, profile), true);
    if (to !== 0) return edit(state, rangeAdd(state.table, at, size, to, profile), true);
    if (from !== 0) return edit(state, rangeRemove(state.table, at, size, from, profile), true);
    return edit(state, rangeRemove(state.table, at, size, null, profile), true);
  }
  return edit(state, rangeRemove(state.table, size, U64_MAX - size, E820.RAM, profile), true);
}

/** `memmap=` (parse_memmap_opt): pieces split at commas; always succeeds. */
export function applyMemmap(state: EarlyState, value: string | null, profile: KernelProfile): EarlyState {
  if (value === null) return state;
  return value.split(',').reduce((s, piece) => applyMemmapPiece(s, piece, profile), state);
}

/** Every early `mem=`/`memmap=` in command-line order, with `Malformed early option` lines. */
export function applyEarlyParams(table: KTable, args: readonly KernelArg[], profile: KernelProfile): EarlyState {
  let state: EarlyState = { table, userdef: false, lines: [] };
  for (const a of args) {
    if (parameq(a.param, 'mem')) {
      const r = applyMem(state, a.value, profile);
      state = r.failed ? warn(r.state, `Malformed early option '${a.param}'`) : r.state;
    } else if (parameq(a.param, 'memmap')) {
      state = applyMemmap(state, a.value, profile);
    }
  }
  return state;
}
