// `e820 drift --verify`: boot the changed cells under both toolchains (through the matrix
// runner: same pool, deadlines, refusal handling and verdicts as `e820 run`) and check the
// machine drifts the way the model says. A cell is confirmed when both boots conform to the
// model and the observed drift (observation under `from` against observation under `to`)
// equals the predicted drift in every field observed on both sides.

import { toolchainLabel } from '../../reference/toolchain.ts';
import type { LayerReport } from '../../reference/report.ts';
import { formatVerdict } from '../matrix/compare.ts';
import type { MatrixDeps, ObservationLike } from '../matrix/deps.ts';
import { runMatrix, type CellResult, type RunMatrixOptions } from '../matrix/runner.ts';
import type { Cell, CellRun } from '../matrix/schema.ts';
import { driftOfSides, type CellDrift, type DriftReport, type FieldDrift } from './drift.ts';

export type VerifyOutcome = 'confirmed' | 'not-confirmed' | 'error';

export interface CellVerification {
  key: string;
  outcome: VerifyOutcome;
  /** Conformance of each boot against its own toolchain's prediction. */
  from: { outcome: CellResult['outcome']; detail: string | null };
  to: { outcome: CellResult['outcome']; detail: string | null };
  /** Fields whose observed drift was compared with the predicted drift, and those that disagreed. */
  compared: string[];
  mismatched: Array<{ field: string; predicted: string[]; observed: string[] }>;
  message: string;
}

export interface VerifyResult {
  cells: CellVerification[];
  interrupted: boolean;
  wallMs: number;
}

/** The runs --verify boots: each changed cell under `from` and under `to`. */
export function verifyRuns(report: DriftReport, cells: readonly Cell[]): CellRun[] {
  const byKey = new Map(cells.map((c) => [`${c.matrix}/${c.id}`, c]));
  const runs: CellRun[] = [];
  for (const d of report.cells) {
    if (d.outcome !== 'changed') continue;
    const cell = byKey.get(d.key);
    if (!cell) continue;
    runs.push({ cell, toolchain: report.from.toolchain, key: `${d.key}@from` });
    runs.push({ cell, toolchain: report.to.toolchain, key: `${d.key}@to` });
  }
  return runs;
}

function withoutNonE820Iomem(report: LayerReport, isE820IomemLine: (l: string) => boolean): LayerReport {
  const copy = structuredClone(report);
  if (copy.kernel?.iomem) copy.kernel.iomem = copy.kernel.iomem.filter(isE820IomemLine);
  return copy;
}

function lines(f: FieldDrift): string[] {
  return [...f.removed.map((l) => `- ${l}`), ...f.added.map((l) => `+ ${l}`)];
}

function detail(r: CellResult | undefined): string | null {
  if (!r?.verdict) return r ? 'not run' : 'missing';
  return r.verdict.outcome === 'pass' ? null : formatVerdict(r.verdict, `${r.key} (${r.toolchainLabel})`);
}

