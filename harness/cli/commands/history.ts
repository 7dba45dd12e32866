// `e820 history [--cell ID] [--toolchain T] [--since DATE] [--db FILE]`: when each cell's verdict or
// observed map changed, run after run, with last good and first bad (harness/report/history.ts).

import type { Command } from 'commander';
import { join } from 'node:path';
import { REPO_ROOT } from '../../matrix/paths.ts';
import { historyChanges, historyPath, readHistory, HISTORY_FILE } from '../../report/history.ts';

export interface HistoryOptions {
  cell?: string;
  toolchain?: string;
  since?: string;
  db?: string;
}

export async function historyCommand(opts: HistoryOptions): Promise<string> {
  if (opts.since !== undefined && Number.isNaN(Date.parse(opts.since))) {
    throw Object.assign(new Error(`--since ${JSON.stringify(opts.since)}: not a date (e.g. 2026-12-01 or 2026-12-01T02:00Z)`), { exitCode: 2 });
  }
  // The default: where `e820 run` with its default results directory keeps it (or E820_HISTORY_DB).
  const db = opts.db ?? historyPath(join(REPO_ROOT, 'results', 'x'));
  if (db === null) throw Object.assign(new Error('E820_HISTORY_DB=off: no history is kept; give --db FILE'), { exitCode: 2 });
  const rows = await readHistory(db, {
    ...(opts.cell !== undefined ? { cell: opts.cell } : {}),
    ...(opts.toolchain !== undefined ? { toolchain: opts.toolchain } : {}),
    ...(opts.since !== undefined ? { since: new Date(opts.since).toISOString() } : {}),
  });
  return `history: ${db} (${rows.length} records)\n${historyChanges(rows)}`;
}

export function register(program: Command): void {
  program
    .command('history')
    .description('when each cell\'s verdict or observed map changed across runs: last good, first bad')
    .option('--cell <ID>', 'cell key (matrix/id@toolchain) or part of it')
    .option('--toolchain <T>', 'toolchain label or part of it (e.g. qemu-11.1)')
    .option('--since <DATE>', 'only records from this date or time on')
    .option('--db <FILE>', `history database (default: results/${HISTORY_FILE}, or E820_HISTORY_DB)`)
    .action(async (opts: HistoryOptions) => {
      process.stdout.write(await historyCommand(opts));
    });
}
