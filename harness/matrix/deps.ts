// What the matrix runner needs from the model and the harness, as one small interface: the
// runner's one test seam. It is here, and not a Host, because what the runner is given is not a
// machine: the model (parse, predict), and the capture as a whole — a boot's outcome as a value
// (harness/capture.ts CaptureOutcome) — so the runner's tests (suites/matrix-unit/fakes.ts) script
// claims and outcomes without QEMU, and `e820 explore`/`drift --verify` wrap it. Everything that
// touches a machine is below it, behind the Host (harness/host/types.ts) that capture boots on.
// `realDeps()` binds the real modules.

import { capture, outcomeOfError, provisionToolchain, type CaptureOutcome, type CaptureScope, type ProvisionedToolchain, type Provisioner } from '../capture.ts';
import { describeHostFacts, hostFacts, type HostFacts, type HostFactsReport, type HostOverrides } from '../host-facts.ts';
import { hostFactsOn } from '../host/cpu-facts.ts';
import { probeKvm, type KvmProbeResult } from '../kvm-probe.ts';
import { parseQemuArgs } from '../../reference/cmdline/index.ts';
import type { MachineConfig } from '../../reference/config.ts';
import type { DeclaredIntent } from '../../reference/intent.ts';
import type { BiosVariant } from '../../reference/profiles/seabios.ts';
import { predict } from '../../reference/predict.ts';
import { selectE820Iomem } from '../../reference/kernel-lines.ts';
import type { LayerReport } from '../../reference/report.ts';
import type { Toolchain } from '../../reference/toolchain.ts';
import type { Unobserved } from './compare.ts';
import { isThisMachine, localHost } from '../host/local.ts';
import type { HostSlots } from '../host/slots.ts';
import type { Host } from '../host/types.ts';

export interface PredictionLike {
  report: LayerReport;
  /** Per-entry rule names; shape owned by reference/predict.ts, rendered generically. */
  explain?: unknown;
  /** reference/predict.ts Prediction.kernelStarts: false = the guest kernel never starts (default true). */
  kernelStarts?: boolean;
  /** reference/predict.ts Prediction.unpredicted: why fields are not predicted (the reason when kernelStarts is false). */
  unpredicted?: readonly string[];
  /** reference/predict.ts Prediction.firmwareUnobservable: why SeaBIOS's map cannot be observed here (its image logs nothing), or null. */
  firmwareUnobservable?: string | null;
  /** KVM only: the host facts predicted for, and where they came from (harness/host-facts.ts). */
  host?: string;
  /** With a declared intent: each declared change and where the model applied it (reference/predict.ts Prediction.intent). */
  applied?: readonly string[];
}

export interface PredictOptions {
  /** KVM host facts to predict for; absent: the machine's own (or the CLI's overrides). */
  host?: HostFacts;
  /** What the build is declared to change (--expect, a matrix's `expect:`); reference/intent.ts. */
  intent?: DeclaredIntent;
}

export interface ObservationLike {
  report: LayerReport;
  unobserved: readonly Unobserved[];
  /** harness/capture.ts ObservationMeta (argv, qemuVersion, seabiosBanner, kernelRelease, wallMs, warnings…). */
  meta?: {
    argv?: readonly string[];
    wallMs?: number;
    warnings?: readonly string[];
    qemuVersion?: string;
    seabiosImage?: string;
    seabiosBanner?: string | null;
    kernelRelease?: string;
    accel?: string | null;
    scope?: CaptureScope;
  };
  logs?: unknown;
}

export interface CaptureOptions {
  signal?: AbortSignal;
  onProgress?: (msg: string) => void;
  keepLogsDir?: string;
  /** Overall boot deadline (ms); harness/run-qemu.ts BOOT_DEADLINE_MS when absent. */
  timeoutMs?: number;
  /** Stall deadline (ms); harness/run-qemu.ts BOOT_STALL_MS when absent. */
  stallMs?: number;
  /** The cell's QEMU arguments exactly as the matrix spells them (no round trip through the config). */
  qemuArgs?: readonly string[];
  /** File name prefix of kept logs. */
  label?: string;
  /** harness/capture.ts CaptureScope; default 'full'. */
  scope?: CaptureScope;
  /** Why the scope is 'firmware' (goes into every unobserved/excluded reason). */
  scopeReason?: string;
  /** Only these machines may take the boot (a KVM cell: where KVM runs it furthest); default any of MatrixDeps.hosts. */
  accept?: (host: Host) => boolean;
  /** Told the machine the boot was given, before it starts. */
  onHost?: (host: Host) => void;
}

