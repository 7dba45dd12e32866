// `e820 predict [--qemu V --seabios V --kernel V] [--qemu-binary P --bios P --bzimage P --toolchain FILE --profile-* V]
//   [--host-vendor V --host-phys-bits N] [--json] [--explain] -- <qemu args>`
// Runs the reference model only (no QEMU): prints what every layer should report, in the
// shape `e820 capture` prints, so the two compare field by field. A KVM configuration is
// predicted for this machine's CPU vendor and physical address bits (harness/host-facts.ts), or
// for the host the --host-* options describe.

import type { Command } from 'commander';
import { basename, dirname, resolve } from 'node:path';
import { predictedLayers } from '../../report/cell-maps.ts';
import { renderPredictionHtml } from '../../report/html.ts';
import { parseQemuArgs } from '../../../reference/cmdline/index.ts';
import { predict } from '../../../reference/predict.ts';
import { predictionJson, explanation } from '../prediction-json.ts';
import { batchInput, predictBatch } from '../predict-batch.ts';
import { QemuRefusal, UnsupportedOptionError } from '../../../reference/stages.ts';
import { describeInt15Fails } from '../../../reference/intent.ts';
import { toolchainLabel, toolchainOf, UnknownVersionError } from '../../../reference/toolchain.ts';
import { describeHostFacts, HostFactsError, localHostSources, resolveHostFacts, type HostFactsSources } from '../../host-facts.ts';
import { renderTable } from '../render-table.ts';
import { ExpectFileError } from '../../matrix/expect-error.ts';
import type { CellExpect } from '../../matrix/intent.ts';
import { EXPECT_HELP, HOST_LA57_HELP, HOST_PHYS_BITS_HELP, HOST_VENDOR_HELP, hostOverridesOf, type HostFlags } from '../options.ts';
import type { UserToolchain } from '../../user-toolchain/index.ts';
import { KERNEL_FLAVOUR_OPTION, kernelFlavourOf, namesUserComponents, UserComponentError, withKernelFlavour, withUserToolchainOptions, type UserToolchainFlags } from '../../user-toolchain-flags.ts';

export interface PredictCliOptions extends HostFlags, UserToolchainFlags {
  /** `--expect FILE`: the declared intent (harness/matrix/intent.ts). */
  expect?: string;
  /** `--batch FILE|-`: JSON lines in, one JSON line out per line (harness/cli/predict-batch.ts). */
  batch?: string;
  json?: boolean;
  explain?: boolean;
  /** `--html FILE`: also draw the predicted layers into FILE (harness/report/html.ts). */
  html?: string;
  qemu?: string;
  seabios?: string;
  kernel?: string;
}

export interface PredictResult {
  code: number;
  stdout: string;
  stderr: string;
  /** With --html: the page to write (the caller writes it). */
  html?: string;
}

/**
 * `e820 predict` with user components: --qemu-binary/--bios/--bzimage/--toolchain FILE/--profile-*
 * and the QEMU arguments' `-bios PATH` go through harness/user-toolchain.ts (versions detected from
 * the binaries pick the profiles; nothing is provisioned or booted), then predictCommand.
 */
export async function predictWithComponents(qemuArgs: string[], opts: PredictCliOptions, hostSources: HostFactsSources = localHostSources): Promise<PredictResult> {
  let user: UserToolchain | null = null;
  try {
    // Detection (and its execa, yaml, zod) is loaded only when a component was named.
    if (namesUserComponents(opts, qemuArgs)) user = await (await import('../../user-toolchain/index.ts')).resolveUserComponents(opts, null, {}, qemuArgs);
  } catch (err) {
    if (err instanceof UserComponentError) return { code: 2, stdout: '', stderr: `e820 predict: ${err.message}\n` };
    throw err;
  }
  const loadExpect = opts.expect !== undefined ? (await import('../../matrix/intent.ts')).loadExpectSync : undefined;
  return predictCommand(qemuArgs, opts, hostSources, user, loadExpect);
}

