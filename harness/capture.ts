// One capture: provision the toolchain, get the initramfs, build the argv, boot, parse.
// Returns what happened to the boot as a value (CaptureOutcome): booted, with the observed
// LayerReport in the shape `e820 predict --json` prints, what could not be observed and why, and
// the facts of the run (argv, versions, wall time); refused, with QEMU's own lines; a harness
// error, with the message that says what to do; or aborted. Callers switch on the kind: none of
// them catches an error to learn what happened to a boot (outcomeOfError is the one place a
// boot's errors become outcomes). A defect in this code (a TypeError…) still throws.
//
// The machine is a Host (harness/host/types.ts): QEMU, its temp dir and its logs go through it.
// What is not the machine's is an option: the provisioned toolchain (or the provisioner), and for
// tests an initramfs built already (ProvisionedToolchain.initramfs).

import { toQemuArgs } from '../reference/cmdline/index.ts';
import { guestConsoleIndex, guestHasOneCpu } from '../reference/guest.ts';
import { qemuProfile } from '../reference/profiles/qemu.ts';
import type { MachineConfig } from '../reference/config.ts';
import type { LayerReport } from '../reference/report.ts';
import type { Toolchain } from '../reference/toolchain.ts';
import { buildInitramfs } from '../guests/initramfs.ts';
import { FIRMWARE_SCOPE_PREFIX, parseBoot, parseFirmwareBoot, type BootObservation, type Unobserved } from './parse/index.ts';
import { resolveToolchain } from './provision/index.ts';
import { planHarnessArgv, type DroppedOption } from './qemu-argv.ts';
import { runQemu, type BootEvent, type RunQemuResult } from './run-qemu.ts';
import { BootAbortedError, BootTimeoutError, HarnessError, QemuLaunchError, type BootContext, type KeptLogs } from './errors.ts';
import { isThisMachine, localHost } from './host/local.ts';
import { remoteStageOf } from './host/remote-stage.ts';
import type { Host } from './host/types.ts';

/** What provisioning hands over for one toolchain (see provisionToolchain). */
export interface ProvisionedToolchain {
  qemu: {
    /** Path of qemu-system-x86_64 (or a wrapper that runs it from another suite's root). */
    binary: string;
    /** Environment the binary needs (e.g. LD_LIBRARY_PATH for an unpacked suite). */
    env?: Record<string, string>;
    /** `qemu-system-x86_64 --version` first line, if provisioning already knows it. */
    version?: string;
  };
  /** Directory holding the SeaBIOS images for this toolchain (passed as `-L`); omitted = QEMU's own. */
  seabiosDir?: string;
  kernel: {
    /** bzImage. */
    image: string;
    /** qemu_fw_cfg.ko of the same build, null if the kernel has none. */
    fwCfgModule: string | null;
    release?: string;
  };
  /** The guest's initramfs built already (for this kernel's module); absent: capture builds it (guests/initramfs.ts). */
  initramfs?: string;
}

/** Provisions a toolchain: provisionToolchain, or the user components' (harness/user-toolchain/provision.ts). */
export type Provisioner = (toolchain: Toolchain, opts: { onProgress?: (msg: string) => void; signal?: AbortSignal }) => Promise<ProvisionedToolchain>;

/**
 * How much of the boot a capture observes. 'full': to the guest's DONE, every layer. 'firmware':
 * the harness ends the boot once SeaBIOS has printed its e820 map and begun booting (`Booting
 * from …`), so only the firmware layer is observed; the kernel layer is unobserved (the kernel
 * never ran, or ran and was not looked at), and so is the qemu layer (only the guest reads
 * etc/e820 from fw_cfg). Used where the kernel cannot run: KVM that runs the firmware but not
 * Linux (harness/kvm-probe.ts), and configurations the model says the kernel never starts on.
 */
export type CaptureScope = 'full' | 'firmware';

export { FIRMWARE_SCOPE_PREFIX };

/** Boot deadline of a firmware-scope capture: SeaBIOS is done in well under a second (TCG and KVM). */
export const FIRMWARE_SCOPE_DEADLINE_MS = 30_000;

