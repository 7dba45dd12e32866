// Prediction snapshots: (1) the machinery, with a fake model; (2) the real model's prediction
// for every baseline cell must equal suites/snapshots/baseline/<cell>.txt. When the model
// changes on purpose, run `e820 snapshots update`, accept the pending files with
// `e820 snapshots review`, and commit the moved snapshots on their own.

import { mkdtemp, readFile, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test, vi } from 'vitest';
import { realDeps } from '../../harness/matrix/deps.ts';
import { matrixPath } from '../../harness/matrix/paths.ts';
import { expandRuns, loadMatrix, parseMatrix } from '../../harness/matrix/schema.ts';
import { acceptPending, checkSnapshots, orphanSnapshots, pendingSnapshots, rejectPending, renderSnapshot, snapshotPath, updateSnapshots } from '../../harness/matrix/snapshot.ts';
import { inCi, snapshotsCheck, snapshotsReview, snapshotsUpdate, type ReviewAnswer } from '../../harness/cli/commands/snapshots.ts';
import { fakeDeps, sampleReport } from './fakes.ts';

describe('snapshot machinery (fake model)', () => {
  const runs = expandRuns(parseMatrix('cells:\n  - id: a\n    qemu: -M pc -m 1G\n    append: mem=1G\n  - id: b\n    qemu: -M pc refuse\n', 'fake.yaml'));

  test('renders every field readably, refusals included', () => {
    const text = renderSnapshot(runs[0]!, fakeDeps());
    expect(text).toContain('# e820 prediction snapshot — fake/a');
    expect(text).toContain('# argv: -M pc -m 1G -append mem=1G');
    expect(text).toContain('[firmware.e820]\n0000000000000000 - 000000000009fc00 = 1 RAM\n');
    expect(text).toContain('[firmware.zoneHighReturned]\n131072 bytes (0x20000)\n');
    expect(text).toContain('[kernel.iomem]\n00000000-00000fff : Reserved\n');
    expect(renderSnapshot(runs[1]!, fakeDeps())).toContain('[refused]\nQEMU would refuse');
  });

  test('a refusal while reading options is a prediction too (`-m banana` once crashed `snapshots`)', async () => {
    const [banana] = expandRuns(parseMatrix('cells:\n  - id: banana\n    qemu: -M pc -m banana\n', 'fake.yaml'));
    const text = renderSnapshot(banana!, await realDeps());
    expect(text).toContain("[refused]\nQEMU would refuse this command line: -m banana: Parameter 'size' expects a non-negative number below 2^64");
    const root = await mkdtemp(join(tmpdir(), 'e820-snap-'));
    try {
      expect((await checkSnapshots([banana!], await realDeps(), root)).map((c) => c.status)).toEqual(['missing']);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  test('update writes pending .new files, review accepts or rejects them, check reports orphans', async () => {
    const root = await mkdtemp(join(tmpdir(), 'e820-snap-'));
    const model = { commit: 'c0ffee'.padEnd(40, '0'), dirty: false };
    try {
      await mkdir(join(root, 'fake'), { recursive: true });
      await writeFile(join(root, 'fake', 'gone.txt'), 'stale');
      const first = await updateSnapshots(runs, fakeDeps(), root, model);
      expect(first).toMatchObject({ pending: [`${snapshotPath(runs[0]!, root)}.new`, `${snapshotPath(runs[1]!, root)}.new`], unchanged: 0, errors: [] });
      // Nothing is a snapshot until it is reviewed; the file no cell writes is reported, not removed.
      expect(first.orphans).toEqual([join(root, 'fake', 'gone.txt')]);
      expect(await orphanSnapshots(runs, root)).toEqual([join(root, 'fake', 'gone.txt')]);
      expect((await checkSnapshots(runs, fakeDeps(), root)).map((c) => c.status)).toEqual(['missing', 'missing']);
      const pendingText = await readFile(`${snapshotPath(runs[0]!, root)}.new`, 'utf8');
      expect(pendingText.split('\n')[1]).toBe(`# model: commit ${model.commit}`);
      for (const p of first.pending) await acceptPending(p);
      expect((await readdir(join(root, 'fake'))).sort()).toEqual(['a.txt', 'b.txt', 'gone.txt']);
      // The model line is left out of the comparison: another commit with the same prediction matches.
      expect((await checkSnapshots(runs, fakeDeps(), root)).map((c) => c.status)).toEqual(['same', 'same']);
      expect(await updateSnapshots(runs, fakeDeps(), root, { commit: 'f'.repeat(40), dirty: true })).toMatchObject({ pending: [], unchanged: 2 });
      // The model changes: check says which file and shows both texts; update leaves the snapshot alone.
      const drifted = fakeDeps({ expected: () => ({ ...sampleReport(), firmware: { ...sampleReport().firmware, zoneHighReturned: 126976 } }) });
      const checks = await checkSnapshots(runs, drifted, root);
      expect(checks[0]!.status).toBe('changed');
      expect(checks[0]!.actual).toContain('126976 bytes');
      const second = await updateSnapshots(runs, drifted, root, model);
      expect(second.pending).toEqual([`${snapshotPath(runs[0]!, root)}.new`]);
      expect(await readFile(snapshotPath(runs[0]!, root), 'utf8')).toContain('131072 bytes');
      await rejectPending(second.pending[0]!);
      expect(await readFile(snapshotPath(runs[0]!, root), 'utf8')).toContain('131072 bytes');
      expect(await pendingSnapshots(root)).toEqual([]);
      // A pending file the model no longer stands by is withdrawn by the next update.
      await updateSnapshots(runs, drifted, root, model);
      expect(await updateSnapshots(runs, fakeDeps(), root, model)).toMatchObject({ pending: [], withdrawn: [`${snapshotPath(runs[0]!, root)}.new`] });
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  test('`e820 snapshots review` accepts and rejects each change, refuses without a terminal; `check` fails on orphans', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'e820-review-'));
    const root = join(dir, 'snapshots');
    const matrix = join(dir, 'fake.yaml');
    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => (out.push(String(s)), true));
    const err = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (out.push(String(s)), true));
    try {
      await writeFile(matrix, 'cells:\n  - id: a\n    qemu: -M pc -m 1G\n    append: mem=1G\n  - id: b\n    qemu: -M pc refuse\n');
      await mkdir(join(root, 'fake'), { recursive: true });
      await writeFile(join(root, 'fake', 'gone.txt'), 'stale');
      // As in a person's shell: CI=true (how CI runs npm test) refuses to write (tested below).
      vi.stubEnv('CI', '');
      expect(await snapshotsUpdate([matrix], fakeDeps(), {}, root)).toBe(0);
      expect(out.join('')).toMatch(/2 pending .*\n.*a\.txt\.new\n.*b\.txt\.new\n.*orphan .*gone\.txt/);
      // vitest's stdin is no terminal: review asks for a flag instead of guessing.
      out.length = 0;
      expect(await snapshotsReview([matrix], {}, root)).toBe(2);
      expect(out.join('')).toMatch(/no terminal to ask about each change.*--accept-all or --reject-all/);
      expect(await snapshotsReview([matrix], { acceptAll: true, rejectAll: true }, root)).toBe(2);
      expect(await pendingSnapshots(root)).toHaveLength(2);
      // One answer per item, in order: a (accept), b (reject), the orphan (accept = remove).
      const answers: ReviewAnswer[] = ['accept', 'reject', 'accept'];
      const asked: string[] = [];
      expect(await snapshotsReview([matrix], {}, root, async (q) => (asked.push(q), answers.shift()!))).toBe(0);
      expect(asked).toHaveLength(3);
      expect(asked[2]).toMatch(/ORPHAN .*gone\.txt/);
      expect((await readdir(join(root, 'fake'))).sort()).toEqual(['a.txt']);
      out.length = 0;
      expect(await snapshotsCheck([matrix], fakeDeps(), {}, root)).toBe(1);
      expect(out.join('')).toMatch(/MISSING .*b\.txt/);
      // An orphan alone fails the check too.
      await updateSnapshots(expandRuns(await loadMatrix(matrix)), fakeDeps(), root);
      expect(await snapshotsReview([matrix], { acceptAll: true }, root)).toBe(0);
      await writeFile(join(root, 'fake', 'old-cell.txt'), 'stale');
      out.length = 0;
      expect(await snapshotsCheck([matrix], fakeDeps(), {}, root)).toBe(1);
      expect(out.join('')).toMatch(/ORPHAN .*old-cell\.txt.*\n2\/2 snapshots match, 1 orphaned/);
      expect(await snapshotsReview([matrix], { rejectAll: true }, root)).toBe(0);
      expect((await readdir(join(root, 'fake'))).sort()).toEqual(['a.txt', 'b.txt', 'old-cell.txt']);
    } finally {
      vi.unstubAllEnvs();
      spy.mockRestore();
      err.mockRestore();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('`e820 snapshots update` refuses in CI', async () => {
    expect(inCi({ CI: 'true' })).toBe(true);
    expect(inCi({})).toBe(false);
    const saved = process.env.CI;
    process.env.CI = 'true';
    try {
      expect(await snapshotsUpdate(['baseline'], fakeDeps())).toBe(2);
    } finally {
      if (saved === undefined) delete process.env.CI;
      else process.env.CI = saved;
    }
  });
});

describe.each(['baseline', 'versions', 'kvm', 'qboot', 'microvm'])('%s prediction snapshots (real model)', async (matrix) => {
  const runs = expandRuns(await loadMatrix(matrixPath(matrix)));
  const deps = await realDeps();
  const checks = await checkSnapshots(runs, deps);
  for (const c of checks) {
    test(c.run.key, () => {
      if (c.status === 'error') throw new Error(`the model could not predict ${c.run.key}: ${c.error}`);
      if (c.status === 'missing') throw new Error(`no snapshot ${c.path}: run \`e820 snapshots update\` and \`e820 snapshots review\``);
      // toBe on the whole text prints a line diff: the model drifted from the reviewed snapshot.
      expect(c.actual, `prediction for ${c.run.key} differs from ${c.path}; if intended, run \`e820 snapshots update\` and \`e820 snapshots review\``).toBe(c.expected);
    });
  }
});
