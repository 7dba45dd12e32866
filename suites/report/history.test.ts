import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { appendHistory, binaryChanges, historyChanges, historyCounts, historyPath, readHistory, recentHistory } from '../../harness/report/history.ts';
import { renderReport, type ResultsLike } from '../../harness/report/html.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const same = { qemu: 'same', firmware: 'same', kernel: 'same' } as const;
const model = { firmware: [{ start: '0x0', end: '0x9fc00', type: 1 }] };

const pkgBios = (sha: string, pkg: string | null) => ({ path: '/x/bios-256k.bin', sha256: sha, package: pkg });
const binaries = (bios: string, pkg: string | null) => ({
  qemu: { path: '/usr/bin/qemu-system-x86_64', sha256: 'a'.repeat(64), package: 'qemu-system-x86 1:7.2+dfsg-7+deb12u18+b3' },
  bios: pkgBios(bios, pkg),
  kernel: { path: '/k/vmlinuz', sha256: 'c'.repeat(64), package: 'linux-image-6.1.0-57-cloud-amd64 6.1.192-3' },
  initramfs: { path: '/i/initramfs.cpio.gz', sha256: 'd'.repeat(64), package: null },
});

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
        // The second run booted a patched SeaBIOS image: another hash, from no package.
        binaries: outcome === 'pass' ? binaries('1'.repeat(64), 'seabios 1.16.2-1') : binaries('2'.repeat(64), null),
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
  // Two distinct maps and two distinct binary sets, each stored once.
  expect(await historyCounts(db!)).toEqual({ runs: 2, records: 2, blobs: 4 });
  const rows = await readHistory(db!, { cell: 'pc-1G' });
  expect(rows.map((r) => r.outcome)).toEqual(['pass', 'fail']);
  const text = historyChanges(rows);
  expect(text).toContain('baseline/pc-1G @ qemu-7.2+seabios-1.16.2+linux-6.1: 2 records, now FAIL');
  expect(text).toMatch(
    /verdict PASS → FAIL \(firmware\.e820\); observed map changed \(\w+ → \w+\); toolchain binaries changed: bios 111111111111 → 222222222222 \(seabios 1\.16\.2-1 → no package\); model aaaaaaaaaaaa → bbbbbbbbbbbb; last good 2026-12-03T02:00:00.000Z, first bad 2026-12-04T02:00:00.000Z/,
  );
  // Only the BIOS changed between the runs: QEMU, kernel and initramfs are not listed.
  expect(binaryChanges(rows[0]!.binaries, rows[1]!.binaries)).toEqual(['bios 111111111111 → 222222222222 (seabios 1.16.2-1 → no package)']);
  // The report shows the cell's history: a dot per record and the table with what changed.
  const second = results('2026-12-04T02:00:00.000Z', 'fail', 'b'.repeat(40));
  const html = renderReport(second, { history: await recentHistory(db!, second.cells), historySource: db! });
  expect(html.match(/<i class="d o-(\w+)"/g)).toEqual(['<i class="d o-pass"', '<i class="d o-fail"']);
  expect(html).toContain('<h4>Recent history (2 runs, newest last)</h4>');
  expect(html).toContain('verdict PASS → FAIL; observed map changed; binaries: bios 111111111111 → 222222222222 (seabios 1.16.2-1 → no package); model aaaaaaaaaaaa → bbbbbbbbbbbb');
  expect(await readHistory(db!, { since: '2026-12-04T00:00:00.000Z' })).toHaveLength(1);
  expect(await readHistory(db!, { toolchain: 'qemu-11.1' })).toHaveLength(0);
  // A third night like the second: a record more, nothing stored again.
  await appendHistory(db!, join(root, 'results', 'run-3'), results('2026-12-05T02:00:00.000Z', 'fail', 'b'.repeat(40)));
  expect(await historyCounts(db!)).toEqual({ runs: 3, records: 3, blobs: 4 });
  const third = await readHistory(db!, { cell: 'pc-1G' });
  expect(third[2]!.observedHash).toBe(third[1]!.observedHash);
  expect(third[2]!.binaries).toBe(third[1]!.binaries);
  expect(historyChanges(third)).not.toContain('2026-12-05T02:00:00.000Z');
});
