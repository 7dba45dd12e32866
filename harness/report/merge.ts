// `e820 report --merge DIR…`: the results of sharded runs (`e820 run --shard i/n`) joined into one
// results.json, one junit.xml and one report, as if one run had booted every cell. Pure: parsed
// results.json files in, the merged one out, or a MergeError that says what does not fit.
//
// Refused: inputs of different matrices, of different models (git commit; harness/report/
// model-version.ts), a cell present twice, shards of different counts or the same shard twice,
// and an incomplete set of shards (the merged file would claim a run that did not happen).

import { groupDisagreements } from '../matrix/disagreements.ts';
import type { CellResult } from '../matrix/runner.ts';
import { exitCodeOf } from '../matrix/verdict.ts';
import type { ResultsLike } from './html.ts';

export class MergeError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(`cannot merge: ${message}`);
    this.name = 'MergeError';
  }
}

export interface MergeInput {
  /** Where it came from (named in errors and in the merged file). */
  dir: string;
  results: ResultsLike;
}

/** A matrix by its name: shards run on different machines see it under different checkouts. */
function matrixName(path: string): string {
  return (path.split('/').pop() ?? path).replace(/\.ya?ml$/, '');
}

function modelText(r: ResultsLike): string {
  return r.model?.commit ? `${r.model.commit.slice(0, 12)}${r.model.dirty ? ' (reference/ modified)' : ''}` : 'unknown (no model version recorded)';
}

export function mergeResults(inputs: readonly MergeInput[]): ResultsLike & Record<string, unknown> {
  if (inputs.length === 0) throw new MergeError('no results given');
  for (const i of inputs) {
    if (!Array.isArray(i.results.cells)) throw new MergeError(`${i.dir}/results.json has no cells list (not an e820 results.json)`);
  }
  const first = inputs[0]!;
  const names = (r: ResultsLike) => (r.matrices ?? []).map(matrixName).join(', ');
  for (const i of inputs.slice(1)) {
    if (names(i.results) !== names(first.results)) {
      throw new MergeError(`different matrices: ${first.dir} ran [${names(first.results)}], ${i.dir} ran [${names(i.results)}]`);
    }
    const a = first.results.model ?? null;
    const b = i.results.model ?? null;
    if (a?.commit !== b?.commit || a?.dirty !== b?.dirty || a === null) {
      throw new MergeError(
        a === null || b === null
          ? `the model version is not known for ${a === null ? first.dir : i.dir} (results written before results.json recorded it, or outside a git checkout): cannot tell that the shards ran the same model`
          : `different model versions: ${first.dir} ran ${modelText(first.results)}, ${i.dir} ran ${modelText(i.results)}`,
      );
    }
  }
  // Shards: all of one count, each index once, none missing.
  const shards = inputs.map((i) => i.results.shard ?? null);
  const sharded = shards.filter((s) => s !== null);
  if (sharded.length > 0) {
    if (sharded.length !== inputs.length) {
      const plain = inputs.find((i) => !i.results.shard)!;
      throw new MergeError(`${plain.dir} is not a shard, the others are (--shard): merge the shards of one run`);
    }
    const count = sharded[0]!.count;
    const odd = inputs.find((i) => i.results.shard!.count !== count);
    if (odd) throw new MergeError(`different shard counts: ${first.dir} is shard ${first.results.shard!.index}/${count}, ${odd.dir} is ${odd.results.shard!.index}/${odd.results.shard!.count}`);
    const seen = new Map<number, string>();
    for (const i of inputs) {
      const at = seen.get(i.results.shard!.index);
      if (at !== undefined) throw new MergeError(`shard ${i.results.shard!.index}/${count} given twice: ${at} and ${i.dir}`);
      seen.set(i.results.shard!.index, i.dir);
    }
    const missing = Array.from({ length: count }, (_, k) => k + 1).filter((k) => !seen.has(k));
    if (missing.length > 0) throw new MergeError(`shard${missing.length > 1 ? 's' : ''} ${missing.join(', ')} of ${count} missing (given: ${[...seen.keys()].sort((x, y) => x - y).join(', ')})`);
  }
  const owner = new Map<string, string>();
  for (const i of inputs) {
    for (const c of i.results.cells) {
      const at = owner.get(c.key);
      if (at !== undefined) throw new MergeError(`cell ${c.key} is in ${at} and in ${i.dir}: a cell present twice (the same shard merged twice, or overlapping runs)`);
      owner.set(c.key, i.dir);
    }
  }
  // Round-robin shards (harness/matrix/schema.ts selectShard): shard k's j-th cell was the run's
  // cell j·n + k − 1, so interleaving restores the run's own order.
  let cells: ResultsLike['cells'];
  if (sharded.length > 0) {
    const byIndex = [...inputs].sort((x, y) => x.results.shard!.index - y.results.shard!.index);
    cells = [];
    const longest = Math.max(...byIndex.map((i) => i.results.cells.length));
    for (let j = 0; j < longest; j++) for (const i of byIndex) if (j < i.results.cells.length) cells.push(i.results.cells[j]!);
  } else {
    cells = inputs.flatMap((i) => i.results.cells);
  }
  const totals = { cells: cells.length, pass: 0, fail: 0, error: 0, notRun: 0 };
  for (const c of cells) {
    if (c.outcome === 'pass' || c.outcome === 'fail' || c.outcome === 'error') totals[c.outcome]++;
    else totals.notRun++;
  }
  // Shards run side by side: the merged run took as long as its longest shard.
  const wallMs = Math.max(...inputs.map((i) => i.results.wallMs ?? 0));
  const ran = totals.pass + totals.fail + totals.error;
  const startedAt = inputs.map((i) => i.results.startedAt ?? '').filter((s) => s !== '').sort()[0];
  return {
    schema: 1,
    ...(startedAt !== undefined ? { startedAt } : {}),
    matrices: first.results.matrices ?? [],
    shard: null,
    merged: inputs.map((i) => ({
      dir: i.dir,
      shard: i.results.shard ?? null,
      ...(i.results.startedAt !== undefined ? { startedAt: i.results.startedAt } : {}),
      ...(i.results.wallMs !== undefined ? { wallMs: i.results.wallMs } : {}),
    })),
    command: ['report', '--merge', ...inputs.map((i) => i.dir)],
    model: first.results.model ?? null,
    finished: inputs.every((i) => i.results.finished !== false),
    interrupted: inputs.some((i) => i.results.interrupted === true),
    wallMs,
    ...(first.results.host ? { host: first.results.host } : {}),
    totals,
    cellsPerMinute: wallMs > 0 ? Math.round((ran / (wallMs / 60_000)) * 10) / 10 : null,
    exitCode: exitCodeOf(cells.map((c) => c.outcome as CellResult['outcome'])),
    disagreements: groupDisagreements(cells as unknown as CellResult[]),
    cells,
  };
}