/** Compares one cell's observed drift with its predicted drift. Pure. */
export function judgeCell(
  predicted: CellDrift,
  fromRun: CellResult | undefined,
  toRun: CellResult | undefined,
  fromObs: ObservationLike | undefined,
  toObs: ObservationLike | undefined,
  labels: { from: string; to: string },
  isE820IomemLine: (l: string) => boolean,
): CellVerification {
  const v: CellVerification = {
    key: predicted.key,
    outcome: 'confirmed',
    from: { outcome: fromRun?.outcome ?? 'not-run', detail: detail(fromRun) },
    to: { outcome: toRun?.outcome ?? 'not-run', detail: detail(toRun) },
    compared: [],
    mismatched: [],
    message: '',
  };
  const outcomes = [v.from.outcome, v.to.outcome];
  if (outcomes.some((o) => o === 'error' || o === 'not-run')) {
    v.outcome = 'error';
    v.message = `a boot did not complete (${labels.from}: ${v.from.outcome}, ${labels.to}: ${v.to.outcome})`;
    return v;
  }
  if (fromObs && toObs) {
    const observed = driftOfSides(
      predicted,
      { kind: 'report', report: withoutNonE820Iomem(fromObs.report, isE820IomemLine) },
      { kind: 'report', report: withoutNonE820Iomem(toObs.report, isE820IomemLine) },
      labels,
    );
    for (const p of predicted.fields) {
      const o = observed.fields.find((f) => f.field === p.field);
      if (!o || (p.status !== 'same' && p.status !== 'changed') || (o.status !== 'same' && o.status !== 'changed')) continue;
      v.compared.push(p.field);
      const pl = lines(p);
      const ol = lines(o);
      if (pl.length !== ol.length || pl.some((l, i) => l !== ol[i])) v.mismatched.push({ field: p.field, predicted: pl, observed: ol });
    }
  }
  if (v.from.outcome === 'pass' && v.to.outcome === 'pass' && v.mismatched.length === 0) {
    v.message = v.compared.length
      ? `both boots conform; the observed drift equals the predicted one in every field compared (${v.compared.join(', ')})`
      : 'both boots conform (refusal drift: QEMU refused exactly as predicted)';
    return v;
  }
  v.outcome = 'not-confirmed';
  const parts: string[] = [];
  if (v.from.outcome !== 'pass') parts.push(`${labels.from} does not conform`);
  if (v.to.outcome !== 'pass') parts.push(`${labels.to} does not conform`);
  if (v.mismatched.length) parts.push(`observed drift differs in ${v.mismatched.map((m) => m.field).join(', ')}`);
  v.message = parts.join('; ');
  return v;
}

/** Boots the changed cells under both toolchains and judges each. */
export async function verifyDrift(
  report: DriftReport,
  cells: readonly Cell[],
  deps: MatrixDeps,
  options: Omit<RunMatrixOptions, 'onDone'> & { onDone?: (r: CellResult) => void } = {},
): Promise<VerifyResult> {
  const runs = verifyRuns(report, cells);
  const observations = new Map<string, ObservationLike>();
  const obsKey = (argv: readonly string[], label: string): string => `${JSON.stringify(argv)}|${label}`;
  const recording: MatrixDeps = {
    ...deps,
    capture: async (config, toolchain, opts) => {
      const outcome = await deps.capture(config, toolchain, opts);
      if (outcome.kind === 'booted' && opts.qemuArgs) observations.set(obsKey(opts.qemuArgs, toolchainLabel(toolchain)), outcome.observation);
      return outcome;
    },
  };
  const summary = await runMatrix(runs, recording, options);
  const byKey = new Map(summary.results.map((r) => [r.key, r]));
  const labels = { from: report.from.label, to: report.to.label };
  const out: CellVerification[] = [];
  for (const d of report.cells) {
    if (d.outcome !== 'changed') continue;
    const fromRun = byKey.get(`${d.key}@from`);
    const toRun = byKey.get(`${d.key}@to`);
    const argv = fromRun?.argv ?? d.argv;
    out.push(
      judgeCell(
        d,
        fromRun,
        toRun,
        observations.get(obsKey(argv, labels.from)),
        observations.get(obsKey(argv, labels.to)),
        labels,
        deps.isE820IomemLine,
      ),
    );
  }
  return { cells: out, interrupted: summary.interrupted, wallMs: summary.wallMs };
}

export function renderVerification(v: VerifyResult): string {
  const out: string[] = ['', `--verify: booted ${v.cells.length} changed cells under both toolchains${v.interrupted ? ' (interrupted)' : ''}`];
  for (const c of v.cells) {
    const tag = c.outcome === 'confirmed' ? 'confirmed    ' : c.outcome === 'error' ? 'ERROR        ' : 'NOT CONFIRMED';
    out.push(`${tag} ${c.key}: ${c.message}`);
    for (const m of c.mismatched) {
      out.push(`  ${m.field}: predicted drift`, ...m.predicted.map((l) => `    ${l}`), `  observed drift`, ...m.observed.map((l) => `    ${l}`));
    }
    for (const d of [c.from.detail, c.to.detail]) if (d && c.outcome !== 'confirmed') out.push(...d.split('\n').map((l) => `  ${l}`));
  }
  const n = (o: VerifyOutcome): number => v.cells.filter((c) => c.outcome === o).length;
  out.push(`verify: ${n('confirmed')} confirmed, ${n('not-confirmed')} not confirmed, ${n('error')} errors`);
  return `${out.join('\n')}\n`;
}
