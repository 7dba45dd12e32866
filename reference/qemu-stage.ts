// QEMU stage: MachineConfig + QEMU profile → Handoff (etc/e820 in file order, CMOS, fw_cfg facts,
// PCI windows, and what SeaBIOS will allocate). Mirrors hw/i386/pc.c pc_memory_init(),
// pc_piix.c pc_init1() / pc_init_isa(), pc_q35.c pc_q35_init(), isapc.c (10.2+),
// target/i386/cpu.c x86_cpu_realizefn() and hw/i386/acpi-build.c. Pure: no I/O, inputs untouched.

import { numaOptArg, RAM_SIZE_ALIGN } from './cmdline/index.ts';
import { alignUp, GiB, KiB, MiB } from './address.ts';
import type { MachineConfig } from './config.ts';
import type { BiosVariant } from './profiles/seabios.ts';
import { E820, type E820Record } from './e820.ts';
import type { QemuChange } from './intent.ts';
import { cpuModelBase, qemuCpuModelNames } from './profiles/qemu-cpu-models.ts';
import {
  CPU_MODELS,
  CPU_MODELS_WITH_BMI1_BMI2,
  ISAPC_CLASS,
  MACHINE_COMPAT,
  MACHINE_DESC,
  machineVersionAtMost,
  parseMachineVersion,
  QEMU_LAYOUT as L,
  type MachineVersion,
  type QemuProfile,
} from './profiles/qemu.ts';
import {
  QemuRefusal,
  UnsupportedOptionError,
  type CmosMemory,
  type FirmwareInputs,
  type Handoff,
  type Platform,
  type ResolvedMachine,
  type ResolvedTopology,
} from './stages.ts';

/** Facts about the KVM host the model cannot derive from the command line. */
export interface HostFacts {
  cpuVendor: 'AuthenticAMD' | 'GenuineIntel' | 'HygonGenuine';
  physBits: number;
  /**
   * The host CPU has CPUID.(7,0):ECX.LA57, which KVM passes on (`host`, `max`, or a model or flag
   * asking for la57). Unknown: a configuration whose guest would ask for it is refused as unmodelled.
   */
  la57?: boolean;
}

export interface QemuStageOptions {
  /** Required when the config uses KVM (the guest CPU takes the host's vendor). */
  host?: HostFacts;
  /** The -bios image's configuration when known from the image (FirmwareInputs.biosVariant). */
  biosVariant?: BiosVariant;
  /**
   * Declared etc/e820 records (reference/intent.ts): a patched QEMU calling e820_add_entry
   * (hw/i386/e820_memory_layout.c), which appends to the table. Appended in order after the
   * machine's own records; absent or empty: the table is the machine's alone.
   */
  intent?: readonly QemuChange[];
}

const prop = (props: ReadonlyArray<readonly [string, string]>, key: string): string | undefined => {
  let found: string | undefined;
  for (const [k, v] of props) if (k === key) found = v; // last one wins, as in QEMU's option parsing
  return found;
};

const isOn = (v: string | undefined): boolean => v !== undefined && ['on', 'yes', 'true', ''].includes(v);

// ---------------------------------------------------------------------------------------------
// Machine type

/**
 * The machine type after alias resolution, and the machine version its compat switches
 * (MACHINE_COMPAT) are read at. isapc is unversioned and takes no compat properties, so it reads
 * them as the release's newest type does.
 */
export function resolveMachine(config: MachineConfig, profile: QemuProfile): { machine: ResolvedMachine; version: MachineVersion; warnings: string[] } {
  const { family, name } = config.machine;
  const types = profile.machineTypes;
  if (family === 'microvm') {
    throw new UnsupportedOptionError(
      '-machine',
      `${name}: not modelled — microvm's default firmware is qboot (bios-microvm.bin), not SeaBIOS, and the model covers the SeaBIOS machines (pc, q35, isapc)`,
    );
  }
  if (family === 'isapc') {
    return { machine: { name: ISAPC_CLASS.name, family, version: null }, version: parseMachineVersion(types.newest), warnings: [] };
  }
  let resolved: string;
  let version: string;
  if (config.machine.version === null) {
    version = types.newest;
    resolved = family === 'pc' ? `pc-i440fx-${version}` : `pc-q35-${version}`;
  } else {
    version = config.machine.version;
    const registered =
      family === 'q35'
        ? types.q35.includes(version) && name === `pc-q35-${version}`
        : (name === `pc-i440fx-${version}` && types.i440fx.includes(version)) ||
          (name === `pc-${version}` && types.legacyPc.includes(version));
    // vl.c select_machine(): the profile's message + hint (observed on 7.2.22, 10.0.13, 11.1).
    if (!registered) throw new QemuRefusal(`${profile.messages.unsupportedMachine(name, config.machine.typedAt)}\nUse -machine help to list supported machines`);
    resolved = name;
  }
  const warnings: string[] = [];
  if (types.deprecated.includes(resolved)) {
    warnings.push(`Machine type '${resolved}' is deprecated: ${types.deprecationReason}`);
  }
  return { machine: { name: resolved, family, version }, version: parseMachineVersion(version), warnings };
}

// ---------------------------------------------------------------------------------------------
// CPU and topology

export interface ResolvedCpu {
  model: string;
  vendor: string;
  longMode: boolean;
  physBits: number;
  /** CPUID.(7,0):ECX.LA57 as the guest sees it (5-level paging possible). */
  la57: boolean;
  /**
   * CPUID reports the extended leaves (xlevel ≥ 0x80000001). False for TCG `max` with
   * full-cpuid-auto-level=off: LM is in QEMU's feature word but the guest cannot read it.
   */
  extendedLeaves: boolean;
  /** CPUID.(7,0):EBX shows both BMI1 and BMI2 to the guest. */
  bmi1Bmi2: boolean;
}

/**
 * Does the guest see BMI1 and BMI2: the model's definition, then the `-cpu` flags. In
 * x86_cpu_parse_featurestr `-f` beats `+f` whatever the order, which on/off pairs cannot show
 * once parsed, so a feature named twice with different values is not modelled.
 */
function guestBmi1Bmi2(config: MachineConfig, model: string): boolean {
  const flag = (name: string): boolean => {
    const values = new Set(config.cpu.props.filter(([k]) => k === name).map(([, v]) => (isOn(v) ? 'on' : ['off', 'no', 'false'].includes(v) ? 'off' : v)));
    if (values.size > 1) throw new UnsupportedOptionError('-cpu', `${name} turned both on and off: which wins depends on the spelling (+/-, =), not modelled`);
    const [value] = values;
    if (value === undefined) return CPU_MODELS_WITH_BMI1_BMI2.has(cpuModelBase(model));
    if (value !== 'on' && value !== 'off') throw new UnsupportedOptionError('-cpu', `${name}=${value}: only on and off are modelled`);
    return value === 'on';
  };
  return flag('bmi1') && flag('bmi2');
}

