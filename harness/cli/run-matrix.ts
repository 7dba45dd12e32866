// The matrix run behind `e820 run` and `e820 explore`: load the matrices, apply the version,
// expect and user-component flags, take the results directory, provision, boot every cell with
// the runner, write results.json, junit.xml and report.html, print the summary. Exit: 0 all pass,
// 1 any fail, 2 any error (or interrupted). Commands share it instead of importing each other.

import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { KernelFlavour } from '../../reference/toolchain.ts';
import { addBootBinaries } from '../binaries.ts';
import { printable } from '../errors.ts';
import { realDeps, type MatrixDeps } from '../matrix/deps.ts';
import { ensureOwnDir, lockOutputDir, OutputDirError, prepareOutputDir } from '../output-dir.ts';
import { againNote, cliInterrupt } from './interrupt.ts';
import { DEFAULT_MATRIX, REPO_ROOT, matrixPath } from '../matrix/paths.ts';
import { Progress } from '../matrix/progress.ts';
import { summaryTable, writeResults, type RunInfo } from '../matrix/reporters.ts';
import { groupDisagreements, renderDisagreements } from '../matrix/disagreements.ts';
import { applyToRuns, matrixComponents, resolveUserComponents, type UserToolchainFlags, userDepsOptions } from '../user-toolchain/index.ts';
import { givenKernelFlavour, kernelFlavourOf, withKernelFlavour } from '../user-toolchain-flags.ts';
import { defaultJobs, notRunResult, runMatrix, type CellResult } from '../matrix/runner.ts';
import { expandRuns, loadMatrix, parseShard, selectShard, withDefaultKernelFlavour, withExpect, type Cell, type CellRun } from '../matrix/schema.ts';
import { exitCodeOf } from '../matrix/verdict.ts';
import { hostOverridesOf, parseJobs, parseTimeout, selectOnly, timestampDir, toolchainOverride, type HostFlags, type VersionFlags } from './options.ts';
import { provisionAll } from '../matrix/provision-runs.ts';
import { describeIntent, loadExpect } from '../matrix/intent.ts';
import { closeRemotes, connectRemotes, parseHostJobs, type SshFlags } from '../host/connect.ts';
import { localHost } from '../host/local.ts';
import { HostSlots } from '../host/slots.ts';
import type { Host } from '../host/types.ts';

/** Every cell's toolchains boot that kernel flavour (--kernel-flavour); unchanged when not given. */
export function withCellsFlavour(cells: readonly Cell[], flavour: KernelFlavour | undefined): Cell[] {
  return flavour === undefined ? [...cells] : cells.map((c) => ({ ...c, toolchains: c.toolchains.map((t) => withKernelFlavour(t, flavour)) }));
}

export interface RunOptions extends VersionFlags, HostFlags, UserToolchainFlags, SshFlags {
  /** `--host ssh://…` (repeatable): boot cells on these machines too (harness/host/slots.ts). */
  host?: string[];
  /** `--host-jobs N`: boots at once on each of them (default 1). */
  hostJobs?: string;
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
  // --kernel-flavour overrides every toolchain; without it, a toolchain whose matrix names no
  // flavour boots the default one (withDefaultKernelFlavour) — unless --bzimage names the user's
  // own kernel (kernelFlavourOf is then undefined), which no flavour describes.
  const given = givenKernelFlavour(opts);
  const flavour = kernelFlavourOf(opts);
  for (const f of files) {
    const loaded = await loadMatrix(f);
    cells.push(...(given !== undefined ? withCellsFlavour(loaded, given) : flavour !== undefined ? withDefaultKernelFlavour(loaded) : loaded));
  }
  const override = toolchainOverride(opts);
  let runs = expandRuns(opts.expect !== undefined ? withExpect(cells, await loadExpect(opts.expect)) : cells, override && withKernelFlavour(override, flavour));
  // User components (flags, --toolchain FILE, the matrix's `toolchain:`): detected once, before
  // anything is written; each run's toolchain becomes the model's, with its provenance.
  const user = await resolveUserComponents(opts, await matrixComponents(cells));
  if (user !== null) runs = applyToRuns(runs, user);
  if (opts.only) runs = selectOnly(opts.only, runs, (r) => [r.key]);
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
  // Remote hosts are connected (host keys verified) before anything boots; cells then take a
  // slot here or there, and the runner runs as many at once as there are slots.
  let remotes: Host[] = [];
  let slots: HostSlots | undefined;
  try {
    remotes = await connectRemotes(opts.host ?? [], opts);
    if (remotes.length > 0) slots = new HostSlots([{ host: localHost, jobs }, ...remotes.map((host) => ({ host, jobs: parseHostJobs(opts.hostJobs) }))]);
    d = deps ?? (await realDeps({ host: hostOverridesOf(opts), ...userDepsOptions(user), ...(slots !== undefined ? { slots } : {}) }));
  } catch (err) {
    await closeRemotes(remotes);
    await releaseDir();
    throw err;
  }
  const progress = new Progress({ total: runs.length, stream: process.stderr, ...(opts.plain ? { plain: true } : {}) });
  const where = slots === undefined ? `${jobs} at a time` : `${slots.size} at a time (${jobs} here, ${parseHostJobs(opts.hostJobs)} on each of ${remotes.map((h) => h.label).join(', ')})`;
  progress.note(`e820 run: ${runs.length} cells${shard ? ` (shard ${shard.index}/${shard.count})` : ''}, ${where} → ${dir}`);
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
      jobs: slots?.size ?? jobs,
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
    if (slots !== undefined) progress.note(`boots per host: ${[...slots.taken].map(([h, n]) => `${h} ${n}`).join(', ')}`);
    await closeRemotes(remotes);
    await releaseDir();
  }
}

/** Appends the finished run in `dir` to the history database; the line to print about it. */
async function appendRunHistory(dir: string): Promise<string> {
  const { appendHistory, historyPath } = await import('../report/history.ts');
  const db = historyPath(dir);
  if (db === null) return '';
  try {
    const results = JSON.parse(await readFile(join(dir, 'results.json'), 'utf8')) as Parameters<typeof appendHistory>[2];
    const n = await appendHistory(db, dir, results);
    // The report again, now with each cell's recent history beside its maps.
    const { historyOptions, writeReport } = await import('../report/write.ts');
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

