// The spine: composes the stages in boot order. No logic of its own beyond choosing profiles
// and shaping the result as the report both `predict` and `capture` print.

import type { MachineConfig } from './config.ts';
import { guestKernelCommandLine } from './guest.ts';
import { linuxStage } from './linux-stage.ts';
import { kernelProfileForRelease } from './profiles/kernel.ts';
import { qemuProfile } from './profiles/qemu.ts';
import { seabiosProfile } from './profiles/seabios.ts';
import { type HostFacts, qemuStage } from './qemu-stage.ts';
import { type LayerReport, firmwareE820Json, qemuE820Json } from './report.ts';
import { seabiosStage } from './seabios-stage.ts';
import type { FirmwareMap, Handoff, KernelView } from './stages.ts';
import type { Toolchain } from './toolchain.ts';

export interface PredictOptions {
  /** Needed only for KVM configurations: the guest CPU takes the host's vendor and phys-bits. */
  host?: HostFacts;
}

export interface Prediction {
  toolchain: Toolchain;
  report: LayerReport;
  handoff: Handoff;
  firmware: FirmwareMap;
  /** null when the kernel never starts (kernelStarts false). */
  kernel: KernelView | null;
  /** Fields the model deliberately does not predict for this configuration, with the reason. */
  unpredicted: readonly string[];
  /** Warnings QEMU would print. */
  warnings: readonly string[];
  /**
   * False when the model knows the guest kernel never starts on this configuration (e.g. a CPU
   * without long mode for the x86-64 guest kernel): the kernel layer is then absent from the
   * report and `unpredicted` says why; QEMU and SeaBIOS are still predicted.
   */
  kernelStarts: boolean;
}

/**
 * Why the project's guest kernel cannot start on this platform, or null. The guest is an x86-64
 * kernel: on a CPU without long mode its real-mode setup code (arch/x86/boot/cpu.c validate_cpu())
 * prints "This kernel requires an x86-64 CPU, …" through the BIOS video service and halts, so
 * nothing reaches the serial console (seen with isapc's default 486 on QEMU 5.2, 7.2, 10.0, 11.1).
 */
export function kernelCannotStart(handoff: Handoff): string | null {
  const { platform } = handoff;
  if (platform.longMode) return null;
  return `kernel: the ${platform.cpuModel} CPU has no long mode (CPUID 0x80000001 EDX.LM), so the x86-64 guest kernel's setup code refuses to boot`;
}

export function predict(config: MachineConfig, toolchain: Toolchain, options: PredictOptions = {}): Prediction {
  const handoff = qemuStage(config, qemuProfile(toolchain.qemu), options.host ? { host: options.host } : {});
  const firmware = seabiosStage(handoff, seabiosProfile(toolchain.seabios));
  const cannotStart = kernelCannotStart(handoff);
  const kernel =
    cannotStart === null
      ? linuxStage(firmware, handoff.platform, guestKernelCommandLine(config.kernelArgs), kernelProfileForRelease(toolchain.kernel, toolchain.kernelRelease))
      : null;

  const report: LayerReport = {
    qemu: handoff.e820 ? { e820: qemuE820Json(handoff.e820) } : {},
    firmware: {
      e820: firmwareE820Json(firmware.entries),
      // malloc_prepboot prints "Returned N bytes of ZoneHigh" only when malloc_preinit found a zone.
      ...(firmware.zoneHigh !== null ? { zoneHighReturned: firmware.zoneHighReturned } : {}),
    },
    ...(kernel !== null
      ? {
          kernel: {
            biosE820: [...kernel.biosE820],
            ...(kernel.e820Edits ? { e820Edits: [...kernel.e820Edits] } : {}),
            ...(kernel.memmap ? { memmap: kernel.memmap.map((m) => ({ ...m })) } : {}),
            ...(kernel.iomem ? { iomem: [...kernel.iomem] } : {}),
          },
        }
      : {}),
  };
  return {
    toolchain,
    report,
    handoff,
    firmware,
    kernel,
    unpredicted: cannotStart === null ? (kernel?.unpredictable ?? []) : [cannotStart],
    warnings: handoff.warnings,
    kernelStarts: kernel !== null,
  };
}
