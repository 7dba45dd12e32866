// `e820 capture [--json] [--timeout S] [--keep-logs DIR] [--qemu-binary P --bios P --bzimage P …]
//   [--host ssh://… --known-hosts F | --host-key SHA256:… --identity F] -- <qemu args>`
// Boots the QEMU command line once with the harness's guest (on this machine, or on --host's:
// its QEMU, or the binaries its URL names; the KVM probe runs there too) and prints what every layer
// reported: a per-layer table, or with --json the LayerReport (the shape `e820 predict --json`
// prints, so the two diff field by field). Boot progress goes to stderr.
// Exit: 0 captured, 2 harness error (QEMU refused, hang, panic, cut log, missing tool).
//
// The boot uses the QEMU arguments exactly as typed: the model's parse (reference/cmdline/)
// is only metadata here, so a command line the model does not understand can still be
// observed, and a command line QEMU refuses is reported in QEMU's own words.

import type { Command } from 'commander';
import { createLogUpdate } from 'log-update';
import { parseQemuArgs } from '../../../reference/cmdline/index.ts';
import type { MachineConfig } from '../../../reference/config.ts';
import { toolchainOf, type Toolchain } from '../../../reference/toolchain.ts';
import { capture, provisionToolchain, type CaptureOptions, type CaptureScope, type Observation, type Provisioner } from '../../capture.ts';
import { HarnessError, printable } from '../../errors.ts';
import { cliInterrupt } from '../interrupt.ts';
import { parseScope, parseTimeout, SCOPE_HELP } from '../options.ts';
import { probeKvm } from '../../kvm-probe.ts';
import { userAccelerator } from '../../qemu-argv.ts';
import { resolveUserComponents, withUserToolchainOptions, type UserToolchain, type UserToolchainFlags } from '../../user-toolchain/index.ts';
import { KERNEL_FLAVOUR_OPTION, kernelFlavourOf, withKernelFlavour } from '../../user-toolchain-flags.ts';
import { closeRemotes, hostOf, SSH_FLAG_HELP, type SshFlags } from '../../host/connect.ts';
import { isThisMachine, localHost } from '../../host/local.ts';
import type { Host } from '../../host/types.ts';

export interface CaptureCliOptions extends UserToolchainFlags, SshFlags {
  /** `--host ssh://…`: boot on that machine. */
  host?: string;
  json?: boolean;
  timeout?: string;
  keepLogs?: string;
  qemu?: string;
  seabios?: string;
  kernel?: string;
  scope?: string;
}

/** What the CLI needs from the outside, so tests can drive it without booting. */
export interface CaptureCliDeps {
  capture: typeof capture;
  /** The machine the capture boots on and the KVM probe probes (default: --host's, or this one); a fake Host in tests. */
  host: Host;
  /** Provisions a toolchain instead of provisionToolchain (or the user components' provisioning): tests. */
  provision: Provisioner;
  parseQemuArgs: (argv: string[], opts: { qemuVersion: string }) => MachineConfig;
  stdout: (text: string) => void;
  stderr: NodeJS.WriteStream | { write(s: string): unknown; isTTY?: boolean };
}

// The table lives in ../render-table.ts, which `predict` loads without the capture harness.
import { renderTable } from '../render-table.ts';
export { renderTable };

