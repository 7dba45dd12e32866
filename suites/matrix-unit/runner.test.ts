import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLValidator } from './xml.ts';
import { describe, expect, test } from 'vitest';
import { junitXml, resultsJson, summaryTable, writeResults, xmlEscape } from '../../harness/matrix/reporters.ts';
import { runMatrix, type CellResult } from '../../harness/matrix/runner.ts';
import { expandRuns, parseMatrix } from '../../harness/matrix/schema.ts';
import { exitCodeOf } from '../../harness/matrix/verdict.ts';
import { fakeDeps, observedFrom, refusedBy, sampleReport, timedOut } from './fakes.ts';

const MATRIX = `cells:
  - id: good
    qemu: -M pc -m 1G
  - id: bad-iomem
    qemu: -M pc -m 2G
  - id: hangs
    qemu: -M pc -m 3G
  - id: unparsable
    qemu: -M pc -bogus
  - id: model-refuses
    qemu: -M pc refuse
`;

function deps() {
  return fakeDeps({
    observe: async (argv) => {
      const report = observedFrom(sampleReport());
      if (argv.includes('2G')) report.kernel!.iomem![0] = '00000000-00000fff : System RAM';
      if (argv.includes('3G')) return { ...timedOut(), message: 'the guest did not finish within 60 s (kernel started)\n\u0007last console line: <no init> & more' };
      return { report, unobserved: [], meta: { argv: [...argv], wallMs: 5 } };
    },
  });
}

describe('runner', () => {
  test('one verdict per cell, in matrix order: pass, fail, error', async () => {
    const runs = expandRuns(parseMatrix(MATRIX, 'unit.yaml'));
    const summary = await runMatrix(runs, deps(), { jobs: 2 });
    expect(summary.results.map((r) => [r.id, r.outcome])).toEqual([
      ['good', 'pass'],
      ['bad-iomem', 'fail'],
      ['hangs', 'error'],
      ['unparsable', 'error'],
      ['model-refuses', 'fail'],
    ]);
    const [, bad, hangs, unparsable] = summary.results as [CellResult, CellResult, CellResult, CellResult];
    expect(bad.verdict?.outcome === 'fail' && bad.verdict.first.field).toBe('kernel.iomem');
    expect(hangs.verdict?.outcome === 'error' && hangs.verdict.error.kind).toBe('BootTimeoutError');
    expect(unparsable.verdict?.outcome === 'error' && unparsable.verdict.error.message).toContain('unit.yaml cell 3 (id "unparsable")');
    expect(exitCodeOf(summary.results.map((r) => r.outcome))).toBe(2);
  });

  test('the cell argv is handed to capture verbatim, -append included', async () => {
    const d = fakeDeps();
    const runs = expandRuns(parseMatrix('cells:\n  - id: a\n    qemu: -M q35 -m 2G\n    append: memmap=1M$0x50000000\n', 'u.yaml'));
    await runMatrix(runs, d, { jobs: 1 });
    expect(d.captured).toEqual([['-M', 'q35', '-m', '2G', '-append', 'memmap=1M$0x50000000']]);
  });

  test('concurrency is bounded by jobs', async () => {
    let running = 0;
    let peak = 0;
    const d = fakeDeps({
      observe: async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 5));
        running--;
        return { report: observedFrom(sampleReport()), unobserved: [] };
      },
    });
    const text = `cells:\n${Array.from({ length: 9 }, (_, i) => `  - id: c${i}\n    qemu: -m ${i + 1}G\n`).join('')}`;
    const s = await runMatrix(expandRuns(parseMatrix(text, 'u.yaml')), d, { jobs: 3 });
    expect(peak).toBe(3);
    expect(s.results.every((r) => r.outcome === 'pass')).toBe(true);
  });

  test('abort: no new cells start, running ones end as errors, finished ones are kept', async () => {
    const controller = new AbortController();
    const d = fakeDeps({
      observe: (argv, signal) =>
        new Promise((resolve) => {
          if (argv.includes('1G')) return resolve({ report: observedFrom(sampleReport()), unobserved: [] });
          // A capture that runs until aborted, like a boot interrupted by SIGINT.
          signal?.addEventListener('abort', () => resolve({ kind: 'aborted', message: 'the boot was cancelled: aborted', refused: null }));
          setTimeout(() => controller.abort(), 10);
        }),
    });
    const text = `cells:\n${['1G', '2G', '3G', '4G'].map((m, i) => `  - id: c${i}\n    qemu: -m ${m}\n`).join('')}`;
    // Matrix order (not longest-first), so c0 is the one that finishes before the abort.
    const s = await runMatrix(expandRuns(parseMatrix(text, 'u.yaml')), d, { jobs: 2, signal: controller.signal, order: [0, 1, 2, 3] });
    expect(s.interrupted).toBe(true);
    // c0 passed at once; c1 and c2 were both booting when the abort came; c3 never started.
    expect(s.results.map((r) => r.outcome)).toEqual(['pass', 'error', 'error', 'not-run']);
    expect(s.results[1]!.verdict?.outcome === 'error' && s.results[1]!.verdict.error.kind).toBe('Aborted');
    expect(exitCodeOf(s.results.map((r) => r.outcome))).toBe(2);
  });
});

