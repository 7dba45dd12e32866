// How a matrix cell's result becomes a vitest outcome, shared by the conformance and explore
// suites: a harness error and a model/machine disagreement both FAIL with the harness's message;
// only a pass passes.

import { expect } from 'vitest';
import { formatVerdict } from '../harness/matrix/compare.ts';
import type { CellResult } from '../harness/matrix/runner.ts';

/** `extra` is appended to every failure message (e.g. how to replay the cell). */
export function expectCellPassed(key: string, result: CellResult, extra = ''): void {
  const v = result.verdict;
  const tail = `${result.logsDir ? `\nlogs: ${result.logsDir}` : ''}${extra ? `\n${extra}` : ''}`;
  if (!v) throw new Error(`${key}: not run`);
  if (v.outcome === 'error') throw new Error(`${key}: harness ERROR (${v.error.kind}), not a conformance verdict:\n${v.error.message}${tail}`);
  if (v.outcome === 'fail') throw new Error(`${formatVerdict(v, key)}${tail}`);
  expect(v.outcome).toBe('pass');
}

/** A cell that cannot run (or that the model makes no claim about): skipped, with the reason printed. */
export function skipWithReason(ctx: { skip(note?: string): never }, key: string, reason: string): never {
  process.stderr.write(`SKIPPED ${key}: ${reason}\n`);
  return ctx.skip(reason);
}
