// `e820 run [matrix…] [--shard i/n] [--jobs N] [--results DIR] [--qemu V --seabios V --kernel V]`
// Boots every cell of the matrices, compares with the model, writes results.json + junit.xml,
// prints a summary. Exit: 0 all pass, 1 any fail, 2 any error (or interrupted).

import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { toolchainOf, type KernelFlavour, type Toolchain } from '../../../reference/toolchain.ts';
import { addBootBinaries } from '../../binaries.ts';
import { printable } from '../../errors.ts';
import { realDeps, type MatrixDeps } from '../../matrix/deps.ts';
import { ensureOwnDir, lockOutputDir, OutputDirError, prepareOutputDir } from '../../output-dir.ts';
import { againNote, cliInterrupt } from '../interrupt.ts';
import { DEFAULT_MATRIX, REPO_ROOT, matrixPath } from '../../matrix/paths.ts';
import { Progress } from '../../matrix/progress.ts';
import { summaryTable, writeResults, type RunInfo } from '../../matrix/reporters.ts';
import { groupDisagreements, renderDisagreements } from '../../matrix/disagreements.ts';
import { applyToRuns, matrixComponents, resolveUserComponents, withUserToolchainOptions, type UserToolchainFlags, userDepsOptions } from '../../user-toolchain/index.ts';
import { KERNEL_FLAVOUR_OPTION, kernelFlavourOf, withKernelFlavour } from '../../user-toolchain-flags.ts';
import { defaultJobs, notRunResult, runMatrix, type CellResult } from '../../matrix/runner.ts';
import { expandRuns, loadMatrix, parseShard, selectShard, withExpect, type Cell, type CellRun } from '../../matrix/schema.ts';
import { exitCodeOf } from '../../matrix/verdict.ts';
import { parseJobs, parseTimeout } from '../options.ts';
import { EXPECT_HELP, HOST_LA57_HELP, HOST_PHYS_BITS_HELP, HOST_VENDOR_HELP, hostOverridesOf, type HostFlags } from './predict.ts';
import { describeIntent, loadExpect } from '../../matrix/intent.ts';

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

/** Every cell's toolchains boot that kernel flavour (--kernel-flavour); unchanged when not given. */
export function withCellsFlavour(cells: readonly Cell[], flavour: KernelFlavour | undefined): Cell[] {
  return flavour === undefined ? [...cells] : cells.map((c) => ({ ...c, toolchains: c.toolchains.map((t) => withKernelFlavour(t, flavour)) }));
}

export function timestampDir(now = new Date()): string {
  return now.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
}

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

export interface RunOptions extends VersionFlags, HostFlags, UserToolchainFlags {
  shard?: string;
  jobs?: string;
  results?: string;
  timeout?: string;
  plain?: boolean;
  only?: string;
  /** `--expect FILE`: the declared intent of every cell (conflicts with a matrix's own `expect:`). */
  expect?: string;
}

