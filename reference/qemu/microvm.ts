// The microvm machine (hw/i386/microvm.c): no PCI unless pcie=on with ACPI, no SMBIOS, no memory
// hotplug, RAM split at 3 GiB, and an etc/e820 of RAM records only (microvm_memory_init(): no
// reserved records; the AMD HyperTransport hole and the KVM identity-map pages are pc_memory_init's
// and x86's pc code, not microvm's). Its default firmware (microvm_devices_init()) is
// bios-microvm.bin with ACPI and qboot.rom without; reference/firmware.ts says which image that is
// in each release's Debian packages. Pure.

import { GiB } from '../address.ts';
import type { MachineConfig } from '../config.ts';
import { E820, type E820Record } from '../e820.ts';
import { QEMU_FIRMWARE_FILES } from '../profiles/firmware-files.ts';
import { parseMachineVersion, type QemuProfile } from '../profiles/qemu.ts';
import { UnsupportedOptionError, type CmosMemory, type Handoff } from '../stages.ts';
import { resolveCpuDeferred } from './cpu.ts';
import { cmosMemorySizes } from './layout.ts';
import { isOn, prop, type QemuStageOptions } from './options.ts';
import { fwCfgRamSizeOf, numaParseChecks, ramSizeOf } from './ram.ts';
import { resolveTopology } from './topology.ts';

export const MICROVM_LAYOUT = {
  /** microvm_memory_init(): `ram_addr_t lowmem = 0xc0000000; /* 3G *\/`: RAM above it goes to 4 GiB. */
  LOWMEM: 3n * GiB,
  /** RAM above 4 GiB starts at 4 GiB (`0x100000000ULL`). */
  ABOVE_4G_START: 4n * GiB,
} as const;

/** microvm's machine properties the model reads (hw/i386/microvm.c microvm_machine_class_init). */
export interface MicrovmOptions {
  /** acpi=: OnOffAuto, auto = on (x86_machine_is_acpi_enabled). */
  acpi: boolean;
  /** rtc=: auto = on unless KVM (microvm_devices_init). */
  rtc: boolean;
  /** isa-serial= (bool, default on): the only console the guest has. */
  isaSerial: boolean;
  /** x-option-roms= (bool, default on): -kernel's linuxboot_dma.bin and other option ROMs in fw_cfg genroms/. */
  optionRoms: boolean;
  /** pcie=: GPEX host only with ACPI on (microvm_devices_init: `acpi && pcie == ON_OFF_AUTO_ON`). */
  pcie: boolean;
}

export function microvmOptions(config: MachineConfig): MicrovmOptions {
  const p = (k: string): string | undefined => prop(config.machineProps, k);
  const onOffAuto = (k: string, auto: boolean): boolean => (p(k) === undefined || p(k) === 'auto' ? auto : isOn(p(k)));
  const acpi = onOffAuto('acpi', true);
  return {
    acpi,
    rtc: onOffAuto('rtc', config.accel !== 'kvm'),
    isaSerial: p('isa-serial') === undefined ? true : isOn(p('isa-serial')),
    optionRoms: p('x-option-roms') === undefined ? true : isOn(p('x-option-roms')),
    pcie: acpi && p('pcie') !== undefined && isOn(p('pcie')),
  };
}

/**
 * microvm_set_rtc(): like pc_cmos_init's memory registers, except that 0x15/0x16 is
 * MIN(below_4g / KiB, 640) and 0x5f (CPU count) is never written. Without an RTC (rtc=off) nothing
 * answers ports 0x70/0x71 and every register reads as all ones (observed through qtest on 5.2 and 11.1).
 */
export function microvmCmos(below: bigint, above: bigint, rtc: boolean): CmosMemory {
  if (!rtc) return { baseKiB: 0xffff, extendedKiB: 0xffff, above16MiB64K: 0xffff, above4GiB64K: 0xffffff, cpusMinusOne: 0xff };
  return { ...cmosMemorySizes(below, above), cpusMinusOne: 0 };
}

/**
 * The microvm Handoff. What the model does not follow is refused by name: KVM (kvmclock and the
 * in-kernel PIT change what the guest needs), ACPI under TCG (the guest cannot be captured: see
 * below), devices, NUMA, memory hotplug, and the options that take away what the guest needs.
 */