export interface CaptureOptions {
  signal?: AbortSignal;
  /** Human-readable progress (provisioning, boot stages). */
  onProgress?: (msg: string) => void;
  /** Structured boot stages, for a live display. */
  onEvent?: (event: BootEvent) => void;
  /** Keep serial/firmware/stderr logs and the argv here. */
  keepLogsDir?: string;
  /** File name prefix of kept logs. */
  label?: string;
  /** Overall boot deadline (ms); default run-qemu's BOOT_DEADLINE_MS (firmware scope: FIRMWARE_SCOPE_DEADLINE_MS). */
  timeoutMs?: number;
  /** Stall deadline (ms): a boot that prints nothing new for this long is timed out; default run-qemu's BOOT_STALL_MS. */
  stallMs?: number;
  /**
   * The user's QEMU arguments exactly as typed (the CLI has them). When absent they are printed
   * from the config with reference/cmdline/ `toQemuArgs`.
   */
  qemuArgs?: readonly string[];
  /** Default 'full'; see CaptureScope. */
  scope?: CaptureScope;
  /** Why the scope is 'firmware' (e.g. the KVM probe's finding); goes into every unobserved reason. */
  scopeReason?: string;
  /** Skip provisioning and use these (tests, or a user-given kernel). */
  provisioned?: ProvisionedToolchain;
  /** Provisions when `provisioned` is absent; default provisionToolchain. */
  provision?: Provisioner;
  /**
   * The machine QEMU boots on; default this one. Another host boots with its own QEMU and
   * SeaBIOS (installed there through the host interface); kernel and initramfs are built here
   * and uploaded once per host (harness/host/remote-stage.ts).
   */
  host?: Host;
}

export interface ObservationMeta {
  /** The full QEMU command line, argv[0] the binary. */
  argv: string[];
  /** `qemu-system-x86_64 --version`, first line. */
  qemuVersion: string;
  /** SeaBIOS image asked for (`-bios` or the machine default) and the banner it printed. */
  seabiosImage: string;
  seabiosBanner: string | null;
  /** `uname -r` in the guest (firmware scope: the provisioned kernel's release, marked as not booted). */
  kernelRelease: string;
  /** /proc/cmdline in the guest. */
  cmdline: string;
  /** The command line the harness meant to pass (HARNESS_KERNEL_ARGS + -append). */
  plannedCmdline: string;
  accel: string | null;
  /** What the capture observed (CaptureScope). */
  scope: CaptureScope;
  /** User options the harness replaced (console, display, monitor). */
  dropped: DroppedOption[];
  /** Parser warnings, and cmdline mismatches. */
  warnings: string[];
  /** QEMU spawn to exit. */
  wallMs: number;
  /** Whole capture, provisioning included. */
  totalMs: number;
  toolchain: Toolchain;
}

export interface Observation {
  report: LayerReport;
  meta: ObservationMeta;
  logs: { serial: string; firmware: string; kept: KeptLogs };
  unobserved: Unobserved[];
  /** Per-layer parse detail (dmesg records, iomem tree, SeaBIOS log) for explanations. */
  detail: BootObservation;
}

const qemuVersionCache = new Map<string, Promise<string>>();

/** First line of `qemu --version`, once per binary. */
export function qemuVersionOf(binary: string, env?: Record<string, string>): Promise<string> {
  let v = qemuVersionCache.get(binary);
  if (v === undefined) {
    v = localHost.exec([binary, '--version'], { ...(env !== undefined ? { env } : {}), timeoutMs: 10_000 }).then((r) =>
      r.exitCode === 0 ? (r.stdout.split('\n')[0] ?? '').trim() : `unknown (${binary} --version failed)`,
    );
    qemuVersionCache.set(binary, v);
  }
  return v;
}

/**
 * Default provisioning: any combination of the versions in reference/toolchain.ts. Another
 * suite's QEMU runs through a wrapper from its unpacked packages; a SeaBIOS other than the
 * QEMU's own is a directory holding only bios-256k.bin/bios.bin, passed as the first `-L`
 * (so a config's `-bios bios.bin` also picks that suite's build); kernels come from each
 * suite's cloud kernel (harness/provision/toolchain.ts resolveToolchain).
 */
