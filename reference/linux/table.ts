// The kernel's working e820 table and its range primitives (arch/x86/kernel/e820.c:
// __e820__range_add, __e820__range_update, e820__range_remove), as pure functions on immutable
// arrays. Entries are {addr, size, type} exactly as the kernel stores them, not half-open
// ranges: zero-size holes left by a removal and 64-bit wrap-around both matter to the
// sanitiser and must survive until it runs.

import { nameOfType } from '../e820.ts';
import { U64_MAX, kernelHex } from '../address.ts';
import type { KernelProfile } from '../profiles/kernel.ts';
import { KERN } from '../profiles/kernel.ts';

export interface KEntry {
  readonly addr: bigint;
  readonly size: bigint;
  readonly type: number;
}

export type KTable = readonly KEntry[];

/** One printk record: level as `dmesg -r` shows it, text without level or timestamp. */
export interface KLine {
  readonly level: number;
  readonly text: string;
}

/** E820_MAX_ENTRIES = 128 + 3 * MAX_NUMNODES; Debian amd64 has CONFIG_NODES_SHIFT=10 (arch/x86/include/asm/e820/types.h). */
export const E820_MAX_ENTRIES = 128 + 3 * (1 << 10);

/** u64 arithmetic as C does it (the mask only when needed: `&` allocates a new bigint each time). */
export const u64 = (v: bigint): bigint => (v >= 0n && v <= U64_MAX ? v : v & U64_MAX);

export interface Edit {
  readonly table: KTable;
  readonly lines: readonly KLine[];
}

/** `[mem %#010Lx-%#010Lx]` with the inclusive end the kernel computes (mod 2^64). */
export function memRange(start: bigint, endInclusive: bigint): string {
  return `[mem ${kernelHex(start, 10)}-${kernelHex(u64(endInclusive), 10)}]`;
}

/** e820_print_type(). */
export function typeText(type: number, profile: KernelProfile): string {
  return nameOfType(profile.typeText, type) ?? profile.unknownTypeText.replace('%u', String(type >>> 0));
}

/** __e820__range_add: append, no sort, no merge; a full table drops the entry with an error line. */
export function rangeAdd(table: KTable, start: bigint, size: bigint, type: number, profile: KernelProfile): Edit {
  if (table.length >= E820_MAX_ENTRIES) {
    const text = profile.tableFullText.replace('%s', memRange(start, start + size - 1n));
    return { table, lines: [{ level: KERN.ERR, text }] };
  }
  return { table: [...table, { addr: start, size, type }], lines: [] };
}

/** Appends inside a loop, collecting the table-full lines. */
class Appender {
  entries: KEntry[];
  lines: KLine[] = [];
  constructor(
    table: KTable,
    readonly profile: KernelProfile,
  ) {
    this.entries = [...table];
  }
  /** rangeAdd() in place: the copy it makes of the table is this class's own already. */
  add(start: bigint, size: bigint, type: number): void {
    if (this.entries.length >= E820_MAX_ENTRIES) this.lines.push(...rangeAdd(this.entries, start, size, type, this.profile).lines);
    else this.entries.push({ addr: start, size, type });
  }
  /** `first`, then the table-full lines (almost always none). */
  withLines(first: KLine): KLine[] {
    return this.lines.length === 0 ? [first] : [first, ...this.lines];
  }
}

/** A table entry, spelled out rather than spread from the old one (entries are exactly addr, size, type; spread is slow). */
const entry = (addr: bigint, size: bigint, type: number): KEntry => ({ addr, size, type });

function clip(start: bigint, size: bigint): { size: bigint; end: bigint } {
  const s = size > U64_MAX - start ? U64_MAX - start : size;
  return { size: s, end: start + s };
}

/**
 * __e820__range_update(old → new). Always prints its <7> line. Throws where the kernel hits
 * BUG_ON(old_type == new_type).
 */