export function microvmStage(config: MachineConfig, profile: QemuProfile, options: QemuStageOptions = {}): Handoff {
  const name = config.machine.name;
  const o = microvmOptions(config);
  if (config.accel === 'kvm') {
    throw new UnsupportedOptionError('-accel kvm', `${name} under KVM is not modelled (kvmclock, the in-kernel PIT and host phys-bits; only TCG is checked here)`);
  }
  if (o.acpi) {
    // Observed on 7.2 (qboot) and 10.0 (SeaBIOS 1.16.3's bios-microvm.bin), pit=on,pic=on too: with
    // ACPI microvm's FADT is hardware-reduced, so Linux uses no PIT; there is no HPET or PM timer, and
    // kvmclock needs KVM. The kernel prints its E820 lines, then "tsc: Marking TSC unstable due to
    // could not calculate TSC khz" and never gets a timer tick: no init, nothing to compare after the map.
    throw new UnsupportedOptionError(
      '-machine acpi=',
      `${name} with ACPI (the default) under TCG: the guest kernel finds no clock (hardware-reduced ACPI: no PIT, HPET or PM timer; kvmclock is KVM's) and hangs after "tsc: Marking TSC unstable", so it cannot be captured; give acpi=off`,
    );
  }
  if (!o.isaSerial) {
    throw new UnsupportedOptionError('-machine isa-serial=', `off on ${name}: the guest then has no serial console (no PCI, no virtio-mmio console given), so nothing it prints can be captured`);
  }
  for (const k of ['pit', 'pic']) {
    const v = prop(config.machineProps, k);
    if (v !== undefined && v !== 'auto' && !isOn(v)) {
      throw new UnsupportedOptionError(`-machine ${k}=`, `off on ${name} without ACPI: the guest loses its only timer or interrupt controller; not modelled`);
    }
  }
  if (config.devices.length > 0) {
    throw new UnsupportedOptionError('-device', `devices on ${name} (virtio-mmio transports, ISA devices) are not modelled`);
  }
  if (config.numa.length > 0) throw new UnsupportedOptionError('-numa', `NUMA on ${name} is not modelled`);
  if (config.memory.maxmem !== null || config.memory.slots !== null) {
    throw new UnsupportedOptionError('-m', `slots/maxmem on ${name}: microvm has no memory hotplug; not modelled`);
  }
  if (config.maxRamBelow4g !== null) {
    // The parser refuses it with QEMU's words; this only keeps the stage total.
    throw new UnsupportedOptionError('-machine max-ram-below-4g=', `not a ${name} property`);
  }
  const image = config.bios ?? (o.acpi ? MICROVM_BIOS_FILENAME : MICROVM_QBOOT_FILENAME);
  const base = image.replace(/^.*\//, '');
  const qboot = base === MICROVM_QBOOT_FILENAME || (base === MICROVM_BIOS_FILENAME && QEMU_FIRMWARE_FILES[profile.version].biosMicrovm === 'qboot');
  if (!o.optionRoms && !qboot) {
    // x86_load_linux() hands -kernel to SeaBIOS as the linuxboot_dma.bin option ROM, which
    // microvm_memory_init() adds only with option ROMs on: SeaBIOS would have nothing to boot.
    throw new UnsupportedOptionError('-machine x-option-roms=', `off with SeaBIOS (${image}) on ${name}: -kernel reaches SeaBIOS only as an option ROM, so the guest never starts; not modelled`);
  }
  // A guest that hangs is the kernel layer's loss only: fw_cfg and CMOS are built as on the releases that boot it.
  const guestHangs =
    !o.rtc && qboot && profile.microvmQbootRtcOffHangs
      ? `rtc=off with qboot on ${name} of QEMU ${profile.version}: the guest hangs before the kernel prints its banner (measured; cause not established)`
      : undefined;
  const mv = parseMachineVersion(profile.machineTypes.newest);
  // QEMU's order, as qemuStage's: -smp, the CPU model, -numa, the memory checks, then CPU realize.
  const topology = resolveTopology(config, mv, profile, { diesSupported: false });
  const resolved = resolveCpuDeferred(config, profile, options.host, 'qemu64', mv);
  numaParseChecks(config, mv);
  const ramSize = ramSizeOf(config, profile, mv, name);
  if (resolved.realizeRefusal !== null) throw resolved.realizeRefusal;
  const cpu = resolved.cpu;

  const M = MICROVM_LAYOUT;
  const below = ramSize > M.LOWMEM ? M.LOWMEM : ramSize;
  const above = ramSize - below;
  const e820: E820Record[] = [{ start: 0n, length: below, type: E820.RAM }];
  if (above > 0n) e820.push({ start: M.ABOVE_4G_START, length: above, type: E820.RAM });
  for (const c of options.intent ?? []) e820.push({ start: c.start, length: c.size, type: c.type });

  return {
    machine: { name, family: 'microvm', version: null },
    topology,
    hasFwCfg: true,
    deviceMemory: null,
    e820,
    legacyE820: null,
    cmos: microvmCmos(below, above, o.rtc),
    ramSize,
    fwCfgRamSize: fwCfgRamSizeOf(config, ramSize),
    ramBelow4g: below,
    ramAbove4g: above,
    aboveStart: M.ABOVE_4G_START,
    reservedMemoryEnd: null,
    platform: {
      chipset: 'microvm',
      accel: config.accel,
      physBits: cpu.physBits,
      cpuVendor: cpu.vendor,
      cpuModel: cpu.model,
      longMode: cpu.longMode,
      extendedLeaves: cpu.extendedLeaves,
      bmi1Bmi2: cpu.bmi1Bmi2,
      la57: cpu.la57,
      pci: false,
      pciWindows: [],
      mmconfig: null,
      hotplugRam: [],
    },
    warnings: [],
    firmwareInputs: {
      highAllocations: [],
      loaderWritePointers: 0,
      smbiosTablesBytes: null,
      smbiosLegacyType1: null,
      smbiosHasType0: false,
      smbiosEntryPoint: null,
      hasTableLoader: false,
      acpiPmDevice: null,
      numaNodes: 0,
      maxCpusKey: topology.maxcpus,
      hpet: false,
      devices: [],
      biosImage: image,
    },
    ...(guestHangs !== undefined ? { guestHangs } : {}),
  };
}

/** hw/i386/microvm.c MICROVM_BIOS_FILENAME: the default with ACPI. */
export const MICROVM_BIOS_FILENAME = 'bios-microvm.bin';
/** hw/i386/microvm.c MICROVM_QBOOT_FILENAME: the default without ACPI. */
export const MICROVM_QBOOT_FILENAME = 'qboot.rom';
