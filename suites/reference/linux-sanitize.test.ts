// Properties of the e820 sanitiser and memparse (reference/linux/sanitize.ts, early-params.ts).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { E820 } from '../../reference/e820.ts';
import { memparse, simpleStrtoull, splitKernelArgs } from '../../reference/linux/early-params.ts';
import { neverMerges, sanitize, updateTable } from '../../reference/linux/sanitize.ts';
import type { KEntry } from '../../reference/linux/table.ts';
import { KERNEL_PROFILES } from '../../reference/profiles/kernel.ts';

const TYPES = [E820.RAM, E820.RESERVED, E820.ACPI, E820.NVS, E820.UNUSABLE, E820.PMEM, E820.PRAM, E820.RESERVED_KERN, 20, E820.SOFT_RESERVED];

/** Small maps on a 16-unit grid (unit 0x1000) so overlaps are frequent. */
const entry = fc.record({
  addr: fc.integer({ min: 0, max: 15 }).map((n) => BigInt(n) * 0x1000n),
  size: fc.integer({ min: 0, max: 8 }).map((n) => BigInt(n) * 0x1000n),
  type: fc.constantFrom(...TYPES),
});
const map = fc.array(entry, { minLength: 2, maxLength: 8 });

/** Naive reference: highest type per 4 KiB unit. */
function perUnit(entries: readonly KEntry[]): number[] {
  const units = new Array<number>(32).fill(0);
  for (const e of entries) {
    for (let a = e.addr; a < e.addr + e.size; a += 0x1000n) {
      const i = Number(a / 0x1000n);
      units[i] = Math.max(units[i]!, e.type);
    }
  }
  return units;
}

describe('sanitize', () => {
  it('output is sorted, non-overlapping, without zero-size entries', () => {
    fc.assert(
      fc.property(map, (m) => {
        const { ok, table } = sanitize(m);
        expect(ok).toBe(true);
        for (const e of table) expect(e.size > 0n).toBe(true);
        for (let i = 1; i < table.length; i++) expect(table[i]!.addr >= table[i - 1]!.addr + table[i - 1]!.size).toBe(true);
      }),
    );
  });

  it('touching same-type entries are merged unless the type never merges', () => {
    fc.assert(
      fc.property(map, (m) => {
        const { table } = sanitize(m);
        for (let i = 1; i < table.length; i++) {
          const a = table[i - 1]!;
          const b = table[i]!;
          if (a.addr + a.size === b.addr && a.type === b.type) expect(neverMerges(a.type)).toBe(true);
        }
      }),
    );
  });

  it('is idempotent', () => {
    fc.assert(
      fc.property(map, (m) => {
        const once = sanitize(m).table;
        const twice = once.length >= 2 ? sanitize(once).table : once;
        expect(twice).toEqual(once);
      }),
    );
  });

  it('agrees with "highest type wins per byte"', () => {
    fc.assert(
      fc.property(map, (m) => {
        expect(perUnit(sanitize(m).table)).toEqual(perUnit(m));
      }),
    );
  });

  it("agrees with e820__update_table() replayed in full, also on tables whose entries are disjoint (sanitize's shortcut)", () => {
    // Ordered maps on the same grid: gaps, touching neighbours of equal and different types, types
    // past u32 and 0, an entry reaching the top of the address space.
    const ordered = fc
      .array(
        fc.record({
          gap: fc.integer({ min: 0, max: 2 }),
          units: fc.integer({ min: 0, max: 3 }),
          type: fc.constantFrom(...TYPES, 0, -1, 2 ** 32 + 1),
        }),
        { minLength: 2, maxLength: 8 },
      )
      .map((pieces) => {
        let at = 0n;
        return pieces.map(({ gap, units, type }) => {
          const addr = at + BigInt(gap) * 0x1000n;
          at = addr + BigInt(units) * 0x1000n;
          return { addr, size: BigInt(units) * 0x1000n, type };
        });
      });
    const top = fc.constantFrom(0n, 0x1000n).map((size): KEntry[] => [
      { addr: 0n, size: 0x1000n, type: E820.RAM },
      { addr: 0xfffffffffffff000n, size, type: E820.RESERVED },
    ]);
    // The same out of order (trim_bios_range's update appends page 0 at the end).
    const shuffled = fc.tuple(ordered, fc.array(fc.nat(), { minLength: 8, maxLength: 8 })).map(([m, keys]) =>
      m.map((e, i) => ({ e, key: keys[i]! })).sort((a, b) => a.key - b.key).map(({ e }) => e),
    );
    fc.assert(
      fc.property(fc.oneof(map, ordered, shuffled, top), fc.integer({ min: 1, max: 9 }), (m, capacity) => {
        expect(sanitize(m, capacity)).toEqual(updateTable(m, capacity));
      }),
      { numRuns: 4000 },
    );
  });

  it('fewer than two entries, or a wrapping one, leaves the table alone', () => {
    const one = [{ addr: 0x1000n, size: 0n, type: 1 }];
    expect(sanitize(one)).toEqual({ ok: false, table: one });
    const wrap = [
      { addr: 0n, size: 0x1000n, type: 1 },
      { addr: 0xfffffffffffff000n, size: 0x1000n, type: 2 },
    ];
    expect(sanitize(wrap)).toEqual({ ok: false, table: wrap });
  });

  it('PRAM is split at every change point (docs/model/linux.md#sanitising-the-table)', () => {
    const t = sanitize([
      { addr: 0x31000000n, size: 0x200000n, type: E820.PRAM },
      { addr: 0x31080000n, size: 0x100000n, type: E820.RESERVED },
    ]).table;
    expect(t.map((e) => [e.addr, e.size, e.type])).toEqual([
      [0x31000000n, 0x80000n, 12],
      [0x31080000n, 0x100000n, 12],
      [0x31180000n, 0x80000n, 12],
    ]);
  });
});

