// The scaffold every booting suite shares (conformance, explore, flavours): provision the runs'
// toolchains once before any boot, boot each cell through one limiter (E820_JOBS, default: cores)
// with the run's abort signal, and when the file ends write results.json + junit.xml and print the
// summary. A suite only says which runs, and what each test asserts about a cell's result.

import { afterAll, beforeAll } from 'vitest';
import type { MatrixDeps } from '../harness/matrix/deps.ts';
import { provisionAll } from '../harness/matrix/provision-runs.ts';
import { summaryTable, writeResults } from '../harness/matrix/reporters.ts';
import { createLimiter, defaultJobs, notRunResult, runCell, type CellResult } from '../harness/matrix/runner.ts';
import type { CellRun } from '../harness/matrix/schema.ts';
import { join } from 'node:path';
import { jobsFromEnv } from './jobs-env.ts';

/** A cell waits for the limiter, then boots; the deadline covers the queue in front of it. */
export const CELL_TEST_TIMEOUT_MS = 15 * 60_000;
/** First run on a fresh machine installs packages and downloads (or builds) kernels. */
const DEFAULT_PROVISION_TIMEOUT_MS = 15 * 60_000;

export interface BootingSuiteOptions {
  runs: readonly CellRun[];
  deps: MatrixDeps;
  resultsDir: string;
  /** What results.json records as the run's matrices and command. */
  matrices: readonly string[];
  command: readonly string[];
  provisionTimeoutMs?: number;
  /** Work before provisioning (e.g. writing the generated matrix file the results point to). */
  before?: () => Promise<void>;
  /** After results.json is written: more to print after the summary table. */
  after?: (results: CellResult[], wallMs: number) => Promise<string | void>;
}

export interface BootingSuite {
  jobs: number;
  /** Boots one run (waiting for the limiter) and keeps its result for results.json. */
  boot(run: CellRun): Promise<CellResult>;
}

/** Registers the suite's beforeAll/afterAll; call at the top level of a test file. */
export function bootingSuite(o: BootingSuiteOptions): BootingSuite {
  // An E820_JOBS that is not a whole number ≥ 1 stops the run (it used to mean unlimited: NaN).
  const jobs = process.env.E820_JOBS ? jobsFromEnv(process.env.E820_JOBS) : defaultJobs();
  const limit = createLimiter(jobs);
  const controller = new AbortController();
  const results = new Map<string, CellResult>();
  const startedAt = new Date();
  const t0 = performance.now();

  beforeAll(async () => {
    await o.before?.();
    // Once, before any boot, so the cells do not race to install the same things.
    await provisionAll(o.deps, o.runs, (m) => process.stderr.write(`provision: ${m}\n`));
  }, o.provisionTimeoutMs ?? DEFAULT_PROVISION_TIMEOUT_MS);

  afterAll(async () => {
    controller.abort(new Error('the test run ended'));
    const ordered = o.runs.map((r) => results.get(r.key) ?? notRunResult(r));
    const wallMs = Math.round(performance.now() - t0);
    await writeResults(
      o.resultsDir,
      { startedAt: startedAt.toISOString(), matrices: [...o.matrices], shard: null, jobs, command: [...o.command] },
      { results: ordered, interrupted: false, wallMs },
      true,
    );
    const more = await o.after?.(ordered.filter((r) => r.outcome !== 'not-run'), wallMs);
    process.stderr.write(`\n${summaryTable(ordered, wallMs, false)}\n${more ? `\n${more}\n` : ''}results: ${o.resultsDir}\n`);
  });

  return {
    jobs,
    async boot(run) {
      const result = await limit(() => runCell(run, o.deps, { signal: controller.signal, logsRoot: join(o.resultsDir, 'logs') }));
      results.set(run.key, result);
      return result;
    },
  };
}
