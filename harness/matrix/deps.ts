// What the matrix needs from the model and the harness, as one small interface, so the runner,
// the CLI and the tests can be given fakes. `realDeps()` binds the real modules.

import { capture, provisionToolchain, type ProvisionedToolchain } from '../capture.ts';
import { parseQemuArgs } from '../../reference/cmdline.ts';
import type { MachineConfig } from '../../reference/config.ts';
import { predict } from '../../reference/predict.ts';
import { selectE820Iomem } from '../../reference/kernel-lines.ts';
import type { LayerReport } from '../../reference/report.ts';
import type { Toolchain } from '../../reference/toolchain.ts';
import type { Unobserved } from './compare.ts';

export interface PredictionLike {
  report: LayerReport;
  /** Per-entry rule names; shape owned by reference/predict.ts, rendered generically. */
  explain?: unknown;
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
  };
  logs?: unknown;
}

export interface CaptureOptions {
  signal?: AbortSignal;
  onProgress?: (msg: string) => void;
  keepLogsDir?: string;
  timeoutMs?: number;
  /** The cell's QEMU arguments exactly as the matrix spells them (no round trip through the config). */
  qemuArgs?: readonly string[];
  /** File name prefix of kept logs. */
  label?: string;
}

export interface MatrixDeps {
  parseArgs(argv: readonly string[], qemuVersion: string): MachineConfig;
  predict(config: MachineConfig, toolchain: Toolchain): PredictionLike;
  capture(config: MachineConfig, toolchain: Toolchain, options: CaptureOptions): Promise<ObservationLike>;
  isE820IomemLine(line: string): boolean;
  /** Installs/caches QEMU, SeaBIOS, kernel, busybox once before a run (optional). */
  provision?(toolchain: Toolchain, onProgress?: (msg: string) => void): Promise<unknown>;
}

/** The iomem rule of reference/kernel-lines.ts, as a per-line predicate for the comparator. */
export function isE820IomemLine(line: string): boolean {
  return selectE820Iomem([line]).compared.length === 1;
}

/** The real model and harness. Provisioning happens once per toolchain and is shared by all captures. */
export async function realDeps(): Promise<MatrixDeps> {
  const provisioned = new Map<string, Promise<ProvisionedToolchain>>();
  const provisionOnce = (toolchain: Toolchain, onProgress?: (msg: string) => void): Promise<ProvisionedToolchain> => {
    const key = JSON.stringify(toolchain);
    let p = provisioned.get(key);
    if (!p) {
      p = provisionToolchain(toolchain, onProgress ? { onProgress } : {});
      // A failed provisioning is retried by the next cell rather than cached as a failure.
      p.catch(() => provisioned.delete(key));
      provisioned.set(key, p);
    }
    return p;
  };
  return {
    parseArgs: (argv, qemuVersion) => parseQemuArgs(argv, { qemuVersion }),
    predict: (config, toolchain) => {
      const p = predict(config, toolchain);
      return {
        report: p.report,
        explain: {
          'firmware.e820 rule': p.firmware.provenance,
          unpredicted: p.unpredicted,
          'qemu warnings': p.warnings,
        },
      };
    },
    capture: async (config, toolchain, options) =>
      capture(config, toolchain, { ...options, provisioned: await provisionOnce(toolchain, options.onProgress) }),
    isE820IomemLine,
    provision: provisionOnce,
  };
}
