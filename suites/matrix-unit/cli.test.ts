// The run/check commands end to end with a fake model and a fake harness: exit codes, the
// results directory, sharding, and the version flags.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { checkCommand } from '../../harness/cli/commands/check.ts';
import { runCommand } from '../../harness/cli/run-matrix.ts';
import { parseJobs, timestampDir, toolchainOverride } from '../../harness/cli/options.ts';
import { fakeDeps, observedFrom, sampleReport } from './fakes.ts';
import { jobsFromEnv } from '../jobs-env.ts';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'e820-cli-'));
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
});
afterAll(async () => {
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

async function matrix(name: string, body: string): Promise<string> {
  const path = join(dir, `${name}.yaml`);
  await writeFile(path, body);
  return path;
}

const failing = () =>
  fakeDeps({
    observe: async (argv) => {
      const report = observedFrom(sampleReport());
      if (argv.includes('2G')) report.firmware!.zoneHighReturned = 1;
      return { report, unobserved: [] };
    },
  });

describe('e820 run', () => {
  test('exit 0 when every cell passes; results.json and junit.xml written', async () => {
    const m = await matrix('ok', 'cells:\n  - id: a\n    qemu: -m 1G\n  - id: b\n    qemu: -m 3G\n');
    const results = join(dir, 'r-ok');
    expect(await runCommand([m], { results, plain: true, jobs: '2' }, fakeDeps())).toBe(0);
    const json = JSON.parse(await readFile(join(results, 'results.json'), 'utf8'));
    expect(json).toMatchObject({ finished: true, totals: { cells: 2, pass: 2 }, jobs: 2, exitCode: 0 });
    // No --kernel-flavour: the default, the minimal kernel, named in the label.
    expect(await readFile(join(results, 'junit.xml'), 'utf8')).toContain('<testcase classname="e820.ok.qemu-7.2+seabios-1.16.2+linux-6.1-minimal" name="a"');
  });

  test('exit 1 on a fail, 2 on an error', async () => {
    const m = await matrix('mixed', 'cells:\n  - id: a\n    qemu: -m 1G\n  - id: b\n    qemu: -m 2G\n');
    expect(await runCommand([m], { results: join(dir, 'r-fail'), plain: true }, failing())).toBe(1);
    const e = await matrix('err', 'cells:\n  - id: a\n    qemu: -m 2G\n  - id: b\n    qemu: -bogus\n');
    expect(await runCommand([e], { results: join(dir, 'r-err'), plain: true }, failing())).toBe(2);
  });

  test('--shard picks the stable round-robin subset', async () => {
    const m = await matrix('sh', `cells:\n${['a', 'b', 'c', 'd', 'e'].map((id) => `  - id: ${id}\n    qemu: -m 1G\n`).join('')}`);
    const results = join(dir, 'r-shard');
    await runCommand([m], { results, plain: true, shard: '2/2' }, fakeDeps());
    const json = JSON.parse(await readFile(join(results, 'results.json'), 'utf8'));
    expect(json.cells.map((c: { id: string }) => c.id)).toEqual(['b', 'd']);
    expect(json.shard).toEqual({ index: 2, count: 2 });
  });

  test('a malformed matrix is refused before anything boots', async () => {
    const m = await matrix('broken', 'cells:\n  - id: a\n');
    const d = fakeDeps();
    await expect(runCommand([m], { results: join(dir, 'r-broken'), plain: true }, d)).rejects.toThrow(/broken.yaml.*\n.*cell 0 \(id "a"\).*field "qemu"/);
    expect(d.captured).toEqual([]);
  });

  test('flags: versions, jobs, timestamp', () => {
    expect(toolchainOverride({})).toBeUndefined();
    expect(toolchainOverride({ qemu: '10.0', seabios: '1.16.3', kernel: '6.12' })).toEqual({ qemu: '10.0', seabios: '1.16.3', kernel: '6.12' });
    expect(() => toolchainOverride({ qemu: '9.9' })).toThrow(/unknown qemu version/);
    expect(() => parseJobs('0')).toThrow(/--jobs/);
    expect(parseJobs('3')).toBe(3);
    // The booting suites read E820_JOBS by the same rule: anything else stops them (NaN once meant unlimited).
    for (const bad of ['abc', '2.5', '-1', '0', ' ']) expect(() => jobsFromEnv(bad), bad).toThrow(/^E820_JOBS=.*whole number ≥ 1/);
    expect(jobsFromEnv('2')).toBe(2);
    expect(timestampDir(new Date('2026-11-23T04:35:06.123Z'))).toBe('2026-11-23T04-35-06Z');
  });
});

describe('e820 check', () => {
  test('one ad-hoc cell: exit code follows the verdict; --append reaches capture', async () => {
    const d = failing();
    expect(await checkCommand(['-M', 'q35', '-m', '1G'], { append: 'mem=512M' }, d)).toBe(0);
    expect(d.captured.at(-1)).toEqual(['-M', 'q35', '-m', '1G', '-append', 'mem=512M']);
    expect(await checkCommand(['-m', '2G'], { json: true }, d)).toBe(1);
    expect(await checkCommand(['-bogus'], {}, d)).toBe(2);
    await expect(checkCommand([], {}, d)).rejects.toThrow(/no QEMU arguments/);
  });
});
