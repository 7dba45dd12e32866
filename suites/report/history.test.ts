import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { appendHistory, historyChanges, historyPath, readHistory } from '../../harness/report/history.ts';
import type { ResultsLike } from '../../harness/report/html.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const same = { qemu: 'same', firmware: 'same', kernel: 'same' } as const;
const model = { firmware: [{ start: '0x0', end: '0x9fc00', type: 1 }] };

function results(at: string, outcome: 'pass' | 'fail', commit: string): ResultsLike {
  return {
    startedAt: at,
    matrices: ['baseline'],
    model: { commit, dirty: false },
    cells: [
      {
        key: 'baseline/pc-1G',
        matrix: 'baseline',
        toolchainLabel: 'qemu-7.2+seabios-1.16.2+linux-6.1',
        toolchain: { qemu: '7.2', seabios: '1.16.2', kernel: '6.1' },
        argv: ['-M', 'pc', '-m', '1G'],
        outcome,
        timings: { startedAt: at, predictMs: 1, captureMs: 1, totalMs: 2, bootWallMs: 1 },
        maps: outcome === 'pass' ? { model, machine: same } : { model, machine: { firmware: [{ start: '0x0', end: '0x9f000', type: 1 }] } },
        verdict:
          outcome === 'pass'
            ? { outcome: 'pass', fields: [], counts: { compared: 1, excludedByRule: 0, excludedNotPredicted: 0, notPredicted: [], unobserved: [], excluded: [] } }
            : ({ outcome: 'fail', fields: [], first: { layer: 'firmware', field: 'firmware.e820', summary: 'firmware.e820: 1 entry differs', diff: '' } } as never),
      },
    ],
  };
}

test('two runs: history shows both, the verdict and map change, last good and first bad', async () => {
  const root = await mkdtemp(join(tmpdir(), 'e820-history-test-'));
  dirs.push(root);
  const db = historyPath(join(root, 'results', 'run-1'), {});
  expect(db).toBe(join(root, 'results', 'e820-history.sqlite'));
  expect(historyPath(join(root, 'r'), { E820_HISTORY_DB: 'off' })).toBeNull();
  expect(await appendHistory(db!, join(root, 'results', 'run-1'), results('2026-12-03T02:00:00.000Z', 'pass', 'a'.repeat(40)))).toBe(1);
  expect(await appendHistory(db!, join(root, 'results', 'run-2'), results('2026-12-04T02:00:00.000Z', 'fail', 'b'.repeat(40)))).toBe(1);
  expect((await stat(db!)).size).toBeGreaterThan(0);
  const rows = await readHistory(db!, { cell: 'pc-1G' });
  expect(rows.map((r) => r.outcome)).toEqual(['pass', 'fail']);
  const text = historyChanges(rows);
  expect(text).toContain('baseline/pc-1G @ qemu-7.2+seabios-1.16.2+linux-6.1: 2 records, now FAIL');
  expect(text).toMatch(/verdict PASS → FAIL \(firmware\.e820\); observed map changed \(\w+ → \w+\); model aaaaaaaaaaaa → bbbbbbbbbbbb; last good 2026-12-03T02:00:00.000Z, first bad 2026-12-04T02:00:00.000Z/);
  expect(await readHistory(db!, { since: '2026-12-04T00:00:00.000Z' })).toHaveLength(1);
  expect(await readHistory(db!, { toolchain: 'qemu-11.1' })).toHaveLength(0);
});
