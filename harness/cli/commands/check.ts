// `e820 check [--json] [--append ARGS] [--qemu V --seabios V --kernel V] [--qemu-binary P --bios P --bzimage P
//   --fw-cfg-module P --toolchain FILE --profile-* V] [--host ssh://… --known-hosts F | --host-key SHA256:…
//   --identity F] -- <qemu args>`
// One ad-hoc cell from a command line: predict, boot (here, or on --host's machine), compare,
// print the verdict.
// Exit: 0 pass, 1 fail, 2 error.

import type { Command } from 'commander';
import { basename, dirname, resolve } from 'node:path';
import { BASELINE_TOOLCHAIN, toolchainLabel } from '../../../reference/toolchain.ts';
import { printable } from '../../errors.ts';
import { formatVerdict } from '../../matrix/compare.ts';
import { realDeps, type MatrixDeps } from '../../matrix/deps.ts';
import { runCell, type CellResult } from '../../matrix/runner.ts';
import type { Cell, CellRun } from '../../matrix/schema.ts';
import { exitCodeOf } from '../../matrix/verdict.ts';
import { cliInterrupt } from '../interrupt.ts';
import { provisionAll } from '../../matrix/provision-runs.ts';
import { parseTimeout } from '../options.ts';
import { EXPECT_HELP, HOST_LA57_HELP, HOST_PHYS_BITS_HELP, HOST_VENDOR_HELP, hostOverridesOf, parseScope, SCOPE_HELP, toolchainOverride, type HostFlags, type VersionFlags } from '../options.ts';
// Loaded only when the command line asks for them: the expect-file parser (--expect) and the user
// components' detection (--qemu-binary, --toolchain FILE, -bios PATH, …) bring yaml and zod, a
// third of what a plain `check` would otherwise compile at start-up.
import type { UserToolchain } from '../../user-toolchain/index.ts';
import { KERNEL_FLAVOUR_OPTION, kernelFlavourOf, namesUserComponents, withKernelFlavour, withUserToolchainOptions, type UserToolchainFlags } from '../../user-toolchain-flags.ts';
import { closeRemotes, connectRemotes, SSH_FLAG_HELP, type SshFlags } from '../../host/connect.ts';
import { HostSlots } from '../../host/slots.ts';
import type { Host } from '../../host/types.ts';

export interface CheckOptions extends VersionFlags, HostFlags, UserToolchainFlags, SshFlags {
  /** `--host ssh://…`: boot the cell on that machine (its QEMU, or the binaries its URL names). */
  host?: string;
  scope?: string;
  json?: boolean;
  append?: string;
  keepLogs?: string;
  timeout?: string;
  /** `--expect FILE`: the declared intent. */
  expect?: string;
  /** `--html FILE`: the cell's report page (harness/report/html.ts), as `e820 run` writes report.html. */
  html?: string;
}

export function adhocCell(qemuArgs: string[], append: string | undefined, flags: VersionFlags & { kernelFlavour?: string; bzimage?: string }): Cell {
  if (qemuArgs.length === 0) throw Object.assign(new Error('no QEMU arguments: e820 check -- -M q35 -m 2G'), { exitCode: 2 });
  const toolchain = withKernelFlavour(toolchainOverride(flags) ?? BASELINE_TOOLCHAIN, kernelFlavourOf(flags));
  return {
    matrix: 'check',
    file: '(command line)',
    index: 0,
    id: 'adhoc',
    qemu: qemuArgs,
    append: append ?? null,
    toolchains: [toolchain],
    note: null,
    timeoutSeconds: null,
    line: 0,
  };
}

export function formatCellResult(r: CellResult): string {
  const lines = [`${r.argv.join(' ')}  [${toolchainLabel(r.toolchain)}]`];
  if (r.expect) lines.push(`expect ${r.expect.file}: ${r.expect.changes.length > 0 ? r.expect.changes.join('; ') : 'no change declared'}`);
  for (const l of r.provenance ?? []) lines.push(`toolchain: ${l}`);
  if (r.ranOn !== undefined && r.ranOn !== 'local') lines.push(`booted on: ${r.ranOn}`);
  if (r.kvm) lines.push(`kvm${r.kvm.on !== undefined ? ` (probed on ${r.kvm.on})` : ''}: ${r.kvm.status} — ${r.kvm.reason}${r.kvm.host ? `; host: ${r.kvm.host}` : ''}`);
  // The reason is in the verdict's `excluded` line; a verdict-less result (an error) gets it here.
  if (r.scope?.scope === 'firmware') lines.push(`scope: firmware${r.verdict?.outcome === 'error' ? ` — ${r.scope.reason ?? ''}` : ' (the kernel layer is excluded, see below)'}`);
  if (r.verdict) lines.push(formatVerdict(r.verdict));
  if (r.versions) lines.push(`versions: ${Object.entries(r.versions).map(([k, v]) => `${k} ${String(v)}`).join(', ')}`);
  lines.push(`time: predict ${r.timings.predictMs} ms, capture ${r.timings.captureMs} ms`);
  if (r.logsDir) lines.push(`logs: ${r.logsDir}`);
  return printable(lines.join('\n'));
}

