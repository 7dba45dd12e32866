// `e820 explore [--seed S] [--count N] [--toolchain SPEC|FILE] [--kernel-flavour F] [--qemu-binary P --bios P …] [--jobs J] [--out DIR] [--replay FILE]`
// Randomized differential conformance: generates N random configurations over the model's option
// space (harness/explore/generate.ts), writes them as a matrix file into the results directory,
// boots them with the matrix runner (the same progress, results.json and junit.xml as `e820 run`)
// and prints what the model claimed, what happened, and a reproducer per failing cell.
// Exit: 0 all pass, 1 any fail, 2 any error or interruption — as `e820 run`, except that cells
// the model refuses as not modelled are counted and listed, not errors.

import type { Command } from 'commander';
import { randomInt } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { BASELINE_TOOLCHAIN, toolchainLabel, type Toolchain } from '../../../reference/toolchain.ts';
import { parseToolchainSpec } from '../../drift/spec.ts';
import { claimsOf, exploreDeps, exploreMatrixText, formatSummary, summarize, type Claim } from '../../explore/explore.ts';
import { generateCells } from '../../explore/generate.ts';
import { MAX_SEED, parseSeed } from '../../explore/prng.ts';
import { realDeps, type MatrixDeps } from '../../matrix/deps.ts';
import { REPO_ROOT, matrixPath } from '../../matrix/paths.ts';
import { prepareOutputDir, writeInside } from '../../output-dir.ts';
import type { CellResult } from '../../matrix/runner.ts';
import { loadMatrix, type Cell } from '../../matrix/schema.ts';
import { parseJobs, parseTimeout } from '../options.ts';
import { runCommand } from '../run-matrix.ts';
import { EXPECT_HELP, selectOnly, timestampDir } from '../options.ts';
import { shellQuote } from '../../errors.ts';
import { KERNEL_FLAVOUR_OPTION, kernelFlavourOf, withKernelFlavour } from '../../user-toolchain-flags.ts';
import { fileOfComponents, flagsOfComponents, resolveUserComponents, withUserToolchainOptions, type UserToolchainFlags, userDepsOptions } from '../../user-toolchain/index.ts';

/** Cells per run when --count is not given: a few minutes on two cores. */
export const DEFAULT_EXPLORE_COUNT = 20;

export interface ExploreOptions extends Omit<UserToolchainFlags, 'toolchain'> {
  seed?: string;
  count?: string;
  /** A toolchain spec (bookworm, qemu-10.0+…), or a toolchain file (TOOLCHAIN_FILE: ends in .yaml/.yml). */
  toolchain?: string;
  jobs?: string;
  out?: string;
  timeout?: string;
  plain?: boolean;
  replay?: string;
  only?: string;
  dryRun?: boolean;
  /** `--expect FILE`: the declared intent of every generated cell. */
  expect?: string;
  /** `--kernel-flavour`: the guest kernel image every cell boots (and the model predicts for). */
  kernelFlavour?: string;
}

export function parseCount(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 100_000) throw Object.assign(new Error(`--count ${JSON.stringify(text)}: expected a whole number from 1 to 100000`), { exitCode: 2 });
  return n;
}

function claimLine(id: string, c: Claim): string {
  switch (c.kind) {
    case 'boots':
      return `  ${id}: boots`;
    case 'refuses':
      return `  ${id}: QEMU refuses${c.atParse ? ' (while reading options)' : ''}: ${c.message.split('\n')[0]}`;
    default:
      return `  ${id}: ${c.kind}: ${c.message.split('\n')[0]}`;
  }
}

/** `--toolchain VALUE` names a toolchain file (harness/user-toolchain.ts) when it ends in .yaml or .yml; otherwise it is a spec. */
export const TOOLCHAIN_FILE = /\.ya?ml$/i;

