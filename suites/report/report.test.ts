import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test, vi } from 'vitest';
import { checkCommand } from '../../harness/cli/commands/check.ts';
import { writeResults } from '../../harness/matrix/reporters.ts';
import { runMatrix } from '../../harness/matrix/runner.ts';
import { expandRuns, parseMatrix } from '../../harness/matrix/schema.ts';
import { cellLayers, sidesOfDiff } from '../../harness/report/cell-maps.ts';
import { renderReport, type ResultsLike } from '../../harness/report/html.ts';
import { mergeResults, MergeError, type MergeInput } from '../../harness/report/merge.ts';
import { reportCommand } from '../../harness/cli/commands/report.ts';
import { fakeDeps, observedFrom, sampleReport } from '../matrix-unit/fakes.ts';

const MATRIX = `cells:
  - id: good
    qemu: -M pc -m 1G
  - id: moved
    qemu: -M pc -m 2G
  - id: third
    qemu: -M pc -m 3G
`;

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'e820-report-test-'));
  dirs.push(d);
  return d;
}

/** Fake boots where a 2G cell's firmware reserves 0x3ff00000 instead of 0x3ffe0000. */
function movedDeps() {
  return fakeDeps({
    observe: async (argv) => {
      const report = observedFrom(sampleReport());
      if (argv.includes('2G')) {
        report.firmware!.e820![3] = { start: '0x100000', end: '0x3ff00000', type: 1 };
        report.firmware!.e820![4] = { start: '0x3ff00000', end: '0x40000000', type: 2 };
      }
      return { report, unobserved: [], meta: { argv: ['qemu-system-x86_64', ...argv], wallMs: 3 } };
    },
  });
}

/** A run of MATRIX where the `moved` cell's firmware reserves 0x3ff00000 instead of 0x3ffe0000. */
async function run(shard: { index: number; count: number } | null = null, model = { commit: 'a'.repeat(40), dirty: false }) {
  const deps = movedDeps();
  let runs = expandRuns(parseMatrix(MATRIX, 'unit.yaml'));
  if (shard) runs = runs.filter((_, i) => i % shard.count === shard.index - 1);
  const summary = await runMatrix(runs, deps, { jobs: 1 });
  const dir = await tempDir();
  await writeResults(dir, { startedAt: '2026-12-05T00:00:00Z', matrices: ['/x/suites/matrix/unit.yaml'], shard, jobs: 1, command: ['run'] }, summary, true);
  const results = JSON.parse(await readFile(join(dir, 'results.json'), 'utf8')) as ResultsLike;
  results.model = model; // the checkout's commit, whatever it is, replaced by a fixed one
  return { dir, results, summary };
}