/** `defaultModel`: the machine's default_cpu_type (TARGET_DEFAULT_CPU_TYPE `qemu64` unless the class sets one: isapc `486`). */
export function resolveCpu(
  config: MachineConfig,
  profile: QemuProfile,
  host: HostFacts | undefined,
  defaultModel = 'qemu64',
  machine: MachineVersion | null = null,
): ResolvedCpu {
  const model = config.cpu.model ?? defaultModel;
  // vl.c parse_cpu_option() → cpu_class_by_name(): a model this release does not define.
  if (!qemuCpuModelNames(profile.version).has(model)) throw new QemuRefusal(`unable to find CPU model '${model}'`);
  const facts = Object.hasOwn(CPU_MODELS, cpuModelBase(model)) ? CPU_MODELS[cpuModelBase(model)] : undefined;
  if (facts === undefined) throw new UnsupportedOptionError('-cpu', `model ${JSON.stringify(model)} is not in the model's CPU table`);
  const kvm = config.accel === 'kvm';
  if (kvm && host === undefined) {
    throw new UnsupportedOptionError('-accel kvm', 'the guest CPU takes the host vendor and phys-bits under KVM: pass the host facts');
  }
  if (model === 'host' && !kvm) throw new QemuRefusal("CPU model 'host' requires KVM or HVF");
  // Under KVM every named model gets the host's vendor (host_cpu_instance_init); vendor= overrides.
  let vendor: string = kvm && host !== undefined ? host.cpuVendor : facts.vendor;
  const vendorProp = prop(config.cpu.props, 'vendor');
  if (vendorProp !== undefined) vendor = vendorProp;

  const userBits = prop(config.cpu.props, 'phys-bits');
  const hostBitsProp = prop(config.cpu.props, 'host-phys-bits');
  const hostPhysBits =
    kvm && (isOn(hostBitsProp) || (hostBitsProp === undefined && (model === 'host' || model === 'max') && profile.hostMaxUseHostPhysBits));
  let physBits: number;
  if (!facts.longMode) {
    if (userBits !== undefined && Number(userBits) !== 0) throw new QemuRefusal('phys-bits is not user-configurable in 32 bit');
    physBits = facts.pse36 ? 36 : 32;
  } else if (hostPhysBits && host !== undefined) {
    // host_cpu_adjust_phys_bits() (5.2: x86_cpu_realizefn): the host's width, capped by a non-zero
    // host-phys-bits-limit (a uint8 property); the 32..52 check then applies to the result.
    const limitProp = prop(config.cpu.props, 'host-phys-bits-limit');
    const limit = limitProp === undefined ? 0 : Number(limitProp);
    if (!Number.isInteger(limit) || limit < 0 || limit > 255) throw new UnsupportedOptionError('-cpu host-phys-bits-limit', `not a uint8: ${limitProp}`);
    physBits = limit !== 0 && host.physBits > limit ? limit : host.physBits;
    checkPhysBitsRange(physBits, profile);
  } else if (userBits !== undefined && Number(userBits) !== 0) {
    const n = Number(userBits);
    if (!Number.isInteger(n)) throw new UnsupportedOptionError('-cpu phys-bits', `not an integer: ${userBits}`);
    if (!kvm && profile.tcgPhysBits === 'fixed40' && n !== L.TCG_PHYS_BITS) throw new QemuRefusal('TCG only supports phys-bits=40');
    checkPhysBitsRange(n, profile);
    physBits = n;
  } else {
    physBits = L.TCG_PHYS_BITS;
  }
  const noAutoLevel = maxWithoutAutoLevel(config, model, machine);
  const la57 = facts.longMode && guestLa57(config, model, facts.la57, profile, kvm ? host : undefined);
  return {
    model,
    vendor,
    longMode: facts.longMode,
    physBits,
    la57,
    extendedLeaves: !noAutoLevel || prop(config.cpu.props, 'xlevel') !== undefined,
    bmi1Bmi2: guestBmi1Bmi2(config, model),
  };
}

/**
 * Highest phys-bits beyond 52 seen to boot where QEMU has no upper bound (11.1.3: `qemu64,phys-bits=53`,
 * the guest then reports 53 bits). Wider ones are not modelled: CPUID 0x80000008 EAX[7:0] and the
 * TCG/KVM paging masks are not traced past it.
 */
const PHYS_BITS_UNBOUNDED_VERIFIED_MAX = 53;

/** x86_cpu_realizefn(): phys-bits under long mode against the release's bounds (QemuProfile.physBitsRange). */
function checkPhysBitsRange(bits: number, profile: QemuProfile): void {
  const { min, max } = profile.physBitsRange;
  if (bits < min || (max !== null && bits > max)) throw new QemuRefusal(profile.messages.physBitsOutOfRange(bits));
  if (max === null && bits > PHYS_BITS_UNBOUNDED_VERIFIED_MAX) {
    throw new UnsupportedOptionError('-cpu phys-bits', `${bits}: QEMU ${profile.version} accepts it (no upper bound), but only up to ${PHYS_BITS_UNBOUNDED_VERIFIED_MAX} has been seen to boot`);
  }
}

/**
 * TCG `max` under full-cpuid-auto-level=off (PC_COMPAT_2_7, or the property): x86_cpu_expand_features()
 * then takes cpuid_xlevel from cpuid_min_xlevel, which only KVM's host_cpu_max_instance_init() fills
 * in; under TCG it stays 0, so leaf 0x80000001 (and with it LM) is not reported. The basic level is
 * not 0 (`max,full-cpuid-auto-level=off,xlevel=0x80000008` boots 5-level on 7.2: leaf 7 is seen).
 */
function maxWithoutAutoLevel(config: MachineConfig, model: string, machine: MachineVersion | null): boolean {
  if (model !== 'max' || config.accel === 'kvm') return false;
  const auto = prop(config.cpu.props, 'full-cpuid-auto-level');
  if (auto !== undefined) return !isOn(auto);
  return machine !== null && machineVersionAtMost(machine, MACHINE_COMPAT.fullCpuidAutoLevelOffUpTo);
}

/**
 * CPUID.(7,0):ECX.LA57 of the guest: the model's definition (or `la57=`/`+la57`/`-la57`), kept only
 * if the accelerator implements it — TCG per release (QemuProfile.tcgLa57; otherwise filtered with a
 * "TCG doesn't support requested feature" warning), KVM per host. x86_cpu_parse_featurestr() applies
 * `-f` after `+f` after `f=on|off` whatever their order; the parsed config no longer tells them apart,
 * so conflicting la57 settings are refused rather than guessed.
 */
function guestLa57(
  config: MachineConfig,
  model: string,
  modelLa57: boolean,
  profile: QemuProfile,
  kvmHost: HostFacts | undefined,
): boolean {
  const given = config.cpu.props.filter(([k]) => k === 'la57').map(([, v]) => isOn(v));
  if (given.some((v) => v !== given[0])) {
    throw new UnsupportedOptionError('-cpu la57', 'conflicting la57 settings: QEMU ranks -la57 over +la57 over la57=, which the parsed command line does not keep');
  }
  const wanted = given.length > 0 ? given[0]! : modelLa57;
  if (!wanted) return false;
  // The decompressor (arch/x86/boot/compressed/pgtable_64.c) also needs CPUID level ≥ 7 to see it.
  const level = prop(config.cpu.props, 'level');
  if (level !== undefined && Number(level) < 7) return false;
  if (config.accel !== 'kvm') return profile.tcgLa57;
  if (kvmHost?.la57 === undefined) {
    throw new UnsupportedOptionError('-accel kvm', `whether the ${model} guest CPU gets LA57 (5-level paging) depends on the host CPU: pass the host's la57 fact`);
  }
  return kvmHost.la57;
}

/**
 * hw/core/machine-smp.c machine_parse_smp_config(), or 5.2's hw/i386/pc.c pc_smp_parse()
 * (QemuProfile.smpParse); the refusals are worded by the profile (QemuProfile.messages).
 */
export function resolveTopology(config: MachineConfig, machine: MachineVersion, profile: QemuProfile): ResolvedTopology {
  if (profile.smpParse === 'pc_smp_parse') return pcSmpParse52(config, profile);
  const s = config.smp;
  let cpus = s.cpus ?? 0;
  let sockets = s.sockets ?? 0;
  const dies = s.dies ?? 1;
  let cores = s.cores ?? 0;
  let threads = s.threads ?? 0;
  let maxcpus = s.maxcpus ?? 0;
  if (cpus === 0 && maxcpus === 0) {
    sockets = sockets || 1;
    cores = cores || 1;
    threads = threads || 1;
  } else {
    maxcpus = maxcpus || cpus;
    if (machineVersionAtMost(machine, MACHINE_COMPAT.smpPreferSocketsUpTo)) {
      if (sockets === 0) {
        cores = cores || 1;
        threads = threads || 1;
        sockets = Math.floor(maxcpus / (dies * cores * threads));
      } else if (cores === 0) {
        threads = threads || 1;
        cores = Math.floor(maxcpus / (sockets * dies * threads));
      }
    } else if (cores === 0) {
      sockets = sockets || 1;
      threads = threads || 1;
      cores = Math.floor(maxcpus / (sockets * dies * threads));
    } else if (sockets === 0) {
      threads = threads || 1;
      sockets = Math.floor(maxcpus / (dies * cores * threads));
    }
    if (threads === 0) threads = Math.floor(maxcpus / (sockets * dies * cores));
  }
  maxcpus = maxcpus || sockets * dies * cores * threads;
  cpus = cpus || maxcpus;
  const hierarchy = profile.messages.cpuHierarchy({ sockets, dies, modules: 1, cores, threads });
  if (sockets * dies * cores * threads !== maxcpus) throw new QemuRefusal(profile.messages.smpProductMismatch(hierarchy, maxcpus));
  if (maxcpus < cpus) throw new QemuRefusal(profile.messages.smpMaxcpusBelowCpus(hierarchy, maxcpus, cpus));
  return { cpus, sockets, dies, cores, threads, maxcpus };
}

/**
 * hw/i386/pc.c pc_smp_parse() @ v5.2.0: sockets preferred; cores/threads derived from cpus (at least
 * 1), sockets from maxcpus; without cpus, cpus is the product. Its three refusals in order.
 */
