import { describe, expect, it } from 'vitest';
import { parseDmesg, selectE820Lines } from '../../harness/parse/dmesg.ts';
import { E820_EDIT_PATTERNS, e820EditPattern, isBiosE820Line, isE820EditLine, isUnclassifiedE820Mention } from '../../reference/kernel-lines.ts';
import { PC1G_BIOS_E820, PC1G_DMESG, PC1G_EDITS } from './samples.ts';

describe('parseDmesg', () => {
  it('reads level, facility, time and text', () => {
    const r = parseDmesg(PC1G_DMESG);
    expect(r[0]).toMatchObject({ level: 5, facility: 0, time: 0, line: 1 });
    expect(r.at(-1)).toMatchObject({ level: 4, facility: 1, time: 2.6, text: 'init: e820 user space line' });
  });

  it('keeps text exactly after the timestamp, including double spaces and trailing spaces', () => {
    const r = parseDmesg('<6>[    0.000000] BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff]  System RAM\n<7>[    0.000000] e820: remove [mem 0x3ffe0000-0x400dffff] ');
    expect(r.map((x) => x.text)).toEqual(['BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff]  System RAM', 'e820: remove [mem 0x3ffe0000-0x400dffff] ']);
  });

  it('accepts records without timestamps (printk.time=0) and prefixed multi-line records', () => {
    const r = parseDmesg('<6>BIOS-e820: [mem 0x0-0x1] usable\n<4>[    1.000000] first\n<4>[    1.000000]  second line\n');
    expect(r).toHaveLength(3);
    expect(r[0]?.time).toBeNull();
    expect(r[2]?.text).toBe(' second line');
  });

  it('refuses an unprefixed line rather than gluing it onto a compared record', () => {
    expect(() => parseDmesg('<6>[    0.000000] BIOS-e820: [mem 0x0-0x1] usable\nrandom: crng init done')).toThrow(/line 2: not a "<level>\[time\] text" dmesg record/);
  });

  it('rejects output without level prefixes (plain dmesg) and garbage, naming the line', () => {
    expect(() => parseDmesg('[    0.000000] Linux version')).toThrow(/line 1: not a "<level>\[time\] text" dmesg record.*dmesg -r/);
    expect(() => parseDmesg('<6>[    0.000000] ok\n<6>[    0.0\u0000')).toThrow(/line 2: a NUL byte at column 12/);
    expect(() => parseDmesg('<999>[    0.000000] x')).toThrow(/line 1: syslog priority <999>/);
  });

  it('selects BIOS-e820 lines and e820 edits (6.1 worked example, docs/model/linux.md#a-worked-example-pc-with-1-gib)', () => {
    const sel = selectE820Lines(parseDmesg(PC1G_DMESG));
    expect(sel.biosE820).toEqual(PC1G_BIOS_E820);
    expect(sel.e820Edits).toEqual(PC1G_EDITS);
    expect(sel.unclassified).toEqual([]);
  });

  it('reports lines that mention e820 but match no rule', () => {
    const sel = selectE820Lines(parseDmesg('<6>[    0.1] some new e820 message\n<4>[    0.2]  e820__memblock_setup+0x4b/0x80'));
    expect(sel.unclassified.map((u) => u.line)).toEqual([1, 2]);
  });
});

