// Prediction snapshots: the model's prediction for every matrix cell as a readable text file,
// suites/snapshots/<matrix>/<cell>[@toolchain].txt. A change in the model shows up as a diff of
// these files in review. `e820 snapshots update` writes what changed beside them as pending
// `*.txt.new` files and `e820 snapshots review` accepts or rejects each (never in CI), the habit of
// insta's `.snap.new` and `cargo insta review` and of QEMU's bios-tables-test (expected files
// updated in a commit of their own).

import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { toolchainLabel } from '../../reference/toolchain.ts';
import { modelVersion, type ModelVersion } from '../report/model-version.ts';
import { FIELD_LINES } from './compare.ts';
import type { MatrixDeps } from './deps.ts';
import { claimCell } from './judge.ts';
import { REPO_ROOT, SNAPSHOT_ROOT } from './paths.ts';
import { describeIntent } from './intent.ts';
import { cellArgv, shellJoin, type CellRun } from './schema.ts';
import { FIELDS } from './verdict.ts';


/** `suites/matrix/fallback.yaml:18` for a path inside the checkout; any other path as it is. */
function inCheckout(file: string): string {
  return file.startsWith(`${REPO_ROOT}/`) ? file.slice(REPO_ROOT.length + 1) : file;
}

export function snapshotPath(run: CellRun, root = SNAPSHOT_ROOT): string {
  return join(root, run.cell.matrix, `${run.key.slice(run.cell.matrix.length + 1)}.txt`);
}

function renderExplain(explain: unknown): string[] {
  if (explain === undefined || explain === null) return [];
  const out: string[] = ['', '[explain]'];
  if (typeof explain === 'object' && !Array.isArray(explain)) {
    for (const [key, value] of Object.entries(explain as Record<string, unknown>)) {
      if (Array.isArray(value)) value.forEach((v, i) => out.push(`${key}[${i}]: ${typeof v === 'string' ? v : JSON.stringify(v, bigintSafe)}`));
      else out.push(`${key}: ${typeof value === 'string' ? value : JSON.stringify(value, bigintSafe)}`);
    }
  } else out.push(JSON.stringify(explain, bigintSafe));
  return out;
}

function bigintSafe(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? `0x${value.toString(16)}` : value;
}

/** The snapshot text for one run: header, then each field as the comparator sees it (no commit line: see withCommit). */
export function renderSnapshot(run: CellRun, deps: Pick<MatrixDeps, 'parseArgs' | 'predict'>): string {
  const out = [
    `# e820 prediction snapshot — ${run.key}`,
    `# argv: ${shellJoin(cellArgv(run.cell))}`,
    `# toolchain: ${toolchainLabel(run.toolchain)}`,
    ...(run.cell.note ? [`# note: ${run.cell.note}`] : []),
    // Relative to the checkout when inside it: the header is compared, and a clone elsewhere (CI) must match.
    ...(run.cell.expect ? [`# expect: ${inCheckout(run.cell.expect.file)}`, ...describeIntent(run.cell.expect.intent).map((c) => `#   ${c}`)] : []),
    '# Written by `e820 snapshots update`; do not edit by hand. A diff here is a change in the model.',
  ];
  // A KVM guest takes the host's CPU vendor and phys-bits: a snapshot written with this
  // machine's would change with the machine, so KVM cells are written for the file's host.
  const host = run.cell.snapshotHost;
  const { claim, config } = claimCell(cellArgv(run.cell), run.toolchain, deps, {
    ...(host !== undefined ? { host } : {}),
    ...(run.cell.expect !== undefined ? { intent: run.cell.expect.intent } : {}),
  });
  if (config?.accel === 'kvm') {
    if (host === undefined) {
      throw new Error(`${run.key} is a KVM cell: its matrix file needs \`snapshotHost: { cpuVendor: …, physBits: … }\` (the KVM host its snapshots are written for)`);
    }
    out.splice(3, 0, `# host (KVM): ${host.cpuVendor}, ${host.physBits} physical address bits (the matrix's snapshotHost; a run predicts for the machine it boots on)`);
  }
  // A refusal is a prediction too, while reading options as during machine init; a cell the model
  // does not model, or one that is no configuration, has none.
  if (claim.kind === 'refuses') {
    out.push('', '[refused]', claim.message);
    return `${out.join('\n')}\n`;
  }
  if (claim.kind !== 'boots') throw new Error(claim.message);
  const prediction = claim.prediction;
  // Explain entries named `<field> rule` with one item per line are written next to the line.
  const explain = { ...((prediction.explain ?? {}) as Record<string, unknown>) };
  for (const { field } of FIELDS) {
    let lines = FIELD_LINES[field](prediction.report);
    const rules = explain[`${field} rule`];
    if (lines && Array.isArray(rules) && rules.length === lines.length) {
      const width = Math.max(...lines.map((l) => l.length));
      lines = lines.map((l, i) => `${l.padEnd(width)}  ← ${String(rules[i])}`);
      delete explain[`${field} rule`];
    }
    out.push('', `[${field}]`, ...(lines === undefined ? ['(not predicted)'] : lines.length === 0 ? ['(empty)'] : lines));
  }
  for (const [k, v] of Object.entries(explain)) if (Array.isArray(v) && v.length === 0) delete explain[k];
  out.push(...renderExplain(Object.keys(explain).length ? explain : undefined));
  return `${out.join('\n')}\n`;
}

/**
 * The header line naming the model that wrote a snapshot: the checkout's commit, and whether
 * reference/ had uncommitted changes (harness/report/model-version.ts). Comparisons leave it out,
 * so a new commit alone moves no snapshot; it changes only when the prediction does.
 */
export const MODEL_LINE_PREFIX = '# model: ';

