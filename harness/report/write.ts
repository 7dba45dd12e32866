// Writes report.html beside results.json (through harness/output-dir.ts, like every results file).

import { existsSync } from 'node:fs';
import { writeInside } from '../output-dir.ts';
import { escapeHtml } from './map-svg.ts';
import { renderReport, type ReportOptions, type ResultsLike } from './html.ts';
import { recentHistory } from './history.ts';

export const REPORT_FILE = 'report.html';

/**
 * Renders and writes `report.html` into `dir`. A report that cannot be drawn (a bug here) must not
 * cost the run its results: the file then says why, and results.json and junit.xml stand.
 */
export async function writeReport(dir: string, results: ResultsLike, title = dir, extra: Omit<ReportOptions, 'title'> = {}): Promise<string> {
  let html: string;
  try {
    html = renderReport(results, { title, ...extra });
  } catch (err) {
    html = `<!DOCTYPE html><meta charset="utf-8"><title>e820 report</title><p>The report could not be drawn: ${escapeHtml(err instanceof Error ? (err.stack ?? err.message) : String(err))}</p><p>results.json and junit.xml in this directory are complete; <code>e820 report ${escapeHtml(dir)}</code> draws it again.</p>\n`;
  }
  return writeInside(dir, REPORT_FILE, html);
}

/**
 * The report's history options: each cell's records in the database at `dbPath` (null: none kept).
 * A database that cannot be read costs the report its history section, said in the note, not the report.
 */
export async function historyOptions(dbPath: string | null, results: ResultsLike): Promise<{ options: Omit<ReportOptions, 'title'>; note: string | null }> {
  if (dbPath === null || !existsSync(dbPath)) return { options: {}, note: null };
  try {
    return { options: { history: await recentHistory(dbPath, results.cells), historySource: dbPath }, note: null };
  } catch (err) {
    return { options: {}, note: `the history in ${dbPath} could not be read for the report: ${(err as Error).message}` };
  }
}
