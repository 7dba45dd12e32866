// Drift between two toolchains: for each matrix cell, the model's report under `from` against
// its report under `to`, field by field in boot order. Pure: the comparison reuses the
// comparator's line rendering (harness/matrix/compare.ts FIELD_LINES) and its differ
// (harness/matrix/diff.ts), so a drift diff reads exactly like a conformance diff.

import type { LayerReport } from '../../reference/report.ts';
import { toolchainLabel, type Toolchain } from '../../reference/toolchain.ts';
import { FIELD_LINES, FIELD_UNIT } from '../matrix/compare.ts';
import type { MatrixDeps } from '../matrix/deps.ts';
import { diffLines, renderDiff } from '../matrix/diff.ts';
import { claimCell } from '../matrix/judge.ts';
import { cellArgv, shellJoin, type Cell } from '../matrix/schema.ts';
import { FIELDS, type FieldName, type Layer } from '../matrix/verdict.ts';

/** What the model says one toolchain does with a cell. */
export type Side =
  | { kind: 'report'; report: LayerReport; warnings?: readonly string[] }
  /** QEMU (as modelled) refuses the command line, while reading options or during machine init. */
  | { kind: 'refused'; message: string }
  /** The model cannot predict it (not modelled, a broken cell…): no drift can be stated. */
  | { kind: 'unpredictable'; error: string };

/** The refusal pseudo-field: a cell one toolchain refuses and the other boots changed at QEMU. */
export const REFUSAL_FIELD = 'qemu.refusal';
export type DriftFieldName = FieldName | typeof REFUSAL_FIELD;

export type FieldDriftStatus =
  /** Both predicted, identical. */
  | 'same'
  /** Both predicted, different. */
  | 'changed'
  /** Predicted under one toolchain only: the model cannot say whether it changed. */
  | 'one-sided'
  /** Predicted under neither. */
  | 'neither';

export interface FieldDrift {
  layer: Layer;
  field: DriftFieldName;
  status: FieldDriftStatus;
  /** Lines under each toolchain (null = not predicted). */
  from: number | null;
  to: number | null;
  /** Lines only `from` has (−) and only `to` has (+), in diff order. */
  removed: string[];
  added: string[];
  /** The unified-style diff (`---` from, `+++` to), when changed. */
  diff?: string;
}

export type CellDriftOutcome = 'unchanged' | 'changed' | 'unpredictable';

export interface CellDrift {
  key: string;
  matrix: string;
  id: string;
  argv: string[];
  outcome: CellDriftOutcome;
  from: { kind: Side['kind']; message?: string };
  to: { kind: Side['kind']; message?: string };
  /** The first changed field in boot order (the refusal pseudo-field comes first). */
  first: { layer: Layer; field: DriftFieldName; summary: string } | null;
  fields: FieldDrift[];
  /** Why no drift can be stated (outcome 'unpredictable'). */
  reason?: string;
  /** Side remarks: refused by both with the same words, fields predicted on one side only. */
  notes: string[];
}

export interface DriftLabels {
  from: string;
  to: string;
}

function sideSummary(s: Side): { kind: Side['kind']; message?: string } {
  if (s.kind === 'refused') return { kind: s.kind, message: s.message };
  if (s.kind === 'unpredictable') return { kind: s.kind, message: s.error };
  return { kind: s.kind };
}

function layerOf(field: DriftFieldName): Layer {
  return field.split('.')[0] as Layer;
}

function fieldDrift(field: FieldName, layer: Layer, a: LayerReport, b: LayerReport, labels: DriftLabels): FieldDrift {
  const from = FIELD_LINES[field](a);
  const to = FIELD_LINES[field](b);
  const base = { layer, field, from: from?.length ?? null, to: to?.length ?? null, removed: [], added: [] };
  if (from === undefined && to === undefined) return { ...base, status: 'neither' };
  if (from === undefined || to === undefined) return { ...base, status: 'one-sided' };
  if (from.length === to.length && from.every((l, i) => l === to[i])) return { ...base, status: 'same' };
  const ops = diffLines(from, to);
  return {
    ...base,
    status: 'changed',
    removed: ops.filter((o) => o.op === '-').map((o) => o.text),
    added: ops.filter((o) => o.op === '+').map((o) => o.text),
    diff: renderDiff(ops, { expected: `${labels.from}  ${field}`, observed: `${labels.to}  ${field}` }),
  };
}

function fieldSummary(f: FieldDrift): string {
  if (f.field === REFUSAL_FIELD) return `${f.field}: ${f.removed.join(' ')} → ${f.added.join(' ')}`;
  const unit = FIELD_UNIT[f.field];
  return `${f.field}: ${f.from} → ${f.to} ${unit}, −${f.removed.length} +${f.added.length}`;
}

