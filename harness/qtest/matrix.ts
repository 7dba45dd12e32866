// Many QEMU-layer checks: matrix cells (harness/matrix/schema.ts) or explore's generated
// configurations, each one QEMU process under qtest, `jobs` at a time. Tools are provisioned once
// per QEMU version (harness/capture.ts provisionToolchain, cached), kernels included (cached too).

import { availableParallelism, freemem } from 'node:os';
import { provisionToolchain } from '../capture.ts';
import { createLimiter } from '../matrix/runner.ts';
import { cellArgv, type CellRun } from '../matrix/schema.ts';
import type { Toolchain } from '../../reference/toolchain.ts';
import { checkQemuLayer, type QtestCellResult, type QtestTools } from './check.ts';

export interface QtestRunResult extends QtestCellResult {
  key: string;
}

export interface QtestRunSummary {
  results: QtestRunResult[];
  wallMs: number;
  jobs: number;
  counts: Record<'pass' | 'fail' | 'error' | 'not-modelled', number>;
}

/** What one QEMU held at -S occupies: ~63 MB resident at its high-water mark measured (7.2, -M q35 -m 8G, with the malloc tunables of session.ts), with room to spare. */
const QTEST_PROCESS_BYTES = 128 * 2 ** 20;

/**
 * QEMU processes at a time when --jobs is not given: twice the cores, as far as free memory
 * allows. A configuration costs ~30–35 ms of QEMU CPU (start-up and board init, docs/qemu-layer.md)
 * and ~4 ms of this process's, but about twice that in wall time (spawn, the pipe round trips,
 * teardown), so one process per core leaves the cores idle half the time.
 */
export function defaultQtestJobs(cores = availableParallelism(), free = freemem()): number {
  return Math.max(1, Math.min(2 * cores, Math.floor(free / QTEST_PROCESS_BYTES)));
}

/** Provisioned tools per toolchain, once (a failure is retried by the next caller). */
export function toolsProvider(provision: (t: Toolchain) => Promise<QtestTools> = provisionToolchain): (t: Toolchain) => Promise<QtestTools> {
  const cache = new Map<string, Promise<QtestTools>>();
  return (t) => {
    const key = JSON.stringify(t);
    let p = cache.get(key);
    if (p === undefined) {
      p = provision(t);
      p.catch(() => cache.delete(key));
      cache.set(key, p);
    }
    return p;
  };
}

export async function runQtestRuns(
  runs: readonly CellRun[],
  tools: (t: Toolchain) => Promise<QtestTools>,
  options: { jobs?: number; signal?: AbortSignal; onDone?: (r: QtestRunResult) => void } = {},
): Promise<QtestRunSummary> {
  const jobs = Math.max(1, Math.floor(options.jobs ?? defaultQtestJobs()));
  const limit = createLimiter(jobs);
  const t0 = performance.now();
  const results = await Promise.all(
    runs.map((run) =>
      limit(async (): Promise<QtestRunResult> => {
        const r = await checkQemuLayer(cellArgv(run.cell), run.toolchain, await tools(run.toolchain), options.signal ? { signal: options.signal } : {});
        const out = { ...r, key: run.key };
        options.onDone?.(out);
        return out;
      }),
    ),
  );
  const counts = { pass: 0, fail: 0, error: 0, 'not-modelled': 0 };
  for (const r of results) counts[r.result.outcome]++;
  return { results, wallMs: Math.round(performance.now() - t0), jobs, counts };
}