export function rangeUpdate(
  table: KTable,
  start: bigint,
  sizeIn: bigint,
  oldType: number,
  newType: number,
  profile: KernelProfile,
): Edit {
  if (oldType === newType) throw new KernelBug(`e820__range_update with old type == new type (${oldType})`);
  const { size, end } = clip(start, sizeIn);
  const sep = profile.editTypeSeparator;
  const text = `e820: update ${memRange(start, end - 1n)}${sep}${typeText(oldType, profile)}${profile.updateArrow}${typeText(newType, profile)}`;
  const out = new Appender(table, profile);
  // The kernel's loop re-reads nr_entries, so it also visits entries appended meanwhile; those
  // are new_type or an old_type tail starting at `end`, neither of which can match again.
  for (let i = 0; i < out.entries.length; i++) {
    const e = out.entries[i]!;
    if (e.type !== oldType) continue;
    const eEnd = u64(e.addr + e.size);
    if (e.addr >= start && eEnd <= end) {
      out.entries[i] = entry(e.addr, e.size, newType);
      continue;
    }
    if (e.addr < start && eEnd > end) {
      out.add(start, size, newType);
      out.add(end, eEnd - end, e.type);
      out.entries[i] = entry(e.addr, start - e.addr, e.type);
      continue;
    }
    const fs = start > e.addr ? start : e.addr;
    const fe = end < eEnd ? end : eEnd;
    if (fs >= fe) continue;
    out.add(fs, fe - fs, newType);
    const shrunk = e.size - (fe - fs);
    out.entries[i] = entry(e.addr < fs ? e.addr : fe, shrunk, e.type);
  }
  return { table: out.entries, lines: out.withLines({ level: KERN.DEBUG, text }) };
}

/**
 * e820__range_remove(start, size, type) — `type === null` removes every type (the any-type
 * form, whose line has no type text). Always prints its <7> line.
 */
export function rangeRemove(table: KTable, start: bigint, sizeIn: bigint, type: number | null, profile: KernelProfile): Edit {
  const { size, end } = clip(start, sizeIn);
  const head = `e820: remove ${memRange(start, end - 1n)}`;
  const text =
    type === null
      ? profile.anyTypeRemoveTrailingSpace
        ? `${head} `
        : head
      : `${head}${profile.editTypeSeparator}${typeText(type, profile)}`;
  const out = new Appender(table, profile);
  for (let i = 0; i < out.entries.length; i++) {
    const e = out.entries[i]!;
    if (type !== null && e.type !== type) continue;
    const eEnd = u64(e.addr + e.size);
    if (e.addr >= start && eEnd <= end) {
      out.entries[i] = { addr: 0n, size: 0n, type: 0 };
      continue;
    }
    if (e.addr < start && eEnd > end) {
      out.add(end, eEnd - end, e.type);
      out.entries[i] = entry(e.addr, start - e.addr, e.type);
      continue;
    }
    const fs = start > e.addr ? start : e.addr;
    const fe = end < eEnd ? end : eEnd;
    if (fs >= fe) continue;
    const shrunk = e.size - (fe - fs);
    out.entries[i] = entry(e.addr < fs ? e.addr : fe, shrunk, e.type);
  }
  return { table: out.entries, lines: out.withLines({ level: KERN.DEBUG, text }) };
}

/** e820__mapped_all(start, end, type): one pass in table order, as __e820__mapped_all() does. */
export function mappedAll(table: KTable, start: bigint, end: bigint, type: number): boolean {
  let cur = start;
  for (const e of table) {
    if (e.type !== type) continue;
    const eEnd = u64(e.addr + e.size);
    if (e.addr >= end || eEnd <= cur) continue;
    if (e.addr <= cur) cur = eEnd;
    if (cur >= end) return true;
  }
  return false;
}

/** A kernel BUG()/panic the model predicts instead of a view. */
export class KernelBug extends Error {
  constructor(readonly what: string) {
    super(`the kernel would BUG: ${what}`);
    this.name = 'KernelBug';
  }
}
