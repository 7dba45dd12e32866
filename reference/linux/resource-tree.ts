// kernel/resource.c as pure functions on an immutable tree (docs/model/linux.md#nesting; identical in
// 5.10–7.2): request_resource, insert_resource(_conflict), insert_resource_expand_to_fit,
// reserve_region_with_split. Children are kept sorted by start and never overlap.

export interface Res {
  /** Identity, so a caller can ask "was this one inserted?" after the tree was rebuilt. */
  readonly id: string;
  readonly start: bigint;
  /** Inclusive, as struct resource keeps it. */
  readonly end: bigint;
  readonly name: string;
  /** Produced by e820 code (compared) rather than by PCI, ACPI, ROM scan, drivers. */
  readonly e820: boolean;
  readonly children: readonly Res[];
}

export type Conflict = Res | 'root';

export interface Inserted {
  readonly root: Res;
  /** null: inserted; otherwise the resource that blocked it (`'root'` = outside the parent). */
  readonly conflict: Conflict | null;
}

/**
 * `r` with other children. Spelled out rather than `{ ...r, children }`: object spread was the
 * single most expensive line of a prediction (V8, Node 20), and Res has exactly these fields.
 */
const withChildren = (r: Res, children: readonly Res[]): Res => ({ id: r.id, start: r.start, end: r.end, name: r.name, e820: r.e820, children });

export function makeRoot(end: bigint): Res {
  return { id: 'iomem', start: 0n, end, name: 'PCI mem', e820: false, children: [] };
}

const overlaps = (a: { start: bigint; end: bigint }, b: { start: bigint; end: bigint }): boolean =>
  a.start <= b.end && b.start <= a.end;

/** __request_resource(): the first child that overlaps, or the parent if `nw` does not fit in it. */
function firstConflict(parent: Res, nw: { start: bigint; end: bigint }): Conflict | null {
  if (nw.end < nw.start || nw.start < parent.start || nw.end > parent.end) return 'root';
  return parent.children.find((c) => overlaps(c, nw)) ?? null;
}

/**
 * `nw` placed among the children by start. They never overlap, so no two share a start: inserting
 * before the first later one is the order a sort would give, without sorting each time.
 */
function withChild(parent: Res, nw: Res): Res {
  const kids = parent.children;
  let i = kids.length;
  while (i > 0 && kids[i - 1]!.start > nw.start) i--;
  const children = kids.slice(0, i);
  children.push(nw);
  for (let j = i; j < kids.length; j++) children.push(kids[j]!);
  return withChildren(parent, children);
}

/** request_resource(): top level only, fails on any overlap. */
export function requestResource(root: Res, nw: Res): Inserted {
  const c = firstConflict(root, nw);
  if (c !== null) return { root, conflict: c };
  return { root: withChild(root, nw), conflict: null };
}

/** __insert_resource() below `parent`; the conflict is reported as the kernel reports it. */
function insertBelow(parent: Res, nw: Res, isRoot: boolean): { node: Res; conflict: Conflict | null } {
  const first = firstConflict(parent, nw);
  if (first === null) return { node: withChild(parent, nw), conflict: null };
  if (first === 'root') return { node: parent, conflict: isRoot ? 'root' : parent };
  const containsStrictly = first.start <= nw.start && first.end >= nw.end && !(first.start === nw.start && first.end === nw.end);
  if (containsStrictly) {
    const r = insertBelow(first, nw, false);
    if (r.conflict !== null) return { node: parent, conflict: r.conflict };
    return { node: withChildren(parent, parent.children.map((c) => (c === first ? r.node : c))), conflict: null };
  }
  // `nw` must contain `first` and every following sibling it overlaps; they become its children.
  const idx = parent.children.indexOf(first);
  const taken: Res[] = [];
  for (let i = idx; i < parent.children.length; i++) {
    const c = parent.children[i]!;
    if (c.start > nw.end) break;
    if (c.start < nw.start || c.end > nw.end) return { node: parent, conflict: c };
    taken.push(c);
  }
  const wrapped = withChildren(nw, taken);
  const rest = parent.children.filter((c) => !taken.includes(c));
  return { node: withChild(withChildren(parent, rest), wrapped), conflict: null };
}

/** insert_resource() / insert_resource_conflict() into the whole tree. */
export function insertResource(root: Res, nw: Res): Inserted {
  const r = insertBelow(root, nw, true);
  return { root: r.conflict === null ? r.node : root, conflict: r.conflict };
}

/**
 * insert_resource_expand_to_fit(): on a partial overlap grow `nw` to cover the conflict, report
 * it, retry; a conflict with the root drops `nw` silently.
 */
export function insertExpandToFit(root: Res, nwIn: Res): { root: Res; expandedWith: string[]; placed: Res | null } {
  let nw = nwIn;
  const expandedWith: string[] = [];
  for (;;) {
    const r = insertResource(root, nw);
    if (r.conflict === null) return { root: r.root, expandedWith, placed: nw };
    if (r.conflict === 'root') return { root, expandedWith, placed: null };
    const c = r.conflict;
    nw = { ...nw, start: c.start < nw.start ? c.start : nw.start, end: c.end > nw.end ? c.end : nw.end };
    expandedWith.push(c.name);
  }
}

/** reserve_region_with_split() at the top level: every uncovered piece of [start, end] becomes `name`. */
export function reserveRegionWithSplit(root: Res, start: bigint, end: bigint, name: string, idPrefix: string): { root: Res; pieces: Res[] } {
  const pieces: Res[] = [];
  let cur = start;
  for (const c of root.children) {
    if (cur > end) break;
    if (c.end < cur) continue;
    if (c.start > end) break;
    if (c.start > cur) pieces.push({ id: `${idPrefix}.${pieces.length}`, start: cur, end: c.start - 1n, name, e820: true, children: [] });
    cur = c.end + 1n;
  }
  if (cur <= end) pieces.push({ id: `${idPrefix}.${pieces.length}`, start: cur, end, name, e820: true, children: [] });
  const r = pieces.reduce((t, p) => withChild(t, p), root);
  return { root: r, pieces };
}

export interface Placed {
  readonly res: Res;
  readonly depth: number;
}

/** Depth-first, siblings by address: /proc/iomem order. */
export function walk(root: Res): Placed[] {
  const out: Placed[] = [];
  const go = (n: Res, depth: number): void => {
    for (const c of n.children) {
      out.push({ res: c, depth });
      go(c, depth + 1);
    }
  };
  go(root, 0);
  return out;
}

export function findById(root: Res, id: string): Res | null {
  return walk(root).find((p) => p.res.id === id)?.res ?? null;
}
