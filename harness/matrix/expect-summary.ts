// What a declared intent says, one line per change, apart from harness/matrix/intent.ts (the
// expect-file parser: yaml, zod) so that the runner reports a cell's expect without loading the
// parser: `e820 check` without --expect never needs it.

import { declaredChanges, describeChange, describeInt15Fails, type DeclaredIntent } from '../../reference/intent.ts';

/** A declared intent and where it was declared: an expect file, or a matrix file's `expect:`. */
export interface CellExpect {
  /** The expect file as given, or `<matrix file>:<line>` for a matrix's own `expect:`. */
  file: string;
  intent: DeclaredIntent;
}

/** The declared changes, one line each (`add 0x50000000-0x500fffff reserved (firmware)`). */
export function describeIntent(intent: DeclaredIntent): string[] {
  return [...declaredChanges(intent).map(describeChange), ...describeInt15Fails(intent)];
}

/** What results.json and the CLI say about a cell's expect. */
export function expectSummary(e: CellExpect): { file: string; changes: string[] } {
  return { file: e.file, changes: describeIntent(e.intent) };
}
