// The spine: composes the stages in boot order. No logic of its own beyond choosing profiles
// and shaping the result as the report both `predict` and `capture` print.

import type { MachineConfig } from './config.ts';
import { E820 } from './e820.ts';
import { guestConsoleIndex, guestHasOneCpu, guestKernelCommandLine } from './guest.ts';
import { type AppliedChange, type DeclaredIntent, declaredChanges, describeChange, isEmptyIntent, NO_INTENT } from './intent.ts';
import { linuxStage } from './linux-stage.ts';
import { kernelProfileForRelease, type KernelProfile } from './profiles/kernel.ts';
import { LOAD_PHYSICAL_ADDR } from './linux/kernel-range.ts';
import { MiB } from './address.ts';
import type { BiosVariant } from './profiles/seabios.ts';
import { qemuProfile, type QemuProfile } from './profiles/qemu.ts';
import { cpuModelBase } from './profiles/qemu-cpu-models.ts';
import { firmwareLogSilence, seabiosProfile } from './profiles/seabios.ts';
import { type HostFacts, qemuStage, type QemuStageOptions } from './qemu/index.ts';
import { type LayerReport, firmwareE820Json, qemuE820Json } from './report.ts';
import { firmwareRoad, firmwareStage, QBOOT_SILENT, type FirmwareRoad } from './firmware.ts';
import { type FirmwareMap, type Handoff, type KernelView, type MemoryPathView, UnsupportedOptionError } from './stages.ts';
import { detectMemory, type MemorySetup, memorySetupDefault } from './linux/boot-memory.ts';
import type { Toolchain } from './toolchain.ts';

/** How far above the decompressor's need the guest's kernel layer is still not claimed (see kernelCannotStart). */
const GUEST_MARGIN = 8n * MiB;

export interface PredictOptions {
  /** Needed only for KVM configurations: the guest CPU takes the host's vendor and phys-bits. */
  host?: HostFacts;
  /**
   * The -bios image's configuration (reference/profiles/seabios.ts BIOS_VARIANTS), for an image
   * whose file name is not bios.bin / bios-256k.bin (harness/provision/seabios-image.ts tells it).
   */
  biosVariant?: BiosVariant;
  /**
   * What the build is declared to change (reference/intent.ts): the qemu stage appends its
   * records to etc/e820, the SeaBIOS stage applies its changes at the end of qemu_preinit.
   */
  intent?: DeclaredIntent;
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
   * without long mode for the x86-64 guest kernel, RAM too small for its decompressor) or cannot
   * tell whether it reaches init (RAM just above that): the kernel layer is then absent from the
   * report and `unpredicted` says why; QEMU and SeaBIOS are still predicted.
   */
  kernelStarts: boolean;
  /**
   * Why the firmware layer cannot be observed on this configuration (the image prints nothing on
   * SeaBIOS's debug port), or null: still predicted, and left out of the comparison with this reason.
   */
  firmwareUnobservable: string | null;
  /** The declared changes and what the stages did with each; absent when none were declared. */
  intent?: { declared: DeclaredIntent; applied: readonly AppliedChange[] };
  /**
   * Which way the kernel sizes memory (BIOS E820 table, or the E801/88h fallback map) and why,
   * from the firmware's INT 15h answers; set even when the kernel layer is not predicted.
   */
  memoryPath: MemoryPathView;
  /** Which firmware built the map the kernel is handed (SeaBIOS or qboot), and why (reference/firmware.ts). */
  firmwareRoad: FirmwareRoad;
}

/**
 * Why the project's guest kernel cannot start on this platform, or null. The guest is an x86-64
 * kernel: on a CPU without long mode its real-mode setup code (arch/x86/boot/cpu.c validate_cpu())
 * prints "This kernel requires an x86-64 CPU, …" through the BIOS video service and halts, so
 * nothing reaches the serial console (seen with isapc's default 486 on QEMU 5.2, 7.2, 10.0, 11.1).
 */