function pcSmpParse52(config: MachineConfig, profile: QemuProfile): ResolvedTopology {
  const s = config.smp;
  let cpus = s.cpus ?? 0;
  let sockets = s.sockets ?? 0;
  const dies = s.dies ?? 1;
  let cores = s.cores ?? 0;
  let threads = s.threads ?? 0;
  const hierarchy = (): string => profile.messages.cpuHierarchy({ sockets, dies, modules: 1, cores, threads });
  if (cpus === 0 || sockets === 0) {
    cores = cores || 1;
    threads = threads || 1;
    if (cpus === 0) {
      sockets = sockets || 1;
      cpus = cores * threads * dies * sockets;
    } else {
      sockets = Math.floor((s.maxcpus ?? cpus) / (cores * threads * dies));
    }
  } else if (cores === 0) {
    threads = threads || 1;
    cores = Math.floor(cpus / (sockets * dies * threads)) || 1;
  } else if (threads === 0) {
    threads = Math.floor(cpus / (cores * dies * sockets)) || 1;
  } else if (sockets * dies * cores * threads < cpus) {
    throw new QemuRefusal(profile.messages.smpProductBelowCpus(hierarchy(), cpus));
  }
  const maxcpus = s.maxcpus ?? cpus;
  if (maxcpus < cpus) throw new QemuRefusal(profile.messages.smpMaxcpusBelowCpus(hierarchy(), maxcpus, cpus));
  if (sockets * dies * cores * threads !== maxcpus) throw new QemuRefusal(profile.messages.smpProductMismatch(hierarchy(), maxcpus));
  return { cpus, sockets, dies, cores, threads, maxcpus };
}

/**
 * The part of etc/acpi/tables that is not AML (`tables_blob->len - aml_len` in
 * hw/i386/acpi-build.c acpi_build), which the legacy sizing of pc-i440fx-1.7/2.0 keeps as built:
 * FACS, MADT (a local APIC entry per possible CPU, the IO-APIC, 5 interrupt overrides,
 * the local NMI), HPET, SRAT (a CPU entry per possible CPU, nodes + 2 memory entries: no device
 * memory on these machine types), WAET and the RSDT. Checked against the table addresses Linux
 * prints (`ACPI: APIC 0x… 0000D0`) on QEMU 5.2 and 7.2, pc-i440fx-2.0 -smp 12, with and without NUMA.
 */
function legacyAcpiNonAmlBytes(topology: ResolvedTopology, numaNodes: number, hpet: boolean): number {
  const HEADER = 36;
  const rsdtEntries = ['FACP', 'APIC', ...(hpet ? ['HPET'] : []), ...(numaNodes > 0 ? ['SRAT'] : []), 'WAET'];
  return (
    64 + // FACS (the FADT after the DSDT is counted with the AML: `aml_len += tables_blob->len - fadt`)
    (HEADER + 8 + 8 * topology.maxcpus + 12 + 5 * 10 + 6) + // MADT
    (hpet ? HEADER + 20 : 0) +
    (numaNodes > 0 ? HEADER + 12 + 16 * topology.maxcpus + 40 * (numaNodes + 2) : 0) +
    (HEADER + 4) + // WAET
    (HEADER + 4 * rsdtEntries.length)
  );
}

/** x86_apicid_from_cpu_idx() for the last possible CPU, + 1 (hw/i386/x86.c apic_id_limit). */
export function apicIdLimit(t: ResolvedTopology): number {
  const bits = (n: number): number => (n <= 1 ? 0 : Math.ceil(Math.log2(n)));
  const tw = bits(t.threads);
  const cw = bits(t.cores);
  const dw = bits(t.dies);
  const i = t.maxcpus - 1;
  const thread = i % t.threads;
  const core = Math.floor(i / t.threads) % t.cores;
  const die = Math.floor(i / (t.threads * t.cores)) % t.dies;
  const socket = Math.floor(i / (t.threads * t.cores * t.dies));
  return ((socket << (dw + cw + tw)) | (die << (cw + tw)) | (core << tw) | thread) + 1;
}

// ---------------------------------------------------------------------------------------------
// RAM

export interface RamSplit {
  below: bigint;
  above: bigint;
  warnings: string[];
}

/** pc_piix.c pc_init1() / pc_q35.c pc_q35_init() (qemu.md §1.1, §1.2): same in all covered versions. */
export function splitRam(family: 'pc' | 'q35', ramSize: bigint, maxRamBelow4g: bigint | null, gigabyteAlign: boolean): RamSplit {
  const warnings: string[] = [];
  const userM = maxRamBelow4g ?? 0n;
  let lowmem: bigint;
  if (family === 'pc') {
    const M = userM === 0n ? L.PC_DEFAULT_LOWMEM : userM;
    lowmem = M;
    if (ramSize >= M && gigabyteAlign) {
      if (lowmem > L.PC_GIGABYTE_LOWMEM) lowmem = L.PC_GIGABYTE_LOWMEM;
      if (lowmem % GiB !== 0n) {
        warnings.push(`Large machine and max_ram_below_4g (${M}) not a multiple of 1G; possible bad performance.`);
      }
    }
  } else {
    lowmem = ramSize >= L.Q35_LOWMEM_THRESHOLD ? L.Q35_SPLIT_LOWMEM : L.Q35_LOWMEM_THRESHOLD;
    const M = userM === 0n ? L.FOUR_GIB : userM;
    if (lowmem > M) {
      lowmem = M;
      // (ram_size - lowmem) > lowmem is computed in uint64_t: it wraps when ram_size < lowmem.
      const diff = (ramSize - lowmem + (1n << 64n)) % (1n << 64n);
      if (diff > lowmem && lowmem % GiB !== 0n) {
        warnings.push(
          `There is possibly poor performance as the ram size  (0x${ramSize.toString(16)}) is more then twice the size of max-ram-below-4g (${M}) and max-ram-below-4g is not a multiple of 1G.`,
        );
      }
    }
  }
  return ramSize >= lowmem ? { below: lowmem, above: ramSize - lowmem, warnings } : { below: ramSize, above: 0n, warnings };
}

/**
 * hw/core/numa.c parse_numa_node(), per node in order, while vl.c parse_numa_opts() walks the -numa
 * options (qemu_opts_foreach restores each option's location, so the message carries
 * `-numa <arg>: `): the mixing check, then numa_mem_supported. vl.c runs it after the machine
 * options (-smp) and the -cpu model lookup, before board init (CPU realize, pc_memory_init).
 */
function numaParseChecks(config: MachineConfig, machine: MachineVersion): void {
  let haveMem = false;
  let haveMemdev = false;
  for (const n of config.numa) {
    const where = `-numa ${n.spelled ?? numaOptArg(n)}`;
    haveMem ||= n.mem !== null;
    haveMemdev ||= n.memdev !== null;
    if ((n.mem !== null && haveMemdev) || (n.memdev !== null && haveMem)) {
      throw new QemuRefusal(`${where}: numa configuration should use either mem= or memdev=,mixing both is not allowed`);
    }
    if (n.mem !== null && !machineVersionAtMost(machine, MACHINE_COMPAT.numaMemUpTo)) {
      throw new QemuRefusal(`${where}: Parameter -numa node,mem is not supported by this machine type\nUse -numa node,memdev instead`);
    }
  }
}

function ramSizeOf(config: MachineConfig, profile: QemuProfile, machine: MachineVersion, machineName: string): bigint {
  // The parser keeps `-machine memory-backend=` in its own field, not in machineProps.
  const backendId = config.memoryBackend ?? null;
  let ram = config.memory.size === null || config.memory.size === 0n ? null : alignUp(config.memory.size, RAM_SIZE_ALIGN);
  if (backendId !== null) {
    const b = config.backends.find((x) => x.id === backendId);
    if (b === undefined) throw new QemuRefusal(`Memory backend '${backendId}' not found`);
    if (config.numa.some((n) => n.memdev !== null)) {
      throw new QemuRefusal("'-machine memory-backend' and '-numa memdev' properties are mutually exclusive");
    }
    if (ram === null) {
      // v5.2.0 leaves ram_size at default_ram_size when -m is absent (profile.ramSizeFromMemoryBackend).
      if (profile.ramSizeFromMemoryBackend) ram = b.size;
    } else if (ram !== b.size) throw new QemuRefusal('Machine memory size does not match the size of the memory backend');
  }
  ram ??= L.DEFAULT_RAM;
  if (config.numa.length > 0) {
    let sum = 0n;
    const legacy = config.numa.some((n) => n.mem !== null);
    if (legacy && config.numa.some((n) => n.memdev !== null)) {
      throw new QemuRefusal('numa configuration should use either mem= or memdev=,mixing both is not allowed');
    }
    for (const n of config.numa) {
      if (n.mem !== null) sum += n.mem;
      else if (n.memdev !== null) {
        const b = config.backends.find((x) => x.id === n.memdev);
        if (b === undefined) throw new QemuRefusal(`Memory backend '${n.memdev}' not found`);
        sum += b.size;
      } else {
        throw new UnsupportedOptionError('-numa node', `node without mem= or memdev= (${machineName}) is not modelled`);
      }
    }
    if (sum !== ram) throw new QemuRefusal(profile.messages.numaSum(sum, ram));
  }
  return ram;
}