/** Drift of one cell between two sides. Pure. */
export function driftOfSides(
  cell: { key: string; matrix: string; id: string; argv: string[] },
  from: Side,
  to: Side,
  labels: DriftLabels,
): CellDrift {
  const out: CellDrift = { ...cell, outcome: 'unchanged', from: sideSummary(from), to: sideSummary(to), first: null, fields: [], notes: [] };
  if (from.kind === 'unpredictable' || to.kind === 'unpredictable') {
    out.outcome = 'unpredictable';
    out.reason = [
      from.kind === 'unpredictable' ? `${labels.from}: ${from.error}` : null,
      to.kind === 'unpredictable' ? `${labels.to}: ${to.error}` : null,
    ]
      .filter((x): x is string => x !== null)
      .join('; ');
    return out;
  }
  if (from.kind === 'refused' || to.kind === 'refused') {
    const said = (s: Side, label: string): string => (s.kind === 'refused' ? `${label} refuses: ${s.message}` : `${label} boots it`);
    if (from.kind === 'refused' && to.kind === 'refused' && from.message === to.message) {
      out.notes.push(`refused by both: ${from.message}`);
      return out;
    }
    const field: FieldDrift = {
      layer: 'qemu',
      field: REFUSAL_FIELD,
      status: 'changed',
      from: from.kind === 'refused' ? 1 : 0,
      to: to.kind === 'refused' ? 1 : 0,
      removed: from.kind === 'refused' ? [from.message] : [],
      added: to.kind === 'refused' ? [to.message] : [],
    };
    field.diff = renderDiff(diffLines(field.removed, field.added), { expected: `${labels.from}  ${REFUSAL_FIELD}`, observed: `${labels.to}  ${REFUSAL_FIELD}` });
    out.fields.push(field);
    out.outcome = 'changed';
    out.first = { layer: 'qemu', field: REFUSAL_FIELD, summary: `${said(from, labels.from)}; ${said(to, labels.to)}` };
    return out;
  }
  for (const { layer, field } of FIELDS) {
    const f = fieldDrift(field, layer, from.report, to.report, labels);
    out.fields.push(f);
    if (f.status === 'one-sided') {
      out.notes.push(`${field} is predicted under ${f.from === null ? labels.to : labels.from} only: not compared`);
    }
  }
  const first = out.fields.find((f) => f.status === 'changed');
  if (first) {
    out.outcome = 'changed';
    out.first = { layer: first.layer, field: first.field, summary: fieldSummary(first) };
  }
  return out;
}

/** The model's answer for one argv under one toolchain, as a Side (its claim, harness/matrix/judge.ts). */
export function predictSide(argv: readonly string[], toolchain: Toolchain, deps: Pick<MatrixDeps, 'parseArgs' | 'predict'>): Side {
  const { claim } = claimCell(argv, toolchain, deps);
  switch (claim.kind) {
    case 'boots':
      return { kind: 'report', report: claim.prediction.report };
    // Refused while reading options (a machine type this QEMU lacks) or during machine init alike.
    case 'refuses':
      return { kind: 'refused', message: claim.qemuMessage };
    case 'not-modelled':
    case 'model-error':
      return { kind: 'unpredictable', error: `${claim.label}: ${claim.message}` };
  }
}

export interface DriftReport {
  from: { spec: string; toolchain: Toolchain; label: string };
  to: { spec: string; toolchain: Toolchain; label: string };
  matrices: string[];
  cells: CellDrift[];
  summary: DriftSummary;
}

export interface DriftSummary {
  cells: number;
  unchanged: number;
  changed: number;
  unpredictable: number;
  /** Changed cells by the layer of their first change. */
  byFirstLayer: Record<Layer, number>;
  /** Changed cells per field (a cell counts once in every field that changed). */
  byField: Record<DriftFieldName, number>;
  /** Cells only one side refuses. */
  refusedFromOnly: number;
  refusedToOnly: number;
  refusedBoth: number;
}

export function summarize(cells: readonly CellDrift[]): DriftSummary {
  const byField = Object.fromEntries([REFUSAL_FIELD, ...FIELDS.map((f) => f.field)].map((f) => [f, 0])) as Record<DriftFieldName, number>;
  const byFirstLayer: Record<Layer, number> = { qemu: 0, firmware: 0, kernel: 0 };
  for (const c of cells) {
    if (c.first) byFirstLayer[c.first.layer]++;
    for (const f of c.fields) if (f.status === 'changed') byField[f.field]++;
  }
  return {
    cells: cells.length,
    unchanged: cells.filter((c) => c.outcome === 'unchanged').length,
    changed: cells.filter((c) => c.outcome === 'changed').length,
    unpredictable: cells.filter((c) => c.outcome === 'unpredictable').length,
    byFirstLayer,
    byField,
    refusedFromOnly: cells.filter((c) => c.from.kind === 'refused' && c.to.kind !== 'refused').length,
    refusedToOnly: cells.filter((c) => c.to.kind === 'refused' && c.from.kind !== 'refused').length,
    refusedBoth: cells.filter((c) => c.from.kind === 'refused' && c.to.kind === 'refused').length,
  };
}