export async function exploreCommand(opts: ExploreOptions, deps?: MatrixDeps): Promise<number> {
  // Refused here, before a file is written or a toolchain provisioned (runCommand parses it again).
  if (opts.timeout !== undefined) parseTimeout(opts.timeout);
  if (opts.jobs !== undefined) parseJobs(opts.jobs);
  const flavour = kernelFlavourOf(opts);
  // The written explore.yaml does not name the flavour (matrix toolchains carry none): the replay
  // lines printed and written say `--kernel-flavour` instead, cloud too (the default is minimal).
  const flavourFlags = flavour !== undefined ? ['--kernel-flavour', flavour] : [];
  /** The toolchain with the flavour kept even when it is cloud, so the reproducers name it. */
  const flavoured = (t: Toolchain): Toolchain => (flavour !== undefined ? { ...withKernelFlavour(t, flavour), kernelFlavour: flavour } : t);
  const toolchainFile = opts.toolchain !== undefined && TOOLCHAIN_FILE.test(opts.toolchain) ? opts.toolchain : undefined;
  const spec = toolchainFile === undefined ? opts.toolchain : undefined;
  // User components (flags, a toolchain file): detected before anything is written; the generated
  // matrix names them as its top-level `toolchain:`, so its run (and --replay) boots them.
  const user = await resolveUserComponents({ ...opts, toolchain: toolchainFile });
  const userToolchain = user !== null ? fileOfComponents(user.detected.spec) : undefined;
  const userFlags = user !== null ? flagsOfComponents(user.detected.spec) : [];
  const base = deps ?? (await realDeps(userDepsOptions(user)));
  /** The model's toolchain for the cells' toolchain. */
  const modelOf = (t: Toolchain): Toolchain => (user !== null ? user.model(t).toolchain : t);
  const startedAt = new Date();
  let seed: number | null = null;
  let toolchain: Toolchain;
  let matrixFile: string;
  let dir: string;
  let families: Map<string, readonly string[]> | undefined;
  let cells: Cell[];

  if (opts.replay !== undefined) {
    if (opts.seed !== undefined || opts.count !== undefined || spec !== undefined) {
      throw Object.assign(new Error('--replay runs the cells of a written file as they are: it takes no --seed, --count or --toolchain SPEC'), { exitCode: 2 });
    }
    matrixFile = matrixPath(opts.replay);
    cells = await loadMatrix(matrixFile);
    toolchain = modelOf(withKernelFlavour(cells[0]?.toolchains[0] ?? BASELINE_TOOLCHAIN, flavour));
    const m = /seed (\d+)/.exec((await readFile(matrixFile, 'utf8')).split('\n').find((l) => l.startsWith('description:')) ?? '');
    seed = m ? Number(m[1]) : null;
    dir = await prepareOutputDir(opts.out ?? join(REPO_ROOT, 'results', `explore-replay-${timestampDir(startedAt)}`));
    process.stderr.write(`e820 explore: replaying ${matrixFile} (${cells.length} cells on ${toolchainLabel(toolchain)})\n`);
  } else {
    seed = opts.seed !== undefined ? parseSeed(opts.seed) : randomInt(0, MAX_SEED + 1);
    const count = opts.count !== undefined ? parseCount(opts.count) : DEFAULT_EXPLORE_COUNT;
    const cellToolchain = flavoured(spec !== undefined ? parseToolchainSpec(spec).toolchain : BASELINE_TOOLCHAIN);
    // Generated for (and claimed by) the model's toolchain; the matrix keeps the cells' toolchain,
    // which the user components map to it again when it runs (as `e820 run` maps a matrix's).
    toolchain = modelOf(cellToolchain);
    // No fallback roads (a patched SeaBIOS and its int15: declaration) when the run brings its own
    // declaration or SeaBIOS image: one would contradict the other.
    const generated = generateCells({ seed, count, toolchain, fallbackRoads: opts.expect === undefined && user === null });
    families = new Map(generated.map((c) => [c.id, c.families]));
    dir = await prepareOutputDir(opts.out ?? join(REPO_ROOT, 'results', `explore-${timestampDir(startedAt)}-seed${seed}`));
    matrixFile = await writeInside(
      dir,
      'explore.yaml',
      exploreMatrixText(generated, { seed, toolchain: cellToolchain, count, ...(userToolchain !== undefined ? { userToolchain } : {}) }),
    );
    cells = await loadMatrix(matrixFile);
    // Printed first, so even an interrupted or crashed run can be replayed.
    process.stderr.write(
      `e820 explore: seed ${seed}, ${count} cells on ${toolchainLabel(toolchain)} → ${matrixFile}\n` +
        `  replay the whole run: npx e820 explore --seed ${seed} --count ${count} --toolchain ${toolchainLabel(withKernelFlavour(cellToolchain, 'cloud'))}${[...flavourFlags, ...userFlags].length > 0 ? ` ${shellQuote([...flavourFlags, ...userFlags])}` : ''}\n`,
    );
  }
  if (user !== null) for (const l of user.model(cells[0]?.toolchains[0] ?? BASELINE_TOOLCHAIN).provenance) process.stderr.write(`toolchain: ${l}\n`);

  const claims = claimsOf(cells, toolchain, base);
  if (opts.dryRun) {
    process.stdout.write(`${cells.map((c) => claimLine(c.id, claims.get(c.id)!)).join('\n')}\n`);
    const counts = [...claims.values()].reduce<Record<string, number>>((acc, c) => ({ ...acc, [c.kind]: (acc[c.kind] ?? 0) + 1 }), {});
    process.stdout.write(`model claims: ${Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(', ')} (dry run: nothing booted)\n`);
    return 0;
  }

  // --only matches a cell's id or its key (explore/<id>); the runner filters on keys.
  let only: string | undefined;
  if (opts.only !== undefined) {
    const ids = selectOnly(opts.only, cells, (c) => [c.id, `${c.matrix}/${c.id}`]).map((c) => c.id);
    only = `^[^/]+/(?:${ids.map((id) => id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})$`;
  }

  const t0 = performance.now();
  await runCommand([matrixFile], {
    results: dir,
    ...(opts.jobs !== undefined ? { jobs: opts.jobs } : {}),
    ...(opts.timeout !== undefined ? { timeout: opts.timeout } : {}),
    ...(opts.plain ? { plain: true } : {}),
    ...(only !== undefined ? { only } : {}),
    ...(opts.expect !== undefined ? { expect: opts.expect } : {}),
    ...(flavour !== undefined ? { kernelFlavour: flavour } : {}),
  }, exploreDeps(base));
  const written = JSON.parse(await readFile(join(dir, 'results.json'), 'utf8')) as { cells: CellResult[]; wallMs?: number };
  const ranIds = new Set(written.cells.map((r) => r.id));
  const ran = cells.filter((c) => ranIds.has(c.id));
  const summary = summarize({
    seed,
    toolchain,
    cells: ran,
    results: written.cells,
    claims: new Map([...claims].filter(([id]) => ranIds.has(id))),
    ...(families ? { families: new Map([...families].filter(([id]) => ranIds.has(id))) } : {}),
    matrixFile,
    wallMs: written.wallMs ?? Math.round(performance.now() - t0),
    ...(userFlags.length > 0 ? { userFlags } : {}),
  });
  await writeInside(dir, 'explore.json', `${JSON.stringify({ ...summary, claims: Object.fromEntries(claims) }, null, 2)}\n`);
  process.stdout.write(`\n${formatSummary(summary)}\nexplore summary: ${join(dir, 'explore.json')}\n`);
  return summary.exitCode;
}

