// One capture: provision the toolchain, get the initramfs, build the argv, boot, parse.
// Returns the observed LayerReport in the same shape `e820 predict --json` prints, plus what
// could not be observed and why, and the facts of the run (argv, versions, wall time).
//
// The pieces are injected (CaptureDeps) so the matrix, the CLI and the tests can swap them;
// the defaults bind the real modules.

import { execa } from 'execa';
import { toQemuArgs } from '../reference/cmdline/index.ts';
import { guestConsoleIndex } from '../reference/guest.ts';
import type { MachineConfig } from '../reference/config.ts';
import type { LayerReport } from '../reference/report.ts';
import type { Toolchain } from '../reference/toolchain.ts';
import { buildInitramfs } from '../guests/initramfs.ts';
import { FIRMWARE_SCOPE_PREFIX, parseBoot, parseFirmwareBoot, type BootObservation, type Unobserved } from './parse/index.ts';
import { abortableSystem, localSystem, resolveToolchain } from './provision/index.ts';
import { planHarnessArgv, type DroppedOption } from './qemu-argv.ts';
import { runQemu, type BootEvent, type RunQemuResult } from './run-qemu.ts';
import type { KeptLogs } from './errors.ts';
import { localHost } from './host/local.ts';
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
  /** A statically linked busybox. */
  busybox: string;
}

export interface CaptureDeps {
  provision(toolchain: Toolchain, opts: { onProgress?: (msg: string) => void; signal?: AbortSignal }): Promise<ProvisionedToolchain>;
  /** reference/cmdline/ `toQemuArgs`. */
  toQemuArgs(config: MachineConfig): string[];
  buildInitramfs(inputs: { busybox: string; fwCfgModule: string | null }, onProgress?: (msg: string) => void): Promise<string>;
  parseBoot(input: { serial: string; firmwareLog: string }): BootObservation;
  parseFirmwareBoot(input: { firmwareLog: string; reason: string }): BootObservation;
  runQemu: typeof runQemu;
}

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
  /**
   * The machine QEMU boots on; default this one. Another host boots with its own QEMU and
   * SeaBIOS (installed there through the host interface); kernel and initramfs are built here
   * and uploaded once per host (harness/host/remote-stage.ts).
   */
  host?: Host;
  deps?: Partial<CaptureDeps>;
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
    v = execa(binary, ['--version'], { env, timeout: 10_000, reject: false }).then((r) =>
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
    ...(opts.signal ? { system: abortableSystem(localSystem, opts.signal) } : {}),
  });
  return {
    qemu: { binary: r.qemu.binary },
    ...(r.seabios.dir !== null ? { seabiosDir: r.seabios.dir } : {}),
    kernel: { image: r.kernel.vmlinuz, fwCfgModule: r.kernel.fwCfgModule, release: r.kernel.release },
    busybox: r.busybox,
  };
}

function resolveDeps(partial: Partial<CaptureDeps> | undefined): CaptureDeps {
  const p = partial ?? {};
  return {
    provision: p.provision ?? provisionToolchain,
    toQemuArgs: p.toQemuArgs ?? toQemuArgs,
    buildInitramfs: p.buildInitramfs ?? ((inputs, onProgress) => buildInitramfs(inputs, undefined, onProgress ? { onProgress } : {})),
    parseBoot: p.parseBoot ?? parseBoot,
    parseFirmwareBoot: p.parseFirmwareBoot ?? parseFirmwareBoot,
    runQemu: p.runQemu ?? runQemu,
  };
}

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

/** Boots the configuration once on the toolchain and returns what every layer reported. */
export async function capture(config: MachineConfig, toolchain: Toolchain, options: CaptureOptions = {}): Promise<Observation> {
  const t0 = performance.now();
  const progress = options.onProgress;
  const deps = resolveDeps(options.deps);

  const tools = options.provisioned ?? (await deps.provision(toolchain, { ...(progress ? { onProgress: progress } : {}), ...(options.signal ? { signal: options.signal } : {}) }));
  options.signal?.throwIfAborted();
  const localInitrd = await deps.buildInitramfs({ busybox: tools.busybox, fwCfgModule: tools.kernel.fwCfgModule }, progress);
  const userArgs = options.qemuArgs ?? deps.toQemuArgs(config);
  const host = options.host ?? localHost;
  let qemu = { binary: tools.qemu.binary, env: tools.qemu.env };
  let kernelImage = tools.kernel.image;
  // The -L directory: the toolchain's SeaBIOS here; on another host the image named in its URL, else its QEMU's own.
  let firmwareDir = tools.seabiosDir;
  let initrd = localInitrd;
  let qemuVersion: string;
  if (host === localHost) qemuVersion = tools.qemu.version ?? (await qemuVersionOf(tools.qemu.binary, tools.qemu.env));
  else {
    const stage = remoteStageOf(host);
    if (tools.seabiosDir !== undefined) {
      throw new Error(`${host.label}: the toolchain's SeaBIOS is not the host QEMU's own (${tools.seabiosDir}); a remote host boots only with its own SeaBIOS so far`);
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
  const run: RunQemuResult = await deps.runQemu({
    qemu: qemu.binary,
    ...(host !== localHost ? { host } : {}),
    args: (paths) => {
      plan = planHarnessArgv({
        userArgs,
        kernel: kernelImage,
        initrd,
        serialLog: paths.serialLog,
        firmwareLog: paths.firmwareLog,
        accel: config.accel,
        consoleIndex: guestConsoleIndex(config),
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
      ? deps.parseFirmwareBoot({ firmwareLog: run.firmware, reason: `${FIRMWARE_SCOPE_PREFIX}: ${options.scopeReason ?? 'asked for (--scope firmware)'}` })
      : deps.parseBoot({ serial: run.serial, firmwareLog: run.firmware });
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
