// `e820 snapshots update [matrix…]` rewrites suites/snapshots/<matrix>/<cell>.txt from the model;
// `e820 snapshots check [matrix…]` reports which differ. Update refuses to run in CI: snapshots
// change only by a person running the command and committing the diff.

import type { Command } from 'commander';
import { relative } from 'node:path';
import { realDeps, type MatrixDeps } from '../../matrix/deps.ts';
import { DEFAULT_MATRIX, REPO_ROOT, matrixPath } from '../../matrix/paths.ts';
import { expandRuns, loadMatrix, type Cell } from '../../matrix/schema.ts';
import { checkSnapshots, updateSnapshots } from '../../matrix/snapshot.ts';
import { diffLines, renderDiff } from '../../matrix/diff.ts';

async function runsOf(matrices: string[]) {
  const cells: Cell[] = [];
  for (const m of matrices.length ? matrices : [DEFAULT_MATRIX]) cells.push(...(await loadMatrix(matrixPath(m))));
  return expandRuns(cells);
}

export function inCi(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.CI === 'true' || env.CI === '1';
}

export async function snapshotsUpdate(matrices: string[], deps?: MatrixDeps): Promise<number> {
  if (inCi()) {
    process.stderr.write('e820 snapshots update: refusing to run with CI=true — snapshots are updated by a person and reviewed as a diff\n');
    return 2;
  }
  const runs = await runsOf(matrices);
  const r = await updateSnapshots(runs, deps ?? (await realDeps()));
  if (r.errors.length) {
    process.stderr.write(`nothing written; the model could not predict:\n${r.errors.map((e) => `  ${e}`).join('\n')}\n`);
    return 2;
  }
  process.stdout.write(`${r.written} written, ${r.unchanged} unchanged, ${r.removed.length} stale removed${r.removed.map((p) => `\n  removed ${relative(REPO_ROOT, p)}`).join('')}\n`);
  return 0;
}

export async function snapshotsCheck(matrices: string[], deps?: MatrixDeps): Promise<number> {
  const checks = await checkSnapshots(await runsOf(matrices), deps ?? (await realDeps()));
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
  snapshots
    .command('update')
    .description('rewrite the snapshot files from the current model (refuses when CI=true)')
    .argument('[matrix...]', `matrix names or paths; default: ${DEFAULT_MATRIX}`)
    .action(async (matrices: string[]) => {
      process.exitCode = await snapshotsUpdate(matrices);
    });
  snapshots
    .command('check')
    .description('compare the current model with the snapshot files')
    .argument('[matrix...]', `matrix names or paths; default: ${DEFAULT_MATRIX}`)
    .action(async (matrices: string[]) => {
      process.exitCode = await snapshotsCheck(matrices);
    });
}
