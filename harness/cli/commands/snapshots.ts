// `e820 snapshots update [matrix…]` rewrites suites/snapshots/<matrix>/<cell>.txt from the model;
// `e820 snapshots check [matrix…]` reports which differ. Both take user components (--qemu-binary,
// --bios…: their versions pick the profiles). Update refuses to run in CI: snapshots change only
// by a person running the command and committing the diff.

import type { Command } from 'commander';
import { relative } from 'node:path';
import { realDeps, type MatrixDeps } from '../../matrix/deps.ts';
import { DEFAULT_MATRIX, REPO_ROOT, matrixPath } from '../../matrix/paths.ts';
import { expandRuns, loadMatrix, type Cell, type CellRun } from '../../matrix/schema.ts';
import { applyToRuns, matrixComponents, resolveUserComponents, withUserToolchainOptions, type UserToolchain, type UserToolchainFlags, userDepsOptions } from '../../user-toolchain.ts';
import { checkSnapshots, updateSnapshots } from '../../matrix/snapshot.ts';
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

export async function snapshotsUpdate(matrices: string[], deps?: MatrixDeps, flags: UserToolchainFlags = {}): Promise<number> {
  if (inCi()) {
    process.stderr.write('e820 snapshots update: refusing to run with CI=true — snapshots are updated by a person and reviewed as a diff\n');
    return 2;
  }
  const { runs, user } = await runsOf(matrices, flags);
  const r = await updateSnapshots(runs, deps ?? (await depsFor(user)));
  if (r.errors.length) {
    process.stderr.write(`nothing written; the model could not predict:\n${r.errors.map((e) => `  ${e}`).join('\n')}\n`);
    return 2;
  }
  process.stdout.write(`${r.written} written, ${r.unchanged} unchanged, ${r.removed.length} stale removed${r.removed.map((p) => `\n  removed ${relative(REPO_ROOT, p)}`).join('')}\n`);
  return 0;
}

export async function snapshotsCheck(matrices: string[], deps?: MatrixDeps, flags: UserToolchainFlags = {}): Promise<number> {
  const { runs, user } = await runsOf(matrices, flags);
  const checks = await checkSnapshots(runs, deps ?? (await depsFor(user)));
  let bad = 0;
  for (const c of checks) {
    if (c.status === 'same') continue;
    bad++;
    const where = relative(REPO_ROOT, c.path);
    if (c.status === 'missing') process.stdout.write(`MISSING ${where}\n`);
    else if (c.status === 'error') process.stdout.write(`ERROR   ${c.run.key}: ${c.error}\n`);
    else {
      const ops = diffLines(c.expected!.split('\n'), c.actual!.split('\n'));
      process.stdout.write(`CHANGED ${where}\n${renderDiff(ops, { expected: `${where} (snapshot)`, observed: `${where} (model now)` })}\n`);
    }
  }
  process.stdout.write(`${checks.length - bad}/${checks.length} snapshots match${bad ? ' — run `e820 snapshots update` and review the diff' : ''}\n`);
  return bad ? 1 : 0;
}

export function register(program: Command): void {
  const snapshots = program.command('snapshots').description('prediction snapshots of the matrix cells (suites/snapshots/)');
  withUserToolchainOptions(
    snapshots
      .command('update')
      .description('rewrite the snapshot files from the current model (refuses when CI=true)')
      .argument('[matrix...]', `matrix names or paths; default: ${DEFAULT_MATRIX}`),
  ).action(async (matrices: string[], opts: UserToolchainFlags) => {
    process.exitCode = await snapshotsUpdate(matrices, undefined, opts);
  });
  withUserToolchainOptions(
    snapshots
      .command('check')
      .description('compare the current model with the snapshot files')
      .argument('[matrix...]', `matrix names or paths; default: ${DEFAULT_MATRIX}`),
  ).action(async (matrices: string[], opts: UserToolchainFlags) => {
    process.exitCode = await snapshotsCheck(matrices, undefined, opts);
  });
}