describe('kernel-lines rules', () => {
  it('BIOS-e820 lines of every format, including 7.2 gap lines', () => {
    for (const l of [
      'BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable',
      'BIOS-e820: [mem 0x000000000009fc00-0x000000000009ffff]  device reserved',
      'BIOS-e820: [gap 0x00000000000a0000-0x00000000000effff]',
    ]) {
      expect(isBiosE820Line(l)).toBe(true);
      expect(isE820EditLine(l)).toBe(false);
    }
    expect(isBiosE820Line('BIOS-e820:[mem')).toBe(false);
  });

  // One example per form docs/model/linux.md describes (edit lines, user map, setup_arch lines, RAM buffers, per release), mapped to the rule id.
  const edits: Array<[string, string]> = [
    ['BIOS-provided physical RAM map:', 'header-bios'],
    ['BIOS-e801: [mem 0x0000000000000000-0x000000000009efff] usable', 'dump-fallback'],
    ['BIOS-88: [mem 0x0000000000100000-0x0000000003ffffff] usable', 'dump-fallback'],
    ['extended physical RAM map:', 'header-extended'],
    ['extended: [mem 0x0000000000000000-0x000000000009fbff] usable', 'dump-extended'],
    ['reserve setup_data: [mem 0x00000000008d27c0-0x00000000008d280f] usable', 'dump-setup-data'],
    ['user-defined physical RAM map:', 'header-user'],
    ['user: [mem 0x0000000000000000-0x000000000009fbff] usable', 'dump-user'],
    ['user: [gap 0x00000000000a0000-0x00000000000effff]', 'dump-user'],
    ['user: [mem 0x0000000000100000-0x000000003ffdffff]  System RAM', 'dump-user'],
    ['modified physical RAM map:', 'header-modified'],
    ['modified: [mem 0x0000000000000000-0x000000000009fbff] usable', 'dump-modified'],
    ['[Firmware Bug]: out of order E820 entry!', 'out-of-order'],
    ['e820: update [mem 0x00000000-0x00000fff] usable ==> reserved', 'update'],
    ['e820: update [mem 0x00000000-0x00000fff] System RAM ==> device reserved', 'update'],
    ['e820: update [mem 0x008d27c0-0x008d280f] usable ==> usable', 'update'],
    ['e820: remove [mem 0x000a0000-0x000fffff] usable', 'remove'],
    ['e820: remove [mem 0x3e800000-0xfffffffffffffffe] usable', 'remove'],
    ['e820: remove [mem 0x3ffe0000-0x400dffff] ', 'remove'],
    ['e820: remove [mem 0x3ffe0000-0x400dffff]', 'remove'],
    ['too many entries; ignoring [mem 0x40000000-0x400fffff]', 'table-full'],
    ['E820 table full; ignoring [mem 0x40000000-0x400fffff]', 'table-full'],
    ['update e820_table_kexec for e820__memblock_alloc_reserved()', 'kexec-update'],
    ['.text .data .bss are not marked as E820_TYPE_RAM!', 'kernel-range'],
    ['mem=nopentium ignored! (only supported on x86_32)', 'nopentium'],
    ["Malformed early option 'mem'", 'malformed-mem'],
    ['e820: reserve [mem 0x20000000-0x23ffffff] for GART', 'gart'],
    ['update e820 for mtrr', 'mtrr'],
    ['last_pfn = 0x3ffe0 max_arch_pfn = 0x400000000', 'last-pfn'],
    ['PM: hibernation: Registered nosave memory: [mem 0x0009f000-0x000fffff]', 'nosave'],
    ['[mem 0x40000000-0xfffbffff] available for PCI devices', 'pci-gap'],
    ['[gap 0x40000000-0xfffbffff] available for PCI devices', 'pci-gap'],
    ['Cannot find an available gap in the 32-bit address range', 'pci-gap-none'],
    ['PCI devices with unassigned 32-bit BARs may not work!', 'pci-gap-none'],
    ['PCI: MMCONFIG at [mem 0xb0000000-0xbfffffff] reserved in E820', 'mmconfig'],
    ['PCI: ECAM [mem 0xb0000000-0xbfffffff] reserved as E820 entry', 'mmconfig'],
    ['Expanded resource Reserved due to conflict with PCI Bus 0000:00', 'expanded'],
    ['resource: Expanded resource Reserved due to conflict with PCI Bus 0000:00', 'expanded'],
    ['e820: reserve RAM buffer [mem 0x0009fc00-0x0009ffff]', 'ram-buffer'],
    ['e820: register RAM buffer resource [mem 0x3ffe0000-0x3fffffff]', 'ram-buffer'],
  ];
  it.each(edits)('%s → %s', (text, id) => {
    expect(e820EditPattern(text)?.id).toBe(id);
  });

  it('every pattern has an example it matches (except the catch-all placeholder)', () => {
    for (const p of E820_EDIT_PATTERNS) if (p.id !== 'e820-other') expect(p.re.test(p.example), p.id).toBe(true);
  });

  it('leaves non-E820 lines out, and knows the deliberate exclusions', () => {
    for (const l of ['NX (Execute Disable) protection: active', 'Zone ranges:', '  DMA      [mem 0x0000000000001000-0x0000000000ffffff]', 'Early memory node ranges', 'PCI: Using E820 reservations for host bridge windows', 'pci_bus 0000:00: resource 4 [mem 0x40000000-0xfebfffff window]']) {
      expect(isE820EditLine(l), l).toBe(false);
    }
    expect(isUnclassifiedE820Mention('PCI: Using E820 reservations for host bridge windows')).toBe(false);
    expect(isUnclassifiedE820Mention('resource: avoiding allocation from e820 entry [mem 0x000a0000-0x000fffff]')).toBe(false);
  });
});
