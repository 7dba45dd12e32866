// e820__update_table(): the change-point sanitiser (arch/x86/kernel/e820.c; docs/model/linux.md#sanitising-the-table;
// identical algorithm in 5.10–7.2). Overlaps resolve to the numerically highest type; touching
// same-type entries merge, except the never-merge types PRAM (12) and SOFT_RESERVED, which are
// split at every change point.

import { E820 } from '../e820.ts';
import { insertAt } from '../list.ts';
import { U64_MAX } from '../address.ts';
import { E820_MAX_ENTRIES, type KEntry, type KTable, u64 } from './table.ts';

export interface Sanitized {
  /** false where the kernel returns -1 (fewer than 2 entries, or a wrapping entry): table unchanged. */
  readonly ok: boolean;
  readonly table: KTable;
}

/** e820_nomerge() (≤ 6.12) / !e820_type_mergeable() (7.2). */
export function neverMerges(type: number): boolean {
  return type === E820.PRAM || type === E820.SOFT_RESERVED;
}

interface ChangePoint {
  readonly addr: bigint;
  readonly isStart: boolean;
  readonly entry: number;
}

/** By address; at equal addresses starts before ends. */
const before = (a: ChangePoint, b: ChangePoint): boolean => (a.addr !== b.addr ? a.addr < b.addr : a.isStart && !b.isStart);
const order = (a: ChangePoint, b: ChangePoint): number => (before(a, b) ? -1 : before(b, a) ? 1 : 0);

/** Tables up to this many change points are sorted by insertion (see updateTable; inAddressOrder sorts the entries of tables up to half as long). */
const INSERTION_SORT_MAX = 64;

/** Appends `p` after every point not after it: a stable insertion, as a stable sort would place it. */
function insertSorted(points: ChangePoint[], p: ChangePoint): void {
  let j = points.length;
  while (j > 0 && before(p, points[j - 1]!)) j--;
  insertAt(points, j, p);
}

/**
 * Is `table` already what the sanitiser makes of it? Entries in address order, none empty, none
 * overlapping or wrapping, touching neighbours of one type only where that type never merges,
 * types already u32 and not 0, no more than `capacity`: then every change point opens or closes
 * one entry and e820__update_table() writes the same entries back. SeaBIOS's maps usually are (it
 * merges and orders its own e820_list), so the boot map is checked in one pass without change points.
 */
function alreadySanitized(table: KTable, capacity: number): boolean {
  if (table.length > capacity) return false;
  let prevEnd = 0n;
  let prevType = 0;
  for (const e of table) {
    const end = e.addr + e.size;
    if (e.size <= 0n || e.addr < prevEnd || end > U64_MAX) return false;
    if (e.type === 0 || e.type >>> 0 !== e.type) return false;
    if (e.addr === prevEnd && e.type === prevType && !neverMerges(e.type)) return false;
    prevEnd = end;
    prevType = e.type;
  }
  return true;
}

/**
 * `table` in address order: the same array when it already is, else a copy sorted by insertion
 * (stable), or null for a long table out of order (left to updateTable). The tables here are short
 * and at most a few entries out of place: trim_bios_range's update appends page 0 at the end.
 */
function inAddressOrder(table: KTable): KTable | null {
  let ordered = true;
  for (let i = 1; i < table.length && ordered; i++) ordered = table[i - 1]!.addr <= table[i]!.addr;
  if (ordered) return table;
  if (table.length * 2 > INSERTION_SORT_MAX) return null;
  const out: KEntry[] = [];
  for (const e of table) {
    let j = out.length;
    while (j > 0 && e.addr < out[j - 1]!.addr) j--;
    insertAt(out, j, e);
  }
  return out;
}

/**
 * e820__update_table(). A table whose entries, put in address order, are already in the
 * sanitiser's form (alreadySanitized) comes back in that order: the change points of disjoint
 * entries are their own starts and ends whatever order the entries were in, so nothing else can
 * come out. Any other table goes through updateTable.
 */
export function sanitize(table: KTable, capacity: number = E820_MAX_ENTRIES): Sanitized {
  if (table.length >= 2) {
    const ordered = inAddressOrder(table);
    if (ordered !== null && alreadySanitized(ordered, capacity)) return { ok: true, table: ordered };
  }
  return updateTable(table, capacity);
}

/** e820__update_table() change point by change point (sanitize() without its shortcut; the tests compare the two). */
export function updateTable(table: KTable, capacity: number = E820_MAX_ENTRIES): Sanitized {
  if (table.length < 2) return { ok: false, table };
  for (const e of table) if (u64(e.addr + e.size) < e.addr) return { ok: false, table };

  // The change points in order. Order inside a group at one address cannot change the result
  // (docs/model/linux.md#sanitising-the-table), so a stable sort is as good as the kernel's
  // unstable one. An insertion sort: a firmware table is short and nearly sorted already (each
  // end meets the next start), where Array.prototype.sort's comparator calls cost more; a long
  // one (a user map of hundreds of entries) takes the library sort, stable too.
  const points: ChangePoint[] = [];
  const small = table.length * 2 <= INSERTION_SORT_MAX;
  for (let i = 0; i < table.length; i++) {
    const e = table[i]!;
    if (e.size === 0n) continue;
    const start = { addr: e.addr, isStart: true, entry: i };
    const end = { addr: e.addr + e.size, isStart: false, entry: i };
    if (small) {
      insertSorted(points, start);
      insertSorted(points, end);
    } else points.push(start, end);
  }
  if (!small) points.sort(order);

  // The entries open at the current point, in no order (only the highest type counts): an array,
  // where a Set's add/delete/iteration cost a third of a sanitise.
  const open: number[] = [];
  const out: KEntry[] = [];
  let lastType = 0;
  let lastAddr = 0n;
  for (const p of points) {
    if (p.isStart) open.push(p.entry);
    else {
      // (An end sorted before its start, a negative size, closes nothing, as Set.delete would.)
      const at = open.indexOf(p.entry);
      if (at !== -1) {
        open[at] = open[open.length - 1]!;
        open.pop();
      }
    }
    let current = 0;
    for (let k = 0; k < open.length; k++) {
      const type = table[open[k]!]!.type >>> 0;
      if (type > current) current = type;
    }
    if (current !== lastType || neverMerges(current)) {
      if (lastType !== 0) {
        const size = p.addr - lastAddr;
        if (size !== 0n) {
          out.push({ addr: lastAddr, size, type: lastType });
          if (out.length >= capacity) break;
        }
      }
      if (current !== 0) lastAddr = p.addr;
      lastType = current;
    }
  }
  return { ok: true, table: out };
}