describe('memparse', () => {
  const p61 = KERNEL_PROFILES['6.1'];
  const p72 = KERNEL_PROFILES['7.2'];
  it('bases and suffixes', () => {
    expect(memparse('1000M', p61)).toEqual({ value: 1000n << 20n, used: 5 });
    expect(memparse('0x10000000', p61).value).toBe(0x10000000n);
    expect(memparse('010', p61).value).toBe(8n);
    expect(memparse('4k', p61).value).toBe(4096n);
    expect(memparse('1G$', p61)).toEqual({ value: 1n << 30n, used: 2 });
    expect(memparse('0x', p61)).toEqual({ value: 0n, used: 1 });
    expect(memparse('foo', p61)).toEqual({ value: 0n, used: 0 });
  });
  it('a suffix without digits: consumed up to 6.12, not in 7.2', () => {
    expect(memparse('K@0x1000', p61)).toEqual({ value: 0n, used: 1 });
    expect(memparse('K@0x1000', p72)).toEqual({ value: 0n, used: 0 });
  });
  it('overflow wraps up to 6.12 and saturates in 7.2', () => {
    expect(simpleStrtoull('0x10000000000000001', false).value).toBe(1n);
    expect(simpleStrtoull('0x10000000000000001', true).value).toBe((1n << 64n) - 1n);
  });
  it('decimal digits round-trip for any u64 and any suffix', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 40n) - 1n }), fc.constantFrom('', 'K', 'M', 'G'), (n, suffix) => {
        const shift = { '': 0n, K: 10n, M: 20n, G: 30n }[suffix]!;
        expect(memparse(`${n}${suffix}`, p61)).toEqual({ value: (n << shift) & ((1n << 64n) - 1n), used: String(n).length + suffix.length });
        expect(memparse(`0x${n.toString(16)}`, p72).value).toBe(n);
      }),
    );
  });
});

describe('kernel argument splitting (next_arg)', () => {
  it('splits on spaces, keeps values, stops at --', () => {
    expect(splitKernelArgs('  console=ttyS0 mem=1G  nokaslr -- mem=2G')).toEqual([
      { param: 'console', value: 'ttyS0' },
      { param: 'mem', value: '1G' },
      { param: 'nokaslr', value: null },
    ]);
  });
  it('quoted values', () => {
    expect(splitKernelArgs('foo="a b" memmap=1M$0x1000')).toEqual([
      { param: 'foo', value: 'a b' },
      { param: 'memmap', value: '1M$0x1000' },
    ]);
  });
});