/** Drift of every cell between two toolchains, from the model alone. */
export function driftCells(
  cells: readonly Cell[],
  from: { spec: string; toolchain: Toolchain },
  to: { spec: string; toolchain: Toolchain },
  deps: Pick<MatrixDeps, 'parseArgs' | 'predict'>,
  matrices: readonly string[] = [...new Set(cells.map((c) => c.matrix))],
): DriftReport {
  const labels = { from: toolchainLabel(from.toolchain), to: toolchainLabel(to.toolchain) };
  const out = cells.map((cell) => {
    const argv = cellArgv(cell);
    return driftOfSides(
      { key: `${cell.matrix}/${cell.id}`, matrix: cell.matrix, id: cell.id, argv },
      predictSide(argv, from.toolchain, deps),
      predictSide(argv, to.toolchain, deps),
      labels,
    );
  });
  return {
    from: { ...from, label: labels.from },
    to: { ...to, label: labels.to },
    matrices: [...matrices],
    cells: out,
    summary: summarize(out),
  };
}

// ---- Text rendering ------------------------------------------------------------------------

export interface RenderOptions {
  /** Show the diff of every changed field, not only the first. */
  full?: boolean;
  /** List unchanged cells too. */
  all?: boolean;
  /** Changed lines shown per field before `… N more`. */
  maxLines?: number;
}

function compactDiff(f: FieldDrift, maxLines: number): string[] {
  const lines = changedLines(f);
  if (lines.length <= maxLines) return lines;
  return [...lines.slice(0, maxLines), `… ${lines.length - maxLines} more changed lines (--full or --json for all)`];
}

export function renderSummary(s: DriftSummary): string {
  const layers = (['qemu', 'firmware', 'kernel'] as const).map((l) => `${l} ${s.byFirstLayer[l]}`).join(', ');
  const fields = Object.entries(s.byField)
    .filter(([, n]) => n > 0)
    .map(([f, n]) => `${f} ${n}`)
    .join(', ');
  const lines = [
    `${s.cells} cells: ${s.unchanged} unchanged, ${s.changed} changed${s.unpredictable ? `, ${s.unpredictable} not predictable` : ''}`,
    `  first change at: ${layers}`,
    `  cells per changed field: ${fields || '(none)'}`,
  ];
  if (s.refusedFromOnly || s.refusedToOnly || s.refusedBoth) {
    lines.push(`  refused: by from only ${s.refusedFromOnly}, by to only ${s.refusedToOnly}, by both ${s.refusedBoth}`);
  }
  return lines.join('\n');
}

export function renderDrift(r: DriftReport, opts: RenderOptions = {}): string {
  const maxLines = opts.maxLines ?? 8;
  const out: string[] = [
    `drift from ${r.from.label} (${r.from.spec})`,
    `        to ${r.to.label} (${r.to.spec})`,
    `matrices: ${r.matrices.join(', ')} — model only`,
    '',
  ];
  for (const c of r.cells) {
    if (c.outcome === 'unchanged') {
      if (opts.all) out.push(`unchanged     ${c.key}${c.notes.length ? `  (${c.notes.join('; ')})` : ''}`);
      continue;
    }
    if (c.outcome === 'unpredictable') {
      out.push(`unpredictable ${c.key}: ${c.reason}`, '');
      continue;
    }
    out.push(`changed       ${c.key}  [${shellJoin(c.argv)}]`);
    if (c.first!.field === REFUSAL_FIELD) {
      const says = (s: CellDrift['from'], label: string): string[] =>
        s.kind === 'refused' ? [`${label} refuses:`, ...(s.message ?? '').split('\n').map((l) => `  ${l}`)] : [`${label} boots it`];
      out.push(`  first change at the qemu layer: ${REFUSAL_FIELD}`, ...[...says(c.from, r.from.label), ...says(c.to, r.to.label)].map((l) => `  ${l}`));
    } else out.push(`  first change at the ${c.first!.layer} layer: ${c.first!.field}`);
    const changed = c.fields.filter((f) => f.status === 'changed');
    changed.forEach((f, i) => {
      if (f.field === REFUSAL_FIELD) return;
      const show = opts.full || i === 0;
      out.push(`  ${fieldSummary(f)}`);
      if (show) out.push(...compactDiff(f, maxLines).map((l) => `    ${l}`));
    });
    for (const n of c.notes) out.push(`  note: ${n}`);
    out.push('');
  }
  out.push(renderSummary(r.summary));
  return `${out.join('\n')}\n`;
}

/** Every changed line of a field, for tests and --json consumers. */
export function changedLines(f: FieldDrift): string[] {
  return [...f.removed.map((l) => `- ${l}`), ...f.added.map((l) => `+ ${l}`)];
}
