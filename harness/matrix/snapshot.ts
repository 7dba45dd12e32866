// Prediction snapshots: the model's prediction for every matrix cell as a readable text file,
// suites/snapshots/<matrix>/<cell>[@toolchain].txt. A change in the model shows up as a diff of
// these files in review; only `e820 snapshots update` rewrites them (never in CI).

import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { toolchainLabel } from '../../reference/toolchain.ts';
import { FIELD_LINES } from './compare.ts';
import type { MatrixDeps } from './deps.ts';
import { SNAPSHOT_ROOT } from './paths.ts';
import { describeIntent } from './intent.ts';
import { cellArgv, shellJoin, type CellRun } from './schema.ts';
import { FIELDS } from './verdict.ts';


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

/** The snapshot text for one run: header, then each field as the comparator sees it. */
export function renderSnapshot(run: CellRun, deps: Pick<MatrixDeps, 'parseArgs' | 'predict'>): string {
  const out = [
    `# e820 prediction snapshot — ${run.key}`,
    `# argv: ${shellJoin(cellArgv(run.cell))}`,
    `# toolchain: ${toolchainLabel(run.toolchain)}`,
    ...(run.cell.note ? [`# note: ${run.cell.note}`] : []),
    ...(run.cell.expect ? [`# expect: ${run.cell.expect.file}`, ...describeIntent(run.cell.expect.intent).map((c) => `#   ${c}`)] : []),
    '# Written by `e820 snapshots update`; do not edit by hand. A diff here is a change in the model.',
  ];
  let prediction;
  try {
    const config = deps.parseArgs(cellArgv(run.cell), run.toolchain.qemu);
    // A KVM guest takes the host's CPU vendor and phys-bits: a snapshot written with this
    // machine's would change with the machine, so KVM cells are written for the file's host.
    const host = run.cell.snapshotHost;
    if (config.accel === 'kvm') {
      if (host === undefined) {
        throw new Error(`${run.key} is a KVM cell: its matrix file needs \`snapshotHost: { cpuVendor: …, physBits: … }\` (the KVM host its snapshots are written for)`);
      }
      out.splice(3, 0, `# host (KVM): ${host.cpuVendor}, ${host.physBits} physical address bits (the matrix's snapshotHost; a run predicts for the machine it boots on)`);
    }
    prediction = deps.predict(config, run.toolchain, {
      ...(host !== undefined ? { host } : {}),
      ...(run.cell.expect !== undefined ? { intent: run.cell.expect.intent } : {}),
    });
  } catch (err) {
    const name = err instanceof Error ? err.name : 'Error';
    const message = err instanceof Error ? err.message : String(err);
    // A refusal is a prediction too; anything else (module missing, parser error) is not.
    if (name !== 'QemuRefusal') throw err;
    out.push('', '[refused]', message);
    return `${out.join('\n')}\n`;
  }
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

export interface SnapshotCheck {
  run: CellRun;
  path: string;
  status: 'same' | 'changed' | 'missing' | 'error';
  expected?: string;
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
      const expected = await readFile(path, 'utf8').catch(() => null);
      if (expected === null) return { run, path, status: 'missing', actual };
      return { run, path, status: expected === actual ? 'same' : 'changed', expected, actual };
    }),
  );
}

/** Rewrites the snapshot of every run and deletes stale files of the matrices touched. */
export async function updateSnapshots(
  runs: readonly CellRun[],
  deps: Pick<MatrixDeps, 'parseArgs' | 'predict'>,
  root = SNAPSHOT_ROOT,
): Promise<{ written: number; unchanged: number; removed: string[]; errors: string[] }> {
  const checks = await checkSnapshots(runs, deps, root);
  const errors = checks.filter((c) => c.status === 'error').map((c) => `${c.run.key}: ${c.error}`);
  if (errors.length > 0) return { written: 0, unchanged: 0, removed: [], errors };
  let written = 0;
  for (const c of checks) {
    if (c.status === 'same') continue;
    await mkdir(dirname(c.path), { recursive: true });
    await writeFile(c.path, c.actual!);
    written++;
  }
  const removed: string[] = [];
  const keep = new Set(checks.map((c) => c.path));
  for (const matrix of new Set(runs.map((r) => r.cell.matrix))) {
    const dir = join(root, matrix);
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const path = join(dir, name);
      if (name.endsWith('.txt') && !keep.has(path)) {
        await rm(path);
        removed.push(path);
      }
    }
  }
  return { written, unchanged: checks.length - written, removed, errors };
}
