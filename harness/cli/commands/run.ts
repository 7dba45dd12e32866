// `e820 run [matrix…] [--shard i/n] [--jobs N] [--results DIR] [--qemu V --seabios V --kernel V]`
// Boots every cell of the matrices, compares with the model, writes results.json + junit.xml,
// prints a summary. Exit: 0 all pass, 1 any fail, 2 any error (or interrupted).

import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import { toolchainOf, type Toolchain } from '../../../reference/toolchain.ts';
import { realDeps, type MatrixDeps } from '../../matrix/deps.ts';
import { DEFAULT_MATRIX, REPO_ROOT, matrixPath } from '../../matrix/paths.ts';
import { Progress } from '../../matrix/progress.ts';
import { summaryTable, writeResults, type RunInfo } from '../../matrix/reporters.ts';
import { defaultJobs, runMatrix, type CellResult } from '../../matrix/runner.ts';
import { expandRuns, loadMatrix, parseShard, selectShard, type Cell, type CellRun } from '../../matrix/schema.ts';
import { exitCodeOf } from '../../matrix/verdict.ts';
import { parseTimeout } from './capture.ts';
import { HOST_LA57_HELP, HOST_PHYS_BITS_HELP, HOST_VENDOR_HELP, hostOverridesOf, type HostFlags } from './predict.ts';

export interface VersionFlags {
  qemu?: string;
  seabios?: string;
  kernel?: string;
}

/** --qemu/--seabios/--kernel replace every cell's toolchains; unset flags keep the baseline's. */
export function toolchainOverride(flags: VersionFlags): Toolchain | undefined {
  if (flags.qemu === undefined && flags.seabios === undefined && flags.kernel === undefined) return undefined;
  return toolchainOf(flags);
}

export function timestampDir(now = new Date()): string {
  return now.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
}

export function parseJobs(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw Object.assign(new Error(`--jobs ${JSON.stringify(text)}: expected a whole number ≥ 1`), { exitCode: 2 });
  return n;
}

/** Provisions each distinct toolchain once (when the harness offers it). */
export async function provisionAll(deps: MatrixDeps, runs: readonly CellRun[], say: (m: string) => void): Promise<void> {
  if (!deps.provision) return;
  const seen = new Set<string>();
  for (const { toolchain } of runs) {
    const key = JSON.stringify(toolchain);
    if (seen.has(key)) continue;
    seen.add(key);
    await deps.provision(toolchain, say);
  }
}

export interface RunOptions extends VersionFlags, HostFlags {
  shard?: string;
  jobs?: string;
  results?: string;
  timeout?: string;
  plain?: boolean;
  only?: string;
}

