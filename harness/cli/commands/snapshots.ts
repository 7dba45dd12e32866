// `e820 snapshots update [matrix…]` writes what the model predicts now beside each snapshot that
// differs (suites/snapshots/<matrix>/<cell>.txt.new); `e820 snapshots review` shows each diff and
// accepts or rejects it; `e820 snapshots check [matrix…]` reports which differ, which are orphaned
// (no cell writes them) and which await review. Update and check take user components
// (--qemu-binary, --bios…: their versions pick the profiles). Update and review refuse to run in
// CI: snapshots change only by a person reviewing the diff and committing it.

import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { realDeps, type MatrixDeps } from '../../matrix/deps.ts';
import { DEFAULT_MATRIX, MATRIX_ROOT, REPO_ROOT, SNAPSHOT_ROOT, matrixPath } from '../../matrix/paths.ts';
import { expandRuns, loadMatrix, type Cell, type CellRun } from '../../matrix/schema.ts';
import { applyToRuns, matrixComponents, resolveUserComponents, withUserToolchainOptions, type UserToolchain, type UserToolchainFlags, userDepsOptions } from '../../user-toolchain/index.ts';
import {
  acceptPending,
  checkSnapshots,
  MODEL_LINE_PREFIX,
  orphanSnapshots,
  PENDING_SUFFIX,
  pendingSnapshots,
  rejectPending,
  snapshotOfPending,
  updateSnapshots,
  withoutModelLine,
} from '../../matrix/snapshot.ts';
import { diffLines, renderDiff } from '../../matrix/diff.ts';

/**
 * The runs of the matrices; under user components (flags, --toolchain FILE, the matrices'
 * `toolchain:`) each run's toolchain is the model's for them (harness/user-toolchain.ts), and the
 * model predicts with the user SeaBIOS image's variant. Snapshots only predict: nothing is provisioned.
 */
async function runsOf(matrices: string[], flags: UserToolchainFlags): Promise<{ runs: CellRun[]; user: UserToolchain | null }> {
  const cells: Cell[] = [];
  for (const m of matrices.length ? matrices : [DEFAULT_MATRIX]) cells.push(...(await loadMatrix(matrixPath(m))));
  const user = await resolveUserComponents(flags, await matrixComponents(cells));
  if (user === null) return { runs: expandRuns(cells), user };
  const runs = applyToRuns(expandRuns(cells), user);
  for (const l of new Set(runs.flatMap((r) => r.provenance ?? []))) process.stderr.write(`toolchain: ${l}\n`);
  return { runs, user };
}

const depsFor = async (user: UserToolchain | null): Promise<MatrixDeps> => realDeps(userDepsOptions(user));

export function inCi(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.CI === 'true' || env.CI === '1';
}

