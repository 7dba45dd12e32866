// Randomized differential conformance as vitest tests: E820_EXPLORE_COUNT (default 10) cells from
// the explore generator with seed E820_EXPLORE_SEED (default 1) on E820_EXPLORE_TOOLCHAIN (a
// toolchain spelling as `e820 explore --toolchain` takes; default the baseline), one test per
// cell, each booting real QEMU through the matrix runner exactly like suites/conformance.test.ts:
// a mismatch or a harness error FAILS the test (never a skip). Cells the model refuses as not
// modelled are skipped by name, with the model's reason, and counted in the summary. A cell the
// model says QEMU refuses passes when QEMU refuses with the same words. The run leaves
// explore.yaml, results.json, junit.xml and explore.json under results/vitest-explore-<timestamp>/
// (or E820_RESULTS); any cell replays with `e820 explore --replay <dir>/explore.yaml --only ID`.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'vitest';
import { BASELINE_TOOLCHAIN } from '../reference/toolchain.ts';
import { timestampDir } from '../harness/cli/options.ts';
import { parseToolchainSpec } from '../harness/drift/spec.ts';
import { claimsOf, exploreCellsAsMatrix, exploreDeps, exploreMatrixText, formatSummary, summarize } from '../harness/explore/explore.ts';
import { generateCells } from '../harness/explore/generate.ts';
import { parseSeed } from '../harness/explore/prng.ts';
import { realDeps } from '../harness/matrix/deps.ts';
import { REPO_ROOT } from '../harness/matrix/paths.ts';
import { expandRuns } from '../harness/matrix/schema.ts';
import { bootingSuite, CELL_TEST_TIMEOUT_MS } from './booting-suite.ts';
import { expectCellPassed, skipWithReason } from './cell-verdict.ts';

const DEFAULT_SEED = 1;
const DEFAULT_COUNT = 10;

const seed = process.env.E820_EXPLORE_SEED ? parseSeed(process.env.E820_EXPLORE_SEED) : DEFAULT_SEED;
const count = process.env.E820_EXPLORE_COUNT ? Number(process.env.E820_EXPLORE_COUNT) : DEFAULT_COUNT;
const toolchain = process.env.E820_EXPLORE_TOOLCHAIN ? parseToolchainSpec(process.env.E820_EXPLORE_TOOLCHAIN).toolchain : BASELINE_TOOLCHAIN;
const generated = generateCells({ seed, count, toolchain });
const info = { seed, toolchain, count };
const resultsDir = process.env.E820_RESULTS ?? join(REPO_ROOT, 'results', `vitest-explore-${timestampDir(new Date())}`);
const matrixFile = join(resultsDir, 'explore.yaml');
const cells = exploreCellsAsMatrix(generated, info, matrixFile);
const runs = expandRuns(cells);
const base = await realDeps();
const claims = claimsOf(cells, toolchain, base);
const suite = bootingSuite({
  runs,
  deps: exploreDeps(base),
  resultsDir,
  matrices: [matrixFile],
  command: ['vitest', 'suites/explore.test.ts', `seed=${seed}`, `count=${count}`],
  before: async () => {
    await mkdir(resultsDir, { recursive: true });
    await writeFile(matrixFile, exploreMatrixText(generated, info));
  },
  after: async (results, wallMs) => {
    const summary = summarize({ seed, toolchain, cells, results, claims, families: new Map(generated.map((c) => [c.id, c.families])), matrixFile, wallMs });
    await writeFile(join(resultsDir, 'explore.json'), `${JSON.stringify(summary, null, 2)}\n`);
    return formatSummary(summary);
  },
});

describe.concurrent(`explore: seed ${seed}, ${count} random cells on ${toolchain.qemu}/${toolchain.seabios}/${toolchain.kernel} (${suite.jobs} at a time)`, () => {
  for (const run of runs) {
    const claim = claims.get(run.cell.id);
    test(run.key, async (ctx) => {
      // Counted and named, never booted: the model makes no claim about this configuration.
      if (claim?.kind === 'not-modelled') skipWithReason(ctx, run.key, `not modelled: ${claim.message.split('\n')[0]}`);
      const result = await suite.boot(run);
      expectCellPassed(run.key, result, `replay: npx e820 explore --replay ${matrixFile} --only '^${run.cell.id}$'`);
    }, CELL_TEST_TIMEOUT_MS);
  }
});
