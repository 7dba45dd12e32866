// kernel/resource.c (docs/model/linux.md#nesting; identical in 5.10–7.2): request_resource,
// insert_resource(_conflict), insert_resource_expand_to_fit, reserve_region_with_split. Children
// are kept sorted by start and never overlap.
//
// The tree is changed in place, as the kernel changes its own: one ResourceTree lives inside one
// buildIomem() call (reference/linux/iomem.ts), which stays a pure function of its inputs. (An
// immutable tree rebuilt the path to the root on every insert, the largest share of /proc/iomem's
// cost.) An insert that conflicts leaves the tree as it was, as __insert_resource() does.

import { insertAt } from '../list.ts';
import type { EntryDigits } from './print.ts';

export interface Res {
  readonly start: bigint;
  /** Inclusive, as struct resource keeps it. */
  readonly end: bigint;
  readonly name: string;
  /** Produced by e820 code (compared) rather than by PCI, ACPI, ROM scan, drivers. */
  readonly e820: boolean;
  /** Owned by the tree once the resource is inserted. */
  children: Res[];
  /** The hex digits of start and end when an e820 entry's were already spelled (reference/linux/print.ts entryDigits), else null. */
  readonly digits: EntryDigits | null;
}

export type Conflict = Res | 'root';

export const resource = (start: bigint, end: bigint, name: string, e820: boolean, digits: EntryDigits | null = null): Res => ({ start, end, name, e820, children: [], digits });

/** __request_resource(): the index of the first child that overlaps, -1 for none, or 'root' if `nw` does not fit in the parent. */
function firstConflict(parent: Res, nw: { start: bigint; end: bigint }): number | 'root' {
  if (nw.end < nw.start || nw.start < parent.start || nw.end > parent.end) return 'root';
  // The children are sorted and disjoint, so their ends ascend too: the first child that can
  // meet `nw` is the first whose end reaches nw.start (found by bisection), and it meets `nw`
  // unless it starts past nw.end, where __request_resource()'s walk would stop. The same child
  // the walk finds, in a few comparisons instead of one per child.
  const kids = parent.children;
  let lo = 0;
  let hi = kids.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (kids[mid]!.end < nw.start) lo = mid + 1;
    else hi = mid;
  }
  return lo < kids.length && kids[lo]!.start <= nw.end ? lo : -1;
}

/**
 * `nw` placed among the children by start. They never overlap, so no two share a start: inserting
 * before the first later one is the order a sort would give, without sorting each time.
 */
function addChild(parent: Res, nw: Res): void {
  const kids = parent.children;
  let i = kids.length;
  while (i > 0 && kids[i - 1]!.start > nw.start) i--;
  insertAt(kids, i, nw);
}

/** __insert_resource() below `parent`; the conflict is reported as the kernel reports it. */
function insertBelow(parent: Res, nw: Res, isRoot: boolean): Conflict | null {
  const at = firstConflict(parent, nw);
  if (at === -1) {
    addChild(parent, nw);
    return null;
  }
  if (at === 'root') return isRoot ? 'root' : parent;
  const kids = parent.children;
  const first = kids[at]!;
  const containsStrictly = first.start <= nw.start && first.end >= nw.end && !(first.start === nw.start && first.end === nw.end);
  if (containsStrictly) return insertBelow(first, nw, false);
  // `nw` must contain `first` and every following sibling it overlaps; they become its children.
  let past = at;
  for (; past < kids.length; past++) {
    const c = kids[past]!;
    if (c.start > nw.end) break;
    if (c.start < nw.start || c.end > nw.end) return c;
  }
  nw.children = kids.splice(at, past - at);
  addChild(parent, nw);
  return null;
}

export class ResourceTree {
  readonly root: Res;

  constructor(end: bigint) {
    this.root = resource(0n, end, 'PCI mem', false);
  }

  /** request_resource(): top level only, fails on any overlap. */
  request(nw: Res): Conflict | null {
    const at = firstConflict(this.root, nw);
    if (at === 'root') return 'root';
    if (at !== -1) return this.root.children[at]!;
    addChild(this.root, nw);
    return null;
  }

  /** insert_resource() / insert_resource_conflict() into the whole tree. */
  insert(nw: Res): Conflict | null {
    return insertBelow(this.root, nw, true);
  }

  /**
   * insert_resource_expand_to_fit(): on a partial overlap grow `nw` to cover the conflict, report
   * it, retry; a conflict with the root drops `nw` silently. `nw` itself is never widened: the
   * resource placed is a new one.
   */
  insertExpandToFit(nwIn: Res): { expandedWith: string[]; placed: Res | null } {
    let nw = nwIn;
    const expandedWith: string[] = [];
    for (;;) {
      const c = this.insert(nw);
      if (c === null) return { expandedWith, placed: nw };
      if (c === 'root') return { expandedWith, placed: null };
      nw = resource(c.start < nw.start ? c.start : nw.start, c.end > nw.end ? c.end : nw.end, nw.name, nw.e820);
      expandedWith.push(c.name);
    }
  }

  /** reserve_region_with_split() at the top level: every uncovered piece of [start, end] becomes `name`. */
  reserveRegionWithSplit(start: bigint, end: bigint, name: string): Res[] {
    const pieces: Res[] = [];
    let cur = start;
    for (const c of this.root.children) {
      if (cur > end) break;
      if (c.end < cur) continue;
      if (c.start > end) break;
      if (c.start > cur) pieces.push(resource(cur, c.start - 1n, name, true));
      cur = c.end + 1n;
    }
    if (cur <= end) pieces.push(resource(cur, end, name, true));
    for (const p of pieces) addChild(this.root, p);
    return pieces;
  }

  /** Depth-first, siblings by address: /proc/iomem order; only the resources `keep` accepts (all by default). */
  walk(keep: (r: Res) => boolean = () => true): Placed[] {
    const out: Placed[] = [];
    const go = (n: Res, depth: number): void => {
      for (const c of n.children) {
        if (keep(c)) out.push({ res: c, depth });
        go(c, depth + 1);
      }
    };
    go(this.root, 0);
    return out;
  }
}

export interface Placed {
  readonly res: Res;
  readonly depth: number;
}
