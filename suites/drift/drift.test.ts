// Drift between toolchains: the pure comparison on fake predictions, the acceptance check on
// the real model (qemu-5.2 → qemu-10.0 adds the AMD HyperTransport entry), and --verify's
// judgement on fake boots.

import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { driftCommand, loadDrift } from '../../harness/cli/commands/drift.ts';
import { driftCells, driftOfSides, renderDrift, summarize, type Side } from '../../harness/drift/drift.ts';
import { judgeCell, verifyDrift } from '../../harness/drift/verify.ts';
import type { MatrixDeps } from '../../harness/matrix/deps.ts';
import type { CellResult } from '../../harness/matrix/runner.ts';
import { parseMatrix } from '../../harness/matrix/schema.ts';
import { parseQemuArgs } from '../../reference/cmdline/index.ts';
import { CPU_MODELS } from '../../reference/profiles/qemu.ts';
import type { LayerReport } from '../../reference/report.ts';
import type { Toolchain } from '../../reference/toolchain.ts';
import { fakeDeps, sampleReport } from '../matrix-unit/fakes.ts';

const labels = { from: 'A', to: 'B' };
const cell = { key: 'm/c', matrix: 'm', id: 'c', argv: ['-m', '1G'] };
const report = (r: LayerReport): Side => ({ kind: 'report', report: r });

const HT_LINE = '000000fd00000000-000000ffffffffff len 0000000300000000 = 2 RESERVED';

function withoutHt(): LayerReport {
  const r = sampleReport();
  r.qemu!.e820 = r.qemu!.e820!.filter((e) => e.start !== '0xfd00000000');
  r.firmware!.e820 = r.firmware!.e820!.filter((e) => e.start !== '0xfd00000000');
  return r;
}

