// One judge for every verdict: the model's claim about a cell (reference/claim.ts) against what
// the machine did with it (a HarnessOutcome). `e820 run`, `check`, `explore` and `drift --verify`
// reach their verdicts here through the matrix runner; snapshots and drift read the same claims.
// Both sides are values: nothing here, nor in its callers, decides from an error's name.

import { claimOfError, refusalText, type ClaimOf, type ClaimStage } from '../../reference/claim.ts';
import type { MachineConfig } from '../../reference/config.ts';
import type { Toolchain } from '../../reference/toolchain.ts';
import type { CaptureOutcome } from '../capture.ts';
import { compareReports, type CompareInput } from './compare.ts';
import type { MatrixDeps, ObservationLike, PredictionLike, PredictOptions } from './deps.ts';
import { diffLines, renderDiff } from './diff.ts';
import type { Verdict } from './verdict.ts';

/**
 * The model's claim about a cell, through the matrix deps' parser and predictor. `model-error`:
 * the model threw something that is no claim (a cell that is no configuration, a KVM host it cannot
 * read, a defect); reported as an error, never booted.
 */
export type CellClaim = ClaimOf<PredictionLike> | { kind: 'model-error'; stage: ClaimStage; label: string; message: string };
export type CellClaimKind = CellClaim['kind'];

/** The claim of one argv; `config` is the parsed configuration when parsing succeeded. */
export function claimCell(
  argv: readonly string[],
  toolchain: Toolchain,
  deps: Pick<MatrixDeps, 'parseArgs' | 'predict'>,
  options?: PredictOptions,
): { claim: CellClaim; config: MachineConfig | null } {
  let config: MachineConfig;
  try {
    config = deps.parseArgs(argv, toolchain.qemu);
  } catch (err) {
    return { claim: claimOfError(err, 'options') ?? modelError(err, 'options'), config: null };
  }
  try {
    const prediction = options === undefined ? deps.predict(config, toolchain) : deps.predict(config, toolchain, options);
    return { claim: { kind: 'boots', config, prediction }, config };
  } catch (err) {
    return { claim: claimOfError(err, 'machine') ?? modelError(err, 'machine'), config };
  }
}

function modelError(err: unknown, stage: ClaimStage): CellClaim {
  return { kind: 'model-error', stage, label: err instanceof Error ? err.name : 'Error', message: err instanceof Error ? err.message : String(err) };
}

/**
 * What the machine did with a cell, as a value: a capture's outcome (harness/capture.ts
 * CaptureOutcome: booted, refused, harness-error, aborted), or what the runner decided before any
 * boot — a harness error with `duringBoot` false (the KVM probe, no KVM here), or not-booted: the
 * claim alone decides the cell. `label` names the error for the verdict (`BootTimeoutError`,
 * `KvmUnavailable`); it decides nothing.
 */
export type HarnessOutcome =
  | Exclude<CaptureOutcome<ObservationLike>, { kind: 'harness-error' }>
  | (Extract<CaptureOutcome<ObservationLike>, { kind: 'harness-error' }> & { duringBoot: boolean })
  | { kind: 'not-booted' };

/** The model's refusal as QEMU prints it: message, then hint lines. */
export function refusalLines(message: string): string[] {
  return message.split('\n').map((l) => l.trimEnd()).filter((l) => l !== '');
}

/** QEMU's error lines of its stderr (harness/capture.ts; qtest reads them too). */
export { qemuErrorLines } from '../capture.ts';

export interface JudgeContext {
  /** How a broken cell is named in its error (`baseline.yaml cell 3 (id "q35-2G")`). */
  cell: string;
  /**
   * Claims made while reading options are judged like the others (`e820 explore`: QEMU must refuse
   * with the model's words); otherwise such a cell is broken (a hand-written matrix's cells must boot).
   */
  judgeOptionClaims: boolean;
  /** The comparison of a booted cell, less the two reports (compare.ts). */
  compare: Omit<CompareInput, 'expected' | 'observed' | 'unobserved'>;
}

/** Every verdict: the claim against the outcome. */
export function judge(claim: CellClaim, outcome: HarnessOutcome, ctx: JudgeContext): Verdict {
  if (outcome.kind === 'not-booted') {
    // A cell the command-line parser rejects is a broken cell, not a conformance failure.
    if (claim.kind !== 'boots' && claim.stage === 'options' && (!ctx.judgeOptionClaims || claim.kind === 'model-error')) {
      return errorVerdict(`BadCell/${claim.label}`, `${ctx.cell}: ${claim.message}`);
    }
    if (claim.kind === 'boots' || claim.kind === 'refuses') throw new Error(`judge: a ${claim.kind} claim is always booted`);
    return errorVerdict(`Model/${claim.label}`, claim.message);
  }
  if (outcome.kind === 'aborted') {
    if (claim.kind === 'refuses' && outcome.refused !== null) return bothRefuse(claim, outcome.refused);
    return errorVerdict('Aborted', outcome.message);
  }
  if (outcome.kind === 'harness-error' && !outcome.duringBoot) return errorVerdict(outcome.label, outcome.message);
  switch (claim.kind) {
    case 'model-error':
      throw new Error('judge: a model error is never booted');
    // Not modelled: the verdict stays the model's, whatever QEMU did (CellResult.machine says that).
    case 'not-modelled':
      return errorVerdict(`Model/${claim.label}`, claim.message);
    case 'refuses':
      if (outcome.kind === 'refused') return bothRefuse(claim, outcome.lines);
      if (outcome.kind === 'booted') {
        return refusalFail(refusalLines(refusalText(claim)), ['(QEMU started and the guest booted)'], 'the model says QEMU refuses this configuration; the machine booted it');
      }
      return errorVerdict(outcome.label, outcome.message);
    case 'boots':
      if (outcome.kind !== 'booted') return errorVerdict(outcome.label, outcome.message);
      return compareReports({ ...ctx.compare, expected: claim.prediction.report, observed: outcome.observation.report, unobserved: outcome.observation.unobserved });
  }
}

/** Both refuse: conformance holds when QEMU printed exactly what the model says it prints. */
function bothRefuse(claim: Extract<CellClaim, { kind: 'refuses' }>, observed: string[]): Verdict {
  const expected = refusalLines(refusalText(claim));
  if (expected.join('\n') === observed.join('\n')) {
    return { outcome: 'pass', fields: [], counts: { compared: observed.length, excludedByRule: 0, excludedNotPredicted: 0, notPredicted: [], unobserved: [], excluded: [] } };
  }
  return refusalFail(expected, observed, 'both refuse, with different messages');
}

function refusalFail(expected: string[], observed: string[], summary: string): Verdict {
  return {
    outcome: 'fail',
    first: {
      layer: 'qemu',
      field: 'qemu.refusal',
      summary: `qemu.refusal: ${summary}`,
      diff: renderDiff(diffLines(expected, observed), { expected: 'expected (model)   qemu.refusal', observed: 'observed (machine) qemu.refusal' }),
    },
    fields: [],
    counts: { compared: 0, excludedByRule: 0, excludedNotPredicted: 0, notPredicted: [], unobserved: [], excluded: [] },
  };
}

export function errorVerdict(kind: string, message: string): Verdict {
  return { outcome: 'error', error: { kind, message } };
}