// ---------------------------------------------------------------------------------------------
// SMBIOS and ACPI sizing (what SeaBIOS will place)

/**
 * Length of etc/smbios/smbios-tables as QEMU builds it by default (hw/smbios/smbios.c; strings from
 * smbios_set_defaults("QEMU", mc->desc, mc->name)): types 1, 3, 4 × sockets, 16, 17 × DIMMs,
 * 19 × RAM entries, 32, 127. Checked against measured 321 B (pc-i440fx-7.2) / 309 B (pc-q35-7.2),
 * +68 / +65 B per socket, +33 B with RAM above 4 GiB (seabios.md §5.4).
 */
export function smbiosTablesBytes(opts: {
  machineName: string;
  desc: string;
  sockets: number;
  ramSize: bigint;
  ramEntries: number;
  dimmChunk: bigint;
  type4Length: number;
}): number {
  const str = (s: string): number => s.length + 1;
  const name = opts.machineName;
  const type1 = 27 + str('QEMU') + str(opts.desc) + str(name) + 1;
  const type3 = 22 + str('QEMU') + str(name) + 1;
  let type4 = 0;
  for (let i = 0; i < opts.sockets; i++) type4 += opts.type4Length + str(`CPU ${i}`) + str('QEMU') + str(name) + 1;
  const type16 = 23 + 2;
  const dimms = Number((opts.ramSize + opts.dimmChunk - 1n) / opts.dimmChunk);
  let type17 = 0;
  for (let i = 0; i < dimms; i++) type17 += 40 + str(`DIMM ${i}`) + str('QEMU') + 1;
  const type19 = opts.ramEntries * (31 + 2);
  const type32 = 11 + 2;
  const type127 = 4 + 2;
  return type1 + type3 + type4 + type16 + type17 + type19 + type32 + type127;
}

/** Drivers SeaBIOS runs whose allocations do not stay in ZoneHigh (or that it does not drive at all). */
const NO_ZONEHIGH_DEVICES = new Set([
  'e1000', 'e1000e', 'rtl8139', 'virtio-net-pci', 'virtio-net', 'VGA', 'cirrus-vga', 'std-vga', 'virtio-vga',
  'qxl-vga', 'bochs-display', 'isa-debugcon', 'virtio-rng-pci', 'virtio-balloon', 'virtio-balloon-pci', 'virtio-serial-pci',
  'isa-serial', 'pvpanic', 'ide-cd', 'ide-hd', 'ide-drive', 'pc-dimm', 'pci-bridge', 'pcie-root-port',
  // What libvirt adds around a guest: PCIe ports, switches and bridges (SeaBIOS's pci_setup gives
  // them windows but its drivers allocate nothing for them), and devices SeaBIOS has no driver or
  // option ROM for. Each is booted on pc and/or q35 by suites/matrix/libvirt.yaml.
  'ioh3420', 'x3130-upstream', 'xio3130-downstream', 'i82801b11-bridge', 'pcie-pci-bridge',
  'virtio-9p-pci', 'virtserialport', 'virtconsole', 'intel-hda', 'ich9-intel-hda', 'hda-duplex', 'hda-micro', 'hda-output', 'AC97',
  'virtio-mouse-pci', 'virtio-keyboard-pci', 'virtio-tablet-pci', 'virtio-gpu-pci', 'pci-serial', 'isa-parallel',
]);

/**
 * USB HID devices: SeaBIOS's UHCI driver finds the tablet (no boot protocol) and frees its
 * structures as if no device answered (measured: nothing moves behind UHCI); behind xHCI the same
 * tablet moves the end of RAM down 4 KiB (measured), which is not modelled.
 */
const USB_HID_DEVICES = new Set(['usb-tablet', 'usb-mouse', 'usb-kbd']);

/**
 * USB host controllers and the SeaBIOS driver that sets each up (src/hw/usb.c usb_setup). Their
 * ZoneHigh allocations are transient (freed when no USB device answers); reference/profiles/seabios.ts
 * TRANSIENT_USB_DRIVERS.
 */
const USB_HOST_CONTROLLERS: ReadonlyMap<string, string> = new Map([
  ['qemu-xhci', 'xhci'], ['nec-usb-xhci', 'xhci'], ['usb-ehci', 'ehci'], ['ich9-usb-ehci1', 'ehci'],
  ['piix3-usb-uhci', 'uhci'], ['pci-ohci', 'ohci'],
  ...[1, 2, 3, 4, 5, 6].map((n) => [`ich9-usb-uhci${n}`, 'uhci'] as const),
  ['ich9-usb-ehci2', 'ehci'],
]);

/**
 * The board's own USB controllers with -machine usb=on (-usb): pc_piix.c pc_init1 creates a
 * piix3-usb-uhci; pc_q35.c pc_q35_init an ICH9 EHCI with its three UHCI companions
 * (hw/usb/hcd-ehci-pci.c ehci_create_ich9_with_companions).
 */
const BOARD_USB: Readonly<Record<'pc' | 'q35', readonly string[]>> = {
  pc: ['piix3-usb-uhci'],
  q35: ['ich9-usb-ehci1', 'ich9-usb-uhci1', 'ich9-usb-uhci2', 'ich9-usb-uhci3'],
};

/** Devices whose creation clears default_cdrom (softmmu/vl.c default_list; ide-drive until 6.0). */
const CLEARS_DEFAULT_CDROM = new Set(['ide-cd', 'ide-hd', 'ide-drive', 'scsi-cd', 'scsi-hd']);

/**
 * Does QEMU add its default CD-ROM? vl.c: not with -nodefaults or a device of default_list;
 * default_drive(default_cdrom, …, block_default_type (IDE), index 2) also skips it when a user
 * -drive of that interface already holds index 2 (drive_get_by_index). Auto-placed drives take the
 * first free (bus, unit) (blockdev.c drive_new), index = bus × units_per_default_bus + unit
 * (q35 1, pc 2).
 */
function hasDefaultCdrom(config: MachineConfig, family: 'pc' | 'q35'): boolean {
  if (config.nodefaults || config.devices.some((d) => CLEARS_DEFAULT_CDROM.has(d.driver))) return false;
  const units = family === 'q35' ? 1 : 2;
  const taken = new Set<number>();
  const auto: number[] = [];
  config.drives.forEach((d, i) => {
    if ((prop(d, 'if') ?? 'ide') !== 'ide') return;
    const index = prop(d, 'index');
    const bus = prop(d, 'bus');
    const unit = prop(d, 'unit');
    if (index !== undefined) taken.add(Number(index));
    else if (bus !== undefined || unit !== undefined) taken.add(Number(bus ?? 0) * units + Number(unit ?? 0));
    else auto.push(i);
  });
  for (let k = 0, next = 0; k < auto.length; k++) {
    while (taken.has(next)) next++;
    taken.add(next);
  }
  return !taken.has(2);
}

/** SeaBIOS block_setup() order (src/block.c): ahci, virtio-blk, virtio-scsi, …, nvme. */
const DRIVER_ORDER = ['ahci-port', 'virtio-blk', 'virtio-scsi', 'nvme'];

/** What decides a virtio device's legacy queue size (see virtioLegacyQueue). */
interface VirtioDefaults {
  legacyOnly: boolean;
  queue128: boolean;
  reportsMaxQueue: boolean;
}

/**
 * The queue size a legacy-only virtio device reports through VIRTIO_PCI_QUEUE_NUM, or undefined when
 * it also speaks modern virtio (SeaBIOS then uses that). disable-modern= on the device wins over
 * the machine type's default.
 */
function virtioLegacyQueue(props: ReadonlyArray<readonly [string, string]>, sizeProp: string, v: VirtioDefaults): number | undefined {
  const modernOff = prop(props, 'disable-modern') ?? (v.legacyOnly ? 'on' : 'off');
  if (!['on', 'true', 'yes'].includes(modernOff)) return undefined;
  if (v.reportsMaxQueue) return 1024;
  return Number(prop(props, sizeProp) ?? (v.queue128 ? 128 : 256));
}

