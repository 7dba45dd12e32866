import { describe, expect, it } from 'vitest';
import { parseIomem } from '../../harness/parse/iomem.ts';
import { parseMemmap } from '../../harness/parse/memmap.ts';
import { isE820IomemName, selectE820Iomem } from '../../reference/kernel-lines.ts';
import { PC1G_IOMEM, PC1G_MEMMAP } from './samples.ts';

describe('parseIomem', () => {
  it('builds the tree and keeps lines verbatim', () => {
    const nodes = parseIomem(PC1G_IOMEM);
    expect(nodes).toHaveLength(18);
    expect(nodes[7]).toMatchObject({ start: 0xf0000n, end: 0xfffffn, name: 'System ROM', depth: 1, parent: 6, line: '  000f0000-000fffff : System ROM', lineNo: 8 });
    expect(nodes[16]).toMatchObject({ start: 0x100000000n, end: 0x17fffffffn, depth: 0, parent: null });
    expect(nodes.map((n) => n.line).join('\n')).toBe(PC1G_IOMEM);
  });

  it('nests three deep (q35 ECAM, docs/model/linux.md#nesting)', () => {
    const nodes = parseIomem('b0000000-bfffffff : PCI MMCONFIG 0000 [bus 00-ff]\n  b0000000-bfffffff : Reserved\n    b0000000-bfffffff : pnp 00:05');
    expect(nodes.map((n) => n.parent)).toEqual([null, 0, 1]);
  });

  it('rejects malformed lines, odd indentation, depth jumps and non-root reads, naming the line', () => {
    expect(() => parseIomem('00000000-00000fff : Reserved\n0001000-0009fbff : System RAM')).toThrow(/line 2: not a \/proc\/iomem line/);
    expect(() => parseIomem('00000000-00000fff : Reserved\n 00001000-0009fbff : x')).toThrow(/line 2: indentation of 1 spaces/);
    expect(() => parseIomem('00000000-00000fff : Reserved\n    00001000-0009fbff : x')).toThrow(/line 2: nesting jumps to depth 2/);
    expect(() => parseIomem('00000000-00000000 : Reserved\n00000000-00000000 : System RAM')).toThrow(/line 1: .*CAP_SYS_ADMIN/);
    expect(() => parseIomem('00001000-00000fff : Reserved')).toThrow(/line 1: range ends before it starts/);
    expect(() => parseIomem('')).toThrow(/empty/);
  });

  it('selects E820-derived lines and counts the rest (docs/model/linux.md#which-lines-come-from-e820)', () => {
    const { compared, excluded } = selectE820Iomem(PC1G_IOMEM.split('\n'));
    expect(compared).toEqual([
      '00000000-00000fff : Reserved',
      '00001000-0009fbff : System RAM',
      '0009fc00-0009ffff : Reserved',
      '000f0000-000fffff : Reserved',
      '00100000-3ffdffff : System RAM',
      '3ffe0000-3fffffff : Reserved',
      'fffc0000-ffffffff : Reserved',
      'fd00000000-ffffffffff : Reserved',
    ]);
    expect(excluded).toBe(10);
    for (const n of ['ACPI Tables', 'ACPI Non-volatile Storage', 'Unusable memory', 'Persistent Memory', 'Persistent Memory (legacy)', 'Soft Reserved', 'Unknown E820 type', 'RAM buffer']) expect(isE820IomemName(n)).toBe(true);
    for (const n of ['hmem.0', 'Kernel code', 'PCI ECAM 0000 [bus 00-ff]', 'System ROM', 'Local APIC']) expect(isE820IomemName(n)).toBe(false);
  });
});

describe('parseMemmap', () => {
  it('reads sysfs strings as printed', () => {
    expect(parseMemmap(PC1G_MEMMAP)[0]).toEqual({ start: '0x0', end: '0x9fbff', type: 'System RAM' });
    expect(parseMemmap(PC1G_MEMMAP)[6]).toEqual({ start: '0xfd00000000', end: '0xffffffffff', type: 'Reserved' });
  });

  it('checks index order and the sysfs hex spelling, naming the line', () => {
    expect(() => parseMemmap('0 0x0 0x9fbff System RAM\n10 0x9fc00 0x9ffff Reserved')).toThrow(/line 2: memmap entry 10 where entry 1 was expected/);
    expect(() => parseMemmap('0 0x0000 0x9fbff System RAM')).toThrow(/line 1: not a memmap line/);
    expect(() => parseMemmap('0 0x0 0x9FBFF System RAM')).toThrow(/line 1: not a memmap line/);
    expect(() => parseMemmap('')).toThrow(/empty/);
  });
});