export async function provisionToolchain(toolchain: Toolchain, opts: { onProgress?: (msg: string) => void; signal?: AbortSignal } = {}): Promise<ProvisionedToolchain> {
  const r = await resolveToolchain(toolchain, {
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  return {
    // The host's QEMU ran --version while provisioning: capture and the KVM probe take that line.
    qemu: { binary: r.qemu.binary, ...(r.qemu.versionLine !== null ? { version: r.qemu.versionLine } : {}) },
    ...(r.seabios.dir !== null ? { seabiosDir: r.seabios.dir } : {}),
    kernel: { image: r.kernel.vmlinuz, fwCfgModule: r.kernel.fwCfgModule, release: r.kernel.release },
  };
}

/**
 * What happened to one boot, as a value (harness/matrix/judge.ts judges it against the claim):
 * - booted: QEMU started and the guest got as far as the scope asks; the observation.
 * - refused: QEMU exited before the guest printed anything — it refused its command line, while
 *   reading options or at machine init (its stderr does not say which; the model's claim does) —
 *   with its error lines (qemuErrorLines) and the first of them verbatim.
 * - harness-error: anything else that kept the boot from a result — a deadline, a panic, a cut
 *   log, a flooded log, a missing tool, provisioning, the initramfs, a lost host — with the message
 *   that says what to do; `retryable` when a busy machine may be the cause (a deadline).
 * - aborted: the caller's signal fired first; `refused` holds QEMU's lines when it had refused by then.
 * `label` names the error that carried it (`BootTimeoutError`), for messages only: it decides
 * nothing. `context` is how far the boot got (argv, exit, progress, stderr, kept logs) once
 * QEMU was started; absent when it never was.
 */
export type CaptureOutcome<O = Observation> =
  | { kind: 'booted'; observation: O }
  | { kind: 'refused'; lines: string[]; qemuMessage: string; label: string; message: string; context?: BootContext }
  | { kind: 'harness-error'; label: string; message: string; retryable: boolean; context?: BootContext }
  | { kind: 'aborted'; message: string; refused: string[] | null };

/** JavaScript's own errors are defects in this code, not something that happened to a boot. */
function isDefect(err: unknown): boolean {
  return !(err instanceof Error) || err instanceof TypeError || err instanceof RangeError || err instanceof ReferenceError || err instanceof SyntaxError;
}

/**
 * The one place a boot's errors become outcomes (as reference/claim.ts claimOfError is for the
 * model's): what run-qemu, provisioning, the initramfs and the parsers throw, by class. A defect
 * propagates. With `signal` aborted, whatever ended the boot is an abort.
 */
export function outcomeOfError(err: unknown, signal?: AbortSignal): Exclude<CaptureOutcome<never>, { kind: 'booted' }> {
  // The abort's own reason comes first: it need not be an Error (AbortController.abort(reason)
  // takes any value), and it is no defect.
  if (signal?.aborted === true && (err === signal.reason || !(err instanceof Error))) return { kind: 'aborted', message: err instanceof Error ? err.message : String(err), refused: null };
  if (isDefect(err)) throw err;
  const e = err as Error;
  const refused = err instanceof QemuLaunchError ? qemuErrorLines(err.context.stderr) : null;
  if (signal?.aborted === true || err instanceof BootAbortedError) return { kind: 'aborted', message: e.message, refused };
  const context = err instanceof HarnessError ? { context: err.context } : {};
  if (err instanceof QemuLaunchError) return { kind: 'refused', lines: refused!, qemuMessage: err.qemuMessage, label: e.name, message: e.message, ...context };
  return { kind: 'harness-error', label: e.name, message: e.message, retryable: err instanceof BootTimeoutError, ...context };
}

/**
 * QEMU's stderr without the `qemu-system-x86_64: ` prefix, warnings and our own SIGTERM note. A
 * line without the prefix continues the message before it (error_report and warn_report print a
 * message's embedded newlines as they are, e.g. target/i386/cpu.c's topoext warning "… doesn't
 * support hyperthreading(2)\nPlease configure -smp options properly …"), so a warning goes with
 * its continuation lines and an error keeps its own.
 */
export function qemuErrorLines(stderr: string): string[] {
  const messages: string[][] = [];
  for (const raw of stderr.split('\n')) {
    const line = raw.trimEnd();
    const prefixed = /^\S*qemu-system-x86_64: /.exec(line);
    if (prefixed !== null || messages.length === 0) messages.push([line.slice(prefixed?.[0].length ?? 0)]);
    else messages[messages.length - 1]!.push(line);
  }
  return messages.filter((m) => !NOT_AN_ERROR.some((re) => re.test(m[0]!))).flat().filter((l) => l !== '');
}

/**
 * stderr lines that are not QEMU's refusal: warnings, also with the option's location in front
 * (`-numa node,mem=1G: warning: …`), QEMU 5.2's machine deprecation notice (error_report, no
 * `warning:`), and our own SIGTERM note.
 */
const NOT_AN_ERROR: readonly RegExp[] = [/^(?:\S.*?: )?warning: /, /^Machine type '[^']*' is deprecated: /, /^terminating on signal/];

const STAGE_TEXT: Record<BootEvent['stage'], string> = {
  spawned: 'QEMU started',
  seabios: 'SeaBIOS banner',
  firmware: 'SeaBIOS printed its e820 map and began booting',
  kernel: 'kernel started',
  init: 'init started',
  section: 'section printed',
  done: 'all sections printed',
  panic: 'kernel panic',
  sigterm: 'SIGTERM to QEMU\'s process group',
  sigkill: 'SIGKILL to QEMU\'s process group',
  exited: 'QEMU exited',
};

export function describeEvent(e: BootEvent): string {
  const detail = e.detail !== undefined ? `: ${e.detail}` : '';
  return `boot ${(e.elapsedMs / 1000).toFixed(2)} s: ${STAGE_TEXT[e.stage]}${detail}`;
}

/** Boots the configuration once on the toolchain: what every layer reported, or why there is no report. */
export async function capture(config: MachineConfig, toolchain: Toolchain, options: CaptureOptions = {}): Promise<CaptureOutcome> {
  try {
    return { kind: 'booted', observation: await observe(config, toolchain, options) };
  } catch (err) {
    return outcomeOfError(err, options.signal);
  }
}

async function observe(config: MachineConfig, toolchain: Toolchain, options: CaptureOptions): Promise<Observation> {
  const t0 = performance.now();
  const progress = options.onProgress;

  const tools = options.provisioned ?? (await (options.provision ?? provisionToolchain)(toolchain, { ...(progress ? { onProgress: progress } : {}), ...(options.signal ? { signal: options.signal } : {}) }));
  options.signal?.throwIfAborted();
  const localInitrd = tools.initramfs ?? (await buildInitramfs({ fwCfgModule: tools.kernel.fwCfgModule }, undefined, progress ? { onProgress: progress } : {}));
  const userArgs = options.qemuArgs ?? toQemuArgs(config);
  const host = options.host ?? localHost;
  let qemu = { binary: tools.qemu.binary, env: tools.qemu.env };
  let kernelImage = tools.kernel.image;
  // The -L directory: the toolchain's SeaBIOS here; on another host the image named in its URL, else its QEMU's own.
  let firmwareDir = tools.seabiosDir;
  let initrd = localInitrd;
  let qemuVersion: string;
  if (isThisMachine(host)) qemuVersion = tools.qemu.version ?? (await qemuVersionOf(tools.qemu.binary, tools.qemu.env));
  else {
    const stage = remoteStageOf(host);
    if (tools.seabiosDir !== undefined) {
      throw new RemoteSeabiosError(`${host.label}: the toolchain's SeaBIOS is not the host QEMU's own (${tools.seabiosDir}); a remote host boots only with its own SeaBIOS so far\nwhat to do: boot this toolchain here (without --host), or use the host QEMU's own SeaBIOS`);
    }
    const rt = await stage.qemuFor(toolchain.qemu, progress, options.signal);
    qemu = { binary: rt.qemu, env: undefined };
    firmwareDir = rt.firmwareDir;
    qemuVersion = rt.versionLine;
    [kernelImage, initrd] = await Promise.all([stage.upload(tools.kernel.image), stage.upload(localInitrd)]);
  }
  const scope = options.scope ?? 'full';
  const deadlineMs = options.timeoutMs ?? (scope === 'firmware' ? FIRMWARE_SCOPE_DEADLINE_MS : undefined);

  let plan: ReturnType<typeof planHarnessArgv> | undefined;
  const run: RunQemuResult = await runQemu({
    qemu: qemu.binary,
    ...(!isThisMachine(host) ? { host } : {}),
    args: (paths) => {
      plan = planHarnessArgv({
        userArgs,
        kernel: kernelImage,
        initrd,
        serialLog: paths.serialLog,
        firmwareLog: paths.firmwareLog,
        accel: config.accel,
        audioNone: qemuProfile(toolchain.qemu).harnessAudioNone,
        consoleIndex: guestConsoleIndex(config),
        oneCpu: guestHasOneCpu(config),
        ...(firmwareDir !== undefined ? { firmwareDir } : {}),
      });
      return plan.args;
    },
    ...(deadlineMs !== undefined ? { deadlineMs } : {}),
    ...(options.stallMs !== undefined ? { stallMs: options.stallMs } : {}),
    ...(scope === 'firmware' ? { until: 'firmware' as const } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.keepLogsDir !== undefined ? { keepLogsDir: options.keepLogsDir } : {}),
    ...(options.label !== undefined ? { label: options.label } : {}),
    ...(qemu.env ? { env: qemu.env } : {}),
    onEvent: (e) => {
      options.onEvent?.(e);
      progress?.(describeEvent(e));
    },
  });
  if (plan === undefined) throw new Error('internal: runQemu did not build the argv');

  const parsed =
    scope === 'firmware'
      ? parseFirmwareBoot({ firmwareLog: run.firmware, reason: `${FIRMWARE_SCOPE_PREFIX}: ${options.scopeReason ?? 'asked for (--scope firmware)'}` })
      : parseBoot({ serial: run.serial, firmwareLog: run.firmware });
  const warnings = [...parsed.warnings];
  if (scope === 'full' && parsed.cmdline.trim() !== plan.kernelCmdline) {
    warnings.push(`the guest saw kernel command line ${JSON.stringify(parsed.cmdline)}, the harness passed ${JSON.stringify(plan.kernelCmdline)}`);
  }
  const banner = /SeaBIOS \(version ([^)]*)\)/.exec(run.firmware);
  if (banner && !banner[1]!.includes(toolchain.seabios)) {
    warnings.push(`the toolchain names SeaBIOS ${toolchain.seabios}, the firmware's banner says ${banner[1]}`);
  }

  return {
    report: parsed.report,
    meta: {
      argv: run.argv,
      qemuVersion,
      seabiosImage: config.bios ?? "the machine type's default (bios-256k.bin; bios.bin on isapc and ≤ pc-i440fx-1.7; microvm: qboot.rom without ACPI, bios-microvm.bin with it)",
      seabiosBanner: banner ? banner[1]! : null,
      kernelRelease: scope === 'full' ? parsed.uname : `${tools.kernel.release ?? tools.kernel.image} (not booted: ${FIRMWARE_SCOPE_PREFIX})`,
      cmdline: parsed.cmdline,
      plannedCmdline: plan.kernelCmdline,
      accel: plan.accel,
      scope,
      dropped: plan.dropped,
      warnings,
      wallMs: run.wallMs,
      totalMs: Math.round(performance.now() - t0),
      toolchain,
    },
    logs: { serial: run.serial, firmware: run.firmware, kept: run.logs },
    unobserved: parsed.unobserved,
    detail: parsed,
  };
}

/** A remote host asked to boot a SeaBIOS other than its QEMU's own (not supported yet). */
class RemoteSeabiosError extends Error {
  override name = 'RemoteSeabiosError';
}