export async function captureCommand(qemuArgs: string[], opts: CaptureCliOptions, deps?: Partial<CaptureCliDeps>): Promise<number> {
  if (deps?.host === undefined && opts.host !== undefined) {
    // --host: connected (host key verified) before anything else; closed, its uploads removed, after.
    let host: Host;
    try {
      host = await hostOf(opts.host, opts);
    } catch (err) {
      (deps?.stderr ?? process.stderr).write(`e820 capture: ${printable((err as Error).message)}\n`);
      return 2;
    }
    try {
      return await captureCommand(qemuArgs, opts, { ...deps, host });
    } finally {
      await closeRemotes([host]);
    }
  }
  const stderr = deps?.stderr ?? process.stderr;
  const stdout = deps?.stdout ?? ((s: string) => void process.stdout.write(s));
  const tty = stderr.isTTY === true;
  const live = tty ? createLogUpdate(stderr as NodeJS.WriteStream) : null;
  const say = (msg: string) => (live ? live(msg) : void stderr.write(`${msg}\n`));

  let toolchain: Toolchain;
  // User components (--qemu-binary, --bios, --bzimage…, --toolchain FILE, -bios PATH in the QEMU
  // arguments) go through harness/user-toolchain.ts like every command's: their versions pick the
  // toolchain, and provisioning supplies only what the user did not give.
  let user: UserToolchain | null;
  let provenance: string[] = [];
  try {
    toolchain = withKernelFlavour(toolchainOf({ qemu: opts.qemu, seabios: opts.seabios, kernel: opts.kernel }), kernelFlavourOf(opts));
    user = await resolveUserComponents(opts, null, {}, qemuArgs);
    if (user !== null) {
      const m = user.model(toolchain);
      toolchain = m.toolchain;
      provenance = m.provenance;
    }
  } catch (err) {
    // A version no profile has, a component missing or not what it claims (UserComponentError).
    stderr.write(`e820 capture: ${(err as Error).message}\n`);
    return 2;
  }
  for (const l of provenance) stderr.write(`toolchain: ${l}\n`);
  if (qemuArgs.length === 0) stderr.write('e820 capture: no QEMU arguments after --: booting the machine defaults\n');
  let scope: CaptureScope | 'auto';
  try {
    scope = parseScope(opts.scope);
  } catch (err) {
    stderr.write(`e820 capture: ${(err as Error).message}\n`);
    return 2;
  }

  // The model's reading of the command line: metadata only (see the module comment). A command
  // line the model refuses still boots with the machine defaults as its metadata.
  const parse = deps?.parseQemuArgs ?? parseQemuArgs;
  let config = parseQemuArgs([], { qemuVersion: toolchain.qemu });
  try {
    config = parse(qemuArgs, { qemuVersion: toolchain.qemu });
  } catch (err) {
    // QEMU itself gets the last word on its command line: boot anyway and report what it says.
    stderr.write(`e820 capture: note: the model does not accept this command line (${(err as Error).message}); asking QEMU\n`);
  }

  // Another machine boots there; a LocalHost (this machine, or a test's stand-in for it) boots here.
  const elsewhere = deps?.host !== undefined && !isThisMachine(deps.host) ? deps.host : undefined;
  const options: CaptureOptions = { qemuArgs, onProgress: say, ...(elsewhere !== undefined ? { host: elsewhere } : {}) };
  if (opts.timeout !== undefined) options.timeoutMs = parseTimeout(opts.timeout);
  if (opts.keepLogs !== undefined) options.keepLogsDir = opts.keepLogs;
  const provision = deps?.provision ?? (user !== null ? user.provision : undefined);
  if (provision !== undefined) options.provision = provision;

  // The invocation's AbortSignal (SIGINT, SIGTERM, SIGHUP, parent gone): provisioning or the
  // boot ends the same way (QEMU's group killed, temp dir removed) instead of the default death.
  const interrupt = cliInterrupt();
  const controller = { signal: interrupt.signal };
  options.signal = controller.signal;
  try {
    if (scope === 'firmware') {
      options.scope = 'firmware';
      options.scopeReason = 'asked for (--scope firmware)';
    } else if (scope === 'auto' && userAccelerator(qemuArgs) === 'kvm') {
      // KVM: how far it works here decides the scope (harness/kvm-probe.ts). The probe needs the
      // provisioned toolchain; the capture then reuses it.
      const provision = options.provision ?? provisionToolchain;
      const tools = options.provisioned ?? (await provision(toolchain, { onProgress: say, signal: controller.signal }));
      options.provisioned = tools;
      const probe = await probeKvm(tools, { onProgress: say, signal: controller.signal, ...(deps?.host !== undefined ? { host: deps.host } : {}) });
      if (probe.status === 'unavailable') {
        live?.clear();
        stderr.write(`e820 capture: KVM is unavailable on ${deps?.host !== undefined && deps.host.label !== localHost.label ? deps.host.label : 'this machine'}: ${probe.reason}\nwhat to do: run this on a host where KVM works, or drop -accel kvm (TCG)\n`);
        return 2;
      }
      if (probe.status === 'firmware-only') {
        say(`kvm probe: firmware-only — capturing with --scope firmware (${probe.reason})`);
        options.scope = 'firmware';
        options.scopeReason = `KVM probe${deps?.host !== undefined && deps.host.label !== localHost.label ? ` on ${deps.host.label}` : ''}: firmware-only — ${probe.reason}`;
      }
    }
    const outcome = await (deps?.capture ?? capture)(config, toolchain, options);
    live?.clear();
    if (outcome.kind === 'aborted') {
      stderr.write('e820 capture: interrupted; QEMU stopped and its temp dir removed\n');
      return 130;
    }
    if (outcome.kind !== 'booted') {
      // QEMU's refusal or a harness error: the message says what happened and what to do.
      stderr.write(`e820 capture: ${outcome.message}\n`);
      return 2;
    }
    const obs = outcome.observation;
    if (opts.json) {
      stdout(`${JSON.stringify(obs.report, null, 2)}\n`);
      for (const u of obs.unobserved) stderr.write(`not observed: ${u.layer}.${u.field}: ${u.reason}\n`);
    } else {
      stdout(renderTable(obs));
    }
    if (obs.logs.kept.serial !== undefined) stderr.write(`logs kept: ${obs.logs.kept.serial}, ${obs.logs.kept.firmware ?? '(no firmware log)'}\n`);
    return 0;
  } catch (err) {
    // Provisioning and the probe before the boot (the boot itself is a value, above).
    live?.clear();
    if (controller.signal.aborted) {
      stderr.write('e820 capture: interrupted; QEMU stopped and its temp dir removed\n');
      return 130;
    }
    if (err instanceof HarnessError) {
      stderr.write(`e820 capture: ${err.message}\n`);
      return 2;
    }
    throw err;
  } finally {
    interrupt.release();
    live?.done();
  }
}

