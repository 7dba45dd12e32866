// `e820 qtest [--qemu V] [--json] -- <qemu args>` — one configuration's QEMU layer, no guest.
// `e820 qtest --matrix NAME|FILE … [--jobs N]` — every run of the matrices (their toolchains).
// `e820 qtest --explore N [--seed S] [--qemu V]` — explore's random configurations, QEMU layer only.
// QEMU starts held at -S with qtest on stdio; fw_cfg and CMOS are read and compared with the
// model's QEMU stage (harness/qtest/, docs/qemu-layer.md). Exit: 0 all pass, 1 a fail, 2 an
// error (not-modelled configurations are counted, not errors).

import type { Command } from 'commander';
import { randomInt } from 'node:crypto';
import { BASELINE_TOOLCHAIN, toolchainOf, type Toolchain } from '../../../reference/toolchain.ts';
import { exploreCellsAsMatrix } from '../../explore/explore.ts';
import { generateCells, GENERATOR_VERSION } from '../../explore/generate.ts';
import { MAX_SEED, parseSeed } from '../../explore/prng.ts';
import { printable } from '../../errors.ts';
import { matrixPath } from '../../matrix/paths.ts';
import { expandRuns, loadMatrix, type Cell, type CellRun } from '../../matrix/schema.ts';
import { formatQtestResult } from '../../qtest/check.ts';
import { runQtestRuns, toolsProvider, type QtestRunSummary } from '../../qtest/matrix.ts';
import { cliInterrupt } from '../interrupt.ts';
import { parseJobs } from '../options.ts';

export interface QtestOptions {
  qemu?: string;
  matrix?: string[];
  explore?: string;
  seed?: string;
  jobs?: string;
  json?: boolean;
  verbose?: boolean;
}

function adhoc(args: string[], toolchain: Toolchain): Cell {
  return { matrix: 'qtest', file: '(command line)', index: 0, id: 'adhoc', qemu: args, append: null, toolchains: [toolchain], note: null, timeoutSeconds: null, line: 0 };
}

export function summaryLine(s: QtestRunSummary): string {
  const n = s.results.length;
  const rate = s.wallMs > 0 ? (n / s.wallMs) * 1000 : 0;
  return `qemu layer via qtest: ${n} configurations, ${s.counts.pass} pass, ${s.counts.fail} fail, ${s.counts.error} error, ${s.counts['not-modelled']} not modelled; ${(s.wallMs / 1000).toFixed(1)} s at --jobs ${s.jobs} (${rate.toFixed(1)} configurations/s)`;
}

export async function qtestCommand(args: string[], opts: QtestOptions): Promise<number> {
  const toolchain = opts.qemu !== undefined ? toolchainOf({ qemu: opts.qemu, ...sameSuite(opts.qemu) }) : BASELINE_TOOLCHAIN;
  let runs: CellRun[];
  if (opts.matrix !== undefined && opts.matrix.length > 0) {
    const cells: Cell[] = [];
    for (const m of opts.matrix) cells.push(...(await loadMatrix(matrixPath(m))));
    runs = expandRuns(cells);
  } else if (opts.explore !== undefined) {
    const count = parseJobs(opts.explore);
    const seed = opts.seed !== undefined ? parseSeed(opts.seed) : randomInt(MAX_SEED);
    process.stderr.write(`explore --layer qemu: seed ${seed}, ${count} configurations (generator v${GENERATOR_VERSION})\n`);
    const cells = generateCells({ seed, count, toolchain });
    runs = expandRuns(exploreCellsAsMatrix(cells, { seed, count, toolchain }));
  } else {
    if (args.length === 0) throw Object.assign(new Error('no QEMU arguments: e820 qtest -- -M q35 -m 2G (or --matrix NAME, --explore N)'), { exitCode: 2 });
    runs = expandRuns([adhoc(args, toolchain)]);
  }
  const interrupt = cliInterrupt();
  try {
    const summary = await runQtestRuns(runs, toolsProvider(), {
      ...(opts.jobs !== undefined ? { jobs: parseJobs(opts.jobs) } : {}),
      signal: interrupt.signal,
    });
    if (opts.json) process.stdout.write(`${JSON.stringify({ ...summary, results: summary.results.map((r) => ({ ...r, observation: undefined })) }, (_, v: unknown) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v), 2)}\n`);
    else {
      const single = runs.length === 1;
      for (const r of summary.results) {
        if (single || opts.verbose || r.result.outcome === 'fail' || r.result.outcome === 'error') process.stdout.write(`${printable(`${r.key}: ${formatQtestResult(r)}`)}\n\n`);
      }
      process.stdout.write(`${summaryLine(summary)}\n`);
    }
    return summary.counts.error > 0 ? 2 : summary.counts.fail > 0 ? 1 : 0;
  } finally {
    interrupt.release();
  }
}

/** The SeaBIOS and kernel of the QEMU's own Debian suite (only QEMU matters to the qemu layer). */
function sameSuite(qemu: string): { seabios: string; kernel: string } {
  const bySuite: Record<string, { seabios: string; kernel: string }> = {
    '5.2': { seabios: '1.14.0', kernel: '5.10' },
    '7.2': { seabios: '1.16.2', kernel: '6.1' },
    '10.0': { seabios: '1.16.3', kernel: '6.12' },
    '11.1': { seabios: '1.17.0', kernel: '7.2' },
  };
  return bySuite[qemu] ?? { seabios: BASELINE_TOOLCHAIN.seabios, kernel: BASELINE_TOOLCHAIN.kernel };
}

export function register(program: Command): void {
  program
    .command('qtest')
    .description('check the QEMU layer (fw_cfg etc/e820, CMOS, fw_cfg keys) without a guest, through QEMU\'s qtest protocol: e820 qtest -- -M q35 -m 2G')
    .argument('[qemuArgs...]', 'QEMU arguments, after --')
    .option('--qemu <V>', 'QEMU version (default: baseline); its own suite\'s SeaBIOS')
    .option('--matrix <NAME|FILE...>', 'check every run of these matrices (e.g. qemu-layer)')
    .option('--explore <N>', 'check N random configurations of explore\'s generator')
    .option('--seed <S>', 'explore seed (default: random, printed)')
    .option('--jobs <N>', 'QEMU processes at a time (default: twice the cores, as free memory allows)')
    .option('--verbose', 'print every result, not only failures and errors')
    .option('--json', 'print the results as JSON')
    .action(async (qemuArgs: string[], opts: QtestOptions) => {
      process.exitCode = await qtestCommand(qemuArgs, opts);
    });
}