describe('drift of two predictions (pure)', () => {
  test('identical reports: unchanged', () => {
    const d = driftOfSides(cell, report(sampleReport()), report(sampleReport()), labels);
    expect(d.outcome).toBe('unchanged');
    expect(d.first).toBeNull();
    expect(d.fields.every((f) => f.status === 'same')).toBe(true);
  });

  test('an added QEMU entry: first change at the qemu layer, later layers listed too', () => {
    const d = driftOfSides(cell, report(withoutHt()), report(sampleReport()), labels);
    expect(d.outcome).toBe('changed');
    expect(d.first).toMatchObject({ layer: 'qemu', field: 'qemu.e820' });
    const q = d.fields.find((f) => f.field === 'qemu.e820')!;
    expect(q.removed).toEqual([]);
    expect(q.added).toEqual([HT_LINE]);
    expect(q.diff).toContain('--- A  qemu.e820');
    expect(q.diff).toContain(`+ ${HT_LINE}`);
    expect(d.fields.filter((f) => f.status === 'changed').map((f) => f.field)).toEqual(['qemu.e820', 'firmware.e820']);
  });

  test('a change below QEMU only: first change at that layer', () => {
    const b = sampleReport();
    b.kernel!.biosE820 = b.kernel!.biosE820!.map((l) => l.replace('usable', ' System RAM'));
    const d = driftOfSides(cell, report(sampleReport()), report(b), labels);
    expect(d.first).toMatchObject({ layer: 'kernel', field: 'kernel.biosE820' });
    expect(d.first!.summary).toBe('kernel.biosE820: 3 → 3 lines, −2 +2');
  });

  test('a field predicted on one side only is noted, not counted as a change', () => {
    const b = sampleReport();
    delete b.kernel!.iomem;
    const d = driftOfSides(cell, report(sampleReport()), report(b), labels);
    expect(d.outcome).toBe('unchanged');
    expect(d.fields.find((f) => f.field === 'kernel.iomem')!.status).toBe('one-sided');
    expect(d.notes.join()).toContain('kernel.iomem is predicted under A only');
  });

  test('refusals: one side refusing is a change at QEMU; both refusing alike is not', () => {
    const refused: Side = { kind: 'refused', message: 'unsupported machine type' };
    const one = driftOfSides(cell, report(sampleReport()), refused, labels);
    expect(one.outcome).toBe('changed');
    expect(one.first).toMatchObject({ layer: 'qemu', field: 'qemu.refusal' });
    expect(one.first!.summary).toBe('A boots it; B refuses: unsupported machine type');
    const both = driftOfSides(cell, refused, refused, labels);
    expect(both.outcome).toBe('unchanged');
    expect(both.notes).toEqual(['refused by both: unsupported machine type']);
    const differently = driftOfSides(cell, refused, { kind: 'refused', message: 'other words' }, labels);
    expect(differently.outcome).toBe('changed');
  });

  test('a side the model cannot predict: no drift stated', () => {
    const d = driftOfSides(cell, report(sampleReport()), { kind: 'unpredictable', error: 'UnsupportedOptionError: -foo' }, labels);
    expect(d.outcome).toBe('unpredictable');
    expect(d.reason).toBe('B: UnsupportedOptionError: -foo');
  });

  test('summary counts cells and layers', () => {
    const cells = [
      driftOfSides(cell, report(sampleReport()), report(sampleReport()), labels),
      driftOfSides(cell, report(withoutHt()), report(sampleReport()), labels),
      driftOfSides(cell, report(sampleReport()), { kind: 'refused', message: 'no' }, labels),
    ];
    const s = summarize(cells);
    expect(s).toMatchObject({ cells: 3, unchanged: 1, changed: 2, unpredictable: 0, byFirstLayer: { qemu: 2, firmware: 0, kernel: 0 }, refusedToOnly: 1 });
    expect(s.byField['qemu.e820']).toBe(1);
    expect(s.byField['qemu.refusal']).toBe(1);
  });

  test('driftCells predicts each cell under both toolchains with the cell argv parsed per version', () => {
    const cells = parseMatrix('cells:\n  - id: a\n    qemu: -m 1G\n  - id: b\n    qemu: -m 2G\n', 'm.yaml');
    const seen: string[] = [];
    const deps: Pick<MatrixDeps, 'parseArgs' | 'predict'> = {
      parseArgs: (argv, qemuVersion) => {
        seen.push(`${argv.join(' ')}@${qemuVersion}`);
        return { argv } as never;
      },
      predict: (config, t: Toolchain) => {
        const argv = (config as unknown as { argv: string[] }).argv;
        return { report: t.qemu === '10.0' && argv.includes('2G') ? sampleReport() : withoutHt() };
      },
    };
    const r = driftCells(cells, { spec: 'qemu-5.2', toolchain: { qemu: '5.2', seabios: '1.16.2', kernel: '6.1' } }, { spec: 'qemu-10.0', toolchain: { qemu: '10.0', seabios: '1.16.2', kernel: '6.1' } }, deps);
    expect(seen).toEqual(['-m 1G@5.2', '-m 1G@10.0', '-m 2G@5.2', '-m 2G@10.0']);
    expect(r.cells.map((c) => c.outcome)).toEqual(['unchanged', 'changed']);
    const text = renderDrift(r);
    expect(text).toContain('changed       m/b');
    expect(text).toContain(`+ ${HT_LINE}`);
    expect(text).toContain('2 cells: 1 unchanged, 1 changed');
  });
});

describe('acceptance: qemu-5.2 → qemu-10.0 on the baseline matrix (real model)', () => {
  test('every pc/q35 cell with an AMD CPU gains the HyperTransport entry at the qemu layer', async () => {
    const { report: r, cells } = await loadDrift([], { from: 'qemu-5.2', to: 'qemu-10.0' });
    const amdAliasCells = cells.filter((c) => {
      const config = parseQemuArgs(c.qemu, { qemuVersion: '10.0' });
      const vendor = CPU_MODELS[config.cpu.model ?? 'qemu64']?.vendor;
      const vendorProp = config.cpu.props.find(([k]) => k === 'vendor')?.[1];
      return config.machine.version === null && (config.machine.family === 'pc' || config.machine.family === 'q35') && config.accel === 'tcg' && (vendorProp ?? vendor) === 'AuthenticAMD';
    });
    let checked = 0;
    for (const c of amdAliasCells) {
      const d = r.cells.find((x) => x.key === `${c.matrix}/${c.id}`)!;
      if (d.from.kind !== 'report' || d.to.kind !== 'report') continue; // a refusal is its own drift
      expect(d.outcome, d.key).toBe('changed');
      expect(d.first, d.key).toMatchObject({ layer: 'qemu', field: 'qemu.e820' });
      const q = d.fields.find((f) => f.field === 'qemu.e820')!;
      expect(q.added, d.key).toContain(HT_LINE);
      checked++;
    }
    expect(checked).toBeGreaterThan(20);
    // And an Intel CPU does not get it.
    const intel = r.cells.find((x) => x.key === 'baseline/pc-1G-Skylake-Client');
    if (intel) expect(intel.fields.find((f) => f.field === 'qemu.e820')?.added ?? []).not.toContain(HT_LINE);
  });

  test('the CLI lists the entry in its text output', async () => {
    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
      out.push(String(s));
      return true;
    });
    try {
      expect(await driftCommand([], { from: 'qemu-5.2', to: 'qemu-10.0' })).toBe(0);
    } finally {
      spy.mockRestore();
    }
    const text = out.join('');
    expect(text).toContain(`+ ${HT_LINE}`);
    expect(text).toMatch(/\d+ cells: \d+ unchanged, \d+ changed/);
  });

  test('a bad spelling is an error naming the part', async () => {
    await expect(loadDrift([], { from: 'qemu-5.2', to: 'qemu-9.9' })).rejects.toThrow(/"qemu-9.9" has an unknown qemu version "9.9"/);
  });
});