export function register(program: Command): void {
  const cmd = program
    .command('capture')
    .description('boot a QEMU command line once with the harness guest and print what every layer reported')
    .argument('[qemu-args...]', 'QEMU arguments, after --')
    .option('--json', 'print the LayerReport as JSON (the shape of `e820 predict --json`)')
    .option('--timeout <seconds>', 'overall boot deadline in seconds (default 600; a boot silent for 60 s ends sooner)')
    .option('--keep-logs <dir>', 'keep the serial, firmware and stderr logs and the argv in DIR')
    .option('--qemu <version>', 'QEMU version of the toolchain (default: baseline)')
    .option('--seabios <version>', 'SeaBIOS version of the toolchain')
    .option('--kernel <version>', 'kernel version of the toolchain')
    .option(...KERNEL_FLAVOUR_OPTION)
    .option('--scope <scope>', SCOPE_HELP)
    .option('--host <ssh://user@host[:port]>', 'boot on the machine at this URL (its QEMU; or ?qemu=/abs/path&bios=/abs/path names its own build)')
    .option(...SSH_FLAG_HELP.knownHosts)
    .option(...SSH_FLAG_HELP.hostKey)
    .option(...SSH_FLAG_HELP.identity);
  withUserToolchainOptions(cmd).action(async (qemuArgs: string[], opts: CaptureCliOptions) => {
    process.exitCode = await captureCommand(qemuArgs, opts);
  });
}
