import { describe, expect, test } from 'vitest';
import { compareReports, formatVerdict } from '../../harness/matrix/compare.ts';
import { isE820IomemLine } from '../../harness/matrix/deps.ts';
import { diffLines, renderDiff } from '../../harness/matrix/diff.ts';
import type { LayerReport } from '../../reference/report.ts';
import { observedFrom, sampleReport } from './fakes.ts';

const compare = (expected: LayerReport, observed: LayerReport, unobserved: Array<{ layer: string; field: string; reason: string }> = []) =>
  compareReports({ expected, observed, unobserved, isE820IomemLine });

describe('compare', () => {
  test('identical layers pass, with counts of compared and excluded lines', () => {
    const v = compare(sampleReport(), observedFrom(sampleReport()));
    expect(v.outcome).toBe('pass');
    if (v.outcome !== 'pass') return;
    // 2 qemu + 8 firmware + 1 zoneHigh + 3 biosE820 + 2 edits + 2 memmap + 3 iomem
    expect(v.counts.compared).toBe(21);
    expect(v.counts.excludedByRule).toBe(3);
    expect(v.counts.notPredicted).toEqual([]);
    expect(v.counts.unobserved).toEqual([]);
    const iomem = v.fields.find((f) => f.field === 'kernel.iomem')!;
    expect(iomem).toMatchObject({ status: 'match', expected: 3, observed: 6, compared: 3, excludedByRule: 3 });
  });

  test('hex spellings do not matter, values do', () => {
    const obs = observedFrom(sampleReport());
    obs.qemu!.e820![0]!.length = '0x0040000000';
    expect(compare(sampleReport(), obs).outcome).toBe('pass');
  });

  test('qemu layer: the first divergence is named with an aligned diff', () => {
    const obs = observedFrom(sampleReport());
    obs.qemu!.e820!.pop();
    obs.firmware!.e820!.pop(); // a later layer differing too must not hide the first
    const v = compare(sampleReport(), obs);
    expect(v.outcome).toBe('fail');
    if (v.outcome !== 'fail') return;
    expect(v.first.layer).toBe('qemu');
    expect(v.first.field).toBe('qemu.e820');
    expect(v.first.summary).toBe('qemu.e820: expected 2 entries, observed 1; first difference at line 2');
    expect(v.first.diff).toBe(
      [
        '--- expected (model)   qemu.e820',
        '+++ observed (machine) qemu.e820',
        '@@ -1,2 +1,1 @@',
        '  0000000000000000-000000003fffffff len 0000000040000000 = 1 RAM',
        '- 000000fd00000000-000000ffffffffff len 0000000300000000 = 2 RESERVED',
      ].join('\n'),
    );
    expect(formatVerdict(v)).toContain('later fields also differ: firmware.e820');
  });

  test('firmware layer: a moved boundary shows as - expected / + observed, SeaBIOS style', () => {
    const obs = observedFrom(sampleReport());
    obs.firmware!.e820![3] = { start: '0x100000', end: '0x3ffdf000', type: 1 };
    obs.firmware!.e820![4] = { start: '0x3ffdf000', end: '0x40000000', type: 2 };
    const v = compare(sampleReport(), obs);
    expect(v.outcome).toBe('fail');
    if (v.outcome !== 'fail') return;
    expect(v.first.field).toBe('firmware.e820');
    expect(v.first.diff.split('\n')).toEqual([
      '--- expected (model)   firmware.e820',
      '+++ observed (machine) firmware.e820',
      '@@ -1,8 +1,8 @@',
      '  0000000000000000 - 000000000009fc00 = 1 RAM',
      '  000000000009fc00 - 00000000000a0000 = 2 RESERVED',
      '  00000000000f0000 - 0000000000100000 = 2 RESERVED',
      '- 0000000000100000 - 000000003ffe0000 = 1 RAM',
      '- 000000003ffe0000 - 0000000040000000 = 2 RESERVED',
      '+ 0000000000100000 - 000000003ffdf000 = 1 RAM',
      '+ 000000003ffdf000 - 0000000040000000 = 2 RESERVED',
      '  00000000feffc000 - 00000000ff000000 = 2 RESERVED',
      '  00000000fffc0000 - 0000000100000000 = 2 RESERVED',
      '  000000fd00000000 - 0000010000000000 = 2 RESERVED',
    ]);
    expect(v.first.summary).toContain('first difference at line 4');
  });

  test('firmware layer: ZoneHigh giveback', () => {
    const obs = observedFrom(sampleReport());
    obs.firmware!.zoneHighReturned = 126976;
    const v = compare(sampleReport(), obs);
    if (v.outcome !== 'fail') throw new Error('expected fail');
    expect(v.first.field).toBe('firmware.zoneHighReturned');
    expect(v.first.diff).toContain('- 131072 bytes (0x20000)\n+ 126976 bytes (0x1f000)');
  });

  test('kernel layer: BIOS-e820, edits and memmap are exact strings', () => {
    for (const [field, mutate] of [
      ['kernel.biosE820', (r: LayerReport) => (r.kernel!.biosE820![2] = 'BIOS-e820: [mem 0x0000000000100000-0x000000003ffdefff] usable')],
      ['kernel.e820Edits', (r: LayerReport) => r.kernel!.e820Edits!.push('e820: remove [mem 0x3e800000-0xfffffffffffffffe] usable')],
      ['kernel.memmap', (r: LayerReport) => (r.kernel!.memmap![1]!.type = 'Reserved')],
    ] as const) {
      const obs = observedFrom(sampleReport());
      mutate(obs);
      const v = compare(sampleReport(), obs);
      if (v.outcome !== 'fail') throw new Error(`expected fail for ${field}`);
      expect(v.first.field).toBe(field);
      expect(v.first.layer).toBe('kernel');
      expect(v.first.diff).toMatch(/^\+ /m);
      if (field !== 'kernel.e820Edits') expect(v.first.diff).toMatch(/^- /m);
    }
  });

  test('kernel layer: iomem compares indentation exactly, only E820-derived lines', () => {
    const obs = observedFrom(sampleReport());
    obs.kernel!.iomem![1] = '  00001000-0009fbff : System RAM';
    const v = compare(sampleReport(), obs);
    if (v.outcome !== 'fail') throw new Error('expected fail');
    expect(v.first.field).toBe('kernel.iomem');
    expect(v.first.diff).toContain('-   00001000-0009fbff : System RAM'.replace('-   ', '- '));
    expect(v.first.diff).toContain('+   00001000-0009fbff : System RAM');
    expect(v.first.diff).not.toContain('PCI Bus');
    expect(v.counts.excludedByRule).toBe(3);
  });

  test('not predicted and unobserved fields are excluded and listed by name', () => {
    const exp = sampleReport();
    delete exp.kernel!.e820Edits;
    const obs = observedFrom(sampleReport());
    delete obs.qemu;
    const v = compare(exp, obs, [{ layer: 'qemu', field: 'e820', reason: 'no fw_cfg ACPI device on pc-i440fx-1.4' }]);
    expect(v.outcome).toBe('pass');
    if (v.outcome !== 'pass') return;
    expect(v.counts.notPredicted).toEqual(['kernel.e820Edits']);
    expect(v.counts.excludedNotPredicted).toBe(2);
    expect(v.counts.unobserved).toEqual([{ field: 'qemu.e820', reason: 'no fw_cfg ACPI device on pc-i440fx-1.4' }]);
    expect(v.counts.compared).toBe(21 - 2 - 2);
    expect(formatVerdict(v)).toContain('unobserved: qemu.e820 (no fw_cfg ACPI device on pc-i440fx-1.4)');
  });

  test('an empty observed list is observed (and differs), never unobserved', () => {
    const obs = observedFrom(sampleReport());
    obs.kernel!.e820Edits = [];
    const v = compare(sampleReport(), obs);
    expect(v.outcome === 'fail' && v.first.field).toBe('kernel.e820Edits');
  });

  test('nothing compared is an error, never a pass', () => {
    const v = compare({}, observedFrom(sampleReport()));
    expect(v.outcome).toBe('error');
    if (v.outcome === 'error') expect(v.error.kind).toBe('NothingCompared');
  });
});

describe('diff', () => {
  test('hunk headers count from the right line on both sides after a replacement', () => {
    const text = renderDiff(diffLines(['x', 'b', 'c'], ['y', 'b', 'c']), { expected: 'e', observed: 'o' });
    expect(text.split('\n')).toEqual(['--- e', '+++ o', '@@ -1,3 +1,3 @@', '- x', '+ y', '  b', '  c']);
    const tail = renderDiff(diffLines(['a', 'b'], ['a', 'b', 'c']), { expected: 'e', observed: 'o' });
    expect(tail).toContain('@@ -1,2 +1,3 @@');
  });

  test('long listings are cut to hunks with three lines of context', () => {
    const a = Array.from({ length: 60 }, (_, i) => `line ${i}`);
    const b = a.map((l, i) => (i === 30 ? 'changed' : l));
    const text = renderDiff(diffLines(a, b), { expected: 'e', observed: 'o' });
    expect(text.split('\n')).toEqual(['--- e', '+++ o', '@@ -28,7 +28,7 @@', '  line 27', '  line 28', '  line 29', '- line 30', '+ changed', '  line 31', '  line 32', '  line 33']);
  });
});
