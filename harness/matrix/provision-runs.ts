// Provisioning before a run: each distinct toolchain of the runs once, through the matrix deps.
// `e820 run`, `check`, `explore`, `drift --verify` and the booting suites share it.

import type { MatrixDeps } from './deps.ts';
import type { CellRun } from './schema.ts';

/**
 * Provisions each distinct toolchain once (when the harness offers it). `signal` reaches apt:
 * an interrupt kills it and no further toolchain starts (the promise rejects with its reason).
 */
export async function provisionAll(deps: MatrixDeps, runs: readonly CellRun[], say: (m: string) => void, signal?: AbortSignal): Promise<void> {
  if (!deps.provision) return;
  const seen = new Set<string>();
  for (const { toolchain } of runs) {
    signal?.throwIfAborted();
    const key = JSON.stringify(toolchain);
    if (seen.has(key)) continue;
    seen.add(key);
    await deps.provision(toolchain, say, signal);
  }
  signal?.throwIfAborted();
}

