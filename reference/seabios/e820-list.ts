// SeaBIOS's e820_list (src/e820map.c): e820_add / e820_remove replayed on values, each entry
// tagged with the steps that produced its bytes, and calcRamSize (src/malloc.c).

import { MiB } from '../address.ts';
import { insertAt, removeAt } from '../list.ts';
import { E820, type E820Range } from '../e820.ts';
import { SEABIOS_LAYOUT as L } from '../profiles/seabios.ts';

/** An entry of SeaBIOS's e820_list, with the rules that produced its bytes. */
export interface TaggedEntry {
  readonly start: bigint;
  readonly size: bigint;
  readonly type: number;
  readonly provenance: readonly string[];
}

export interface E820Result<T> {
  readonly entries: readonly T[];
  /** Insertions dropped because the list was full ("WARNING - Unable to allocate resource at insert_e820:35!"). */
  readonly dropped: number;
}

const union = (a: readonly string[], b: readonly string[]): readonly string[] => [...a, ...b.filter((x) => !a.includes(x))];

/**
 * src/e820map.c e820_add() (identical in 1.14.0–1.17.0), replayed on a copy: first pass finds the
 * first entry whose end ≥ start and splits or widens it, second pass deletes/trims what the new
 * range covers (merging a same-type entry that reaches past its end), then the new entry is
 * inserted unless it is a hole. insert_e820 drops the insertion when the list holds `max` entries.
 */
export function e820AddTagged(
  list: readonly TaggedEntry[],
  start: bigint,
  size: bigint,
  type: number,
  provenance: string,
  max: number,
): E820Result<TaggedEntry> {
  if (size === 0n) return { entries: list, dropped: 0 };
  const l = [...list];
  return { entries: l, dropped: e820AddInPlace(l, start, size, type, provenance, max) };
}

/** An entry spelled out (spread is slow, and TaggedEntry has exactly these fields). */
const tagged = (start: bigint, size: bigint, type: number, provenance: readonly string[]): TaggedEntry => ({ start, size, type, provenance });

/**
 * e820_add() on `l` itself, as SeaBIOS changes its e820_list; returns how many insertions the
 * full list dropped. Only for a list its caller owns (E820ListBuilder, e820AddTagged's copy).
 */
function e820AddInPlace(l: TaggedEntry[], start: bigint, size: bigint, type: number, provenance: string, max: number): number {
  if (size === 0n) return 0;
  let dropped = 0;
  let s = start;
  let sz = size;
  let prov: readonly string[] = [provenance];
  const end = start + size;
  let i = 0;
  for (; i < l.length; i++) {
    const e = l[i]!;
    const eEnd = e.start + e.size;
    if (s > eEnd) continue;
    if (s > e.start) {
      if (type === e.type) {
        sz += s - e.start;
        s = e.start;
        prov = union(e.provenance, prov);
      } else {
        l[i] = tagged(e.start, s - e.start, e.type, e.provenance);
        i++;
        if (eEnd > end) {
          // insert_e820
          if (l.length >= max) dropped++;
          else insertAt(l, i, tagged(end, eEnd - end, e.type, e.provenance));
        }
      }
    }
    break;
  }
  while (i < l.length) {
    const e = l[i]!;
    if (end < e.start) break;
    const eEnd = e.start + e.size;
    if (end >= eEnd) {
      removeAt(l, i);
      continue;
    }
    l[i] = tagged(end, eEnd - end, e.type, e.provenance);
    if (type === e.type) {
      sz += eEnd - end;
      prov = union(prov, e.provenance);
      removeAt(l, i);
    }
    break;
  }
  if (type !== L.E820_HOLE) {
    if (l.length >= max) dropped++;
    else insertAt(l, i, tagged(s, sz, type, prov));
  }
  return dropped;
}

const toTagged = (list: readonly E820Range[]): TaggedEntry[] =>
  list.map((r) => ({ start: r.start, size: r.end - r.start, type: r.type, provenance: [] }));

export const toRanges = (list: readonly TaggedEntry[]): E820Range[] => list.map((e) => ({ start: e.start, end: e.start + e.size, type: e.type }));

/** e820_add on a plain map ([start, end) ranges), with the entry limit `max` (BUILD_MAX_E820). */
export function e820Add(list: readonly E820Range[], start: bigint, size: bigint, type: number, max: number): E820Result<E820Range> {
  const r = e820AddTagged(toTagged(list), start, size, type, '', max);
  return { entries: toRanges(r.entries), dropped: r.dropped };
}

/** e820_remove = e820_add with the internal E820_HOLE type: the range is cut out. */
export function e820Remove(list: readonly E820Range[], start: bigint, size: bigint, max: number): E820Result<E820Range> {
  return e820Add(list, start, size, L.E820_HOLE, max);
}


/** calcRamSize (src/malloc.c): last RAM/ACPI entry ending ≤ 4 GiB − 1; at least 1 MiB. */
export function calcRamSize(entries: readonly { start: bigint; size: bigint; type: number }[]): bigint {
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i]!;
    const end = e.start + e.size;
    if ((e.type === E820.RAM || e.type === E820.ACPI) && end <= 0xffffffffn) return end > MiB ? end : MiB;
  }
  return MiB;
}

/**
 * The e820_list as POST builds it, one e820_add / e820_remove after another, with the warning
 * insert_e820 logs for each insertion a full list drops. Local to one seabiosStage call.
 */
export class E820ListBuilder {
  /** Changed in place by add and remove, as SeaBIOS changes its e820_list. */
  entries: TaggedEntry[] = [];

  constructor(
    private readonly max: number,
    private readonly log: string[],
  ) {}

  add(start: bigint, size: bigint, type: number, why: string): void {
    const dropped = e820AddInPlace(this.entries, start, size, type, why, this.max);
    for (let k = 0; k < dropped; k++) this.log.push('WARNING - Unable to allocate resource at insert_e820:35!');
  }

  remove(start: bigint, size: bigint, why: string): void {
    this.add(start, size, L.E820_HOLE, why);
  }
}