export function modelLine(model: ModelVersion | null): string {
  if (model === null) return `${MODEL_LINE_PREFIX}unknown (not a git checkout)`;
  return `${MODEL_LINE_PREFIX}commit ${model.commit}${model.dirty ? ' with uncommitted changes to reference/' : ''}`;
}

/** The text a snapshot file holds: the rendered prediction with the model line after its first line. */
export function withModelLine(rendered: string, model: ModelVersion | null): string {
  const [first, ...rest] = rendered.split('\n');
  return [first, modelLine(model), ...rest].join('\n');
}

/** A snapshot file's text without its model line: what check and review compare. */
export function withoutModelLine(text: string): string {
  return text
    .split('\n')
    .filter((l) => !l.startsWith(MODEL_LINE_PREFIX))
    .join('\n');
}

/** Where `e820 snapshots update` leaves a changed or new snapshot for review. */
export const PENDING_SUFFIX = '.new';

export interface SnapshotCheck {
  run: CellRun;
  path: string;
  status: 'same' | 'changed' | 'missing' | 'error';
  /** The file's text, without its model line. */
  expected?: string;
  /** The model's text now (no model line). */
  actual?: string;
  error?: string;
}

export async function checkSnapshots(runs: readonly CellRun[], deps: Pick<MatrixDeps, 'parseArgs' | 'predict'>, root = SNAPSHOT_ROOT): Promise<SnapshotCheck[]> {
  return Promise.all(
    runs.map(async (run): Promise<SnapshotCheck> => {
      const path = snapshotPath(run, root);
      let actual: string;
      try {
        actual = renderSnapshot(run, deps);
      } catch (err) {
        return { run, path, status: 'error', error: err instanceof Error ? err.message : String(err) };
      }
      const file = await readFile(path, 'utf8').catch(() => null);
      if (file === null) return { run, path, status: 'missing', actual };
      const expected = withoutModelLine(file);
      return { run, path, status: expected === actual ? 'same' : 'changed', expected, actual };
    }),
  );
}

/** Snapshot files of the matrices `runs` touch that no run writes: a cell was removed or renamed. */
export async function orphanSnapshots(runs: readonly CellRun[], root = SNAPSHOT_ROOT): Promise<string[]> {
  const keep = new Set(runs.map((r) => snapshotPath(r, root)));
  const orphans: string[] = [];
  for (const matrix of new Set(runs.map((r) => r.cell.matrix))) {
    const dir = join(root, matrix);
    for (const name of (await readdir(dir).catch(() => [] as string[])).sort()) {
      const path = join(dir, name);
      if (name.endsWith('.txt') && !keep.has(path)) orphans.push(path);
    }
  }
  return orphans;
}

/** Pending snapshots (`*.txt.new`) of the matrices `runs` touch, or of every matrix under root. */
export async function pendingSnapshots(root = SNAPSHOT_ROOT, matrices?: readonly string[]): Promise<string[]> {
  const dirs = matrices ?? (await readdir(root, { withFileTypes: true }).catch(() => [])).filter((d) => d.isDirectory()).map((d) => d.name);
  const out: string[] = [];
  for (const matrix of [...dirs].sort()) {
    for (const name of (await readdir(join(root, matrix)).catch(() => [] as string[])).sort()) {
      if (name.endsWith(`.txt${PENDING_SUFFIX}`)) out.push(join(root, matrix, name));
    }
  }
  return out;
}

export interface UpdateResult {
  /** Pending files written (`<snapshot>.txt.new`), for changed and missing snapshots. */
  pending: string[];
  unchanged: number;
  /** Pending files of an earlier update removed because the model now matches the snapshot again. */
  withdrawn: string[];
  orphans: string[];
  errors: string[];
}

/**
 * Writes what the model predicts now beside each snapshot that differs, as `<snapshot>.txt.new`
 * (with the model line); the snapshots themselves change only through review (acceptPending).
 * Nothing is written when the model cannot predict a cell.
 */
export async function updateSnapshots(
  runs: readonly CellRun[],
  deps: Pick<MatrixDeps, 'parseArgs' | 'predict'>,
  root = SNAPSHOT_ROOT,
  model: ModelVersion | null = modelVersion(),
): Promise<UpdateResult> {
  const checks = await checkSnapshots(runs, deps, root);
  const errors = checks.filter((c) => c.status === 'error').map((c) => `${c.run.key}: ${c.error}`);
  if (errors.length > 0) return { pending: [], unchanged: 0, withdrawn: [], orphans: [], errors };
  const pending: string[] = [];
  const withdrawn: string[] = [];
  for (const c of checks) {
    const pendingPath = `${c.path}${PENDING_SUFFIX}`;
    if (c.status === 'same') {
      if (await rm(pendingPath).then(() => true, () => false)) withdrawn.push(pendingPath);
      continue;
    }
    await mkdir(dirname(c.path), { recursive: true });
    await writeFile(pendingPath, withModelLine(c.actual!, model));
    pending.push(pendingPath);
  }
  return { pending, unchanged: checks.length - pending.length, withdrawn, orphans: await orphanSnapshots(runs, root), errors };
}

/** A pending snapshot's path → the snapshot it replaces. */
export function snapshotOfPending(pendingPath: string): string {
  return pendingPath.slice(0, -PENDING_SUFFIX.length);
}

/** Accepting a pending snapshot: it becomes the snapshot. */
export async function acceptPending(pendingPath: string): Promise<void> {
  await rename(pendingPath, snapshotOfPending(pendingPath));
}

/** Rejecting a pending snapshot: it is removed; the snapshot stays as it was. */
export async function rejectPending(pendingPath: string): Promise<void> {
  await rm(pendingPath);
}