/** `loadExpect` (harness/matrix/intent.ts loadExpectSync) is needed only with `opts.expect`; the caller loads it. */
export function predictCommand(
  qemuArgs: string[],
  opts: PredictCliOptions,
  hostSources: HostFactsSources = localHostSources,
  user: UserToolchain | null = null,
  loadExpect?: (file: string) => CellExpect,
): PredictResult {
  try {
    // The user's components pick the profiles (detected versions; --profile-* win); the rest is --qemu/--seabios/--kernel's.
    const base = withKernelFlavour(toolchainOf(opts), kernelFlavourOf(opts));
    const model = user !== null ? user.model(base) : null;
    const toolchain = model?.toolchain ?? base;
    const biosVariant = user?.biosVariant;
    const config = parseQemuArgs(qemuArgs, { qemuVersion: toolchain.qemu });
    const overrides = hostOverridesOf(opts);
    let stderr = '';
    // Only a KVM guest takes the host's CPU vendor and phys-bits (reference/qemu/ resolveCpu).
    const host = config.accel === 'kvm' ? resolveHostFacts(overrides, hostSources) : null;
    if (host === null && (overrides.vendor !== undefined || overrides.physBits !== undefined)) {
      stderr += 'e820 predict: note: --host-vendor/--host-phys-bits ignored: not a KVM configuration (under TCG the guest CPU is the model\'s own)\n';
    }
    for (const n of host?.notes ?? []) stderr += `e820 predict: note: ${n}\n`;
    if (opts.expect !== undefined && loadExpect === undefined) throw new Error('predictCommand: --expect needs loadExpect');
    const declared = opts.expect !== undefined ? loadExpect!(opts.expect) : undefined;
    const p = predict(config, toolchain, {
      ...(host !== null ? { host: host.facts } : {}),
      ...(declared !== undefined ? { intent: declared.intent } : {}),
      ...(biosVariant !== undefined ? { biosVariant } : {}),
    });
    const applied = declared !== undefined ? (p.intent?.applied ?? []) : undefined;
    const html = opts.html !== undefined ? { html: renderPredictionHtml(qemuArgs, toolchainLabel(toolchain), predictedLayers(p.report, p.unpredicted)) } : {};
    if (opts.json) {
      const expectJson = declared !== undefined ? { expect: { file: declared.file, changes: [...applied!.map((a) => a.text), ...describeInt15Fails(declared.intent)], applied: applied!.map((a) => `${a.text}: ${a.effect}`) } } : {};
      const provenanceJson = model !== null ? { provenance: model.provenance } : {};
      const { explain, ...rest } = predictionJson(p, host);
      return { code: 0, stdout: `${JSON.stringify({ ...rest, ...provenanceJson, ...expectJson, explain }, null, 2)}\n`, stderr, ...html };
    }
    const unobserved = p.unpredicted.map((reason) => ({ layer: 'kernel' as const, field: reason.split(':')[0] ?? '', reason }));
    const provenance = (model?.provenance ?? []).map((l) => `\ntoolchain: ${l}`).join('');
    let text = `prediction for ${toolchainLabel(toolchain)}${provenance}${host !== null ? `\nKVM host: ${describeHostFacts(host)}` : ''}\n\n${renderTable({ report: p.report, unobserved })}`;
    if (declared !== undefined) {
      const fails = describeInt15Fails(declared.intent).map((t) => `  ${t} — the kernel's real-mode detect_memory() gets CF=1 there\n`);
      text += `\ndeclared (expect ${declared.file}):${applied!.length === 0 && fails.length === 0 ? ' nothing' : ''}\n${applied!.map((a) => `  ${a.text} — ${a.effect}\n`).join('')}${fails.join('')}`;
    }
    if (opts.explain) {
      const ex = explanation(p);
      text += `\nexplain: which firmware built the map\n${ex.firmwareRoad.map((l) => `  ${l}`).join('\n')}\n`;
      text += `\nexplain: firmware entries\n${ex.firmware.map((l) => `  ${l}`).join('\n')}\n`;
      text += `\nexplain: how the kernel sized memory\n${ex.memoryPath.map((l) => `  ${l}`).join('\n')}\n`;
      for (const w of ex.warnings) text += `QEMU warning: ${w}\n`;
    }
    return { code: 0, stdout: text, stderr, ...html };
  } catch (err) {
    if (err instanceof ExpectFileError || err instanceof UserComponentError) return { code: 2, stdout: '', stderr: `e820 predict: ${err.message}\n` };
    if (err instanceof QemuRefusal || err instanceof UnsupportedOptionError || err instanceof HostFactsError || err instanceof UnknownVersionError) {
      return { code: 2, stdout: '', stderr: `e820 predict: ${err.message}\n` };
    }
    throw err;
  }
}

