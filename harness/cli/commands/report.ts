// `e820 report RESULTS_DIR… [--out FILE]`: draws report.html again from results.json (one
// directory: beside it, or at --out; several: one report of all their cells, merged as below).
// `e820 report --merge RESULTS_DIR… --out DIR`: joins sharded runs (`e820 run --shard i/n`) into
// DIR/results.json, DIR/junit.xml and DIR/report.html (harness/report/merge.ts says what is refused).
// Exit 0 when written (whatever the cells' verdicts), 2 on bad input.

import type { Command } from 'commander';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { writeInside } from '../../output-dir.ts';
import { junitXml } from '../../matrix/reporters.ts';
import type { CellResult } from '../../matrix/runner.ts';
import { renderReport, type ResultsLike } from '../../report/html.ts';
import { mergeResults, MergeError, type MergeInput } from '../../report/merge.ts';
import { historyOptions, REPORT_FILE, writeReport } from '../../report/write.ts';
import { historyPath } from '../../report/history.ts';

function usage(message: string): Error {
  return Object.assign(new Error(message), { exitCode: 2 });
}

/** RESULTS_DIR (or a results.json itself) → its parsed content. */
export async function readResults(arg: string): Promise<MergeInput> {
  const path = resolve(arg);
  const st = await stat(path).catch(() => null);
  if (st === null) throw usage(`${arg}: no such file or directory (give a results directory of e820 run)`);
  const file = st.isDirectory() ? join(path, 'results.json') : path;
  const text = await readFile(file, 'utf8').catch(() => null);
  if (text === null) throw usage(`${arg}: no results.json there (give a results directory of e820 run)`);
  let results: ResultsLike;
  try {
    results = JSON.parse(text) as ResultsLike;
  } catch (err) {
    throw usage(`${file}: not JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(results?.cells)) throw usage(`${file}: no cells list (not an e820 results.json)`);
  return { dir: st.isDirectory() ? path : dirname(path), results };
}

export interface ReportOptions {
  out?: string;
  merge?: boolean;
}

export async function reportCommand(dirs: readonly string[], opts: ReportOptions): Promise<string> {
  if (dirs.length === 0) throw usage('e820 report: give at least one results directory');
  const inputs = [];
  for (const d of dirs) inputs.push(await readResults(d));
  try {
    if (opts.merge) {
      if (opts.out === undefined) throw usage('e820 report --merge: give the merged results directory with --out DIR');
      const merged = mergeResults(inputs);
      const out = resolve(opts.out);
      if (inputs.some((i) => i.dir === out)) throw usage(`--out ${opts.out} is one of the inputs: merge into a new directory`);
      await writeInside(out, 'results.json', `${JSON.stringify(merged, null, 2)}\n`);
      await writeInside(out, 'junit.xml', junitXml(merged.cells as unknown as CellResult[], merged.wallMs ?? 0));
      const h = await historyOptions(historyPath(out), merged);
      const report = await writeReport(out, merged, out, h.options);
      const t = merged.totals!;
      return `merged ${inputs.length} results (${t.cells} cells: ${t.pass} pass, ${t.fail} fail, ${t.error} error${t.notRun ? `, ${t.notRun} not run` : ''})\nresults: ${join(out, 'results.json')}\njunit:   ${join(out, 'junit.xml')}\nreport:  ${report}\n`;
    }
    if (inputs.length > 1 && opts.out === undefined) throw usage('e820 report: several results directories make one report: say where with --out FILE (or --merge --out DIR for merged results too)');
    const results = inputs.length === 1 ? inputs[0]!.results : mergeResults(inputs);
    const title = inputs.map((i) => i.dir).join(' + ');
    // Each cell's recent history, from the database the first run appended to (E820_HISTORY_DB moves it).
    const h = await historyOptions(historyPath(inputs[0]!.dir), results);
    const written = opts.out !== undefined
      ? await writeInside(dirname(resolve(opts.out)), basename(resolve(opts.out)), renderReport(results, { title, ...h.options }))
      : await writeReport(inputs[0]!.dir, results, title, h.options);
    return `report: ${written}\n${h.note !== null ? `${h.note}\n` : ''}`;
  } catch (err) {
    if (err instanceof MergeError) throw usage(err.message);
    throw err;
  }
}

export function register(program: Command): void {
  program
    .command('report')
    .description(`draw ${REPORT_FILE} (maps of every layer, model beside machine) from results directories; --merge joins sharded runs`)
    .argument('<RESULTS_DIR...>', 'results directories of e820 run (or their results.json)')
    .option('--out <PATH>', `the report file (default: RESULTS_DIR/${REPORT_FILE}); with --merge, the merged results directory`)
    .option('--merge', 'join sharded runs (e820 run --shard i/n) into one results.json, junit.xml and report in --out DIR')
    .action(async (dirs: string[], opts: ReportOptions) => {
      process.stdout.write(await reportCommand(dirs, opts));
    });
}
