// `e820 kvm [--host ssh://…] [--qemu V --seabios V --kernel V] [--kernel-flavour F] [--timeout S] [--json]`
// What KVM means on a machine (this one, or --host's) for the conformance suite: the host facts
// a KVM prediction uses (CPU vendor, physical address bits; harness/host-facts.ts) and the KVM
// probe's verdict — unavailable, firmware-only or full — from a short real boot there
// (harness/kvm-probe.ts). Both are read through the Host (harness/host/types.ts).
// Exit: 0 when the probe answered (whatever the answer), 2 when it could not run.

import type { Command } from 'commander';
import { toolchainLabel, toolchainOf } from '../../../reference/toolchain.ts';
import { provisionToolchain, type ProvisionedToolchain } from '../../capture.ts';
import { HarnessError } from '../../errors.ts';
import { cliInterrupt } from '../interrupt.ts';
import { describeHostFacts, HostFactsError, type HostFactsReport } from '../../host-facts.ts';
import { hostFactsOn } from '../../host/cpu-facts.ts';
import { formatKvmProbe, probeKvm, type KvmProbeResult } from '../../kvm-probe.ts';
import { closeRemotes, hostOf, SSH_FLAG_HELP, type SshFlags } from '../../host/connect.ts';
import { isThisMachine, localHost } from '../../host/local.ts';
import type { Host } from '../../host/types.ts';
import { printable } from '../../errors.ts';
import { parseTimeout } from '../options.ts';
import { KERNEL_FLAVOUR_OPTION, kernelFlavourOf, withKernelFlavour } from '../../user-toolchain-flags.ts';

export interface KvmCliOptions extends SshFlags {
  /** `--host ssh://…`: probe that machine instead of this one. */
  host?: string;
  qemu?: string;
  seabios?: string;
  kernel?: string;
  /** `--kernel-flavour`: the image the probe boots (the cloud kernel's or the minimal one). */
  kernelFlavour?: string;
  timeout?: string;
  json?: boolean;
}

export interface KvmCliDeps {
  /** The machine probed and whose facts are read (default: --host's, or this one); a fake Host in tests. */
  host: Host;
  provision(toolchain: ReturnType<typeof toolchainOf>, opts: { onProgress?: (msg: string) => void; signal?: AbortSignal }): Promise<ProvisionedToolchain>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export async function kvmCommand(opts: KvmCliOptions, deps: Partial<KvmCliDeps> = {}): Promise<number> {
  const out = deps.stdout ?? ((s: string) => void process.stdout.write(s));
  const err = deps.stderr ?? ((s: string) => void process.stderr.write(s));
  let toolchain;
  let deadlineMs: number | undefined;
  try {
    toolchain = withKernelFlavour(toolchainOf({ qemu: opts.qemu, seabios: opts.seabios, kernel: opts.kernel }), kernelFlavourOf(opts));
    if (opts.timeout !== undefined) deadlineMs = parseTimeout(opts.timeout);
  } catch (e) {
    err(`e820 kvm: ${(e as Error).message}\n`);
    return 2;
  }

  let machine: Host;
  try {
    machine = deps.host ?? (await hostOf(opts.host, opts));
  } catch (e) {
    err(`e820 kvm: ${printable((e as Error).message)}\n`);
    return 2;
  }
  try {
    return await kvmOn(machine, toolchain, deadlineMs, opts, out, err, deps);
  } finally {
    // Only what this command opened is closed (and its uploads there removed).
    if (deps.host === undefined && machine !== localHost) await closeRemotes([machine]);
  }
}

async function kvmOn(
  machine: Host,
  toolchain: ReturnType<typeof toolchainOf>,
  deadlineMs: number | undefined,
  opts: KvmCliOptions,
  out: (s: string) => void,
  err: (s: string) => void,
  deps: Partial<KvmCliDeps>,
): Promise<number> {
  let host: HostFactsReport | { error: string };
  try {
    host = await hostFactsOn(machine);
  } catch (e) {
    if (!(e instanceof HostFactsError)) throw e;
    host = { error: e.message };
  }

  const interrupt = cliInterrupt();
  const controller = { signal: interrupt.signal };
  let probe: KvmProbeResult;
  try {
    const say = (m: string) => err(`${m}\n`);
    const tools = await (deps.provision ?? provisionToolchain)(toolchain, { onProgress: say, signal: controller.signal });
    probe = await probeKvm(tools, { host: machine, onProgress: say, signal: controller.signal, ...(deadlineMs !== undefined ? { deadlineMs } : {}) });
  } catch (e) {
    if (controller.signal.aborted) {
      err('e820 kvm: interrupted; the probe\'s QEMU was stopped\n');
      return 130;
    }
    if (e instanceof HarnessError) {
      err(`e820 kvm: the probe could not run: ${e.message}\n`);
      return 2;
    }
    throw e;
  } finally {
    interrupt.release();
  }

  if (opts.json) {
    out(`${JSON.stringify({ machine: machine.label, toolchain, host: 'error' in host ? { error: host.error } : host, probe }, null, 2)}\n`);
    return 0;
  }
  const hostLine = 'error' in host ? `unreadable — ${host.error.split('\n').join('; ')}` : describeHostFacts(host);
  out(
    [
      ...(!isThisMachine(machine) ? [`machine: ${machine.label}`] : []),
      `toolchain: ${toolchainLabel(toolchain)}`,
      `host facts for KVM predictions: ${hostLine}`,
      ...('error' in host ? [] : host.notes.map((n) => `  note: ${n}`)),
      formatKvmProbe(probe),
      '',
    ].join('\n'),
  );
  return 0;
}

export function register(program: Command): void {
  program
    .command('kvm')
    .description('probe KVM here (or on --host) with a short real boot (unavailable, firmware-only or full) and show the host facts KVM predictions use')
    .option('--host <ssh://user@host[:port]>', 'probe the machine at this URL instead of this one (its own QEMU; kernel and initramfs uploaded)')
    .option(...SSH_FLAG_HELP.knownHosts)
    .option(...SSH_FLAG_HELP.hostKey)
    .option(...SSH_FLAG_HELP.identity)
    .option('--qemu <V>', 'QEMU version whose binary is probed (default: baseline)')
    .option('--seabios <V>', 'SeaBIOS version of the probe boot (default: baseline)')
    .option('--kernel <V>', 'kernel the probe boots (default: baseline)')
    .option(...KERNEL_FLAVOUR_OPTION)
    .option('--timeout <SECONDS>', 'probe deadline (default 15)')
    .option('--json', 'print host facts and probe result as JSON')
    .action(async (opts: KvmCliOptions) => {
      process.exitCode = await kvmCommand(opts);
    });
}