export async function runCommand(matrices: string[], opts: RunOptions, deps?: MatrixDeps): Promise<number> {
  const files = (matrices.length ? matrices : [DEFAULT_MATRIX]).map(matrixPath);
  const cells: Cell[] = [];
  const flavour = kernelFlavourOf(opts);
  for (const f of files) cells.push(...withCellsFlavour(await loadMatrix(f), flavour));
  const override = toolchainOverride(opts);
  let runs = expandRuns(opts.expect !== undefined ? withExpect(cells, await loadExpect(opts.expect)) : cells, override && withKernelFlavour(override, flavour));
  // User components (flags, --toolchain FILE, the matrix's `toolchain:`): detected once, before
  // anything is written; each run's toolchain becomes the model's, with its provenance.
  const user = await resolveUserComponents(opts, await matrixComponents(cells));
  if (user !== null) runs = applyToRuns(runs, user);
  if (opts.only) {
    const re = new RegExp(opts.only);
    runs = runs.filter((r) => re.test(r.key));
    if (runs.length === 0) throw Object.assign(new Error(`--only ${JSON.stringify(opts.only)} matches no cell`), { exitCode: 2 });
  }
  const shard = opts.shard ? parseShard(opts.shard) : null;
  if (shard) runs = selectShard(runs, shard);
  const jobs = opts.jobs ? parseJobs(opts.jobs) : defaultJobs();
  const timeoutMs = opts.timeout !== undefined ? parseTimeout(opts.timeout) : undefined;
  const startedAt = new Date();
  const dir = resolve(opts.results ?? join(REPO_ROOT, 'results', timestampDir(startedAt)));
  const info: RunInfo = {
    startedAt: startedAt.toISOString(),
    matrices: files,
    shard,
    jobs,
    command: process.argv.slice(2),
  };

  // The results directory is proven usable, and taken for this run, before anything is booted:
  // a directory that cannot take the results used to be found only after the last cell.
  await prepareOutputDir(dir);
  await ensureOwnDir(join(dir, 'logs'));
  const releaseDir = await lockOutputDir(dir, `e820 ${info.command.join(' ')}`);
  try {
    await writeResults(dir, info, { results: runs.map(notRunResult), interrupted: false, wallMs: 0 }, false);
  } catch (err) {
    await releaseDir();
    throw new OutputDirError(dir, `results.json cannot be written (${(err as Error).message})`);
  }
  let d: MatrixDeps;
  try {
    d = deps ?? (await realDeps({ host: hostOverridesOf(opts), ...userDepsOptions(user) }));
  } catch (err) {
    await releaseDir();
    throw err;
  }
  const progress = new Progress({ total: runs.length, stream: process.stderr, ...(opts.plain ? { plain: true } : {}) });
  progress.note(`e820 run: ${runs.length} cells${shard ? ` (shard ${shard.index}/${shard.count})` : ''}, ${jobs} at a time → ${dir}`);
  for (const e of new Set(runs.flatMap((r) => (r.cell.expect ? [r.cell.expect] : [])))) {
    progress.note(`expect ${e.file}: ${describeIntent(e.intent).join('; ') || 'no change declared'}`);
  }
  for (const line of provenanceOfRuns(runs)) progress.note(`toolchain: ${line}`);

  // The invocation's one AbortSignal (SIGINT, SIGTERM, SIGHUP, parent gone): no new cells, the
  // running ones torn down, results written; a third request exits at once.
  const interrupt = cliInterrupt();
  interrupt.onStop((cause, n) => {
    if (n === 1) progress.note(`${cause}: no new cells; stopping the running ones (QEMU is torn down) and writing results…`);
    else if (n === 2) progress.note(againNote(cause));
  });

  try {
    await provisionAll(d, runs, (m) => progress.note(`provision: ${m}`), interrupt.signal);
    const partial: CellResult[] = [];
    const t0 = performance.now();
    let writing: Promise<void> = Promise.resolve();
    // A results write that fails mid-run (disk full) stops the run: booting cells whose results
    // cannot be kept would only lose them. The cause is reported and the exit status is 2.
    const writeFailed = new AbortController();
    let writeError: Error | null = null;
    const summary = await runMatrix(runs, d, {
      jobs,
      signal: AbortSignal.any([interrupt.signal, writeFailed.signal]),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      logsRoot: join(dir, 'logs'),
      onStart: (run) => progress.start(run),
      onProgress: (run, msg) => progress.progress(run, msg),
      onDone: (r) => {
        progress.finish(r);
        partial.push(r);
        // Results of finished cells hit the disk as they finish, so a hard kill loses little.
        const ordered = runs.map((run) => partial.find((p) => p.key === run.key)).filter((p): p is CellResult => p !== undefined);
        writing = writing
          .then(() => writeResults(dir, info, { results: ordered, interrupted: interrupt.signal.aborted, wallMs: Math.round(performance.now() - t0) }, false))
          .catch((err: unknown) => {
            if (writeError !== null) return;
            writeError = err instanceof Error ? err : new Error(String(err));
            progress.note(`cannot write results into ${dir} (${writeError.message}): no new cells; stopping the running ones`);
            writeFailed.abort(writeError);
          });
      },
    });
    await writing;
    try {
      // What exactly booted (sha256 and package of QEMU, SeaBIOS image, kernel, initramfs), for
      // results.json and the history's toolchain key: each file read once, after the boots.
      await addBootBinaries(summary.results);
      await writeResults(dir, info, summary, true);
    } catch (err) {
      writeError ??= err instanceof Error ? err : new Error(String(err));
    }
    if (writeError !== null) {
      progress.stop();
      process.stdout.write(`${summaryTable(summary.results, summary.wallMs, true)}\n`);
      throw new OutputDirError(dir, `writing the results failed mid-run (${(writeError as Error).message}); results.json holds the cells written before that; the table above lists every cell`, 'free space or fix the directory and run again');
    }
    progress.stop();
    // The history (harness/report/history.ts) is a convenience: a failure to append says so, and costs the run nothing.
    const historyNote = await appendRunHistory(dir);
    process.stdout.write(`${summaryTable(summary.results, summary.wallMs, summary.interrupted)}\n`);
    const grouped = groupDisagreements(summary.results);
    if (user !== null || grouped.disagreeing.length > 0) {
      const prov = provenanceOfRuns(runs);
      process.stdout.write(`\n${prov.map((l) => `toolchain: ${l}\n`).join('')}${renderDisagreements(grouped)}\n\n`);
    }
    process.stdout.write(`results: ${join(dir, 'results.json')}\njunit:   ${join(dir, 'junit.xml')}\nreport:  ${join(dir, 'report.html')}\n${historyNote}`);
    const failed = summary.results.filter((r) => r.verdict?.outcome === 'fail');
    if (failed.length > 0) {
      const first = failed[0]!;
      if (first.verdict?.outcome === 'fail') {
        process.stdout.write(`\nfirst failing cell, ${first.key} (${failed.length} failing in all; every diff is in results.json/junit.xml):\n${printable(first.verdict.first.diff)}\n`);
      }
    }
    return exitCodeOf(summary.results.map((r) => r.outcome));
  } finally {
    progress.stop();
    interrupt.release();
    await releaseDir();
  }
}