export async function runCommand(matrices: string[], opts: RunOptions, deps?: MatrixDeps): Promise<number> {
  const files = (matrices.length ? matrices : [DEFAULT_MATRIX]).map(matrixPath);
  const cells: Cell[] = [];
  for (const f of files) cells.push(...(await loadMatrix(f)));
  let runs = expandRuns(cells, toolchainOverride(opts));
  if (opts.only) {
    const re = new RegExp(opts.only);
    runs = runs.filter((r) => re.test(r.key));
    if (runs.length === 0) throw Object.assign(new Error(`--only ${JSON.stringify(opts.only)} matches no cell`), { exitCode: 2 });
  }
  const shard = opts.shard ? parseShard(opts.shard) : null;
  if (shard) runs = selectShard(runs, shard);
  const jobs = opts.jobs ? parseJobs(opts.jobs) : defaultJobs();
  const startedAt = new Date();
  const dir = resolve(opts.results ?? join(REPO_ROOT, 'results', timestampDir(startedAt)));
  const info: RunInfo = {
    startedAt: startedAt.toISOString(),
    matrices: files,
    shard,
    jobs,
    command: process.argv.slice(2),
  };

  const d = deps ?? (await realDeps({ host: hostOverridesOf(opts) }));
  const progress = new Progress({ total: runs.length, stream: process.stderr, ...(opts.plain ? { plain: true } : {}) });
  progress.note(`e820 run: ${runs.length} cells${shard ? ` (shard ${shard.index}/${shard.count})` : ''}, ${jobs} at a time → ${dir}`);

  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = (): void => {
    interrupts++;
    if (interrupts === 1) {
      progress.note('SIGINT: no new cells; stopping the running ones (QEMU is torn down) and writing results…');
      controller.abort(new Error('interrupted (SIGINT)'));
    } else if (interrupts === 2) progress.note('SIGINT again: still tearing down QEMU, please wait (a third one exits at once)');
    else {
      // Last resort: the teardown is stuck. Finished cells are already on disk (written per cell).
      process.exit(130);
    }
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);

  try {
    await provisionAll(d, runs, (m) => progress.note(`provision: ${m}`));
    const partial: CellResult[] = [];
    const t0 = performance.now();
    let writing: Promise<void> = Promise.resolve();
    const summary = await runMatrix(runs, d, {
      jobs,
      signal: controller.signal,
      ...(opts.timeout ? { timeoutMs: parseTimeout(opts.timeout) } : {}),
      logsRoot: join(dir, 'logs'),
      onStart: (run) => progress.start(run),
      onProgress: (run, msg) => progress.progress(run, msg),
      onDone: (r) => {
        progress.finish(r);
        partial.push(r);
        // Results of finished cells hit the disk as they finish, so a hard kill loses little.
        const ordered = runs.map((run) => partial.find((p) => p.key === run.key)).filter((p): p is CellResult => p !== undefined);
        writing = writing.then(() => writeResults(dir, info, { results: ordered, interrupted: controller.signal.aborted, wallMs: Math.round(performance.now() - t0) }, false)).catch(() => undefined);
      },
    });
    await writing;
    await writeResults(dir, info, summary, true);
    progress.stop();
    process.stdout.write(`${summaryTable(summary.results, summary.wallMs, summary.interrupted)}\n`);
    process.stdout.write(`results: ${join(dir, 'results.json')}\njunit:   ${join(dir, 'junit.xml')}\n`);
    const failed = summary.results.filter((r) => r.verdict?.outcome === 'fail');
    if (failed.length > 0) {
      const first = failed[0]!;
      if (first.verdict?.outcome === 'fail') {
        process.stdout.write(`\nfirst failing cell, ${first.key} (${failed.length} failing in all; every diff is in results.json/junit.xml):\n${first.verdict.first.diff}\n`);
      }
    }
    return exitCodeOf(summary.results.map((r) => r.outcome));
  } finally {
    progress.stop();
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
}

export function register(program: Command): void {
  program
    .command('run')
    .description('boot every cell of the matrices, compare with the model layer by layer, write results.json and junit.xml')
    .argument('[matrix...]', `matrix names (suites/matrix/<name>.yaml) or paths; default: ${DEFAULT_MATRIX}`)
    .option('--shard <i/n>', 'run only the i-th of n shards (round-robin by cell order)')
    .option('--jobs <N>', 'concurrent boots (default: number of cores)')
    .option('--results <DIR>', 'results directory (default: results/<timestamp>/)')
    .option('--qemu <V>', 'QEMU version for every cell (replaces the cells\' toolchains)')
    .option('--seabios <V>', 'SeaBIOS version for every cell')
    .option('--kernel <V>', 'Linux version (or point release, e.g. 5.10.262) for every cell')
    .option('--timeout <SECONDS>', 'per-boot deadline (default: the harness\'s)')
    .option('--only <REGEX>', 'run only the cells whose key (matrix/id) matches')
    .option('--plain', 'plain progress lines even on a terminal')
    .option('--host-vendor <vendor>', HOST_VENDOR_HELP)
    .option('--host-phys-bits <N>', HOST_PHYS_BITS_HELP)
    .option('--host-la57 <on|off>', HOST_LA57_HELP)
    .action(async (matrices: string[], opts: RunOptions) => {
      process.exitCode = await runCommand(matrices, opts);
    });
}