describe('refusals', () => {
  const runs = expandRuns(parseMatrix('cells:\n  - id: r\n    qemu: -M pc refuse\n', 'u.yaml'));

  test('model and QEMU refuse with the same message (warnings aside): pass', async () => {
    const d = fakeDeps({ observe: async () => refusedBy('qemu-system-x86_64: warning: something\nqemu-system-x86_64: invalid thing\n') });
    const [r] = (await runMatrix(runs, d, { jobs: 1 })).results;
    expect(r!.outcome).toBe('pass');
  });

  test('both refuse with different messages: fail at qemu with a diff of the messages', async () => {
    const d = fakeDeps({ observe: async () => refusedBy('qemu-system-x86_64: invalid thing: "x"\nUse -machine help\n') });
    const [r] = (await runMatrix(runs, d, { jobs: 1 })).results;
    expect(r!.verdict?.outcome).toBe('fail');
    if (r!.verdict?.outcome !== 'fail') return;
    expect(r!.verdict.first.field).toBe('qemu.refusal');
    expect(r!.verdict.first.diff).toContain('- invalid thing\n+ invalid thing: "x"\n+ Use -machine help');
  });

  test('a launch error without a model refusal is a harness error', async () => {
    const d = fakeDeps({ observe: async () => refusedBy('qemu-system-x86_64: boom') });
    const r = await runMatrix(expandRuns(parseMatrix('cells:\n  - id: a\n    qemu: -m 1G\n', 'u.yaml')), d, { jobs: 1 });
    expect(r.results[0]!.verdict?.outcome === 'error' && r.results[0]!.verdict.error.kind).toBe('QemuLaunchError');
  });
});

describe('exit codes', () => {
  test('0 all pass, 1 any fail, 2 any error or not run', () => {
    expect(exitCodeOf(['pass', 'pass'])).toBe(0);
    expect(exitCodeOf([])).toBe(0);
    expect(exitCodeOf(['pass', 'fail'])).toBe(1);
    expect(exitCodeOf(['fail', 'error', 'pass'])).toBe(2);
    expect(exitCodeOf(['pass', 'not-run'])).toBe(2);
  });
});

describe('reporters', () => {
  test('junit.xml is well-formed: one testcase per cell, failure with the diff, error with the message', async () => {
    const summary = await runMatrix(expandRuns(parseMatrix(MATRIX, 'unit.yaml')), deps(), { jobs: 2 });
    const xml = junitXml(summary.results, summary.wallMs);
    expect(XMLValidator.validate(xml)).toBe(true);
    expect(xml.match(/<testcase /g)).toHaveLength(5);
    expect(xml).toContain('<testsuites name="e820-conformance" tests="5" failures="2" errors="2" skipped="0"');
    expect(xml).toMatch(/<failure message="first divergence at kernel layer: kernel.iomem[^"]*" type="kernel.iomem">/);
    expect(xml).toContain('+ 00000000-00000fff : System RAM'); // the diff itself
    expect(xml).toContain('&lt;no init&gt; &amp; more'); // escaped
    // The hanging cell timed out twice (a harness timeout is retried once): the error names both attempts.
    expect(xml).toContain('<error message="both attempts failed (a harness timeout is retried once): attempt 1: BootTimeoutError: the guest did not finish within 60 s (kernel started); attempt 2: BootTimeoutError: the guest did not finish within 60 s (kernel started)" type="BootTimeoutError">');
    expect(xml).toContain('<system-out>attempts: 2; retried once (a harness timeout is retried once): attempt 1 failed with BootTimeoutError: the guest did not finish within 60 s (kernel started)</system-out>');
    expect(xml).not.toContain('\u0007');
  });

  test('xmlEscape removes what XML 1.0 forbids', () => {
    expect(xmlEscape('a<b>&"\'\u0000\u001b')).toBe('a&lt;b&gt;&amp;&quot;&apos;\\x00\\x1b');
  });

  test('results.json and junit.xml are written; totals and per-layer fields are there', async () => {
    const summary = await runMatrix(expandRuns(parseMatrix(MATRIX, 'unit.yaml')), deps(), { jobs: 2 });
    const dir = await mkdtemp(join(tmpdir(), 'e820-results-'));
    try {
      const info = { startedAt: 'now', matrices: ['unit.yaml'], shard: null, jobs: 2, command: [] };
      await writeResults(dir, info, summary, true);
      const json = JSON.parse(await readFile(join(dir, 'results.json'), 'utf8'));
      expect(json.totals).toEqual({ cells: 5, pass: 1, fail: 2, error: 2, notRun: 0 });
      expect(json.exitCode).toBe(2);
      expect(json.cells[0].verdict.fields.map((f: { field: string }) => f.field)).toEqual([
        'qemu.e820', 'firmware.e820', 'firmware.zoneHighReturned', 'kernel.biosE820', 'kernel.e820Edits', 'kernel.memmap', 'kernel.iomem',
      ]);
      expect(json.cells[0].toolchainLabel).toBe('qemu-7.2+seabios-1.16.2+linux-6.1');
      expect(XMLValidator.validate(await readFile(join(dir, 'junit.xml'), 'utf8'))).toBe(true);
      expect(resultsJson(info, summary, true)).toMatchObject({ finished: true, interrupted: false });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('the summary table has one row per cell and the totals', async () => {
    const summary = await runMatrix(expandRuns(parseMatrix(MATRIX, 'unit.yaml')), deps(), { jobs: 2 });
    const table = summaryTable(summary.results, 60_000, false);
    expect(table).toMatch(/unit\/good\s+PASS\s+21\/3/);
    expect(table).toMatch(/unit\/bad-iomem\s+FAIL .*kernel\.iomem/);
    expect(table).toMatch(/unit\/hangs\s+ERROR\s+\S+\s+retried \(attempt 1: BootTimeoutError\); BootTimeoutError: both attempts failed/);
    expect(table).toContain('5 cells: 1 pass, 2 fail, 2 error (1 retried after a harness timeout) — wall 1m00s, 5.0 cells/min');
  });
});
