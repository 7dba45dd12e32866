// What a run leaves behind: results.json (everything, per cell and per layer), junit.xml (one
// testcase per cell, for CI), and the summary table printed at the end.

import { cpus } from 'node:os';
import { printable } from '../errors.ts';
import { writeInside } from '../output-dir.ts';
import { describeExcluded, formatVerdict } from './compare.ts';
import type { CellResult, RunSummary } from './runner.ts';
import { exitCodeOf } from './verdict.ts';
import { groupDisagreements } from './disagreements.ts';
import { modelVersion } from '../report/model-version.ts';
import { writeReport } from '../report/write.ts';

export interface RunInfo {
  startedAt: string;
  matrices: string[];
  shard: { index: number; count: number } | null;
  jobs: number;
  command: string[];
}

export interface Totals {
  cells: number;
  pass: number;
  fail: number;
  error: number;
  notRun: number;
}

export function totalsOf(results: readonly CellResult[]): Totals {
  const t: Totals = { cells: results.length, pass: 0, fail: 0, error: 0, notRun: 0 };
  for (const r of results) {
    if (r.outcome === 'not-run') t.notRun++;
    else t[r.outcome]++;
  }
  return t;
}

export function resultsJson(info: RunInfo, summary: RunSummary | { results: CellResult[]; interrupted: boolean; wallMs: number }, finished: boolean): unknown {
  const totals = totalsOf(summary.results);
  const ran = totals.pass + totals.fail + totals.error;
  return {
    schema: 1,
    ...info,
    /** The model's git commit (harness/report/model-version.ts); `e820 report --merge` compares it. */
    model: modelVersion(),
    finished,
    interrupted: summary.interrupted,
    wallMs: summary.wallMs,
    host: { cpus: cpus().length, node: process.version, platform: process.platform },
    totals,
    cellsPerMinute: summary.wallMs > 0 ? Math.round((ran / (summary.wallMs / 60_000)) * 10) / 10 : null,
    exitCode: exitCodeOf(summary.results.map((r) => r.outcome)),
    /** Disagreements grouped by layer and what changed (harness/matrix/disagreements.ts). */
    disagreements: groupDisagreements(summary.results),
    cells: summary.results,
  };
}

