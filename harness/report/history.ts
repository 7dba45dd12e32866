// A history of runs: every `e820 run` appends its cells to an SQLite database beside the results
// (results/e820-history.sqlite for results/<timestamp>/, inside the results directory when its
// parent is a shared sticky one such as /tmp; E820_HISTORY_DB=FILE moves it,
// E820_HISTORY_DB=off turns it off), keyed by cell, toolchain (label, detected versions), model
// version (git commit) and time, with each cell's verdict and the machine's maps. The toolchain is
// recorded down to the bytes: the label, the detected versions, and the sha256 and Debian package
// version of the QEMU binary, SeaBIOS image, kernel and initramfs each boot ran (harness/binaries.ts).
// `e820 history` then says when a cell's verdict or observed map changed, and whether the toolchain
// changed with it: last good, first bad.
//
// SQLite through sql.js (SQLite compiled to WebAssembly, an npm package with no install script and
// nothing to compile or download): the database is read whole, appended to, and written back
// through harness/output-dir.ts under a lock, so two runs sharing it take turns.

import { statSync } from 'node:fs';
import { lstat, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { acquireLock } from '../provision/lock.ts';
import { writeInside } from '../output-dir.ts';
import type { BinaryRecord, BootBinaries } from '../binaries.ts';
import type { RecordedMaps } from './cell-maps.ts';
import type { ResultsLike } from './html.ts';

export const HISTORY_FILE = 'e820-history.sqlite';
const LOCK_TIMEOUT_MS = 60_000;

/** Where a run in `resultsDir` keeps its history; null when E820_HISTORY_DB=off. */
export function historyPath(resultsDir: string, env: NodeJS.ProcessEnv = process.env): string | null {
  const set = env.E820_HISTORY_DB;
  if (set !== undefined && set !== '') return set === 'off' ? null : resolve(set);
  const parent = dirname(resolve(resultsDir));
  // Beside the results, unless that is a shared sticky directory (/tmp, where the results dir was
  // given as /tmp/xyz): the history is then kept inside the results directory instead.
  const st = (() => {
    try {
      return statSync(parent);
    } catch {
      return null;
    }
  })();
  const sharedSticky = st !== null && (st.mode & 0o1000) !== 0 && (st.mode & 0o002) !== 0;
  return join(sharedSticky ? resolve(resultsDir) : parent, HISTORY_FILE);
}

interface SqlJsDatabase {
  run(sql: string, params?: unknown[]): void;
  exec(sql: string, params?: unknown[]): Array<{ columns: string[]; values: unknown[][] }>;
  export(): Uint8Array;
  close(): void;
}
type SqlJs = { Database: new (data?: Uint8Array) => SqlJsDatabase };

let sqlJs: Promise<SqlJs> | undefined;

/** sql.js, its .wasm read from node_modules (never fetched); loaded only when history is used. */
function loadSqlJs(): Promise<SqlJs> {
  if (!sqlJs) {
    const require = createRequire(import.meta.url);
    const init = require('sql.js') as (o: { locateFile: (f: string) => string }) => Promise<SqlJs>;
    const wasm = require.resolve('sql.js/dist/sql-wasm.wasm');
    sqlJs = init({ locateFile: () => wasm });
  }
  return sqlJs;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, results_dir TEXT NOT NULL,
  model_commit TEXT, model_dirty INTEGER, matrices TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cells (run_id INTEGER NOT NULL REFERENCES runs(id), cell TEXT NOT NULL, toolchain TEXT NOT NULL,
  versions TEXT, at TEXT NOT NULL, outcome TEXT NOT NULL, first_field TEXT, detail TEXT,
  observed TEXT, observed_hash TEXT, binaries TEXT, binaries_hash TEXT);
CREATE INDEX IF NOT EXISTS cells_key ON cells(cell, toolchain, at);
CREATE TABLE IF NOT EXISTS blobs (hash TEXT PRIMARY KEY, body TEXT NOT NULL);
`;

async function openDb(path: string): Promise<SqlJsDatabase> {
  const SQL = await loadSqlJs();
  const st = await lstat(path).catch(() => null);
  if (st?.isSymbolicLink()) throw new Error(`${path} is a symlink: the history is never read or written through one`);
  const db = new SQL.Database(st ? new Uint8Array(await readFile(path)) : undefined);
  db.run(SCHEMA);
  // Databases written before the binaries were recorded get the columns (their rows have none).
  const columns = db.exec('PRAGMA table_info(cells)')[0]?.values.map((v) => String(v[1])) ?? [];
  if (!columns.includes('binaries')) db.run('ALTER TABLE cells ADD COLUMN binaries TEXT');
  if (!columns.includes('binaries_hash')) db.run('ALTER TABLE cells ADD COLUMN binaries_hash TEXT');
  return db;
}

/** The machine's maps of a cell (the model's where they were the same), as stored and hashed. */
function observedOf(maps: RecordedMaps | undefined): string | null {
  if (!maps) return null;
  const out: Record<string, unknown> = {};
  for (const [layer, m] of Object.entries(maps.machine)) out[layer] = m === 'same' ? maps.model[layer as keyof typeof maps.model] : m;
  return JSON.stringify(out);
}

/** Stores `body` once; its hash (the first 16 hex digits of its sha256), by which cells refer to it. */
function blob(db: SqlJsDatabase, body: string): string {
  // node:crypto is loaded here, not at import: `e820 predict` imports this module (through the
  // HTML report) and never stores a blob; loading crypto costs a few ms of every start-up.
  const { createHash } = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 16);
  db.run('INSERT OR IGNORE INTO blobs (hash, body) VALUES (?, ?)', [hash, body]);
  return hash;
}

/** Appends a finished run's cells (not-run cells are left out). Returns how many were added. */
export async function appendHistory(dbPath: string, resultsDir: string, r: ResultsLike): Promise<number> {
  const release = await acquireLock(`${dbPath}.lock`, { purpose: 'e820 history', timeoutMs: LOCK_TIMEOUT_MS });
  try {
    const db = await openDb(dbPath);
    try {
      db.run('INSERT INTO runs (started_at, results_dir, model_commit, model_dirty, matrices) VALUES (?, ?, ?, ?, ?)', [
        r.startedAt ?? new Date().toISOString(),
        resolve(resultsDir),
        r.model?.commit ?? null,
        r.model ? (r.model.dirty ? 1 : 0) : null,
        JSON.stringify(r.matrices ?? []),
      ]);
      const runId = db.exec('SELECT last_insert_rowid()')[0]!.values[0]![0];
      let n = 0;
      for (const c of r.cells) {
        if (c.outcome === 'not-run') continue;
        const observed = observedOf(c.maps);
        const v = c.verdict;
        const first = v?.outcome === 'fail' ? ((v.first as { field?: string } | undefined)?.field ?? null) : v?.outcome === 'error' ? (v.error?.kind ?? null) : null;
        // The observed maps and the binaries are kept once per distinct content (blobs, by hash): a
        // night whose maps did not change adds a row of a few hundred bytes, not the maps again.
        const observedHash = observed === null ? null : blob(db, observed);
        const binaries = c.binaries ? blob(db, JSON.stringify(binaryKey(c.binaries))) : null;
        db.run('INSERT INTO cells (run_id, cell, toolchain, versions, at, outcome, first_field, detail, observed_hash, binaries_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)', [
          runId,
          c.key,
          c.toolchainLabel,
          c.versions ? JSON.stringify(c.versions) : null,
          c.timings?.startedAt ?? r.startedAt ?? new Date().toISOString(),
          c.outcome,
          first,
          v?.outcome === 'error' ? (v.error?.message.split('\n')[0] ?? null) : v?.outcome === 'fail' ? ((v.first as { summary?: string } | undefined)?.summary ?? null) : null,
          observedHash,
          binaries,
        ]);
        n++;
      }
      await writeInside(dirname(dbPath), basename(dbPath), db.export());
      return n;
    } finally {
      db.close();
    }
  } finally {
    await release();
  }
}

export interface HistoryQuery {
  cell?: string;
  toolchain?: string;
  /** ISO date or time: only records from then on. */
  since?: string;
}

export interface HistoryRow {
  cell: string;
  toolchain: string;
  at: string;
  outcome: string;
  firstField: string | null;
  detail: string | null;
  observedHash: string | null;
  model: string | null;
  versions: string | null;
  /** JSON of BinaryKey: per component, its sha256 and package; null for records without it. */
  binaries: string | null;
  resultsDir: string;
}

/** Per component (qemu, bios, kernel, initramfs): the sha256 and the package it came from. */
export type BinaryKey = Record<string, { sha256: string | null; package: string | null }>;

/** What identifies a boot's toolchain in the history: hashes and packages, not paths (a cache may move). */
export function binaryKey(b: BootBinaries): BinaryKey {
  const out: BinaryKey = {};
  for (const [name, rec] of Object.entries(b) as Array<[string, BinaryRecord | null]>) if (rec !== null) out[name] = { sha256: rec.sha256, package: rec.package };
  return out;
}

/** `bios sha256 2da2018c7555 → 52ad030c4883 (seabios 1.16.2-1 → no package)`, per component that changed. */
export function binaryChanges(before: string | null, after: string | null): string[] {
  if (before === null || after === null) return [];
  const a = JSON.parse(before) as BinaryKey;
  const b = JSON.parse(after) as BinaryKey;
  const out: string[] = [];
  for (const name of [...new Set([...Object.keys(a), ...Object.keys(b)])]) {
    const x = a[name];
    const y = b[name];
    if (x?.sha256 === y?.sha256 && x?.package === y?.package) continue;
    const hash = (r: typeof x) => (r?.sha256 ? r.sha256.slice(0, 12) : 'none');
    const pkg = (r: typeof x) => r?.package ?? 'no package';
    out.push(`${name} ${hash(x)} → ${hash(y)}${pkg(x) !== pkg(y) ? ` (${pkg(x)} → ${pkg(y)})` : ''}`);
  }
  return out;
}

/** How much the database holds: runs, cell records, and distinct stored maps and binary sets. */
export async function historyCounts(dbPath: string): Promise<{ runs: number; records: number; blobs: number }> {
  const st = await lstat(dbPath).catch(() => null);
  if (!st) return { runs: 0, records: 0, blobs: 0 };
  const db = await openDb(dbPath);
  try {
    const n = (table: string) => Number(db.exec(`SELECT COUNT(*) FROM ${table}`)[0]!.values[0]![0]);
    return { runs: n('runs'), records: n('cells'), blobs: n('blobs') };
  } finally {
    db.close();
  }
}

export async function readHistory(dbPath: string, q: HistoryQuery = {}): Promise<HistoryRow[]> {
  const st = await lstat(dbPath).catch(() => null);
  if (!st) return [];
  const db = await openDb(dbPath);
  try {
    const where: string[] = [];
    const params: unknown[] = [];
    if (q.cell) {
      where.push('(c.cell = ? OR c.cell LIKE ?)');
      params.push(q.cell, `%${q.cell}%`);
    }
    if (q.toolchain) {
      where.push('c.toolchain LIKE ?');
      params.push(`%${q.toolchain}%`);
    }
    if (q.since) {
      where.push('c.at >= ?');
      params.push(q.since);
    }
    const res = db.exec(
      `SELECT c.cell, c.toolchain, c.at, c.outcome, c.first_field, c.detail, c.observed_hash, r.model_commit, r.model_dirty, c.versions, r.results_dir, COALESCE(c.binaries, b.body)
       FROM cells c JOIN runs r ON r.id = c.run_id LEFT JOIN blobs b ON b.hash = c.binaries_hash ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY c.cell, c.toolchain, c.at`,
      params,
    );
    return (res[0]?.values ?? []).map((v) => ({
      cell: String(v[0]),
      toolchain: String(v[1]),
      at: String(v[2]),
      outcome: String(v[3]),
      firstField: v[4] === null ? null : String(v[4]),
      detail: v[5] === null ? null : String(v[5]),
      observedHash: v[6] === null ? null : String(v[6]),
      model: v[7] === null ? null : `${String(v[7]).slice(0, 12)}${v[8] === 1 ? '+dirty' : ''}`,
      versions: v[9] === null ? null : String(v[9]),
      resultsDir: String(v[10]),
      binaries: v[11] === null ? null : String(v[11]),
    }));
  } finally {
    db.close();
  }
}

/** The key a cell's records are grouped under: cell and toolchain label. */
export function historyKey(cell: string, toolchain: string): string {
  return `${cell}\u0000${toolchain}`;
}

/** The records of these cells (all of them, oldest first), by historyKey; empty when there is no database yet. */
export async function recentHistory(dbPath: string, cells: ReadonlyArray<{ key: string; toolchainLabel: string }>): Promise<Map<string, HistoryRow[]>> {
  const wanted = new Set(cells.map((c) => historyKey(c.key, c.toolchainLabel)));
  const out = new Map<string, HistoryRow[]>();
  for (const r of await readHistory(dbPath)) {
    const k = historyKey(r.cell, r.toolchain);
    if (wanted.has(k)) out.set(k, [...(out.get(k) ?? []), r]);
  }
  return out;
}

/** Per cell and toolchain: every record where the verdict or the observed map changed, with last good and first bad. */
export function historyChanges(rows: readonly HistoryRow[]): string {
  const groups = new Map<string, HistoryRow[]>();
  for (const r of rows) groups.set(historyKey(r.cell, r.toolchain), [...(groups.get(historyKey(r.cell, r.toolchain)) ?? []), r]);
  const out: string[] = [];
  for (const rs of groups.values()) {
    const head = `${rs[0]!.cell} @ ${rs[0]!.toolchain}: ${rs.length} record${rs.length === 1 ? '' : 's'}, now ${rs.at(-1)!.outcome.toUpperCase()}`;
    const lines: string[] = [];
    let lastGood: HistoryRow | null = null;
    for (let i = 0; i < rs.length; i++) {
      const r = rs[i]!;
      const p = i > 0 ? rs[i - 1]! : null;
      const what: string[] = [];
      if (p === null) what.push(`first record: ${r.outcome.toUpperCase()}`);
      else {
        if (p.outcome !== r.outcome) what.push(`verdict ${p.outcome.toUpperCase()} → ${r.outcome.toUpperCase()}${r.firstField ? ` (${r.firstField})` : ''}`);
        if (p.observedHash !== null && r.observedHash !== null && p.observedHash !== r.observedHash) what.push(`observed map changed (${p.observedHash} → ${r.observedHash})`);
        if (p.versions !== r.versions && r.versions !== null && p.versions !== null) what.push('detected versions changed');
        const binaries = binaryChanges(p.binaries, r.binaries);
        if (binaries.length > 0) what.push(`toolchain binaries changed: ${binaries.join(', ')}`);
        if (p.model !== r.model) what.push(`model ${p.model ?? '?'} → ${r.model ?? '?'}`);
      }
      if (p !== null && p.outcome === 'pass' && r.outcome !== 'pass') what.push(`last good ${p.at}, first bad ${r.at}`);
      if (what.length) lines.push(`  ${r.at}  ${what.join('; ')}${r.detail && r.outcome !== 'pass' ? ` — ${r.detail.slice(0, 160)}` : ''}`);
      if (r.outcome === 'pass') lastGood = r;
    }
    if (rs.at(-1)!.outcome !== 'pass') lines.push(`  last good: ${lastGood ? lastGood.at : 'never in this history'}`);
    out.push([head, ...lines].join('\n'));
  }
  return out.length ? `${out.join('\n')}\n` : 'no history matches\n';
}
