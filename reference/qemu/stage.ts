// The QEMU stage as one composition, in the order QEMU does the work (so refusals come in QEMU's
// order): the machine type, machine options, CPU and topology, NUMA, RAM size, the memory layout,
// then what it hands the firmware.

import { MiB } from '../address.ts';
import type { MachineConfig } from '../config.ts';
import { E820 } from '../e820.ts';
import { ISAPC_CLASS, MACHINE_COMPAT, machineVersionAtMost, QEMU_LAYOUT as L, type QemuProfile } from '../profiles/qemu.ts';
import { QemuRefusal, UnsupportedOptionError, type Handoff } from '../stages.ts';
import { resolveCpuDeferred } from './cpu.ts';
import { firmwareInputsOf } from './firmware-inputs.ts';
import { checkFwCfgFileSlots, fwCfgFileCount } from './fw-cfg-files.ts';
import { cmosMemory, memoryLayout, type Board } from './layout.ts';
import { resolveMachine } from './machine.ts';
import { microvmStage } from './microvm.ts';
import { prop, type QemuStageOptions } from './options.ts';
import { platformOf } from './platform.ts';
import { backendLeavesDeviceMemory, fwCfgRamSizeOf, numaParseChecks, ramSizeOf } from './ram.ts';
import { resolveTopology } from './topology.ts';

export function qemuStage(config: MachineConfig, profile: QemuProfile, options: QemuStageOptions = {}): Handoff {
  // microvm shares none of pc_memory_init's layout (hw/i386/microvm.c): its own stage.
  if (config.machine.family === 'microvm') return microvmStage(config, profile, options);
  const warnings: string[] = [];
  const { machine, version: mv, warnings: mw } = resolveMachine(config, profile);
  warnings.push(...mw);
  const board: Board = { family: machine.family as Board['family'], machineName: machine.name, version: mv };
  const isapc = board.family === 'isapc';
  const acpi = checkMachineOptions(config, profile, machine.name, warnings);

  // -smp is parsed with the machine's options (hw/core/machine-smp.c machine_parse_smp_config; 5.2:
  // vl.c machine_smp_parse), before vl.c looks the CPU model up (parse_cpu_option): a topology
  // refusal comes first (docs/model/explore-findings.md#m31).
  const topology = resolveTopology(config, mv, profile);
  // machine_parse_smp_config() (5.2: vl.c): the class's max_cpus (isapc 1;
  // the pc/q35 limits are far above anything the model is asked).
  if (isapc && topology.maxcpus > ISAPC_CLASS.maxCpus) {
    throw new QemuRefusal(`Invalid SMP CPUs ${topology.maxcpus}. The max CPUs supported by machine '${machine.name}' is ${ISAPC_CLASS.maxCpus}`);
  }

  // The model lookup (vl.c parse_cpu_option) precedes parse_numa_opts; CPU realize's refusals wait
  // for machine_run_board_init's own checks (ramSizeOf).
  const resolved = resolveCpuDeferred(config, profile, options.host, isapc ? ISAPC_CLASS.defaultCpu : undefined, mv);
  numaParseChecks(config, mv);
  const ramSize = ramSizeOf(config, profile, mv, machine.name);
  if (resolved.realizeRefusal !== null) throw resolved.realizeRefusal;
  const cpu = resolved.cpu;

  const layout = memoryLayout(config, profile, board, cpu, ramSize, options.intent ?? []);
  warnings.push(...layout.warnings);
  // No etc/table-loader: QEMU builds no tables (acpi=off) or the machine type predates them (≤ pc-1.6).
  const hasTableLoader = acpi && (isapc ? ISAPC_CLASS.hasAcpiBuild : !(board.family === 'pc' && machineVersionAtMost(mv, MACHINE_COMPAT.noAcpiBuildUpTo)));
  const platform = platformOf(config, board, cpu, layout, acpi, hasTableLoader);
  const firmwareInputs = firmwareInputsOf(config, profile, board, topology, { size: ramSize, above: layout.above }, acpi, hasTableLoader, options.biosVariant);
  // The first system reset, after every -device is realized: the fw_cfg directory must have room
  // for the files it adds (fw-cfg-files.ts). isapc has no compat properties: 32 slots, few files.
  if (!isapc) {
    const files = fwCfgFileCount(config, profile, {
      version: mv,
      acpiPmDevice: firmwareInputs.acpiPmDevice !== null,
      hasTableLoader,
      smbiosLegacy: firmwareInputs.smbiosEntryPoint === null,
      deviceMemory: layout.reservedMemoryEnd !== null,
    });
    checkFwCfgFileSlots(files, profile);
  }

  return {
    machine,
    topology,
    hasFwCfg: true,
    deviceMemory: layout.deviceMemory,
    e820: layout.e820,
    legacyE820: profile.legacyE820Key ? layout.e820.filter((r) => r.type !== E820.RAM) : null,
    cmos: cmosMemory(layout.below, layout.above, topology),
    ramSize,
    fwCfgRamSize: fwCfgRamSizeOf(config, ramSize),
    ramBelow4g: layout.below,
    ramAbove4g: layout.above,
    aboveStart: layout.aboveStart,
    reservedMemoryEnd: layout.reservedMemoryEnd,
    platform,
    warnings,
    firmwareInputs,
  };
}

/**
 * Machine options QEMU checks while it sets them, before board init: the SMBIOS entry point
 * property (7.0+), ACPI off with what needs ACPI, max-ram-below-4g's bounds. Returns whether ACPI is on.
 */
function checkMachineOptions(config: MachineConfig, profile: QemuProfile, machineName: string, warnings: string[]): boolean {
  if (!profile.smbiosEntryPointProperty && prop(config.machineProps, 'smbios-entry-point-type') !== undefined) {
    // QOM type name of the machine: "<name>-machine" (TYPE_MACHINE_SUFFIX).
    throw new QemuRefusal(`Property '${machineName}-machine.smbios-entry-point-type' not found`);
  }
  // -machine acpi=off (or -no-acpi): QEMU builds no ACPI tables (acpi_setup returns at once) and
  // pc creates no PIIX4 PM device (hw/i386/pc_piix.c: only if x86_machine_is_acpi_enabled).
  const acpi = prop(config.machineProps, 'acpi') !== 'off';
  // A memory backend below the default leaves device memory too (ram.ts implicitMaxram).
  if (!acpi && (config.memory.maxmem !== null || backendLeavesDeviceMemory(config, profile))) {
    throw new UnsupportedOptionError('-machine acpi=', 'off with memory hotplug (maxmem): the device-memory region without ACPI is not modelled');
  }
  if (!acpi && config.devices.some((d) => d.driver === 'vmgenid')) {
    throw new UnsupportedOptionError('-machine acpi=', 'off with vmgenid (an ACPI device): not modelled');
  }
  // pc_machine_set_max_ram_below_4g() runs while options are parsed.
  const M = config.maxRamBelow4g;
  if (M !== null && M > L.FOUR_GIB) {
    throw new QemuRefusal(`Machine option 'max-ram-below-4g=${M}' expects size less than or equal to 4G`);
  }
  if (M !== null && M !== 0n && M < MiB) {
    warnings.push(`Only ${M} bytes of RAM below the 4GiB boundary,BIOS may not work with less than 1MiB`);
  }
  return acpi;
}