export async function checkCommand(qemuArgs: string[], opts: CheckOptions, deps?: MatrixDeps): Promise<number> {
  const adhoc = adhocCell(qemuArgs, opts.append, opts);
  const cell = opts.expect !== undefined ? { ...adhoc, expect: await (await import('../../matrix/intent.ts')).loadExpect(opts.expect) } : adhoc;
  const scope = parseScope(opts.scope);
  const timeoutMs = opts.timeout !== undefined ? parseTimeout(opts.timeout) : undefined;
  // User components (flags, --toolchain FILE, the QEMU arguments' -bios PATH): detected before
  // anything is provisioned; the cell's toolchain becomes the model's, with its provenance.
  const userToolchain = namesUserComponents(opts, qemuArgs) ? await import('../../user-toolchain/index.ts') : null;
  const user: UserToolchain | null = userToolchain !== null ? await userToolchain.resolveUserComponents(opts, null, {}, qemuArgs) : null;
  const plain: CellRun = { cell, toolchain: cell.toolchains[0]!, key: 'check/adhoc' };
  const run = user !== null ? userToolchain!.applyToRuns([plain], user)[0]! : plain;
  // --host: the one machine the cell boots on, connected (host key verified) before anything else;
  // closed (its keeper ended, its uploads removed) if what follows fails, as harness/cli/run-matrix.ts does.
  let remotes: Host[] = [];
  let d: MatrixDeps;
  try {
    remotes = deps === undefined && opts.host !== undefined ? await connectRemotes([opts.host], opts) : [];
    const slots = remotes.length > 0 ? new HostSlots(remotes.map((host) => ({ host, jobs: 1 }))) : undefined;
    d = deps ?? (await realDeps({ host: hostOverridesOf(opts), ...(user !== null ? userToolchain!.userDepsOptions(user) : {}), ...(slots !== undefined ? { slots } : {}) }));
  } catch (err) {
    await closeRemotes(remotes);
    throw err;
  }
  if (opts.json !== true) for (const l of run.provenance ?? []) process.stderr.write(`toolchain: ${l}\n`);
  const interrupt = cliInterrupt();
  try {
    await provisionAll(d, [run], (m) => process.stderr.write(`provision: ${m}\n`), interrupt.signal);
    const result = await runCell(run, d, {
      scope,
      signal: interrupt.signal,
      ...(opts.keepLogs ? { logsRoot: opts.keepLogs } : {}),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      ...(opts.json ? {} : { onProgress: (m: string) => process.stderr.write(`  ${m}\n`) }),
    });
    if (opts.html !== undefined) await writeCheckHtml(opts.html, qemuArgs, result);
    process.stdout.write(opts.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatCellResult(result)}\n`);
    return exitCodeOf([result.outcome]);
  } finally {
    interrupt.release();
    await closeRemotes(remotes);
  }
}

/** One cell's report.html: its maps, model beside machine, verdict, binaries; written where --html says. */
async function writeCheckHtml(html: string, qemuArgs: readonly string[], result: CellResult): Promise<void> {
  const { addBootBinaries } = await import('../../binaries.ts');
  const { renderReport } = await import('../../report/html.ts');
  const { writeInside } = await import('../../output-dir.ts');
  await addBootBinaries([result]);
  const file = resolve(html);
  const page = renderReport({ startedAt: result.timings.startedAt ?? new Date().toISOString(), command: ['check', '--', ...qemuArgs], cells: [result] }, { title: 'e820 check' });
  await writeInside(dirname(file), basename(file), page);
  process.stderr.write(`report: ${file}\n`);
}

export function register(program: Command): void {
  const cmd = program
    .command('check')
    .description('predict, boot and compare one ad-hoc configuration: e820 check -- -M q35 -m 2G')
    .argument('[qemuArgs...]', 'QEMU arguments, after --')
    .option('--json', 'print the cell result as JSON')
    .option('--append <ARGS>', 'kernel arguments (memmap=, mem=, …)')
    .option('--qemu <V>', 'QEMU version (default: baseline)')
    .option('--seabios <V>', 'SeaBIOS version (default: baseline)')
    .option('--kernel <V>', 'Linux version or point release, e.g. 6.1 or 5.10.262 (default: baseline)')
    .option(...KERNEL_FLAVOUR_OPTION)
    .option('--keep-logs <DIR>', 'keep the boot logs under DIR')
    .option('--timeout <SECONDS>', 'boot deadline (default: the harness\'s)')
    .option('--scope <scope>', SCOPE_HELP)
    .option('--host-vendor <vendor>', HOST_VENDOR_HELP)
    .option('--host-phys-bits <N>', HOST_PHYS_BITS_HELP)
    .option('--host-la57 <on|off>', HOST_LA57_HELP)
    .option('--expect <FILE>', EXPECT_HELP)
    .option('--html <FILE>', 'also write the cell\'s report page (maps of every layer, model beside machine) to FILE')
    .option('--host <ssh://user@host[:port]>', 'boot the cell on the machine at this URL (its QEMU; or ?qemu=/abs/path&bios=/abs/path names its own build)')
    .option(...SSH_FLAG_HELP.knownHosts)
    .option(...SSH_FLAG_HELP.hostKey)
    .option(...SSH_FLAG_HELP.identity);
  withUserToolchainOptions(cmd).action(async (qemuArgs: string[], opts: CheckOptions) => {
    process.exitCode = await checkCommand(qemuArgs, opts);
  });
}
