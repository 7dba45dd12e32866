// The conformance matrix as vitest tests: one test per cell of the baseline, versions, kvm,
// libvirt, harmless, fallback, qboot and microvm matrices (or E820_MATRIX=name[,name…]), each booting real QEMU and asserting the model and the
// machine agree at every layer. A toolchain whose matrix names no `flavour:` boots the default
// kernel flavour, the minimal kernel (reference/toolchain.ts DEFAULT_KERNEL_FLAVOUR, as `e820
// run`); the cloud kernel is booted by suites/flavours.test.ts. Boots share one limiter (E820_JOBS, default: cores). A harness
// error FAILS the test with the harness's message. The one exception: a kvm cell on a host whose
// KVM probe says KVM is unavailable cannot run here; it is skipped with the probe's reason printed
// (and kept as an error in results.json), never passed. The run also leaves results.json + junit.xml
// under results/vitest-<timestamp>/ (or E820_RESULTS).

import { join } from 'node:path';
import { describe, test } from 'vitest';
import { timestampDir } from '../harness/cli/options.ts';
import { realDeps } from '../harness/matrix/deps.ts';
import { REPO_ROOT, matrixPath } from '../harness/matrix/paths.ts';
import { expandRuns, loadMatrix, withDefaultKernelFlavour, type Cell } from '../harness/matrix/schema.ts';
import { bootingSuite, CELL_TEST_TIMEOUT_MS } from './booting-suite.ts';
import { expectCellPassed, skipWithReason } from './cell-verdict.ts';

const matrices = (process.env.E820_MATRIX ?? 'baseline,versions,kvm,libvirt,harmless,fallback,qboot,microvm').split(',').filter(Boolean);
const cells: Cell[] = [];
for (const m of matrices) cells.push(...withDefaultKernelFlavour(await loadMatrix(matrixPath(m))));
const runs = expandRuns(cells);
const resultsDir = process.env.E820_RESULTS ?? join(REPO_ROOT, 'results', `vitest-${timestampDir(new Date())}`);
// A cold machine builds the minimal kernel of every series the runs boot before the first boot
// (four series: 10-60 min each on two cores, docs/minimal-kernel.md; .ci/run builds them first).
const PROVISION_TIMEOUT_MS = 180 * 60_000;
const suite = bootingSuite({ runs, deps: await realDeps(), resultsDir, matrices, command: ['vitest', 'suites/conformance.test.ts'], provisionTimeoutMs: PROVISION_TIMEOUT_MS });

describe.concurrent(`conformance: ${matrices.join(', ')} (${runs.length} cells, ${suite.jobs} at a time)`, () => {
  for (const run of runs) {
    test(run.key, async (ctx) => {
      const result = await suite.boot(run);
      const v = result.verdict;
      if (v?.outcome === 'error' && v.error.kind === 'KvmUnavailable') skipWithReason(ctx, run.key, `cannot run on this machine: ${v.error.message}`);
      expectCellPassed(run.key, result);
    }, CELL_TEST_TIMEOUT_MS);
  }
});