function firmwareDevices(config: MachineConfig, family: 'pc' | 'q35', virtio: VirtioDefaults): FirmwareInputs['devices'] {
  const devices: Array<{ kind: string; detail?: string; busGiven?: boolean; legacyQueueSize?: number }> = [];
  const legacy = (props: ReadonlyArray<readonly [string, string]>, sizeProp: string) => {
    const q = virtioLegacyQueue(props, sizeProp, virtio);
    return q !== undefined ? { legacyQueueSize: q } : {};
  };
  // Default CD-ROM (default_cdrom) sits on IDE (pc: no ZoneHigh use) or on the q35 AHCI.
  if (family === 'q35' && hasDefaultCdrom(config, family)) devices.push({ kind: 'ahci-port', detail: 'default CD-ROM' });
  for (const d of config.drives) {
    const iface = prop(d, 'if') ?? 'ide';
    if (iface === 'none') continue;
    if (iface === 'ide') {
      if (family === 'q35') devices.push({ kind: 'ahci-port', detail: '-drive if=ide' });
    } else if (iface === 'virtio') devices.push({ kind: 'virtio-blk', detail: '-drive if=virtio', ...legacy([], 'queue-size') });
    else if (iface !== 'floppy') throw new UnsupportedOptionError('-drive', `if=${iface} is not modelled`);
  }
  let scsiControllers = 0;
  let scsiDisks = 0;
  const usbHid: string[] = [];
  let scsiLegacy: { legacyQueueSize?: number } = {};
  const board = prop(config.machineProps, 'usb') === 'on' ? BOARD_USB[family].map((driver) => ({ driver, props: [] })) : [];
  for (const dev of [...board, ...config.devices]) {
    const drv = dev.driver;
    const usb = USB_HOST_CONTROLLERS.get(drv);
    if (drv === 'virtio-blk-pci' || drv === 'virtio-blk') devices.push({ kind: 'virtio-blk', detail: drv, ...legacy(dev.props, 'queue-size') });
    else if (drv === 'nvme') {
      const bus = prop(dev.props, 'bus');
      devices.push({ kind: 'nvme', detail: drv, ...(bus !== undefined && bus !== 'pci.0' && bus !== 'pcie.0' ? { busGiven: true } : {}) });
    }
    else if (usb !== undefined) {
      // SeaBIOS sizes xHCI's device-context array by the controller's slots (XHCI_PROBE_FOOTPRINT).
      if (usb === 'xhci' && prop(dev.props, 'slots') !== undefined) throw new UnsupportedOptionError('-device', `${drv},slots=: a slot count other than the default 64 is not modelled`);
      devices.push({ kind: usb, detail: drv });
    }
    else if (USB_HID_DEVICES.has(drv)) usbHid.push(drv);
    else if (drv === 'ahci' || drv === 'ich9-ahci') {
      // (`ahci` is qdev's alias of ich9-ahci, hw/ide/ich.c.) An AHCI controller with no drive probes its ports and keeps nothing (as q35's own ICH9 AHCI
      // does under -nodefaults); a drive on it would need its bus resolved, which is not modelled.
      const id = prop(dev.props, 'id');
      const onIt = config.devices.find((o) => id !== undefined && (prop(o.props, 'bus') ?? '').startsWith(`${id}.`));
      if (id === undefined || onIt !== undefined) {
        throw new UnsupportedOptionError('-device', `ahci${onIt !== undefined ? ` with ${onIt.driver} on its bus` : ' without id='}: which drives sit on an added AHCI controller is not modelled (one with no drive is)`);
      }
    }
    else if (drv === 'virtio-scsi-pci' || drv === 'virtio-scsi') {
      scsiControllers++;
      scsiLegacy = legacy(dev.props, 'virtqueue_size');
    }
    else if (drv === 'scsi-hd' || drv === 'scsi-cd') scsiDisks++;
    else if (drv === 'vmgenid') continue; // a table-loader allocation, see below
    else if (drv === 'ide-hd' || drv === 'ide-cd') {
      if (family === 'q35') devices.push({ kind: 'ahci-port', detail: drv });
    } else if (!NO_ZONEHIGH_DEVICES.has(drv)) {
      throw new UnsupportedOptionError('-device', `${drv}: its firmware footprint is not modelled`);
    }
  }
  const hidHosts = devices.filter((d) => USB_HOST_CONTROLLERS.has(d.detail ?? ''));
  if (usbHid.length > 0 && !hidHosts.every((d) => d.kind === 'uhci')) {
    throw new UnsupportedOptionError('-device', `${usbHid.join(', ')} next to ${hidHosts.map((d) => d.detail).join(', ')}: a USB HID device is modelled behind UHCI only (behind xHCI it moves the end of RAM, measured)`);
  }
  if (scsiControllers > 1) {
    // Which controller holds which disk (bus=) is not modelled, and a controller without a disk
    // frees its queue only after scanning 256 targets (src/hw/virtio-scsi.c init_virtio_scsi).
    throw new UnsupportedOptionError('-device', `${scsiControllers} virtio-scsi controllers: their firmware footprint is not modelled (one is)`);
  }
  if (scsiControllers > 0 && scsiDisks === 0 && devices.some((d) => !USB_HOST_CONTROLLERS.has(d.detail ?? ''))) {
    // The empty controller's vp_device and queue stay allocated while it scans its 256 targets,
    // so another driver's allocation made meanwhile lands below them (as with USB, M8).
    throw new UnsupportedOptionError('-device', 'virtio-scsi without a disk next to another disk controller: its transient queue allocation is not modelled');
  }
  if (scsiControllers > 0 && scsiDisks > 0) devices.push({ kind: 'virtio-scsi', detail: 'virtio-scsi-pci with a disk', ...scsiLegacy });
  return devices
    .map((d, i) => ({ d, i }))
    .sort((a, b) => DRIVER_ORDER.indexOf(a.d.kind) - DRIVER_ORDER.indexOf(b.d.kind) || a.i - b.i)
    .map(({ d }) => d);
}

/**
 * Where QEMU puts the cold-plugged DIMMs (hw/mem/memory-device.c memory_device_get_free_addr: the
 * first free address of the device-memory region, in -device order), in the order the guest's ACPI
 * driver adds them (the DSDT's memory devices MPnn, by slot). Inclusive ends.
 */
function coldPluggedDimms(config: MachineConfig, region: { start: bigint; end: bigint } | null): Array<{ start: bigint; end: bigint }> {
  const dimms = config.devices.filter((d) => d.driver === 'pc-dimm');
  if (dimms.length === 0) return [];
  if (region === null) return []; // QEMU refuses a DIMM without slots/maxmem (checked where it plugs)
  let next = region.start;
  let freeSlot = 0;
  const placed: Array<{ slot: number; start: bigint; end: bigint }> = [];
  for (const d of dimms) {
    const text = optText(d.driver, d.props);
    if (prop(d.props, 'addr') !== undefined) throw new UnsupportedOptionError('-device', `${text}: an explicit DIMM addr= is not modelled`);
    const backend = config.backends.find((b) => b.id === prop(d.props, 'memdev'));
    if (backend === undefined) throw new UnsupportedOptionError('-device', `${text}: a DIMM without a memory backend of its own is not modelled`);
    // Anonymous RAM is aligned to 2 MiB (QEMU_VMALLOC_ALIGN); sizes that keep DIMMs contiguous only.
    if (backend.size % (2n * MiB) !== 0n) throw new UnsupportedOptionError('-device', `${text}: a DIMM whose size is not a multiple of 2 MiB (alignment gaps) is not modelled`);
    const slotText = prop(d.props, 'slot');
    const slot = slotText !== undefined ? Number(slotText) : freeSlot;
    while (placed.some((p) => p.slot === freeSlot) || freeSlot === slot) freeSlot++;
    placed.push({ slot, start: next, end: next + backend.size - 1n });
    next += backend.size;
  }
  return placed.sort((a, b) => a.slot - b.slot).map(({ start, end }) => ({ start, end }));
}