export function register(program: Command): void {
  const cmd = program
    .command('predict')
    .description('predict, from the reference model alone, what every layer reports for a QEMU command line')
    .argument('[qemu-args...]', 'QEMU arguments, after --')
    .option('--json', 'print the report as JSON (the shape of `e820 capture --json`, plus `explain`)')
    .option('--explain', 'say which rule produced each firmware entry, and which way the kernel sized memory (E820, or the E801/88h fallback) and why')
    .option('--html <FILE>', 'also draw the predicted memory maps of every layer into FILE (a self-contained HTML page)')
    .option('--qemu <version>', 'QEMU version (5.2, 7.2, 10.0, 11.1; default 7.2)')
    .option('--seabios <version>', 'SeaBIOS version (1.14.0, 1.16.2, 1.16.3, 1.17.0; default 1.16.2)')
    .option('--kernel <version>', 'Linux version (5.10, 6.1, 6.12, 7.2; default 6.1), or a point release such as 5.10.262')
    .option(...KERNEL_FLAVOUR_OPTION)
    .option('--host-vendor <vendor>', HOST_VENDOR_HELP)
    .option('--host-phys-bits <N>', HOST_PHYS_BITS_HELP)
    .option('--host-la57 <on|off>', HOST_LA57_HELP)
    .option('--expect <FILE>', EXPECT_HELP);
  cmd.option('--batch <FILE|->', 'predict many command lines in one process: JSON lines {"argv": [...], "qemu": V, "seabios": V, "kernel": V} in, one JSON line out per input line');
  withUserToolchainOptions(cmd).action(async (qemuArgs: string[], opts: PredictCliOptions) => {
    if (opts.batch !== undefined) {
      process.exitCode = await batchCommand(qemuArgs, opts);
      return;
    }
    const r = await predictWithComponents(qemuArgs, opts);
    if (r.html !== undefined && opts.html !== undefined) {
      const { writeInside } = await import('../../output-dir.ts');
      const file = resolve(opts.html);
      r.stderr += `e820 predict: maps drawn in ${await writeInside(dirname(file), basename(file), r.html)}\n`;
    }
    process.stdout.write(r.stdout);
    process.stderr.write(r.stderr);
    process.exitCode = r.code;
  });
}

/** `predict --batch`: the options that apply to every line, then the lines; exit 2 if any line was bad input. */
async function batchCommand(qemuArgs: string[], opts: PredictCliOptions): Promise<number> {
  const conflicting = [qemuArgs.length > 0 ? 'QEMU arguments after --' : null, opts.expect !== undefined ? '--expect' : null, opts.explain ? '--explain' : null,
    opts.qemuBinary !== undefined || opts.bios !== undefined || opts.bzimage !== undefined || opts.toolchain !== undefined ? 'user components (--qemu-binary, --bios, --bzimage, --toolchain)' : null].filter((c) => c !== null);
  if (conflicting.length > 0) {
    process.stderr.write(`e820 predict: --batch takes its command lines from the input; not with ${conflicting.join(', ')}\n`);
    return 2;
  }
  const input = batchInput(opts.batch!);
  try {
    const flavour = kernelFlavourOf(opts);
    const summary = await predictBatch(input, process.stdout, { ...(opts.qemu ? { qemu: opts.qemu } : {}), ...(opts.seabios ? { seabios: opts.seabios } : {}), ...(opts.kernel ? { kernel: opts.kernel } : {}), ...(flavour !== undefined ? { kernelFlavour: flavour } : {}) }, hostOverridesOf(opts));
    const c = summary.counts;
    process.stderr.write(`e820 predict --batch: ${summary.lines} lines: ${c.boots} predicted, ${c.refuses} refused as QEMU would, ${c['not-modelled']} not modelled, ${c['bad-input']} bad input\n`);
    return c['bad-input'] > 0 ? 2 : 0;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT' || e.code === 'EACCES' || e.code === 'EISDIR') {
      process.stderr.write(`e820 predict: --batch ${opts.batch!}: ${e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : 'is a directory'}\n`);
      return 2;
    }
    if (err instanceof HostFactsError) {
      process.stderr.write(`e820 predict: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}
