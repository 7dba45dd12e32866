// Writes report.html beside results.json (through harness/output-dir.ts, like every results file).

import { writeInside } from '../output-dir.ts';
import { escapeHtml } from './map-svg.ts';
import { renderReport, type ResultsLike } from './html.ts';

export const REPORT_FILE = 'report.html';

/**
 * Renders and writes `report.html` into `dir`. A report that cannot be drawn (a bug here) must not
 * cost the run its results: the file then says why, and results.json and junit.xml stand.
 */
export async function writeReport(dir: string, results: ResultsLike, title = dir): Promise<string> {
  let html: string;
  try {
    html = renderReport(results, { title });
  } catch (err) {
    html = `<!DOCTYPE html><meta charset="utf-8"><title>e820 report</title><p>The report could not be drawn: ${escapeHtml(err instanceof Error ? (err.stack ?? err.message) : String(err))}</p><p>results.json and junit.xml in this directory are complete; <code>e820 report ${escapeHtml(dir)}</code> draws it again.</p>\n`;
  }
  return writeInside(dir, REPORT_FILE, html);
}
