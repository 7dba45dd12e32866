// e820__update_table(): the change-point sanitiser (arch/x86/kernel/e820.c; docs/model/linux.md#sanitising-the-table;
// identical algorithm in 5.10–7.2). Overlaps resolve to the numerically highest type; touching
// same-type entries merge, except the never-merge types PRAM (12) and SOFT_RESERVED, which are
// split at every change point.

import { E820 } from '../e820.ts';
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

export function sanitize(table: KTable, capacity: number = E820_MAX_ENTRIES): Sanitized {
  if (table.length < 2) return { ok: false, table };
  if (table.some((e) => u64(e.addr + e.size) < e.addr)) return { ok: false, table };

  const points: ChangePoint[] = [];
  table.forEach((e, i) => {
    if (e.size === 0n) return;
    points.push({ addr: e.addr, isStart: true, entry: i });
    points.push({ addr: e.addr + e.size, isStart: false, entry: i });
  });
  // By address; at equal addresses starts before ends. Order inside a group cannot change the
  // result (docs/model/linux.md#sanitising-the-table), so JS's stable sort is as good as the kernel's unstable one.
  points.sort((a, b) => (a.addr !== b.addr ? (a.addr < b.addr ? -1 : 1) : Number(b.isStart) - Number(a.isStart)));

  const open = new Set<number>();
  const out: KEntry[] = [];
  let lastType = 0;
  let lastAddr = 0n;
  for (const p of points) {
    if (p.isStart) open.add(p.entry);
    else open.delete(p.entry);
    let current = 0;
    for (const i of open) current = Math.max(current, table[i]!.type >>> 0);
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
