// A new QEMU checked against an older profile: the disagreements of a run, grouped by layer and
// change (harness/matrix/disagreements.ts), and the cell-by-cell agreement between what a real
// run disagreed on and what the model alone says changes between the two profiles (e820 drift).

import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { parseQemuArgs } from '../../reference/cmdline/index.ts';
import { predict } from '../../reference/predict.ts';
import { QemuRefusal } from '../../reference/stages.ts';
import type { Toolchain } from '../../reference/toolchain.ts';
import { driftCells } from '../../harness/drift/drift.ts';
import { modelDeps } from '../../harness/cli/commands/drift.ts';
import { describeChanges, formatSize, groupDisagreements, renderDisagreements } from '../../harness/matrix/disagreements.ts';
import { isE820IomemLine, type MatrixDeps } from '../../harness/matrix/deps.ts';
import { runMatrix } from '../../harness/matrix/runner.ts';
import { expandRuns, loadMatrix } from '../../harness/matrix/schema.ts';
import { matrixPath } from '../../harness/matrix/paths.ts';
import { refusedBy } from './fakes.ts';

const SID: Toolchain = { qemu: '11.1', seabios: '1.17.0', kernel: '7.2' };
const SID_Q100: Toolchain = { ...SID, qemu: '10.0' };
const same = (a: Toolchain, b: Toolchain) => a.qemu === b.qemu && a.seabios === b.seabios && a.kernel === b.kernel;

async function sidRuns() {
  const cells = await loadMatrix(matrixPath('versions'));
  return expandRuns(cells).filter((r) => same(r.toolchain, SID));
}

describe('describeChanges: what changed in one field, model → machine', () => {
  test('an entry whose end moved, a new entry, an entry gone', () => {
    expect(
      describeChanges(
        'firmware.e820',
        ['0000000000100000 - 000000003ffe0000 = 1 RAM', '00000000feffc000 - 00000000ff000000 = 2 RESERVED'],
        ['0000000000100000 - 000000003ffdf000 = 1 RAM', '000000fd00000000 - 0000010000000000 = 2 RESERVED'],
      ),
    ).toEqual([
      '1 RAM 0x100000-0x3ffdffff: end moved down 4 KiB',
      '2 RESERVED entry 0xfeffc000-0xfeffffff gone',
      'new 2 RESERVED entry 0xfd00000000-0xffffffffff',
    ]);
    expect(describeChanges('qemu.e820', [], ['000000fd00000000-000000ffffffffff len 0000000300000000 = 2 RESERVED'])).toEqual([
      'new 2 RESERVED entry 0xfd00000000-0xffffffffff',
    ]);
    expect(describeChanges('kernel.e820Edits', ['a'], ['b'])).toEqual(['line gone: a', 'new line: b']);
    expect(formatSize(4096n)).toBe('4 KiB');
    expect(formatSize(1n << 30n)).toBe('1 GiB');
  });
});

describe('groupDisagreements over a run whose machine is a newer QEMU than the profile', () => {
  // The machine is played by the model under 11.1 (what the real sid QEMU does, as far as the
  // model is right); the prediction uses the 10.0 profile. Refusals become QemuLaunchErrors.
  const newQemuDeps: MatrixDeps = {
    parseArgs: (argv, v) => parseQemuArgs(argv, { qemuVersion: v }),
    predict: (config, toolchain) => ({ report: predict(config, toolchain).report }),
    capture: async (_config, _toolchain, options) => {
      const argv = [...(options.qemuArgs ?? [])];
      try {
        const report = predict(parseQemuArgs(argv, { qemuVersion: SID.qemu }), SID).report;
        return { kind: 'booted', observation: { report, unobserved: [] } };
      } catch (err) {
        if (!(err instanceof QemuRefusal)) throw err;
        return refusedBy(err.qemuMessage.split('\n').map((l) => `qemu-system-x86_64: ${l}`).join('\n'));
      }
    },
    isE820IomemLine,
  };

  test('the cells it disagrees on are exactly the cells e820 drift says change between the profiles', async () => {
    const runs = (await sidRuns()).map((r) => ({ ...r, toolchain: SID_Q100 }));
    const summary = await runMatrix(runs, newQemuDeps, { jobs: 4 });
    const grouped = groupDisagreements(summary.results);
    const drift = driftCells(runs.map((r) => r.cell), { spec: 'sid', toolchain: SID }, { spec: 'sid+qemu-10.0', toolchain: SID_Q100 }, modelDeps);
    const changed = drift.cells.filter((c) => c.outcome === 'changed').map((c) => c.id).sort();
    expect(grouped.disagreeing.map((k) => runs.find((r) => r.key === k)!.cell.id).sort()).toEqual(changed);
    expect(changed.length).toBeGreaterThan(0);
    const text = renderDisagreements(grouped);
    expect(text).toContain(`of ${runs.length} cells disagree`);
    expect(text).toMatch(/qemu\.refusal: .* in \d+ of \d+ cells/);
  });

  test('a run where nothing disagrees says so', () => {
    expect(renderDisagreements(groupDisagreements([]))).toBe('disagreements: none (0 cells)');
  });
});

describe('the real run (sid QEMU 11.1.3 with the 10.0 profile) against the model alone', () => {
  // Recorded from one real run (suites/fixtures/new-qemu/…json: the command, every cell's
  // outcome); the boots take ~3.5 min on two cores, so npm test compares the record with the model.
  const real = JSON.parse(readFileSync(new URL('../fixtures/new-qemu/sid-with-qemu-10.0-profile.json', import.meta.url), 'utf8')) as {
    cells: Record<string, string>;
    disagreeing: string[];
  };

  test('cell by cell: the real run disagreed exactly where drift between the 10.0 and 11.1 profiles predicts a change', async () => {
    const runs = await sidRuns();
    expect(Object.keys(real.cells).sort()).toEqual(runs.map((r) => r.key).sort());
    const drift = driftCells(runs.map((r) => r.cell), { spec: 'sid+qemu-10.0', toolchain: SID_Q100 }, { spec: 'sid', toolchain: SID }, modelDeps);
    for (const run of runs) {
      const d = drift.cells.find((c) => c.id === run.cell.id)!;
      const disagreed = real.disagreeing.includes(run.key);
      expect({ cell: run.key, changed: d.outcome === 'changed' }).toEqual({ cell: run.key, changed: disagreed });
    }
  });
});