/** PCI device types (and the aliases qdev resolves to them: qdev_get_device_class()), for isapc's refusal. */
const PCI_DEVICE_TYPES: ReadonlyMap<string, string> = new Map([
  ...[
    'e1000', 'e1000e', 'rtl8139', 'virtio-net-pci', 'VGA', 'cirrus-vga', 'virtio-vga', 'qxl-vga', 'bochs-display',
    'qemu-xhci', 'nec-usb-xhci', 'usb-ehci', 'ich9-usb-ehci1', 'piix3-usb-uhci', 'pci-ohci', 'virtio-rng-pci',
    'virtio-balloon-pci', 'virtio-serial-pci', 'pci-bridge', 'pcie-root-port', 'virtio-blk-pci', 'virtio-scsi-pci',
    'nvme', 'ahci', 'ich9-ahci',
  ].map((t) => [t, t] as const),
  ['virtio-net', 'virtio-net-pci'],
  ['virtio-blk', 'virtio-blk-pci'],
  ['virtio-scsi', 'virtio-scsi-pci'],
  ['virtio-balloon', 'virtio-balloon-pci'],
  ['virtio-serial', 'virtio-serial-pci'],
  ['virtio-rng', 'virtio-rng-pci'],
]);

/** ISA devices that may sit on isapc and leave nothing in SeaBIOS's ZoneHigh (ISA IDE: the ATA driver uses the f-segment). */
const ISAPC_QUIET_DEVICES = new Set(['ide-hd', 'ide-cd', 'ide-drive', 'isa-serial', 'pvpanic']);

/** An option's argument as QEMU echoes it in a located error (`-device e1000,…: …`). */
const optText = (head: string | null, props: ReadonlyArray<readonly [string, string]>): string =>
  [...(head === null ? [] : [head]), ...props.map(([k, v]) => `${k}=${v.replaceAll(',', ',,')}`)].join(',');

/**
 * isapc's devices: no PCI bus, so a PCI device (or an if=virtio drive, which becomes
 * virtio-blk-pci) is refused when QEMU creates it — "No 'PCI' bus found for device '…'", located at
 * the option (checked on 5.2, 7.2, 10.0 and 11.1). ISA IDE disks and CD-ROMs leave no ZoneHigh
 * allocation; anything else is not modelled.
 */
function isapcDevices(config: MachineConfig): FirmwareInputs['devices'] {
  for (const d of config.drives) {
    const iface = prop(d, 'if') ?? 'ide';
    if (iface === 'virtio') throw new QemuRefusal(`-drive ${optText(null, d)}: No 'PCI' bus found for device 'virtio-blk-pci'`);
    if (iface !== 'ide' && iface !== 'floppy' && iface !== 'none') throw new UnsupportedOptionError('-drive', `if=${iface} on isapc is not modelled`);
  }
  for (const dev of config.devices) {
    const pciType = PCI_DEVICE_TYPES.get(dev.driver);
    if (pciType !== undefined) throw new QemuRefusal(`-device ${optText(dev.driver, dev.props)}: No 'PCI' bus found for device '${pciType}'`);
    if (!ISAPC_QUIET_DEVICES.has(dev.driver)) throw new UnsupportedOptionError('-device', `${dev.driver} on isapc: its firmware footprint is not modelled`);
  }
  for (const nic of config.nics ?? []) {
    const model = prop(nic, 'model');
    if (model !== undefined && model !== 'ne2k_isa') throw new UnsupportedOptionError('-nic', `model=${model} on isapc is not modelled (its NIC is the ISA ne2k_isa)`);
  }
  return [];
}

/**
 * Upper bounds on the 32-bit MMIO a display device asks SeaBIOS for (BARs + ROM BAR, 64-bit BARs
 * included since SeaBIOS keeps them below 4 GiB when it can): std VGA / bochs-display / virtio-vga
 * 16 MiB vgamem BAR, cirrus 32 MiB, qxl-vga 64 MiB ram + 64 MiB vram + a 64-bit vram BAR.
 */
const DISPLAY_BAR32_BOUND: ReadonlyMap<string, bigint> = new Map([
  ['std', 32n * MiB], ['VGA', 32n * MiB], ['std-vga', 32n * MiB], ['bochs-display', 32n * MiB],
  ['virtio', 32n * MiB], ['virtio-vga', 32n * MiB], ['cirrus', 64n * MiB], ['cirrus-vga', 64n * MiB],
  ['qxl', 256n * MiB], ['qxl-vga', 256n * MiB],
]);
/** Bound on any other PCI function's 32-bit MMIO (BARs, ROM BAR, a bridge's 1 MiB-aligned windows). */
const OTHER_PCI_BAR32_BOUND = 8n * MiB;

/**
 * The i440fx 32-bit PCI hole is [below_4g_mem_size, IO-APIC) (hw/pci-host/i440fx.c i440fx_init:
 * range_set_bounds on pci_hole). Not modelled, with why:
 * - below_4g ≥ 0xfec00000: the range is empty or inverted and QEMU aborts on an assertion in
 *   include/qemu/range.h (its text carries a build path and a line number: not a stable message).
 * - a hole too small for the devices' BARs: SeaBIOS src/fw/pciinit.c pci_bios_map_devices() packs
 *   the MEM and PREFMEM regions top-down from 0xfec00000, each aligned to its largest BAR, and
 *   panics "PCI: out of 32bit address space" (the guest never boots) when the lower one ends below
 *   RamSize. Packing loses less than each region's size to alignment, so a hole of twice an upper
 *   bound of the BAR total is enough; a smaller hole is refused rather than guessed. Measured
 *   (7.2/1.16.2, default devices): 4048M with max-ram-below-4g=4G (28 MiB hole) boots, 4050M
 *   (26 MiB: the std-VGA 16 MiB BAR has no 16 MiB-aligned slot) panics.
 */