export function register(program: Command): void {
  const cmd = program
    .command('explore')
    .description('randomized differential conformance: generate random configurations, boot them, compare with the model')
    .option('--seed <S>', `seed of the generator, 0..${MAX_SEED} (default: random, printed)`)
    .option('--count <N>', `cells to generate (default ${DEFAULT_EXPLORE_COUNT})`)
    .option(
      '--toolchain <SPEC|FILE>',
      'toolchain: a spec, bookworm | trixie | qemu-10.0+seabios-1.16.3 | … (default: the baseline, bookworm), or, when the value ends in .yaml/.yml, ' +
        'a toolchain file of user components (qemu-binary, bios, bzimage, fw-cfg-module, profile:) as `e820 run --toolchain FILE` takes',
    )
    .option(...KERNEL_FLAVOUR_OPTION)
    .option('--jobs <N>', 'concurrent boots (default: number of cores)')
    .option('--out <DIR>', 'results directory (default: results/explore-<timestamp>-seed<S>/)')
    .option('--timeout <SECONDS>', 'overall deadline of each boot (default 600; a boot silent for 60 s ends sooner)')
    .option('--replay <FILE>', 'run the cells of a written explore.yaml again (with --only for one cell)')
    .option('--only <REGEX>', 'run only the cells whose id (or key explore/<id>) matches')
    .option('--dry-run', 'generate and print the model\'s claim per cell; boot nothing')
    .option('--plain', 'plain progress lines even on a terminal')
    .option('--expect <FILE>', `${EXPECT_HELP}; for every generated cell`);
  withUserToolchainOptions(cmd).action(async (opts: ExploreOptions) => {
    process.exitCode = await exploreCommand(opts);
  });
}