export function kernelCannotStart(handoff: Handoff, kernel: KernelProfile, qemu: QemuProfile, memory?: MemorySetup): string | null {
  const { platform } = handoff;
  if (handoff.guestHangs !== undefined) return `kernel: ${handoff.guestHangs}`;
  if (platform.accel === 'tcg' && qemu.tcgBmi2Undefined && kernel.guestDecompressorBmi2 && platform.bmi1Bmi2) {
    // Seen on 5.2 with 6.12 and 7.2: Haswell, Broadwell, Skylake, Cascadelake, Cooperlake, Icelake,
    // KnightsMill, EPYC, EPYC-Rome, Dhyana, max and qemu64,+bmi1,+bmi2 reset; Haswell,-bmi1 boots.
    return `kernel: the ${platform.cpuModel} CPU shows BMI1 and BMI2, so the guest kernel's zstd decompressor runs its BMI2 code, whose VEX-encoded SHLX QEMU ${qemu.version}'s TCG rejects as an invalid opcode: the CPU triple-faults and resets before the kernel prints anything`;
  }
  if (!platform.longMode) {
    return `kernel: the ${platform.cpuModel} CPU has no long mode (CPUID 0x80000001 EDX.LM), so the x86-64 guest kernel's setup code refuses to boot`;
  }
  if (!platform.extendedLeaves) {
    // Seen on 7.2 and 10.0 (`-M pc-i440fx-2.7 -cpu max`); `max,full-cpuid-auto-level=off,xlevel=0x80000008` boots.
    return `kernel: TCG ${platform.cpuModel} with full-cpuid-auto-level=off (PC_COMPAT_2_7 on machine types ≤ 2.7, or given) reports CPUID xlevel 0, so the guest sees no long mode (leaf 0x80000001 absent) and the setup code refuses to boot`;
  }
  const ramEnd = handoff.ramAbove4g > 0n ? handoff.aboveStart + handoff.ramAbove4g : handoff.ramBelow4g;
  if (ramEnd > 1n << BigInt(platform.physBits)) {
    // Seen on 7.2 (`-M q35 -m 3G -cpu qemu64,phys-bits=32`: nothing on the console); newer releases refuse it.
    // Mechanism not traced: a page-table entry for RAM beyond MAXPHYADDR has reserved bits set, which
    // TCG faults on (target/i386 paging walk), so any mapping of that RAM is fatal this early.
    return `kernel: RAM ends at 0x${ramEnd.toString(16)}, beyond what a guest CPU with ${platform.physBits} physical address bits can address: the guest kernel never starts (seen with phys-bits=32 and RAM above 4 GiB on QEMU 7.2)`;
  }
  // The decompressor runs from LOAD_PHYSICAL_ADDR and needs init_size bytes there (a KASLR slot is
  // never lower): with less RAM below 4 GiB it writes past the end of RAM and the CPU resets before
  // anything is printed (seen: 6.1 at -m 64, 6.12 at 64, 7.2 at 64 and 72).
  const needs = LOAD_PHYSICAL_ADDR + kernel.guestInitSize;
  if (handoff.ramBelow4g < needs) {
    return `kernel: RAM below 4 GiB ends at 0x${handoff.ramBelow4g.toString(16)}, but the guest kernel's decompressor needs up to 0x${needs.toString(16)} (16 MiB + its bzImage init_size 0x${kernel.guestInitSize.toString(16)}): it never starts`;
  }
  // Just above that the kernel starts but may run out of memory or overwrite its initramfs before
  // init (seen: 6.1 at -m 68 "System is deadlocked on memory", 6.12 at 72 "Unable to mount root
  // fs"; 6.1 at 72, 6.12 and 7.2 at 80 boot): the kernel layer is not claimed there.
  if (handoff.ramBelow4g < needs + GUEST_MARGIN) {
    return `kernel: RAM below 4 GiB ends at 0x${handoff.ramBelow4g.toString(16)}, within ${GUEST_MARGIN / MiB} MiB of what the guest kernel's decompressor needs (0x${needs.toString(16)}): the guest may run out of memory or lose its initramfs before init, so its layer is not predicted`;
  }
  if (memory !== undefined && memory.path !== 'e820') {
    // The decompressor runs in the RAM QEMU gave (it reads no map), but the kernel proper uses only
    // the fabricated map: with less than the same bound there it runs out of memory before init
    // (seen: 6.1's cloud kernel on the 88h map of 64 MiB, "System is deadlocked on memory").
    const seenEnd = memory.table.reduce((end, e) => (e.type === E820.RAM && e.addr + e.size > end ? e.addr + e.size : end), 0n);
    if (seenEnd < needs + GUEST_MARGIN) {
      return `kernel: on the ${memory.who} path the kernel's map ends at 0x${seenEnd.toString(16)}, within ${GUEST_MARGIN / MiB} MiB of the guest kernel's own footprint (0x${needs.toString(16)}: 16 MiB + init_size 0x${kernel.guestInitSize.toString(16)}): it runs out of memory before init, so its layer is not predicted`;
    }
  }
  return null;
}