export async function snapshotsUpdate(matrices: string[], deps?: MatrixDeps, flags: UserToolchainFlags = {}, root = SNAPSHOT_ROOT): Promise<number> {
  if (inCi()) {
    process.stderr.write('e820 snapshots update: refusing to run with CI=true — snapshots are updated by a person and reviewed as a diff\n');
    return 2;
  }
  const { runs, user } = await runsOf(matrices, flags);
  const r = await updateSnapshots(runs, deps ?? (await depsFor(user)), root);
  if (r.errors.length) {
    process.stderr.write(`nothing written; the model could not predict:\n${r.errors.map((e) => `  ${e}`).join('\n')}\n`);
    return 2;
  }
  const lines = [
    `${r.pending.length} pending (written beside the snapshot as ${PENDING_SUFFIX}), ${r.unchanged} unchanged${r.withdrawn.length ? `, ${r.withdrawn.length} pending withdrawn (the model matches the snapshot again)` : ''}`,
    ...r.pending.map((p) => `  pending ${relative(REPO_ROOT, p)}`),
    ...r.orphans.map((p) => `  orphan  ${relative(REPO_ROOT, p)} (no cell writes it)`),
  ];
  if (r.pending.length > 0 || r.orphans.length > 0) lines.push('review them: e820 snapshots review (then commit the moved snapshots on their own, saying why the model changed)');
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

export async function snapshotsCheck(matrices: string[], deps?: MatrixDeps, flags: UserToolchainFlags = {}, root = SNAPSHOT_ROOT): Promise<number> {
  const { runs, user } = await runsOf(matrices, flags);
  const checks = await checkSnapshots(runs, deps ?? (await depsFor(user)), root);
  const orphans = await orphanSnapshots(runs, root);
  const pending = await pendingSnapshots(root, [...new Set(runs.map((r) => r.cell.matrix))]);
  let bad = 0;
  for (const c of checks) {
    if (c.status === 'same') continue;
    bad++;
    const where = relative(REPO_ROOT, c.path);
    if (c.status === 'missing') process.stdout.write(`MISSING ${where}\n`);
    else if (c.status === 'error') process.stdout.write(`ERROR   ${c.run.key}: ${c.error}\n`);
    else process.stdout.write(`CHANGED ${where}\n${snapshotDiff(where, c.expected!, c.actual!)}\n`);
  }
  for (const o of orphans) process.stdout.write(`ORPHAN  ${relative(REPO_ROOT, o)} (no cell of its matrix writes it)\n`);
  for (const p of pending) process.stdout.write(`PENDING ${relative(REPO_ROOT, p)} (not reviewed yet)\n`);
  const failed = bad + orphans.length;
  process.stdout.write(
    `${checks.length - bad}/${checks.length} snapshots match${orphans.length ? `, ${orphans.length} orphaned` : ''}${pending.length ? `, ${pending.length} pending review` : ''}` +
      `${failed ? ' — run `e820 snapshots update`, then `e820 snapshots review`' : ''}\n`,
  );
  return failed ? 1 : 0;
}

function snapshotDiff(where: string, before: string, after: string): string {
  return renderDiff(diffLines(before.split('\n'), after.split('\n')), { expected: `${where} (snapshot)`, observed: `${where} (model now)` });
}

export interface ReviewOptions {
  acceptAll?: boolean;
  rejectAll?: boolean;
}

/** How review asks about one change: a terminal prompt, or the same answer for all. */
export type ReviewAnswer = 'accept' | 'reject' | 'skip' | 'quit';
export type Ask = (question: string) => Promise<ReviewAnswer>;

/**
 * Shows each pending snapshot's diff (and each orphan) and accepts or rejects it. Accepting a
 * pending file makes it the snapshot; rejecting removes it. Accepting an orphan removes it;
 * rejecting keeps it. Without a terminal, it refuses unless --accept-all or --reject-all says what to do.
 */
export async function snapshotsReview(matrices: string[], opts: ReviewOptions = {}, root = SNAPSHOT_ROOT, ask?: Ask): Promise<number> {
  if (opts.acceptAll && opts.rejectAll) {
    process.stderr.write('e820 snapshots review: --accept-all and --reject-all contradict each other\n');
    return 2;
  }
  if (inCi() && !opts.rejectAll) {
    process.stderr.write('e820 snapshots review: refusing to accept snapshots with CI=true — snapshots are reviewed by a person\n');
    return 2;
  }
  const all = opts.acceptAll ? 'accept' : opts.rejectAll ? 'reject' : null;
  if (all === null && ask === undefined && !(process.stdin.isTTY && process.stdout.isTTY)) {
    process.stderr.write(
      'e820 snapshots review: no terminal to ask about each change. In a script, read `e820 snapshots check` and pass --accept-all or --reject-all\n',
    );
    return 2;
  }
  const names = matrices.length > 0 ? matrices : await snapshotMatrices(root);
  const pending = await pendingSnapshots(root, matrices.length > 0 ? names.map(matrixName) : undefined);
  const orphans: string[] = [];
  for (const m of names) orphans.push(...(await orphanSnapshots(expandRuns(await loadMatrix(matrixPath(m))), root)));
  if (pending.length === 0 && orphans.length === 0) {
    process.stdout.write('nothing to review: no pending snapshot, no orphan\n');
    return 0;
  }
  const prompt: Ask & { close?: () => void } = ask ?? terminalAsk();
  const counts = { accepted: 0, rejected: 0, skipped: 0 };
  try {
    const items = [...pending.map((path) => ({ path, orphan: false })), ...orphans.map((path) => ({ path, orphan: true }))];
    for (const [i, item] of items.entries()) {
      const where = relative(REPO_ROOT, item.orphan ? item.path : snapshotOfPending(item.path));
      let question: string;
      if (item.orphan) {
        question = `[${i + 1}/${items.length}] ORPHAN ${where}: no cell of its matrix writes it. Remove it?`;
      } else {
        const next = await readFile(item.path, 'utf8');
        const before = await readFile(snapshotOfPending(item.path), 'utf8').catch(() => null);
        const model = next.split('\n').find((l) => l.startsWith(MODEL_LINE_PREFIX)) ?? '';
        process.stdout.write(
          before === null
            ? `NEW ${where}\n${withoutModelLine(next)}\n`
            : `CHANGED ${where}\n${snapshotDiff(where, withoutModelLine(before), withoutModelLine(next))}\n`,
        );
        question = `[${i + 1}/${items.length}] ${where} (${model.slice(2)}): accept?`;
      }
      const answer = all ?? (await prompt(question));
      if (answer === 'quit') break;
      if (answer === 'skip') {
        counts.skipped++;
        continue;
      }
      if (item.orphan) {
        if (answer === 'accept') await rm(item.path);
      } else if (answer === 'accept') await acceptPending(item.path);
      else await rejectPending(item.path);
      counts[answer === 'accept' ? 'accepted' : 'rejected']++;
      if (all !== null) process.stdout.write(`${answer === 'accept' ? (item.orphan ? 'removed' : 'accepted') : item.orphan ? 'kept' : 'rejected'} ${where}\n`);
    }
  } finally {
    prompt.close?.();
  }
  const left = pending.length + orphans.length - counts.accepted - counts.rejected;
  process.stdout.write(`${counts.accepted} accepted, ${counts.rejected} rejected${left ? `, ${left} left for later` : ''}\n`);
  return 0;
}

/** `suites/matrix/kvm.yaml` or `kvm` → `kvm`, the snapshot directory's name. */
function matrixName(m: string): string {
  return basename(m).replace(/\.yaml$/, '');
}

/** The matrices with a snapshot directory and a matrix file. */
async function snapshotMatrices(root: string): Promise<string[]> {
  const dirs = (await readdir(root, { withFileTypes: true }).catch(() => [])).filter((d) => d.isDirectory()).map((d) => d.name);
  return dirs.filter((d) => existsSync(join(MATRIX_ROOT, `${d}.yaml`))).sort();
}

function terminalAsk(): Ask & { close?: () => void } {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  const ask = async (question: string): Promise<ReviewAnswer> => {
    for (;;) {
      const a = (await rl.question(`${question} [y]es / [n]o / [s]kip / [q]uit: `)).trim().toLowerCase();
      if (a === 'y' || a === 'yes') return 'accept';
      if (a === 'n' || a === 'no') return 'reject';
      if (a === 's' || a === 'skip') return 'skip';
      if (a === 'q' || a === 'quit') return 'quit';
    }
  };
  return Object.assign(ask, { close: () => rl.close() });
}

export function register(program: Command): void {
  const snapshots = program.command('snapshots').description('prediction snapshots of the matrix cells (suites/snapshots/)');
  withUserToolchainOptions(
    snapshots
      .command('update')
      .description(`write what the model predicts now beside each snapshot that differs, as <snapshot>${PENDING_SUFFIX}, for review (refuses when CI=true)`)
      .argument('[matrix...]', `matrix names or paths; default: ${DEFAULT_MATRIX}`),
  ).action(async (matrices: string[], opts: UserToolchainFlags) => {
    process.exitCode = await snapshotsUpdate(matrices, undefined, opts);
  });
  withUserToolchainOptions(
    snapshots
      .command('check')
      .description('compare the current model with the snapshot files; report orphaned and pending snapshots')
      .argument('[matrix...]', `matrix names or paths; default: ${DEFAULT_MATRIX}`),
  ).action(async (matrices: string[], opts: UserToolchainFlags) => {
    process.exitCode = await snapshotsCheck(matrices, undefined, opts);
  });
  snapshots
    .command('review')
    .description(`show each pending snapshot's diff (and each orphan) and accept or reject it`)
    .argument('[matrix...]', 'matrix names or paths; default: every matrix with snapshots')
    .option('--accept-all', 'accept every pending snapshot and remove every orphan, without asking (for scripts)')
    .option('--reject-all', 'reject every pending snapshot and keep every orphan, without asking (for scripts)')
    .action(async (matrices: string[], opts: ReviewOptions) => {
      process.exitCode = await snapshotsReview(matrices, opts);
    });
}
