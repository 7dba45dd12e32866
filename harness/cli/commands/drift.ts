// `e820 drift --from <toolchain> --to <toolchain> [matrix…] [--json] [--verify] [--kernel-flavour F] [--qemu-binary P --bios P … (the --to side)]`
// From the model alone: which matrix cells' maps change between two toolchains, and how, layer
// by layer. --verify boots both toolchains for the changed cells to confirm the machine drifts
// the same way. Exit: 0 (model only, or every changed cell confirmed), 1 any not confirmed,
// 2 an error (bad spelling, unknown matrix, a boot that did not complete).

import type { Command } from 'commander';
import { parseQemuArgs } from '../../../reference/cmdline/index.ts';
import { predict } from '../../../reference/predict.ts';
import { driftCells, renderDrift, type DriftReport } from '../../drift/drift.ts';
import { parseToolchainSpec, SPEC_GRAMMAR } from '../../drift/spec.ts';
import { renderVerification, verifyDrift, verifyRuns, type VerifyResult } from '../../drift/verify.ts';
import { realDeps, type MatrixDeps } from '../../matrix/deps.ts';
import { DEFAULT_MATRIX, matrixPath } from '../../matrix/paths.ts';
import { Progress } from '../../matrix/progress.ts';
import { defaultJobs } from '../../matrix/runner.ts';
import { loadMatrix, type Cell } from '../../matrix/schema.ts';
import { againNote, cliInterrupt } from '../interrupt.ts';
import { basename, dirname, resolve } from 'node:path';
import { writeInside } from '../../output-dir.ts';
import { driftSides, renderDriftHtml } from '../../report/drift-html.ts';
import type { RecordedMaps } from '../../report/cell-maps.ts';
import { provisionAll } from '../../matrix/provision-runs.ts';
import { selectOnly } from '../options.ts';
import { parseJobs, parseTimeout } from '../options.ts';
import { provisionToolchain } from '../../capture.ts';
import type { BiosVariant } from '../../../reference/profiles/seabios.ts';
import type { Toolchain } from '../../../reference/toolchain.ts';
import { KERNEL_FLAVOUR_OPTION, kernelFlavourOf, withKernelFlavour } from '../../user-toolchain-flags.ts';
import { resolveUserComponents, withUserToolchainOptions, type UserToolchain, type UserToolchainFlags } from '../../user-toolchain/index.ts';

export interface DriftOptions extends UserToolchainFlags {
  from?: string;
  to?: string;
  json?: boolean;
  verify?: boolean;
  full?: boolean;
  all?: boolean;
  only?: string;
  jobs?: string;
  timeout?: string;
  plain?: boolean;
  /** `--kernel-flavour`: the guest kernel image of both sides (predicted for, and booted by --verify). */
  kernelFlavour?: string;
  /** `--html FILE`: the drift as a page, both toolchains' maps per cell (harness/report/drift-html.ts). */
  html?: string;
}

/** The model alone: no QEMU, no provisioning. `biosVariantOf`: a user SeaBIOS image's variant for the toolchain that boots it. */
export function modelDepsFor(biosVariantOf: (t: Toolchain) => BiosVariant | undefined = () => undefined): Pick<MatrixDeps, 'parseArgs' | 'predict'> {
  return {
    parseArgs: (argv, qemuVersion) => parseQemuArgs(argv, { qemuVersion }),
    predict: (config, toolchain) => {
      const biosVariant = biosVariantOf(toolchain);
      return { report: predict(config, toolchain, biosVariant !== undefined ? { biosVariant } : {}).report };
    },
  };
}

export const modelDeps: Pick<MatrixDeps, 'parseArgs' | 'predict'> = modelDepsFor();

/**
 * User components (harness/user-toolchain.ts) apply to the `--to` side only: its toolchain becomes
 * the model's for them (detected versions, --profile-*), --verify boots them there, and the
 * `--from` side stays the spec's stock toolchain.
 */