describe('--verify', () => {
  let quiet: Array<{ mockRestore(): void }> = [];
  beforeAll(() => {
    quiet = [vi.spyOn(process.stderr, 'write').mockImplementation(() => true)];
  });
  afterAll(() => quiet.forEach((q) => q.mockRestore()));

  const run = (outcome: CellResult['outcome']): CellResult =>
    ({ key: 'k', outcome, toolchainLabel: 'A', verdict: outcome === 'pass' ? { outcome: 'pass', fields: [], counts: {} } : { outcome: 'error', error: { kind: 'X', message: 'boom' } } }) as unknown as CellResult;

  test('confirmed when both boots conform and the machine drifts as predicted', () => {
    const predicted = driftOfSides(cell, report(withoutHt()), report(sampleReport()), labels);
    const v = judgeCell(predicted, run('pass'), run('pass'), { report: withoutHt(), unobserved: [] }, { report: sampleReport(), unobserved: [] }, labels, () => true);
    expect(v.outcome).toBe('confirmed');
    expect(v.compared).toContain('qemu.e820');
  });

  test('not confirmed when the observed drift differs; error when a boot did not complete', () => {
    const predicted = driftOfSides(cell, report(withoutHt()), report(sampleReport()), labels);
    const v = judgeCell(predicted, run('pass'), run('pass'), { report: withoutHt(), unobserved: [] }, { report: withoutHt(), unobserved: [] }, labels, () => true);
    expect(v.outcome).toBe('not-confirmed');
    expect(v.mismatched.map((m) => m.field)).toContain('qemu.e820');
    expect(judgeCell(predicted, run('pass'), run('error'), undefined, undefined, labels, () => true).outcome).toBe('error');
  });

  test('boots only the changed cells, under both toolchains, through the runner', async () => {
    const cells = parseMatrix('cells:\n  - id: same\n    qemu: -m 1G\n  - id: moved\n    qemu: -m 2G\n', 'm.yaml');
    const from: Toolchain = { qemu: '5.2', seabios: '1.16.2', kernel: '6.1' };
    const to: Toolchain = { qemu: '10.0', seabios: '1.16.2', kernel: '6.1' };
    const predictFor = (argv: readonly string[], t: Toolchain): LayerReport => (t.qemu === '10.0' && argv.includes('2G') ? sampleReport() : withoutHt());
    const modelDeps: Pick<MatrixDeps, 'parseArgs' | 'predict'> = {
      parseArgs: (argv, qemuVersion) => ({ argv, qemuVersion }) as never,
      predict: (config, t) => ({ report: predictFor((config as unknown as { argv: string[] }).argv, t) }),
    };
    const r = driftCells(cells, { spec: 'qemu-5.2', toolchain: from }, { spec: 'qemu-10.0', toolchain: to }, modelDeps);
    const base = fakeDeps();
    const booted: string[] = [];
    const deps: MatrixDeps = {
      ...base,
      ...modelDeps,
      capture: async (config, t, opts) => {
        booted.push(`${opts.qemuArgs?.join(' ')}@${t.qemu}`);
        return { kind: 'booted', observation: { report: predictFor((config as unknown as { argv: string[] }).argv, t), unobserved: [] } };
      },
    };
    const v = await verifyDrift(r, cells, deps, { jobs: 2 });
    expect(booted.sort()).toEqual(['-m 2G@10.0', '-m 2G@5.2']);
    expect(v.cells).toHaveLength(1);
    expect(v.cells[0]).toMatchObject({ key: 'm/moved', outcome: 'confirmed' });
  });
});