export function predict(config: MachineConfig, toolchain: Toolchain, options: PredictOptions = {}): Prediction {
  const intent = options.intent ?? NO_INTENT;
  const stageOptions: QemuStageOptions = {};
  if (options.host) stageOptions.host = options.host;
  if (intent.qemu.length > 0) stageOptions.intent = intent.qemu;
  if (options.biosVariant !== undefined) stageOptions.biosVariant = options.biosVariant;
  const handoff = qemuStage(config, qemuProfile(toolchain.qemu), stageOptions);
  const { platform } = handoff;
  if (platform.accel === 'tcg' && qemuProfile(toolchain.qemu).tcgGuestHangsCpuModels.includes(cpuModelBase(platform.cpuModel))) {
    // QEMU accepts it and the kernel prints its E820 lines, then hangs before init for a reason the
    // model does not know, so neither "the kernel starts" nor "it never starts" would be a claim.
    throw new UnsupportedOptionError(
      '-cpu',
      `${platform.cpuModel} under TCG (QEMU ${toolchain.qemu}): the guest kernel hangs before init (after the Spectre mitigation lines) for a cause not modelled`,
    );
  }
  const diesAbort = qemuProfile(toolchain.qemu).diesCpuid1fAbort;
  if (
    diesAbort !== null &&
    handoff.topology.dies > 1 &&
    diesAbort.vendors.includes(platform.cpuVendor) &&
    !diesAbort.exceptModels.includes(cpuModelBase(platform.cpuModel))
  ) {
    // QEMU accepts it, then dies on an assertion when the guest reads CPUID leaf 0x1F: its text
    // carries a source path and line number, which the model does not predict.
    throw new UnsupportedOptionError(
      '-smp dies',
      `dies=${handoff.topology.dies} with a ${platform.cpuVendor} CPU (${platform.cpuModel}) on QEMU ${toolchain.qemu}: QEMU aborts on an assertion in target/i386/cpu.c encode_topo_cpuid1f() (CPUID leaf 0x1F) once the guest reads it; not modelled`,
    );
  }
  const seabios = seabiosProfile(toolchain.seabios);
  // Which firmware QEMU loads (SeaBIOS, or qboot: -bios qboot.rom, microvm's default), its map, and
  // what its INT 15h answers the kernel's setup code (the declared failures answer CF=1), from which
  // the kernel sizes memory (arch/x86/boot/memory.c, e820.c).
  const road = firmwareRoad(handoff, toolchain.qemu, config.bios);
  const { firmware, bios } = firmwareStage(handoff, road, seabios, intent);
  const kernelProfile = kernelProfileForRelease(toolchain.kernel, toolchain.kernelRelease, toolchain.kernelFlavour);
  const memory = memorySetupDefault(detectMemory(bios), kernelProfile);
  const cannotStart = kernelCannotStart(handoff, kernelProfile, qemuProfile(toolchain.qemu), memory);
  const kernel =
    cannotStart === null
      ? linuxStage(firmware, road.kind === 'qboot' ? { ...handoff.platform, optionRoms: false } : handoff.platform, guestKernelCommandLine(config.kernelArgs, guestConsoleIndex(config), guestHasOneCpu(config)), kernelProfile, memory)
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
            // Copies, spelled out (MemmapEntry is these three fields; spread costs more).
            ...(kernel.memmap ? { memmap: kernel.memmap.map((m) => ({ start: m.start, end: m.end, type: m.type })) } : {}),
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
    memoryPath: kernel?.memoryPath ?? { path: memory.path, who: memory.who, why: memory.why },
    firmwareRoad: road,
    firmwareUnobservable: road.kind === 'qboot' ? QBOOT_SILENT : firmwareLogSilence(seabios, handoff.firmwareInputs.biosImage, handoff.firmwareInputs.biosVariant),
    ...(isEmptyIntent(intent) ? {} : { intent: { declared: intent, applied: appliedChanges(intent, handoff, firmware) } }),
  };
}

/** What the stages did with each declared change, in declaration order (qemu first). */
function appliedChanges(intent: DeclaredIntent, handoff: Handoff, firmware: FirmwareMap): AppliedChange[] {
  const machineRecords = (handoff.e820?.length ?? 0) - intent.qemu.length;
  return declaredChanges(intent).map((change): AppliedChange => {
    let effect: string;
    if (change.layer === 'qemu') {
      // src/fw/paravirt.c qemu_early_e820 reads only E820_RAM and E820_RESERVED records.
      const read = change.type === E820.RAM || change.type === E820.RESERVED;
      effect =
        `e820_add_entry: etc/e820 record ${machineRecords + change.index} (after the machine's ${machineRecords}); ` +
        (read ? "SeaBIOS's qemu_early_e820 adds it to its map" : `SeaBIOS's qemu_early_e820 skips type ${change.type}, so only etc/e820 shows it`);
    } else {
      effect = firmware.declared?.[change.index] ?? 'e820_add/e820_remove at the end of qemu_preinit';
    }
    return { change, text: describeChange(change), effect };
  });
}