function checkI440fxPciHole32(config: MachineConfig, below: bigint): void {
  const top = L.IO_APIC_DEFAULT_ADDRESS;
  if (below >= top) {
    throw new UnsupportedOptionError(
      '-machine max-ram-below-4g',
      `RAM below 4 GiB (0x${below.toString(16)}) reaches the IO-APIC at 0x${top.toString(16)}: QEMU aborts on an assertion (include/qemu/range.h, empty i440fx PCI hole) whose text is build-specific, so it is not modelled`,
    );
  }
  const vga = config.vga ?? (config.nodefaults ? 'none' : 'std');
  let bound = DISPLAY_BAR32_BOUND.get(vga) ?? (vga === 'none' ? 0n : 256n * MiB);
  let functions = 2; // the default NIC (or -nic/-net ones counted below) and slack for on-board functions
  for (const d of config.devices) {
    const display = DISPLAY_BAR32_BOUND.get(d.driver);
    if (display !== undefined) bound += display;
    else functions++;
  }
  functions += config.drives.length + (config.nics?.length ?? 0);
  bound += BigInt(functions) * OTHER_PCI_BAR32_BOUND;
  const hole = top - below;
  if (hole < 2n * bound) {
    throw new UnsupportedOptionError(
      '-machine max-ram-below-4g',
      `the 32-bit PCI hole [0x${below.toString(16)}, 0x${top.toString(16)}) is ${hole / MiB} MiB, under the ${(2n * bound) / MiB} MiB the model needs to be sure SeaBIOS can place every 32-bit BAR (otherwise it panics "PCI: out of 32bit address space"); not modelled`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// The stage

export function qemuStage(config: MachineConfig, profile: QemuProfile, options: QemuStageOptions = {}): Handoff {
  const warnings: string[] = [];
  const { machine, version: mv, warnings: mw } = resolveMachine(config, profile);
  warnings.push(...mw);
  const family = machine.family as 'pc' | 'q35' | 'isapc';
  const i440fx = family === 'pc';
  const isapc = family === 'isapc';
  if (!profile.smbiosEntryPointProperty && prop(config.machineProps, 'smbios-entry-point-type') !== undefined) {
    // QOM type name of the machine: "<name>-machine" (TYPE_MACHINE_SUFFIX).
    throw new QemuRefusal(`Property '${machine.name}-machine.smbios-entry-point-type' not found`);
  }

  // -machine acpi=off (or -no-acpi): QEMU builds no ACPI tables (acpi_setup returns at once) and
  // pc creates no PIIX4 PM device (hw/i386/pc_piix.c: only if x86_machine_is_acpi_enabled).
  const acpi = prop(config.machineProps, 'acpi') !== 'off';
  if (!acpi && config.memory.maxmem !== null) {
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

  // resolveCpu's refusals come from CPU realize (board init), except the model lookup
  // (vl.c parse_cpu_option), which precedes parse_numa_opts: hold the former back until -numa is read.
  let cpuRefusal: QemuRefusal | null = null;
  let resolvedCpu: ResolvedCpu | null = null;
  try {
    resolvedCpu = resolveCpu(config, profile, options.host, isapc ? ISAPC_CLASS.defaultCpu : undefined, mv);
  } catch (e) {
    if (!(e instanceof QemuRefusal) || e.qemuMessage.startsWith('unable to find CPU model')) throw e;
    cpuRefusal = e;
  }
  const topology = resolveTopology(config, mv, profile);
  // hw/core/machine-smp.c machine_parse_smp_config() (5.2: vl.c): the class's max_cpus (isapc 1;
  // the pc/q35 limits are far above anything the model is asked).
  if (isapc && topology.maxcpus > ISAPC_CLASS.maxCpus) {
    throw new QemuRefusal(`Invalid SMP CPUs ${topology.maxcpus}. The max CPUs supported by machine '${machine.name}' is ${ISAPC_CLASS.maxCpus}`);
  }
  numaParseChecks(config, mv);
  if (cpuRefusal !== null) throw cpuRefusal;
  const cpu = resolvedCpu!;
  const ramSize = ramSizeOf(config, profile, mv, machine.name);

  // -m slots/maxmem (hw/core/machine.c machine_set_mem, hw/i386/pc.c pc_memory_init).
  const slots = config.memory.slots ?? 0;
  const maxmem = config.memory.maxmem;
  if (config.memory.slots !== null && maxmem === null) throw new QemuRefusal(profile.messages.slotsWithoutMaxmem);
  if (maxmem !== null && maxmem < ramSize) throw new QemuRefusal(profile.messages.maxmemBelowSize(maxmem, ramSize));
  if (maxmem !== null && slots > 0 && maxmem === ramSize) throw new QemuRefusal(profile.messages.slotsMaxmemEqual(maxmem, ramSize));
  if (isapc && profile.isapc.board === 'isapc.c') {
    // hw/i386/isapc.c pc_init_isa(), before pc_memory_init(): the CPU check (a warning), then the RAM limit.
    const board = profile.isapc;
    if (!ISAPC_CLASS.cpuTypes32.includes(cpu.model)) warnings.push(board.deprecatedCpu.replace('%s', cpu.model));
    if (ramSize > board.maxRam) throw new QemuRefusal(board.tooMuchMemory.replace('%d', String(ramSize / MiB)));
  }
  const hasReservedMemory = isapc ? ISAPC_CLASS.hasReservedMemory : !(i440fx && machineVersionAtMost(mv, MACHINE_COMPAT.noReservedMemoryUpTo));
  // pc_pci_hole64_start() and the device memory read maxmem only with has_reserved_memory; the
  // refusals for slots/maxmem come later in pc_memory_init(), after the phys-bits bound check.
  const hotplug = hasReservedMemory && maxmem !== null && maxmem > ramSize;

  const gigabyteAlign = isapc ? ISAPC_CLASS.gigabyteAlign : !(i440fx && machineVersionAtMost(mv, MACHINE_COMPAT.gigabyteAlignOffUpTo));
  const split: RamSplit =
    isapc && profile.isapc.board === 'isapc.c'
      ? { below: ramSize, above: 0n, warnings: [] } // isapc.c: no split (max_ram_below_4g overwritten)
      : // pc_init1(): isapc (≤ 10.0) takes the i440fx split, without the gigabyte alignment.
        splitRam(family === 'q35' ? 'q35' : 'pc', ramSize, M, gigabyteAlign);
  warnings.push(...split.warnings);
  const below = split.below;
  const above = split.above;
  // pc_memory_init()'s pci_hole64_size: the host bridge's pci-hole64-size; 0 without PCI (isapc).
  const hole64Size = isapc ? 0n : i440fx ? L.I440FX_HOLE64_SIZE : L.Q35_HOLE64_SIZE;
  const brokenReservedEnd = machineVersionAtMost(mv, MACHINE_COMPAT.brokenReservedEndUpTo);
  const alignedDimm = !(i440fx && machineVersionAtMost(mv, MACHINE_COMPAT.unalignedDimmUpTo));

  // Device memory and the 64-bit hole start depend on where above-4G RAM starts.
  const layoutFor = (aboveStart: bigint) => {
    const aboveEnd = aboveStart + above;
    const dmBase = alignUp(aboveEnd, GiB);
    const dmSize = hotplug ? maxmem - ramSize + (alignedDimm ? BigInt(slots) * GiB : 0n) : 0n;
    const hole64Start = alignUp(hotplug ? dmBase + (brokenReservedEnd ? 0n : dmSize) : aboveEnd, GiB);
    return { aboveEnd, dmBase, dmSize, hole64Start };
  };
  const maxUsedGpa = (aboveStart: bigint): bigint => {
    const { aboveEnd, dmBase, dmSize, hole64Start } = layoutFor(aboveStart);
    if (profile.physBitsBoundCheck === 'v7.1') {
      return cpu.physBits <= 32 ? (1n << BigInt(cpu.physBits)) - 1n : hole64Start + hole64Size - 1n;
    }
    if (cpu.longMode) return hole64Start + hole64Size - 1n;
    // 8.2+ 32-bit CPU: broken_32bit_mem_addr_check for machine types ≤ 8.1 (not isapc: no compat).
    if (machineVersionAtMost(mv, MACHINE_COMPAT.broken32BitMemAddrCheckUpTo)) return (1n << BigInt(cpu.physBits)) - 1n;
    return hotplug ? dmBase + dmSize - 1n : aboveEnd - 1n;
  };

  const e820: E820Record[] = [];
  const kvm = config.accel === 'kvm';
  if (kvm) e820.push({ start: profile.kvmIdentityBase, length: L.KVM_IDENTITY_SIZE, type: E820.RESERVED });
  let aboveStart = L.FOUR_GIB;
  if (profile.amdHtHole) {
    const enforce = !machineVersionAtMost(mv, MACHINE_COMPAT.amd1tbHoleOffUpTo);
    if (cpu.vendor === 'AuthenticAMD' && enforce) {
      if (maxUsedGpa(aboveStart) >= L.AMD_HT_START) aboveStart = L.AMD_ABOVE_1TB_START;
      if (cpu.physBits >= 40) e820.push({ start: L.AMD_HT_START, length: L.AMD_HT_SIZE, type: E820.RESERVED });
    }
  }
  if (profile.physBitsBoundCheck !== 'none') {
    const maxUsed = maxUsedGpa(aboveStart);
    const maxPhys = (1n << BigInt(cpu.physBits)) - 1n;
    if (maxPhys < maxUsed) {
      throw new QemuRefusal(`Address space limit 0x${maxPhys.toString(16)} < 0x${maxUsed.toString(16)} phys-bits too low (${cpu.physBits})`);
    }
  }
  e820.push({ start: 0n, length: below, type: E820.RAM });
  if (above > 0n) e820.push({ start: aboveStart, length: above, type: E820.RAM });
  // pc_memory_init() after the RAM entries (same order in 7.2, 10.0 and master; 5.2 has no bound check).
  if (!hasReservedMemory && (slots > 0 || (maxmem !== null && maxmem > ramSize))) {
    throw new QemuRefusal(`"-memory 'slots|maxmem'" is not supported by: ${machine.name}`);
  }
  if (hotplug) {
    if (slots > L.MAX_RAM_SLOTS) throw new QemuRefusal(`unsupported amount of memory slots: ${slots}`);
    if (maxmem % 4096n !== 0n) throw new QemuRefusal('maximum memory size must by aligned to multiple of 4096 bytes');
  }
  if (i440fx) checkI440fxPciHole32(config, below);
  // Declared records (a patched build): e820_add_entry appends, so they follow the machine's own
  // in file order; on QEMU ≤ 7.1 a non-RAM record also goes into the legacy 0x8003 table (below).
  for (const c of options.intent ?? []) e820.push({ start: c.start, length: c.size, type: c.type });

  const lay = layoutFor(aboveStart);
  const deviceMemory = hotplug ? { start: lay.dmBase, end: lay.dmBase + lay.dmSize } : null;
  const reservedMemoryEnd = hotplug ? alignUp(brokenReservedEnd ? lay.dmBase : lay.dmBase + lay.dmSize, GiB) : null;
  const dimms = coldPluggedDimms(config, deviceMemory);

  // CMOS (hw/i386/pc.c pc_cmos_init / _late; qemu.md §4).
  const clamp = (v: bigint): number => Number(v > 65535n ? 65535n : v);
  const cmos: CmosMemory = {
    baseKiB: Number(below / KiB > 640n ? 640n : below / KiB),
    extendedKiB: clamp(below > MiB ? (below - MiB) / KiB : 0n),
    above16MiB64K: clamp(below > 16n * MiB ? (below - 16n * MiB) / (64n * KiB) : 0n),
    above4GiB64K: Number((above / (64n * KiB)) & 0xffffffn),
    cpusMinusOne: topology.cpus > 255 ? 0 : topology.cpus - 1,
  };

  // PCI host bridge windows in PCI0 _CRS (hw/i386/acpi-build.c build_dsdt + the host bridge's
  // pci-hole properties, read when SeaBIOS fetches the tables: no 64-bit BARs assigned assumed).
  // isapc has neither a PCI bus nor ACPI tables: no windows.
  const pciWindows: Array<{ start: bigint; end: bigint }> = [];
  const mmconfig = family === 'q35' ? { start: L.Q35_MMCONFIG_BASE, end: L.Q35_MMCONFIG_BASE + L.Q35_MMCONFIG_SIZE - 1n } : null;
  if (!isapc && acpi) {
    pciWindows.push({ ...L.VGA_WINDOW });
    const holeEnd = L.IO_APIC_DEFAULT_ADDRESS - 1n;
    if (mmconfig === null) pciWindows.push({ start: below, end: holeEnd });
    else {
      // The DSDT builder excludes MMCONFIG from the q35 hole [below_4g, IOAPIC).
      if (below < mmconfig.start) pciWindows.push({ start: below, end: mmconfig.start - 1n });
      pciWindows.push({ start: mmconfig.end + 1n, end: holeEnd });
    }
    if (!machineVersionAtMost(mv, MACHINE_COMPAT.pciHole64FixOffUpTo)) {
      const start = lay.hole64Start;
      pciWindows.push({ start, end: alignUp(start + hole64Size, GiB) - 1n });
    }
  }
  // No etc/table-loader: QEMU builds no tables (acpi=off) or the machine type predates them (≤ pc-1.6).
  const hasTableLoader = acpi && (isapc ? ISAPC_CLASS.hasAcpiBuild : !(i440fx && machineVersionAtMost(mv, MACHINE_COMPAT.noAcpiBuildUpTo)));
  const platform: Platform = {
    chipset: isapc ? 'isapc' : i440fx ? 'i440fx' : 'q35',
    accel: config.accel,
    physBits: cpu.physBits,
    cpuVendor: cpu.vendor,
    cpuModel: cpu.model,
    longMode: cpu.longMode,
    bmi1Bmi2: cpu.bmi1Bmi2,
    la57: cpu.la57,
    extendedLeaves: cpu.extendedLeaves,
    pci: isapc ? ISAPC_CLASS.pci : true,
    pciWindows,
    // Linux finds ECAM through ACPI MCFG only (QEMU's q35 host bridge is not in its chipset probes).
    mmconfig: acpi ? mmconfig : null,
    // QEMU's DSDT describes each DIMM (MHPD); without QEMU's tables nothing does.
    hotplugRam: acpi && hasTableLoader ? dimms : [],
  };

  // What SeaBIOS will allocate: ACPI blob via the table-loader, SMBIOS, devices.
  // hw/acpi/vmgenid.c vmgenid_realize(), when the -device options are created (after board init):
  // bios_linker_loader_can_write_pointer() needs fw_cfg DMA. Located at the option.
  const vmgenid = config.devices.find((d) => d.driver === 'vmgenid');
  if (vmgenid !== undefined && !isapc && machineVersionAtMost(mv, MACHINE_COMPAT.noFwCfgDmaUpTo)) {
    throw new QemuRefusal(`-device ${optText(vmgenid.driver, vmgenid.props)}: vmgenid requires DMA write support in fw_cfg, which this machine type does not provide`);
  }
  // hw/i386/pc.c pc_basic_device_init: the HPET unless the machine's hpet property is off (TCG).
  const hpet = prop(config.machineProps, 'hpet') !== 'off'; // cmdline keeps only hpet=off
  const highAllocations: Array<{ file: string; size: bigint; align: bigint }> = [];
  let loaderWritePointers = 0;
  if (hasTableLoader) {
    const legacy = i440fx && profile.legacyAcpiSizing ? MACHINE_COMPAT.legacyAcpi.find((l) => machineVersionAtMost(mv, l.upTo)) : undefined;
    const acpiSize =
      legacy !== undefined
        ? alignUp(BigInt(legacy.size + L.ACPI_LEGACY_CPU_AML_SIZE * apicIdLimit(topology) + legacyAcpiNonAmlBytes(topology, config.numa.length, hpet)), L.ACPI_BUILD_ALIGN_SIZE)
        : L.ACPI_BUILD_TABLE_SIZE; // assumes the unpadded blob stays ≤ 128 KiB
    highAllocations.push({ file: 'etc/acpi/tables', size: acpiSize, align: 64n });
    if (config.devices.some((d) => d.driver === 'vmgenid')) {
      highAllocations.push({ file: 'etc/vmgenid_guid', size: 4096n, align: 4096n });
      loaderWritePointers += 1;
    }
  }
  const smbiosLegacy = isapc ? ISAPC_CLASS.smbiosLegacy : i440fx && machineVersionAtMost(mv, MACHINE_COMPAT.smbiosLegacyUpTo);
  const epProp = prop(config.machineProps, 'smbios-entry-point-type');
  const smbiosEntryPoint: '2.1' | '3.0' | null = smbiosLegacy
    ? null
    : epProp === '64'
      ? '3.0'
      : epProp === '32'
        ? '2.1'
        : (MACHINE_COMPAT.smbiosEntryPoint.find((d) => machineVersionAtMost(mv, d.upTo))?.ep ?? MACHINE_COMPAT.smbiosEntryPointNewer);
  const firmwareInputs: FirmwareInputs = {
    highAllocations,
    loaderWritePointers,
    smbiosTablesBytes: smbiosLegacy
      ? null
      : smbiosTablesBytes({
          machineName: machine.name,
          desc: i440fx ? MACHINE_DESC.i440fx : MACHINE_DESC.q35,
          sockets:
            profile.smbiosType4Sockets === 'present'
              ? Math.ceil(topology.cpus / (topology.cores * topology.threads))
              : topology.sockets,
          ramSize,
          ramEntries: above > 0n ? 2 : 1,
          dimmChunk: profile.smbiosDimmChunk(mv),
          type4Length: smbiosEntryPoint === '3.0' ? profile.smbiosType4Length.ep30 : profile.smbiosType4Length.ep21,
        }),
    // hw/i386/pc.c pc_machine_done → smbios_set_defaults("QEMU", mc->desc, mc->name); legacy mode
    // hands over only type 0/1 fields (hw/smbios/smbios.c smbios_build_type_1_fields).
    smbiosLegacyType1: !smbiosLegacy
      ? null
      : isapc || machineVersionAtMost(mv, MACHINE_COMPAT.noSmbiosDefaultsUpTo)
        ? []
        : ['QEMU', MACHINE_DESC.i440fx, machine.name],
    smbiosHasType0: false,
    smbiosEntryPoint,
    hasTableLoader,
    acpiPmDevice: isapc ? null : i440fx ? (acpi ? 'piix4-pm' : null) : 'ich9-lpc',
    numaNodes: config.numa.length,
    maxCpusKey: apicIdLimit(topology),
    hpet,
    devices: isapc
      ? isapcDevices(config)
      : firmwareDevices(config, family === 'q35' ? 'q35' : 'pc', {
          legacyOnly: machineVersionAtMost(mv, MACHINE_COMPAT.virtioLegacyOnlyUpTo),
          queue128: machineVersionAtMost(mv, MACHINE_COMPAT.virtioQueue128UpTo),
          reportsMaxQueue: profile.legacyVirtioReportsMaxQueue,
        }),
    // pc/q35: the `firmware=bios-256k.bin` default machine option; isapc and pc-i440fx-1.7 and
    // older have none (hw/i386/pc_piix.c pc_i440fx_1_7_machine_options: default_machine_opts =
    // NULL), so QEMU's 128 KiB bios.bin (observed: no Xen/ACPI-parse lines, no NVMe driver).
    biosImage: config.bios ?? (isapc || (i440fx && machineVersionAtMost(mv, MACHINE_COMPAT.bios128kUpTo)) ? ISAPC_CLASS.defaultBios : 'bios-256k.bin'),
    ...(options.biosVariant !== undefined ? { biosVariant: options.biosVariant } : {}),
  };

  return {
    machine,
    topology,
    hasFwCfg: true,
    deviceMemory,
    e820,
    legacyE820: profile.legacyE820Key ? e820.filter((r) => r.type !== E820.RAM) : null,
    cmos,
    ramSize,
    ramBelow4g: below,
    ramAbove4g: above,
    aboveStart,
    reservedMemoryEnd,
    platform,
    warnings,
    firmwareInputs,
  };
}
