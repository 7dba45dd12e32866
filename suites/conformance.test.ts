// The conformance matrix as vitest tests: one test per cell of the baseline, versions, kvm,
// libvirt, harmless, fallback, qboot and microvm matrices (or E820_MATRIX=name[,name…]), each booting real QEMU and asserting the model and the
// machine agree at every layer. Boots share one limiter (E820_JOBS, default: cores). A harness
// error FAILS the test with the harness's message. The one exception: a kvm cell on a host whose
// KVM probe says KVM is unavailable cannot run here; it is skipped with the probe's reason printed
// (and kept as an error in results.json), never passed. The run also leaves results.json + junit.xml
// under results/vitest-<timestamp>/ (or E820_RESULTS).

import { jobsFromEnv } from './jobs-env.ts';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { timestampDir } from '../harness/cli/options.ts';
import { provisionAll } from '../harness/matrix/provision-runs.ts';
import { realDeps } from '../harness/matrix/deps.ts';
import { REPO_ROOT, matrixPath } from '../harness/matrix/paths.ts';
import { summaryTable, writeResults } from '../harness/matrix/reporters.ts';
import { createLimiter, defaultJobs, notRunResult, runCell, type CellResult } from '../harness/matrix/runner.ts';
import { expandRuns, loadMatrix, type Cell } from '../harness/matrix/schema.ts';
import { expectCellPassed, skipWithReason } from './cell-verdict.ts';

/** A cell waits for the limiter, then boots; the deadline covers the queue in front of it. */
const CELL_TEST_TIMEOUT_MS = 15 * 60_000;
/** First run on a fresh machine installs packages and downloads the kernel. */
const PROVISION_TIMEOUT_MS = 15 * 60_000;

const matrices = (process.env.E820_MATRIX ?? 'baseline,versions,kvm,libvirt,harmless,fallback,qboot,microvm').split(',').filter(Boolean);
const cells: Cell[] = [];
for (const m of matrices) cells.push(...(await loadMatrix(matrixPath(m))));
const runs = expandRuns(cells);
const deps = await realDeps();
// An E820_JOBS that is not a whole number ≥ 1 stops the run (it used to mean unlimited: NaN).
const jobs = process.env.E820_JOBS ? jobsFromEnv(process.env.E820_JOBS) : defaultJobs();
const limit = createLimiter(jobs);
const controller = new AbortController();
const startedAt = new Date();
const resultsDir = process.env.E820_RESULTS ?? join(REPO_ROOT, 'results', `vitest-${timestampDir(startedAt)}`);
const results = new Map<string, CellResult>();
const t0 = performance.now();

beforeAll(async () => {
  // Provision once, before any boot, so the cells do not race to install the same things.
  await provisionAll(deps, runs, () => undefined);
}, PROVISION_TIMEOUT_MS);

afterAll(async () => {
  controller.abort(new Error('the test run ended'));
  const ordered = runs.map((r) => results.get(r.key) ?? notRunResult(r));
  const wallMs = Math.round(performance.now() - t0);
  await writeResults(
    resultsDir,
    { startedAt: startedAt.toISOString(), matrices, shard: null, jobs, command: ['vitest', 'suites/conformance.test.ts'] },
    { results: ordered, interrupted: false, wallMs },
    true,
  );
  process.stderr.write(`\n${summaryTable(ordered, wallMs, false)}\nresults: ${resultsDir}\n`);
});

describe.concurrent(`conformance: ${matrices.join(', ')} (${runs.length} cells, ${jobs} at a time)`, () => {
  for (const run of runs) {
    test(run.key, async (ctx) => {
      const result = await limit(() => runCell(run, deps, { signal: controller.signal, logsRoot: join(resultsDir, 'logs') }));
      results.set(run.key, result);
      const v = result.verdict;
      if (v?.outcome === 'error' && v.error.kind === 'KvmUnavailable') skipWithReason(ctx, run.key, `cannot run on this machine: ${v.error.message}`);
      expectCellPassed(run.key, result);
    }, CELL_TEST_TIMEOUT_MS);
  }
});
