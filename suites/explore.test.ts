// Randomized differential conformance as vitest tests: E820_EXPLORE_COUNT (default 10) cells from
// the explore generator with seed E820_EXPLORE_SEED (default 1) on E820_EXPLORE_TOOLCHAIN (a
// toolchain spelling as `e820 explore --toolchain` takes; default the baseline), one test per
// cell, each booting real QEMU through the matrix runner exactly like suites/conformance.test.ts:
// a mismatch or a harness error FAILS the test (never a skip). Cells the model refuses as not
// modelled are skipped by name, with the model's reason, and counted in the summary. A cell the
// model says QEMU refuses passes when QEMU refuses with the same words. The run leaves
// explore.yaml, results.json, junit.xml and explore.json under results/vitest-explore-<timestamp>/
// (or E820_RESULTS); any cell replays with `e820 explore --replay <dir>/explore.yaml --only ID`.

import { jobsFromEnv } from './jobs-env.ts';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { BASELINE_TOOLCHAIN } from '../reference/toolchain.ts';
import { timestampDir } from '../harness/cli/options.ts';
import { provisionAll } from '../harness/matrix/provision-runs.ts';
import { parseToolchainSpec } from '../harness/drift/spec.ts';
import { claimsOf, exploreCellsAsMatrix, exploreDeps, exploreMatrixText, formatSummary, summarize } from '../harness/explore/explore.ts';
import { generateCells } from '../harness/explore/generate.ts';
import { parseSeed } from '../harness/explore/prng.ts';
import { realDeps } from '../harness/matrix/deps.ts';
import { REPO_ROOT } from '../harness/matrix/paths.ts';
import { summaryTable, writeResults } from '../harness/matrix/reporters.ts';
import { createLimiter, defaultJobs, notRunResult, runCell, type CellResult } from '../harness/matrix/runner.ts';
import { expandRuns } from '../harness/matrix/schema.ts';
import { expectCellPassed, skipWithReason } from './cell-verdict.ts';

/** A cell waits for the limiter, then boots; the deadline covers the queue in front of it. */
const CELL_TEST_TIMEOUT_MS = 15 * 60_000;
/** First run on a fresh machine installs packages and downloads the kernel. */
const PROVISION_TIMEOUT_MS = 15 * 60_000;
const DEFAULT_SEED = 1;
const DEFAULT_COUNT = 10;

const seed = process.env.E820_EXPLORE_SEED ? parseSeed(process.env.E820_EXPLORE_SEED) : DEFAULT_SEED;
const count = process.env.E820_EXPLORE_COUNT ? Number(process.env.E820_EXPLORE_COUNT) : DEFAULT_COUNT;
const toolchain = process.env.E820_EXPLORE_TOOLCHAIN ? parseToolchainSpec(process.env.E820_EXPLORE_TOOLCHAIN).toolchain : BASELINE_TOOLCHAIN;
const generated = generateCells({ seed, count, toolchain });
const info = { seed, toolchain, count };
const startedAt = new Date();
const resultsDir = process.env.E820_RESULTS ?? join(REPO_ROOT, 'results', `vitest-explore-${timestampDir(startedAt)}`);
const matrixFile = join(resultsDir, 'explore.yaml');
const cells = exploreCellsAsMatrix(generated, info, matrixFile);
const runs = expandRuns(cells);
const base = await realDeps();
const deps = exploreDeps(base);
const claims = claimsOf(cells, toolchain, base);
// An E820_JOBS that is not a whole number ≥ 1 stops the run (it used to mean unlimited: NaN).
const jobs = process.env.E820_JOBS ? jobsFromEnv(process.env.E820_JOBS) : defaultJobs();
const limit = createLimiter(jobs);
const controller = new AbortController();
const results = new Map<string, CellResult>();
const t0 = performance.now();

beforeAll(async () => {
  await mkdir(resultsDir, { recursive: true });
  await writeFile(matrixFile, exploreMatrixText(generated, info));
  await provisionAll(deps, runs, () => undefined);
}, PROVISION_TIMEOUT_MS);

afterAll(async () => {
  controller.abort(new Error('the test run ended'));
  const ordered = runs.map((r) => results.get(r.key) ?? notRunResult(r));
  const wallMs = Math.round(performance.now() - t0);
  await writeResults(
    resultsDir,
    { startedAt: startedAt.toISOString(), matrices: [matrixFile], shard: null, jobs, command: ['vitest', 'suites/explore.test.ts', `seed=${seed}`, `count=${count}`] },
    { results: ordered, interrupted: false, wallMs },
    true,
  );
  const summary = summarize({
    seed,
    toolchain,
    cells,
    results: ordered.filter((r) => r.outcome !== 'not-run'),
    claims,
    families: new Map(generated.map((c) => [c.id, c.families])),
    matrixFile,
    wallMs,
  });
  await writeFile(join(resultsDir, 'explore.json'), `${JSON.stringify(summary, null, 2)}\n`);
  process.stderr.write(`\n${summaryTable(ordered, wallMs, false)}\n\n${formatSummary(summary)}\nresults: ${resultsDir}\n`);
});

describe.concurrent(`explore: seed ${seed}, ${count} random cells on ${toolchain.qemu}/${toolchain.seabios}/${toolchain.kernel} (${jobs} at a time)`, () => {
  for (const run of runs) {
    const claim = claims.get(run.cell.id);
    test(run.key, async (ctx) => {
      // Counted and named, never booted: the model makes no claim about this configuration.
      if (claim?.kind === 'not-modelled') skipWithReason(ctx, run.key, `not modelled: ${claim.message.split('\n')[0]}`);
      const result = await limit(() => runCell(run, deps, { signal: controller.signal, logsRoot: join(resultsDir, 'logs') }));
      results.set(run.key, result);
      expectCellPassed(run.key, result, `replay: npx e820 explore --replay ${matrixFile} --only '^${run.cell.id}$'`);
    }, CELL_TEST_TIMEOUT_MS);
  }
});