/** XML 1.0 forbids most control characters even escaped; logs can carry them. */
export function xmlEscape(text: string): string {
  return text
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

export function junitXml(results: readonly CellResult[], wallMs: number): string {
  const byMatrix = new Map<string, CellResult[]>();
  for (const r of results) byMatrix.set(r.matrix, [...(byMatrix.get(r.matrix) ?? []), r]);
  const all = totalsOf(results);
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="e820-conformance" tests="${all.cells}" failures="${all.fail}" errors="${all.error}" skipped="${all.notRun}" time="${seconds(wallMs)}">`,
  ];
  for (const [matrix, rs] of byMatrix) {
    const t = totalsOf(rs);
    const time = rs.reduce((s, r) => s + r.timings.totalMs, 0);
    out.push(`  <testsuite name="${xmlEscape(matrix)}" tests="${t.cells}" failures="${t.fail}" errors="${t.error}" skipped="${t.notRun}" time="${seconds(time)}">`);
    for (const r of rs) {
      const name = xmlEscape(r.key.slice(matrix.length + 1));
      const open = `    <testcase classname="e820.${xmlEscape(matrix)}.${xmlEscape(r.toolchainLabel)}" name="${name}" time="${seconds(r.timings.totalMs)}"`;
      const v = r.verdict;
      // A retried cell says so, whatever its outcome (a pass on the second boot is not hidden).
      const retried = retriedNote(r);
      const retriedOut = retried !== null ? `\n      <system-out>${xmlEscape(retried)}</system-out>` : '';
      if (r.outcome === 'pass' || !v) {
        // A pass that left layers out says so (what was not compared is never silent).
        const excluded = v?.outcome === 'pass' ? describeExcluded(v.counts) : null;
        const said = [excluded !== null ? formatVerdict(v!) : null, retried].filter((t): t is string => t !== null).join('\n');
        out.push(
          r.outcome === 'not-run'
            ? `${open}>\n      <skipped message="not run: the run was interrupted before it, or has not reached it yet"/>\n    </testcase>`
            : said !== ''
              ? `${open}>\n      <system-out>${xmlEscape(said)}</system-out>\n    </testcase>`
              : `${open}/>`,
        );
      } else if (v.outcome === 'fail') {
        out.push(
          `${open}>`,
          `      <failure message="${xmlEscape(`first divergence at ${v.first.layer} layer: ${v.first.summary}`)}" type="${xmlEscape(v.first.field)}">${xmlEscape(formatVerdict(v))}</failure>${retriedOut}`,
          '    </testcase>',
        );
      } else if (v.outcome === 'error') {
        out.push(
          `${open}>`,
          `      <error message="${xmlEscape(v.error.message.split('\n')[0] ?? '')}" type="${xmlEscape(v.error.kind)}">${xmlEscape(v.error.message)}</error>${retriedOut}`,
          '    </testcase>',
        );
      } else out.push(`${open}/>`);
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>', '');
  return out.join('\n');
}

/** `attempts: 2; retried once …: attempt 1 failed with …` for a cell booted twice; null otherwise. */
export function retriedNote(r: CellResult): string | null {
  if (!r.retried) return null;
  return `attempts: ${r.attempts}; retried once (a harness timeout is retried once): ${r.retried.reason}`;
}

export async function writeResults(
  dir: string,
  info: RunInfo,
  summary: { results: CellResult[]; interrupted: boolean; wallMs: number },
  finished: boolean,
): Promise<void> {
  // Written after every cell; writeInside's temp-then-rename keeps a reader (or a second Ctrl-C)
  // from seeing half a file, and a link planted in the directory from redirecting the write.
  const json = resultsJson(info, summary, finished);
  await writeInside(dir, 'results.json', `${JSON.stringify(json, null, 2)}\n`);
  await writeInside(dir, 'junit.xml', junitXml(summary.results, summary.wallMs));
  // The report is drawn once, at the end (drawing it after every cell would cost more than the cell).
  if (finished) await writeReport(dir, json as Parameters<typeof writeReport>[1]);
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

/** One row per cell: outcome, where it diverged or why it errored, counts, time. */
export function summaryTable(results: readonly CellResult[], wallMs: number, interrupted: boolean): string {
  // Cells an interrupt kept from starting are counted in the totals, not listed one by one.
  const rows = results.filter((r) => r.outcome !== 'not-run').map((r) => {
    const v = r.verdict;
    const reported =
      v?.outcome === 'fail'
        ? `${v.first.field}: ${v.first.summary.replace(/^[^:]*: /, '')}`
        : v?.outcome === 'error'
          ? `${v.error.kind}: ${v.error.message.split('\n')[0]}`
          : v?.outcome === 'pass' && v.counts.excluded?.length
            ? `${r.scope?.scope === 'firmware' ? 'firmware scope' : 'excluded'}: ${[...new Set(v.counts.excluded.map((e) => e.field.split('.')[0]))].join(', ')} layer not compared`
            : '';
    const counts = v && 'counts' in v && v.counts ? `${v.counts.compared}/${v.counts.excludedByRule}` : '';
    // A retried cell says so in front of whatever else it says.
    const detail = r.retried ? `retried (attempt 1: ${r.retried.kind})${reported !== '' ? `; ${reported}` : ''}` : reported;
    return [r.key, r.outcome.toUpperCase(), counts, formatDuration(r.timings.totalMs), printable(detail).slice(0, 100)];
  });
  const head = ['cell', 'outcome', 'cmp/excl', 'time', 'first divergence / error'];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
  const line = (cols: string[]) => cols.map((c, i) => (i === cols.length - 1 ? c : pad(c, widths[i]!))).join('  ').trimEnd();
  const t = totalsOf(results);
  const ran = t.pass + t.fail + t.error;
  const perMinute = wallMs > 0 ? (ran / (wallMs / 60_000)).toFixed(1) : '–';
  const retried = results.filter((r) => r.retried).length;
  return [
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
    `${t.cells} cells: ${t.pass} pass, ${t.fail} fail, ${t.error} error${t.notRun ? `, ${t.notRun} not run` : ''}${retried ? ` (${retried} retried after a harness timeout)` : ''}` +
      ` — wall ${formatDuration(wallMs)}, ${perMinute} cells/min${interrupted ? ' — INTERRUPTED' : ''}`,
  ].join('\n');
}