/** Appends the finished run in `dir` to the history database; the line to print about it. */
async function appendRunHistory(dir: string): Promise<string> {
  const { appendHistory, historyPath } = await import('../../report/history.ts');
  const db = historyPath(dir);
  if (db === null) return '';
  try {
    const results = JSON.parse(await readFile(join(dir, 'results.json'), 'utf8')) as Parameters<typeof appendHistory>[2];
    const n = await appendHistory(db, dir, results);
    // The report again, now with each cell's recent history beside its maps.
    const { historyOptions, writeReport } = await import('../../report/write.ts');
    const h = await historyOptions(db, results);
    await writeReport(dir, results, dir, h.options);
    return `history: ${db} (+${n} cells; e820 history)\n${h.note !== null ? `report: ${h.note}\n` : ''}`;
  } catch (err) {
    return `history: not appended to ${db}: ${(err as Error).message}\n`;
  }
}

/** The distinct provenance lines of the runs (user components), in run order. */
export function provenanceOfRuns(runs: readonly CellRun[]): string[] {
  return [...new Set(runs.flatMap((r) => r.provenance ?? []))];
}

export function register(program: Command): void {
  const cmd = program
    .command('run')
    .description('boot every cell of the matrices, compare with the model layer by layer, write results.json and junit.xml')
    .argument('[matrix...]', `matrix names (suites/matrix/<name>.yaml) or paths; default: ${DEFAULT_MATRIX}`)
    .option('--shard <i/n>', 'run only the i-th of n shards (round-robin by cell order)')
    .option('--jobs <N>', 'concurrent boots (default: number of cores)')
    .option('--results <DIR>', 'results directory (default: results/<timestamp>/)')
    .option('--qemu <V>', 'QEMU version for every cell (replaces the cells\' toolchains)')
    .option('--seabios <V>', 'SeaBIOS version for every cell')
    .option('--kernel <V>', 'Linux version (or point release, e.g. 5.10.262) for every cell')
    .option(...KERNEL_FLAVOUR_OPTION)
    .option('--timeout <SECONDS>', 'overall deadline of each boot (default 600; a boot silent for 60 s ends sooner; a cell\'s timeout: only lengthens it)')
    .option('--only <REGEX>', 'run only the cells whose key (matrix/id) matches')
    .option('--plain', 'plain progress lines even on a terminal')
    .option('--host-vendor <vendor>', HOST_VENDOR_HELP)
    .option('--host-phys-bits <N>', HOST_PHYS_BITS_HELP)
    .option('--host-la57 <on|off>', HOST_LA57_HELP)
    .option('--expect <FILE>', `${EXPECT_HELP}; for every cell (a matrix's own expect: conflicts)`);
  withUserToolchainOptions(cmd).action(async (matrices: string[], opts: RunOptions) => {
    process.exitCode = await runCommand(matrices, opts);
  });
}