describe('report.html', () => {
  test('every finished run writes it; the failing cell shows the moved entries highlighted on the firmware map and listed', async () => {
    const { dir, summary } = await run();
    expect(summary.results.map((r) => r.outcome)).toEqual(['pass', 'fail', 'pass']);
    const moved = summary.results[1]!;
    expect(moved.maps?.machine.firmware).not.toBe('same');
    expect(moved.maps?.machine.qemu).toBe('same');
    const html = await readFile(join(dir, 'report.html'), 'utf8');
    const cell = html.slice(html.indexOf('id="cell-1"'), html.indexOf('id="cell-2"'));
    expect(cell).toContain('firmware machine: 0x3ff00000-0x3fffffff (1 MiB) 2 reserved — machine only');
    expect(cell).toContain('firmware model: 0x3ffe0000-0x3fffffff (128 KiB) 2 reserved — model only');
    expect(cell.match(/ diff"><title>firmware/g)?.length).toBe(4);
    expect(cell).toContain('<h4>Disagreeing entries (4)</h4>');
    // Passing cells: nothing highlighted; nothing fetched from anywhere.
    const good = html.slice(html.indexOf('id="cell-0"'), html.indexOf('id="cell-1"'));
    expect(good).not.toContain(' diff"');
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(html).toContain("default-src 'none'");
  });

  test('e820 check --html FILE: the one cell page, the moved entries highlighted', async () => {
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const file = join(await tempDir(), 'check.html');
      expect(await checkCommand(['-M', 'pc', '-m', '2G'], { html: file }, movedDeps())).toBe(1);
      const html = await readFile(file, 'utf8');
      expect(html).toContain('<span class="key">check/adhoc</span>');
      expect(html).toContain('firmware machine: 0x3ff00000-0x3fffffff (1 MiB) 2 reserved — machine only');
      expect(html.match(/ diff"><title>firmware/g)?.length).toBe(4);
      expect(html).toContain('e820 check -- -M pc -m 2G');
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
  });

  test('argv, ids and messages are escaped', () => {
    const hostile = '<img src=x onerror=alert(1)>';
    const r: ResultsLike = {
      cells: [
        {
          key: `m/${hostile}`,
          matrix: 'm"><script>x</script>',
          id: hostile,
          toolchainLabel: 'qemu-7.2&lt;',
          toolchain: { qemu: '7.2', seabios: '1.16.2', kernel: '6.1' },
          argv: ['-name', hostile, "it's"],
          outcome: 'error',
          verdict: { outcome: 'error', error: { kind: 'X<y>', message: `</pre>${hostile}\u001b` } },
        },
      ],
    };
    const html = renderReport(r);
    expect(html).not.toContain(hostile);
    expect(html).not.toContain('<script>x');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('qemu-7.2&amp;lt;');
    expect(html).toContain('\\x1b');
  });

  test('results written before maps were recorded: machine side read back from the diff', async () => {
    const { summary } = await run();
    const moved = structuredClone(summary.results[1]!);
    delete moved.maps;
    const f = moved.verdict!.fields!.find((x) => x.field === 'firmware.e820')!;
    const sides = sidesOfDiff('firmware', f.diff!)!;
    expect(sides.machine.map((e) => e.start.toString(16))).toContain('3ff00000');
    expect(sides.model.map((e) => e.start.toString(16))).toContain('3ffe0000');
    const fw = cellLayers(moved).find((l) => l.layer === 'firmware')!;
    expect(fw.machine?.some((e) => e.start === 0x3ff00000n)).toBe(true);
  });
});

describe('merge', () => {
  const input = (dir: string, results: ResultsLike): MergeInput => ({ dir, results });

  test('shards interleave back into the run order; totals and junit follow', async () => {
    const a = await run({ index: 1, count: 2 });
    const b = await run({ index: 2, count: 2 });
    const merged = mergeResults([input('b', b.results), input('a', a.results)]);
    expect(merged.cells.map((c) => c.key)).toEqual(['unit/good', 'unit/moved', 'unit/third']);
    expect(merged.totals).toEqual({ cells: 3, pass: 2, fail: 1, error: 0, notRun: 0 });
    expect(merged.exitCode).toBe(1);
    expect(merged.shard).toBeNull();
  });

  test('refused: a cell twice, a missing shard, other matrices, another model', async () => {
    const a = await run({ index: 1, count: 2 });
    const b = await run({ index: 2, count: 2 });
    expect(() => mergeResults([input('a', a.results), input('a2', { ...a.results, shard: { index: 2, count: 2 } })])).toThrow(/cell unit\/good is in a and in a2/);
    expect(() => mergeResults([input('a', a.results)])).toThrow(/shard 2 of 2 missing/);
    expect(() => mergeResults([input('a', a.results), input('b', { ...b.results, matrices: ['/y/other.yaml'] })])).toThrow(/different matrices: a ran \[unit\], b ran \[other\]/);
    expect(() => mergeResults([input('a', a.results), input('b', { ...b.results, model: { commit: 'b'.repeat(40), dirty: false } })])).toThrow(
      /different model versions: a ran aaaaaaaaaaaa, b ran bbbbbbbbbbbb/,
    );
    expect(() => mergeResults([input('a', a.results), input('b', { ...b.results, model: null })])).toThrow(MergeError);
  });

  test('e820 report --merge writes results.json, junit.xml and report.html; a bad set exits 2', async () => {
    const a = await run({ index: 1, count: 2 });
    const b = await run({ index: 2, count: 2 });
    // The files on disk carry this checkout's model version; both shards ran the same one.
    const out = join(await tempDir(), 'merged');
    const said = await reportCommand([a.dir, b.dir], { merge: true, out });
    expect(said).toContain('merged 2 results (3 cells: 2 pass, 1 fail, 0 error)');
    const merged = JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as ResultsLike;
    expect(merged.cells.length).toBe(3);
    expect(await readFile(join(out, 'junit.xml'), 'utf8')).toContain('tests="3" failures="1"');
    expect(await readFile(join(out, 'report.html'), 'utf8')).toContain('merged from 2 runs');
    await expect(reportCommand([a.dir, a.dir], { merge: true, out: join(out, 'again') })).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/shard 1\/2 given twice/) });
    await expect(reportCommand([a.dir], { merge: true })).rejects.toMatchObject({ exitCode: 2 });
    // Regenerating one directory's report in place.
    expect(await reportCommand([a.dir], {})).toBe(`report: ${join(a.dir, 'report.html')}\n`);
  });
});