export interface MatrixDeps {
  parseArgs(argv: readonly string[], qemuVersion: string): MachineConfig;
  predict(config: MachineConfig, toolchain: Toolchain, options?: PredictOptions): PredictionLike;
  /** One boot, as a value (harness/capture.ts capture): booted, refused, harness error or aborted; never throws for what happened to the boot. */
  capture(config: MachineConfig, toolchain: Toolchain, options: CaptureOptions): Promise<CaptureOutcome<ObservationLike>>;
  isE820IomemLine(line: string): boolean;
  /**
   * Installs/caches QEMU, SeaBIOS and the kernel once before a run (optional). `signal` stops
   * it (apt is killed) when the run is interrupted.
   */
  provision?(toolchain: Toolchain, onProgress?: (msg: string) => void, signal?: AbortSignal): Promise<unknown>;
  /**
   * How far KVM works with this toolchain's QEMU here (harness/kvm-probe.ts), for cells whose
   * configuration is KVM. Absent: KVM cells are captured like any other (tests, fakes).
   */
  kvmProbe?(toolchain: Toolchain, options?: { onProgress?: (msg: string) => void; signal?: AbortSignal; host?: Host }): Promise<KvmProbeResult>;
  /** The machines boots may go to (e820 run --host); absent: one, this machine. KVM is probed on each. */
  hosts?: readonly Host[];
  /**
   * The KVM host facts of a machine (its CPU; the run's --host-vendor/--host-phys-bits win): a
   * KVM cell that boots on another host is judged against the prediction for that host's CPU.
   */
  hostFacts?(host: Host): Promise<HostFactsReport>;
  /**
   * Boot cells the model declines (a not-modelled claim, reference/claim.ts) instead of ending them
   * unbooted: the verdict stays the model's error, CellResult.machine says whether QEMU booted it.
   * `e820 explore` sets it (harness/explore/explore.ts exploreDeps) to measure the model's share.
   */
  bootNotModelled?: boolean;
  /**
   * Judge what the model claims while reading options like any claim: a refusal there is booted
   * and QEMU must print the model's words (harness/matrix/judge.ts). Without it such a cell is
   * broken (a hand-written matrix's cells must boot). `e820 explore` sets it.
   */
  judgeOptionClaims?: boolean;
}

export interface RealDepsOptions {
  /** `--host-vendor` / `--host-phys-bits`: predict KVM cells for this host instead of the machine's. */
  host?: HostOverrides;
  /**
   * Provisions instead of provisionToolchain: user components (harness/user-toolchain.ts
   * UserToolchain.provision), which provide the user's parts and provision only the rest.
   */
  provision?: Provisioner;
  /**
   * The variant of the SeaBIOS image a toolchain boots, when it is the user's (harness/user-toolchain.ts
   * UserToolchain.biosVariant, from the image's size): the model's driver set follows the image,
   * not the file name QEMU loads it under (reference/predict.ts PredictOptions.biosVariant).
   */
  biosVariantOf?: (toolchain: Toolchain) => BiosVariant | undefined;
  /**
   * Where boots go (`e820 run --host`): each capture takes a slot on this machine or on a remote
   * host (harness/host/slots.ts). Absent: every boot is local.
   */
  slots?: HostSlots;
}

/** The iomem rule of reference/kernel-lines.ts, as a per-line predicate for the comparator. */
export function isE820IomemLine(line: string): boolean {
  return selectE820Iomem([line]).compared.length === 1;
}