export interface DriftUser {
  user: UserToolchain;
  /** The `--to` side's model toolchain. */
  to: Toolchain;
  provenance: string[];
  isTo: (t: Toolchain) => boolean;
}

function usageError(message: string): Error {
  return Object.assign(new Error(message), { exitCode: 2 });
}

export async function loadDrift(matrices: string[], opts: DriftOptions): Promise<{ report: DriftReport; cells: Cell[]; user: DriftUser | null }> {
  if (!opts.from || !opts.to) throw usageError('drift needs --from <toolchain> and --to <toolchain> (see e820 drift --help)');
  // Both sides boot (and are predicted for) the same flavour: the drift is the toolchains', not the images'.
  const flavour = kernelFlavourOf(opts);
  const flavoured = (s: ReturnType<typeof parseToolchainSpec>) => ({ ...s, toolchain: withKernelFlavour(s.toolchain, flavour) });
  const from = flavoured(parseToolchainSpec(opts.from));
  const spec = flavoured(parseToolchainSpec(opts.to));
  const resolved = await resolveUserComponents(opts);
  let user: DriftUser | null = null;
  let to = spec;
  if (resolved !== null) {
    const m = resolved.model(spec.toolchain);
    const key = JSON.stringify(m.toolchain);
    user = { user: resolved, to: m.toolchain, provenance: m.provenance, isTo: (t) => JSON.stringify(t) === key };
    to = { ...spec, toolchain: m.toolchain };
  }
  const names = matrices.length ? matrices : [DEFAULT_MATRIX];
  let cells: Cell[] = [];
  for (const name of names) cells.push(...(await loadMatrix(matrixPath(name))));
  if (opts.only) cells = selectOnly(opts.only, cells, (c) => [`${c.matrix}/${c.id}`]);
  const deps = user !== null ? modelDepsFor((t) => (user.isTo(t) ? user.user.biosVariant : undefined)) : modelDeps;
  const report = driftCells(cells, { spec: from.text, toolchain: from.toolchain }, { spec: to.text, toolchain: to.toolchain }, deps, names);
  return { report, cells, user };
}

export async function driftCommand(matrices: string[], opts: DriftOptions, deps?: MatrixDeps): Promise<number> {
  const timeoutMs = opts.timeout !== undefined ? parseTimeout(opts.timeout) : undefined;
  const { report, cells, user } = await loadDrift(matrices, opts);
  let verification: VerifyResult | null = null;
  /** --verify's boots' maps, for --html: cell key → the `from` and `to` boots. */
  const booted = new Map<string, { from?: RecordedMaps; to?: RecordedMaps }>();
  if (opts.verify) {
    const runs = verifyRuns(report, cells);
    const jobs = opts.jobs ? parseJobs(opts.jobs) : defaultJobs();
    const d =
      deps ??
      (await realDeps(
        user !== null
          ? {
              // The --to side boots the user's components; the --from side is provisioned as usual.
              provision: (t, o) => (user.isTo(t) ? user.user.provision(t, o) : provisionToolchain(t, o)),
              biosVariantOf: (t) => (user.isTo(t) ? user.user.biosVariant : undefined),
            }
          : {},
      ));
    const progress = new Progress({ total: runs.length, stream: process.stderr, ...(opts.plain ? { plain: true } : {}) });
    progress.note(`e820 drift --verify: ${runs.length} boots (${runs.length / 2} changed cells × 2 toolchains), ${jobs} at a time`);
    const interrupt = cliInterrupt();
    interrupt.onStop((cause, n) => progress.note(n === 1 ? `${cause}: no new boots; stopping the running ones…` : againNote(cause)));
    try {
      await provisionAll(d, runs, (m) => progress.note(`provision: ${m}`), interrupt.signal);
      verification = await verifyDrift(report, cells, d, {
        jobs,
        signal: interrupt.signal,
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
        onStart: (run) => progress.start(run),
        onProgress: (run, msg) => progress.progress(run, msg),
        onDone: (r) => {
          progress.finish(r);
          const at = r.key.lastIndexOf('@');
          const side = r.key.slice(at + 1);
          if (r.maps !== undefined && (side === 'from' || side === 'to')) booted.set(r.key.slice(0, at), { ...booted.get(r.key.slice(0, at)), [side]: r.maps });
        },
      });
    } finally {
      progress.stop();
      interrupt.release();
    }
  }
  if (opts.html !== undefined) {
    const model = user !== null ? modelDepsFor((t) => (user.isTo(t) ? user.user.biosVariant : undefined)) : modelDeps;
    const file = resolve(opts.html);
    await writeInside(dirname(file), basename(file), renderDriftHtml(report, driftSides(report, model), booted));
    process.stderr.write(`drift report: ${file}\n`);
  }
  if (opts.json) {
    const provenance = user !== null ? { provenance: { to: user.provenance } } : {};
    process.stdout.write(`${JSON.stringify({ ...report, ...provenance, ...(verification ? { verify: verification } : {}) }, null, 2)}\n`);
  } else {
    for (const l of user?.provenance ?? []) process.stdout.write(`--to toolchain: ${l}\n`);
    process.stdout.write(renderDrift(report, { ...(opts.full ? { full: true } : {}), ...(opts.all ? { all: true } : {}) }));
    if (verification) process.stdout.write(renderVerification(verification));
  }
  if (!verification) return 0;
  if (verification.interrupted || verification.cells.some((c) => c.outcome === 'error')) return 2;
  return verification.cells.some((c) => c.outcome === 'not-confirmed') ? 1 : 0;
}

