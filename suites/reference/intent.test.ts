// Declared intent in the model: qemu records appended to etc/e820 (e820_add_entry), firmware
// changes applied with e820_add/e820_remove at the end of SeaBIOS's qemu_preinit, and everything
// after (ZoneHigh, BIOS-e820, memmap, iomem) following from them.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GiB, MiB } from '../../reference/address.ts';
import { parseQemuArgs } from '../../reference/cmdline/index.ts';
import { E820 } from '../../reference/e820.ts';
import { describeChange, declaredChanges, e820TypeName, NO_INTENT, parseE820Type, type DeclaredIntent } from '../../reference/intent.ts';
import { predict } from '../../reference/predict.ts';
import { BASELINE_TOOLCHAIN, toolchainOf } from '../../reference/toolchain.ts';

const tc = BASELINE_TOOLCHAIN;
const config = (...argv: string[]) => parseQemuArgs(argv, { qemuVersion: tc.qemu });
const fw = (entries: readonly { start: bigint; end: bigint; type: number }[]) => entries.map((e) => [e.start, e.end, e.type]);

describe('declared intent: SeaBIOS stage (e820_add / e820_remove at the end of qemu_preinit)', () => {
  it('an add inside RAM splits it: RAM below, the declared entry, RAM above', () => {
    const intent: DeclaredIntent = { firmware: [{ op: 'add', start: 0x20000000n, size: MiB, type: E820.RESERVED }], qemu: [] };
    const p = predict(config('-M', 'pc', '-m', '1G'), tc, { intent });
    expect(fw(p.firmware.entries)).toEqual(
      expect.arrayContaining([
        [0x100000n, 0x20000000n, E820.RAM],
        [0x20000000n, 0x20100000n, E820.RESERVED],
        [0x20100000n, expect.any(BigInt), E820.RAM],
      ]),
    );
    expect(p.firmware.provenance).toContain('declared firmware add (expect)');
    expect(p.report.kernel?.biosE820).toContain('BIOS-e820: [mem 0x0000000020000000-0x00000000200fffff] reserved');
    // etc/e820 is QEMU's: a firmware change does not reach it.
    expect(p.report.qemu).toEqual(predict(config('-M', 'pc', '-m', '1G'), tc).report.qemu);
  });

  it('a remove punches a hole in RAM; Linux sees two RAM ranges around it', () => {
    const intent: DeclaredIntent = { firmware: [{ op: 'remove', start: 0x20000000n, size: 2n * MiB }], qemu: [] };
    const p = predict(config('-M', 'q35', '-m', '2G'), tc, { intent });
    expect(p.firmware.entries.some((e) => e.start < 0x20200000n && e.end > 0x20000000n)).toBe(false);
    expect(fw(p.firmware.entries)).toEqual(expect.arrayContaining([[0x100000n, 0x20000000n, E820.RAM]]));
    expect(p.report.kernel?.biosE820).toContain('BIOS-e820: [mem 0x0000000000100000-0x000000001fffffff] usable');
    expect(p.report.kernel?.memmap).toEqual(expect.arrayContaining([{ start: '0x100000', end: '0x1fffffff', type: 'System RAM' }]));
  });

  it('later POST additions land on top: the BIOS segment at 0xf0000 comes back after a remove there', () => {
    const intent: DeclaredIntent = { firmware: [{ op: 'remove', start: 0xf0000n, size: 0x10000n }], qemu: [] };
    const p = predict(config('-M', 'pc', '-m', '1G'), tc, { intent });
    expect(p.report.firmware).toEqual(predict(config('-M', 'pc', '-m', '1G'), tc).report.firmware);
  });

  it('ZoneHigh follows: a reserved block at the top of low RAM moves it below', () => {
    const base = predict(config('-M', 'pc', '-m', '1G'), tc);
    const top = 0x40000000n - MiB;
    const p = predict(config('-M', 'pc', '-m', '1G'), tc, { intent: { firmware: [{ op: 'add', start: top, size: MiB, type: E820.RESERVED }], qemu: [] } });
    expect(base.firmware.zoneHigh!.end).toBe(0x40000000n);
    expect(p.firmware.zoneHigh!.end).toBe(top);
  });

  it('records what was applied, in declaration order (qemu first)', () => {
    const intent: DeclaredIntent = {
      firmware: [
        { op: 'add', start: 0x50000000n, size: MiB, type: E820.RESERVED },
        { op: 'remove', start: 0x20000000n, size: 2n * MiB },
      ],
      qemu: [{ op: 'add', start: 0xfeff0000n, size: 0x10000n, type: E820.RESERVED }],
    };
    const p = predict(config('-M', 'pc', '-m', '2G'), tc, { intent });
    expect(p.intent?.applied.map((a) => a.text)).toEqual([
      'add 0xfeff0000-0xfeffffff reserved (qemu)',
      'add 0x50000000-0x500fffff reserved (firmware)',
      'remove 0x20000000-0x201fffff (firmware)',
    ]);
    expect(p.intent?.applied[0]!.effect).toMatch(/etc\/e820 record 2 \(after the machine's 2\)/);
    expect(p.intent?.applied[1]!.effect).toMatch(/end of qemu_preinit/);
    expect(predict(config('-M', 'pc', '-m', '2G'), tc).intent).toBeUndefined();
  });
});

describe('declared intent: QEMU stage (e820_add_entry appends to etc/e820)', () => {
  it('records are appended in file order after the machine\'s own', () => {
    const intent: DeclaredIntent = {
      firmware: [],
      qemu: [
        { op: 'add', start: 0xfeff0000n, size: 0x10000n, type: E820.RESERVED },
        { op: 'add', start: 0x30000000n, size: MiB, type: E820.RESERVED },
      ],
    };
    const c = config('-M', 'q35', '-m', '4G');
    const base = predict(c, tc).handoff.e820!;
    const p = predict(c, tc, { intent });
    expect(p.handoff.e820).toEqual([...base, { start: 0xfeff0000n, length: 0x10000n, type: 2 }, { start: 0x30000000n, length: MiB, type: 2 }]);
    expect(p.report.qemu?.e820?.slice(-2)).toEqual([
      { start: '0xfeff0000', length: '0x10000', type: 2 },
      { start: '0x30000000', length: '0x100000', type: 2 },
    ]);
    // qemu_early_e820 reads reserved records into SeaBIOS's map.
    expect(fw(p.firmware.entries)).toEqual(expect.arrayContaining([[0x30000000n, 0x30100000n, E820.RESERVED]]));
  });

  it('a type SeaBIOS does not read (ACPI) is in etc/e820 only', () => {
    const c = config('-M', 'pc', '-m', '1G');
    const p = predict(c, tc, { intent: { firmware: [], qemu: [{ op: 'add', start: 0x30000000n, size: MiB, type: E820.ACPI }] } });
    expect(p.report.qemu?.e820?.at(-1)).toEqual({ start: '0x30000000', length: '0x100000', type: 3 });
    expect(p.report.firmware).toEqual(predict(c, tc).report.firmware);
    expect(p.intent?.applied[0]!.effect).toMatch(/skips type 3/);
  });

  it('a RAM record above 4 GiB raises RamSizeOver4G like the machine\'s own', () => {
    const c = config('-M', 'pc', '-m', '1G');
    const p = predict(c, tc, { intent: { firmware: [], qemu: [{ op: 'add', start: 4n * GiB, size: GiB, type: E820.RAM }] } });
    expect(fw(p.firmware.entries)).toEqual(expect.arrayContaining([[4n * GiB, 5n * GiB, E820.RAM]]));
    expect(p.report.kernel?.biosE820).toContain('BIOS-e820: [mem 0x0000000100000000-0x000000013fffffff] usable');
  });
});

describe('declared intent: names', () => {
  it('type names SeaBIOS and Linux print, any case, and numbers', () => {
    for (const [t, n] of [
      ['RAM', 1], ['usable', 1], ['RESERVED', 2], ['reserved', 2], ['ACPI', 3], ['ACPI data', 3], ['NVS', 4], ['ACPI NVS', 4],
      ['UNUSABLE', 5], ['unusable', 5], ['persistent (type 12)', 12], ['persistent (type 7)', 7], ['soft reserved', 0xefffffff],
      ['12', 12], ['0xc', 12], [20, 20],
    ] as const) expect(parseE820Type(t)).toBe(n);
    expect(parseE820Type('bogus')).toBeNull();
    expect(parseE820Type(-1)).toBeNull();
    expect(e820TypeName(12)).toBe('persistent (type 12)');
  });

  it('describes a change with an inclusive end', () => {
    const [c] = declaredChanges({ firmware: [{ op: 'add', start: 0x50000000n, size: MiB, type: 2 }], qemu: [] });
    expect(describeChange(c!)).toBe('add 0x50000000-0x500fffff reserved (firmware)');
  });
});

describe('declared intent: properties', () => {
  const machines = fc.constantFrom('pc', 'q35');
  const mem = fc.integer({ min: 64, max: 6144 }).map((m) => `${m}M`);
  const toolchains = fc.constantFrom(BASELINE_TOOLCHAIN, toolchainOf({ qemu: '10.0', seabios: '1.16.3', kernel: '6.12' }), toolchainOf({ qemu: '5.2', seabios: '1.14.0', kernel: '5.10' }));

  it('applying no intent changes nothing', () => {
    fc.assert(
      fc.property(machines, mem, toolchains, (m, size, t) => {
        const c = parseQemuArgs(['-M', m, '-m', size], { qemuVersion: t.qemu });
        expect(predict(c, t, { intent: NO_INTENT })).toEqual(predict(c, t));
      }),
      { numRuns: 40 },
    );
  });

  it('an add in a gap of the map, then the same remove, restores the map', () => {
    fc.assert(
      fc.property(machines, fc.integer({ min: 64, max: 2048 }), fc.integer({ min: 1, max: 256 }), fc.constantFrom(1, 2, 3, 4, 5, 12), (m, megs, pages, type) => {
        const c = config('-M', m, '-m', `${megs}M`);
        const base = predict(c, tc);
        // Between the end of low RAM and 0xe0000000 nothing is mapped on either chipset here.
        const start = BigInt(megs) * MiB + 16n * MiB;
        const size = BigInt(pages) * 4096n;
        const p = predict(c, tc, { intent: { firmware: [{ op: 'add', start, size, type }, { op: 'remove', start, size }], qemu: [] } });
        expect(p.report).toEqual(base.report);
      }),
      { numRuns: 40 },
    );
  });

  it('a remove inside RAM, then a RAM add of the same range, restores the map', () => {
    fc.assert(
      fc.property(machines, fc.integer({ min: 256, max: 2048 }), fc.integer({ min: 2, max: 100 }), fc.integer({ min: 1, max: 256 }), (m, megs, atMiB, pages) => {
        const c = config('-M', m, '-m', `${megs}M`);
        const start = BigInt(atMiB) * MiB;
        const size = BigInt(pages) * 4096n;
        const p = predict(c, tc, { intent: { firmware: [{ op: 'remove', start, size }, { op: 'add', start, size, type: E820.RAM }], qemu: [] } });
        expect(p.report).toEqual(predict(c, tc).report);
      }),
      { numRuns: 40 },
    );
  });
});