/** The real model and harness. Provisioning happens once per toolchain and is shared by all captures. */
export async function realDeps(options: RealDepsOptions = {}): Promise<MatrixDeps> {
  const slots = options.slots;
  const provisioned = new Map<string, Promise<ProvisionedToolchain>>();
  // Each machine's KVM host facts, read once per run.
  const factsOf = new Map<Host, Promise<HostFactsReport>>();
  const provisionOnce = (toolchain: Toolchain, onProgress?: (msg: string) => void, signal?: AbortSignal): Promise<ProvisionedToolchain> => {
    const key = JSON.stringify(toolchain);
    let p = provisioned.get(key);
    if (!p) {
      // Once per toolchain, whichever provisioner (the user's components' or the stock one).
      // An interrupted provisioning rejects, and is dropped from the map like any failure.
      p = (options.provision ?? provisionToolchain)(toolchain, { ...(onProgress ? { onProgress } : {}), ...(signal ? { signal } : {}) });
      // A failed provisioning is retried by the next cell rather than cached as a failure.
      p.catch(() => provisioned.delete(key));
      provisioned.set(key, p);
    }
    return p;
  };
  return {
    parseArgs: (argv, qemuVersion) => parseQemuArgs(argv, { qemuVersion }),
    predict: (config, toolchain, opts) => {
      // Only KVM guests take the host's CPU vendor and phys-bits; TCG predictions never read the host.
      const read = opts?.host === undefined && config.accel === 'kvm' ? hostFacts(options.host ?? {}) : undefined;
      const host = opts?.host ?? read?.facts;
      const biosVariant = options.biosVariantOf?.(toolchain);
      const p = predict(config, toolchain, {
        ...(host !== undefined ? { host } : {}),
        ...(opts?.intent !== undefined ? { intent: opts.intent } : {}),
        ...(biosVariant !== undefined ? { biosVariant } : {}),
      });
      const applied = p.intent?.applied.map((a) => `${a.text}: ${a.effect}`);
      return {
        report: p.report,
        explain: {
          'firmware.e820 rule': p.firmware.provenance,
          unpredicted: p.unpredicted,
          'qemu warnings': p.warnings,
          ...(applied !== undefined ? { 'declared (expect)': applied } : {}),
        },
        ...(applied !== undefined ? { applied } : {}),
        kernelStarts: p.kernelStarts,
        unpredicted: p.unpredicted,
        firmwareUnobservable: p.firmwareUnobservable,
        ...(config.accel === 'kvm' && host !== undefined
          ? { host: read !== undefined ? describeHostFacts(read) : `${host.cpuVendor}, ${host.physBits} physical address bits (given)` }
          : {}),
      };
    },
    capture: async (config, toolchain, options) => {
      // Provisioned once per toolchain, so outside capture: its failure is the boot's outcome all the same.
      let provisioned: ProvisionedToolchain;
      try {
        provisioned = await provisionOnce(toolchain, options.onProgress, options.signal);
      } catch (err) {
        return outcomeOfError(err, options.signal);
      }
      const { accept, onHost, ...rest } = options;
      if (slots === undefined) {
        onHost?.(localHost);
        return capture(config, toolchain, { ...rest, provisioned });
      }
      return slots.with((host) => {
        onHost?.(host);
        return capture(config, toolchain, { ...rest, provisioned, ...(!isThisMachine(host) ? { host } : {}) });
      }, accept);
    },
    isE820IomemLine,
    provision: provisionOnce,
    kvmProbe: async (toolchain, o = {}) =>
      probeKvm(await provisionOnce(toolchain, o.onProgress, o.signal), {
        ...(o.onProgress ? { onProgress: o.onProgress } : {}),
        ...(o.signal ? { signal: o.signal } : {}),
        ...(o.host !== undefined ? { host: o.host } : {}),
      }),
    ...(slots !== undefined ? { hosts: slots.hosts } : {}),
    hostFacts: (h) => {
      let f = factsOf.get(h);
      if (f === undefined) {
        f = hostFactsOn(h, options.host ?? {});
        f.catch(() => factsOf.delete(h));
        factsOf.set(h, f);
      }
      return f;
    },
  };
}