export function register(program: Command): void {
  const cmd = program
    .command('drift')
    .description('which matrix cells\' maps change between two toolchains, and how, per layer (model only; --verify boots both)')
    .argument('[matrix...]', `matrix names (suites/matrix/<name>.yaml) or paths; default: ${DEFAULT_MATRIX}`)
    .requiredOption('--from <toolchain>', 'the toolchain drifted from (spellings below)')
    .requiredOption('--to <toolchain>', 'the toolchain drifted to')
    .option('--json', 'print the drift (and the verification) as JSON')
    .option('--verify', 'boot both toolchains for every changed cell and confirm the machine drifts as predicted (slow)')
    .option('--full', 'print the changed lines of every changed field, not only the first')
    .option('--all', 'list unchanged cells too')
    .option('--only <REGEX>', 'only the cells whose key (matrix/id) matches')
    .option(...KERNEL_FLAVOUR_OPTION)
    .option('--jobs <N>', '--verify: concurrent boots (default: number of cores)')
    .option('--timeout <SECONDS>', '--verify: per-boot deadline')
    .option('--plain', '--verify: plain progress lines even on a terminal')
    .option('--html <FILE>', "also draw the drift as a page: per cell, the two toolchains' maps side by side, as report.html draws model and machine")
    .addHelpText(
      'after',
      `\n${SPEC_GRAMMAR}\n\nUser components (--qemu-binary, --bios, --bzimage, --fw-cfg-module, --toolchain FILE, --profile-*) apply to the --to side only:\n` +
        `its versions are detected from them (the nearest earlier profile when the model has none), --verify boots them there, and --from stays stock.\n` +
        `\nExamples:\n  e820 drift --from qemu-5.2 --to qemu-10.0\n  e820 drift --from bookworm --to trixie --only 'q35' --full\n  e820 drift --from bullseye --to sid --verify --jobs 4\n` +
        `  e820 drift --from trixie --to sid --qemu-binary ./build/qemu-system-x86_64 --verify`,
    );
  withUserToolchainOptions(cmd).action(async (matrices: string[], opts: DriftOptions) => {
    process.exitCode = await driftCommand(matrices, opts);
  });
}
