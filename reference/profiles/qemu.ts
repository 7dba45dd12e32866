// QEMU behaviour per release, as data. The QEMU stage reads these switches and constants; it
// never compares QEMU version strings itself. Sources: QEMU's
// hw/i386/pc.c, pc_piix.c, pc_q35.c, x86.c, fw_cfg.c, acpi-build.c, target/i386/cpu.c per tag,
// and `-M help` / boots of the Debian binaries (11.1: Debian's 11.1.3, booted by suites/matrix/versions.yaml).

// Why one file of ~650 lines: a release's behaviour is read in one place (QEMU_PROFILES, one
// entry per release) beside the facts its fields refer to (machine compat switches, layout
// constants, CPU model facts); the CPU model names and the device lists are tables of their own.

import { GiB, MiB } from '../address.ts';
import type { QemuVersion } from '../toolchain.ts';

/** A machine-type version as QEMU spells it in type names (`7.2`, `2.4`, `1.0`), as [major, minor]. */
export type MachineVersion = readonly [number, number];

export function parseMachineVersion(text: string): MachineVersion {
  const m = /^(\d+)\.(\d+)(?:\.\d+)?$/.exec(text);
  if (m === null) throw new Error(`not a machine-type version: ${JSON.stringify(text)}`);
  return [Number(m[1]), Number(m[2])];
}

export function machineVersionAtMost(v: MachineVersion, limit: MachineVersion): boolean {
  return v[0] < limit[0] || (v[0] === limit[0] && v[1] <= limit[1]);
}

/** Every version string from `from` to `to` inclusive, given the minor counts of each major. */
function versionRange(from: string, to: string): string[] {
  // Minor releases per major as QEMU numbered them (1.0-1.7, 2.0-2.12, 3.0-3.1, 4.0-4.2, 5.0-5.2,
  // 6.0-6.2, 7.0-7.2, 8.0-8.2, 9.0-9.2, 10.0-10.2, 11.0-11.1).
  const minors: Record<number, number> = { 1: 7, 2: 12, 3: 1, 4: 2, 5: 2, 6: 2, 7: 2, 8: 2, 9: 2, 10: 2, 11: 2 };
  const [fa, fb] = parseMachineVersion(from);
  const [ta, tb] = parseMachineVersion(to);
  const out: string[] = [];
  for (let a = fa; a <= ta; a++) {
    for (let b = a === fa ? fb : 0; b <= (a === ta ? tb : (minors[a] ?? 0)); b++) out.push(`${a}.${b}`);
  }
  return out;
}

export interface QemuProfile {
  version: QemuVersion;
  /** Registered versioned machine types (`-M help`), and the newest one, which `pc`/`q35` alias. */
  machineTypes: {
    /** `pc-i440fx-X.Y` versions. */
    i440fx: readonly string[];
    /** `pc-X.Y` (pc-1.0..1.3, removed in 6.0). */
    legacyPc: readonly string[];
    /** `pc-q35-X.Y` versions. */
    q35: readonly string[];
    /** Deprecated ones: QEMU warns `Machine type '…' is deprecated: …` and carries on. */
    deprecated: readonly string[];
    /** The deprecation reason QEMU appends (hw/i386/pc_piix.c / boards.h, per release). */
    deprecationReason: string;
    newest: string;
  };
  /** pc_memory_init(): AMD HyperTransport hole logic (reservation + 1 TiB relocation), 7.1+. */
  amdHtHole: boolean;
  /** Bound check `Address space limit …` (7.1+); 'lm' = the 8.2+ long-mode variant of pc_max_used_gpa(). */
  physBitsBoundCheck: 'none' | 'v7.1' | 'v8.2';
  /** Legacy fw_cfg key 0x8003 (reserved-only e820 copy, 16 slots); removed in 7.2.0. */
  legacyE820Key: boolean;
  /** TCG phys-bits: 5.2 accepts only 40; 6.0+ accepts physBitsRange. */
  tcgPhysBits: 'fixed40' | 'range32to52';
  /**
   * x86_cpu_realizefn() bounds on phys-bits with long mode: 32..52 (TARGET_PHYS_ADDR_SPACE_BITS) up to
   * 10.x; 11.x checks only the lower bound (max null): `qemu64,phys-bits=53` boots on 11.1.3.
   */
  physBitsRange: { min: number; max: number | null };
  /**
   * -smp resolution: 5.2's hw/i386/pc.c pc_smp_parse() (its own defaults: cores/threads derived from
   * cpus, not maxcpus; cpus never derived from maxcpus), or 6.2+'s hw/core/machine-smp.c
   * machine_parse_smp_config().
   */
  smpParse: 'pc_smp_parse' | 'machine_parse_smp_config';
  /**
   * dies > 1 with a guest CPU of these vendors makes this release abort once the guest reads CPUID
   * leaf 0x1F (target/i386/cpu.c encode_topo_cpuid1f(): `Assertion 'count <= CPU_TOPOLOGY_LEVEL_SOCKET'
   * failed`), except with exceptModels. Seen on 10.0.13 and 11.1.3; 7.2 boots the same configurations.
   */
  diesCpuid1fAbort: { vendors: readonly string[]; exceptModels: readonly string[] } | null;
  /** `-cpu host`/`max` turn host-phys-bits on under KVM (6.0+). */
  hostMaxUseHostPhysBits: boolean;
  /**
   * A legacy-only virtio device (machine types ≤ 2.6, or disable-modern=on) reports a queue size of
   * 1024 whatever its queue-size: seen on 10.0.13 (SeaBIOS: "ERROR: queue size 1024 > 256", "fail
   * to find vq for virtio-blk"); 7.2.22 and 11.1.3 report the configured size.
   */
  legacyVirtioReportsMaxQueue: boolean;
  /** TCG implements 5-level paging (CPUID_7_0_ECX_LA57 in TCG_7_0_ECX_FEATURES): 7.1+, not 5.2. */
  tcgLa57: boolean;
  /**
   * CPU models on which the guest kernel hangs under this release's TCG before init (last console
   * lines: the Spectre/SSB mitigations). Seen with Opteron_G4 on 7.2 (Linux 5.10 and 6.1), 10.0
   * (6.12) and 11.1 (7.2); 5.2 boots it (Linux 5.10). Cause not established: predict() refuses.
   */
  tcgGuestHangsCpuModels: readonly string[];
  /**
   * TCG raises #UD on VEX-encoded BMI2 instructions (SHLX) although CPUID shows BMI2: seen on 5.2
   * (`-d int`: v=06 at the decompressor's SHLX, then a triple fault); 7.2's new decoder runs them.
   */
  tcgBmi2Undefined: boolean;
  /** KVM identity map + TSS base (kvm_arch_init; 0xfeffc000 with KVM_CAP_SET_IDENTITY_MAP_ADDR). */
  kvmIdentityBase: bigint;
  /** legacy_acpi_table_size for i440fx ≤ 2.0 (removed in 9.1 together with those types). */
  legacyAcpiSizing: boolean;
  /**
   * -device virtio-iommu-pci is refused on every pc and q35 machine type: hw/virtio/virtio-iommu-pci.c
   * virtio_iommu_pci_realize @ v5.2.0 needs a machine hotplug handler for it, which x86 machines do
   * not have there ("… machine fails to create iommu-map device tree bindings" and two hint lines).
   * Measured with -S: 5.2 refuses it on pc-i440fx-2.6, 5.1, 5.2, pc-q35-5.1, 5.2 (with and without
   * -nodefaults; explore seed 161501 cell 034); 7.2, 10.0 and 11.1 start with it on pc.
   */
  virtioIommuPciRefused: boolean;
  /**
   * A sound device with no -audiodev needs an audio driver that works on the host: 10.0+ refuse it
   * otherwise ("-device sb16: no default audio driver available"; AC97: "Could not create a backend
   * for voice"), while 5.2 and 7.2 fall back and carry on (observed on a host without sound). The
   * harness then passes `-audio none` (accepted from 10.0 without a model; 7.2 wants one, 5.2 has
   * no -audio), so the run does not depend on the host's sound; no audio backend touches the map.
   */
  harnessAudioNone: boolean;
  /**
   * microvm with rtc=off and its qboot.rom: the guest hangs before the kernel prints its banner on
   * 5.2 (measured with the 5.10 cloud and minimal kernels, with and without option ROMs, -m 1G,
   * 3000M, 3072M, 4180M; explore seed 171501 cell 024); rtc on boots, and 7.2 and 11.1 boot
   * rtc=off (microvm.yaml). The cause is not established, so such a cell's kernel layer is not
   * predicted (Handoff.guestHangs); what QEMU hands the firmware still is (qemu-layer.yaml via qtest).
   */
  microvmQbootRtcOffHangs: boolean;
  /**
   * -kernel also adds the fw_cfg file etc/boot/kernel (the image without setup header patches,
   * hw/i386/x86-common.c x86_load_linux @ v10.0.0); 5.2 and 7.2 have no such file (measured with
   * `-trace fw_cfg_add_file`). It counts against the fw_cfg file slots (reference/qemu/fw-cfg-files.ts).
   */
  bootKernelFwCfgFile: boolean;
  /**
   * Where QEMU's assertions on the fw_cfg file slots stand in this build, as it prints them: in
   * fw_cfg_modify_file (a file added at the first system reset) and in fw_cfg_add_file_callback
   * (one added while the machine is built). Measured on the Debian builds (pc-i440fx-2.6 with
   * hotplug memory, vmgenid, vmcoreinfo, pvpanic); null where no modelled configuration reaches it
   * (5.2 and 7.2 cannot add a 17th file before the reset; 11.1 has no machine type with 16 slots).
   */
  fwCfgSlotAsserts: { modify: string | null; add: string | null };
  /** Messages QEMU words differently per release. */
  messages: {
    slotsWithoutMaxmem: string;
    maxmemBelowSize: (max: bigint, size: bigint) => string;
    slotsMaxmemEqual: (max: bigint, size: bigint) => string;
    numaSum: (sum: bigint, ram: bigint) => string;
    /** vl.c select_machine() for a machine type this release does not register (the hint follows). */
    unsupportedMachine: (typed: string, typedAt?: string) => string;
    /**
     * The CPU hierarchy as the -smp refusals print it: hw/core/machine-smp.c cpu_hierarchy_to_string()
     * lists every level the machine supports (x86 gained `modules` after 7.2); 5.2's pc_smp_parse()
     * prints a fixed `sockets * dies * cores * threads`.
     */
    cpuHierarchy: (t: CpuHierarchy) => string;
    /** The product of the hierarchy differs from maxcpus (5.2: its "deprecated" wording, an error since 5.0). */
    smpProductMismatch: (hierarchy: string, maxcpus: number) => string;
    /** maxcpus below the CPU count (5.2 prints no hierarchy). */
    smpMaxcpusBelowCpus: (hierarchy: string, maxcpus: number, cpus: number) => string;
    /**
     * hw/core/machine-smp.c machine_parse_smp_config(): dies > 1 on a machine without
     * smp_props.dies_supported (microvm; pc and q35 have it); null where 5.2's generic smp_parse()
     * takes and ignores it.
     */
    smpDiesUnsupported: string | null;
    /** 5.2 pc_smp_parse(): all four levels given and their product below cpus (later releases never raise it). */
    smpProductBelowCpus: (hierarchy: string, cpus: number) => string;
    /** x86_cpu_realizefn(): phys-bits outside physBitsRange (user value, or the KVM host's width). */
    physBitsOutOfRange: (bits: number) => string;
    /**
     * A sysbus device the machine does not allow as dynamic (intel-iommu, amd-iommu on pc): `at` is the
     * option as typed (`-device amd-iommu`), `driver` its type.
     */
    sysbusDeviceNotAllowed: (at: string, driver: string) => string;
    /** `-m` and `-machine memory-backend=`'s size differ (5.2: softmmu/vl.c; 6.0+: hw/core/machine.c machine_run_board_init). */
    memoryBackendSizeMismatch: string;
    /** `-cpu host` without KVM (target/i386/host-cpu.c / cpu.c; 5.2 names only KVM). */
    cpuHostNeedsKvm: string;
  };
  /** SMBIOS type 16/17 "DIMM" chunk: 16 GiB up to 9.0 machine types, 2047 TiB for 9.1+ (10.0). */
  smbiosDimmChunk: (machine: MachineVersion) => bigint;
  /**
   * SMBIOS type 4 structure length (fixed part) QEMU emits, by entry point: hw/smbios/smbios.c
   * smbios_build_type_4_table() uses SMBIOS_TYPE_4_LEN_V28 (42, up to processor_family2) and
   * SMBIOS_TYPE_4_LEN_V30 (48, + core_count2/core_enabled2/thread_count2) when the entry point is
   * the 64-bit (3.0) one (include/hw/firmware/smbios.h).
   */
  smbiosType4Length: { ep21: number; ep30: number };
  /**
   * The `smbios-entry-point-type` machine property (hw/i386/pc.c pc_machine_class_init,
   * PC_MACHINE_SMBIOS_EP). Not in 5.2: QEMU exits with "Property '<type>-machine.smbios-entry-point-type' not found".
   */
  smbiosEntryPointProperty: boolean;
  /**
   * How many SMBIOS type 4 (processor) tables QEMU builds (hw/smbios/smbios.c smbios_get_tables):
   * 'present' = DIV_ROUND_UP(smp.cpus, smp.cores * smp.threads), the sockets holding the CPUs present
   * at boot (v5.2.0); 'configured' = smp.sockets (upstream "hw/smbios: Fix smbios_smp_sockets
   * calculation", in 7.2). Observed: 5.2 `-M pc -m 1G -smp 1,maxcpus=8,sockets=8` keeps SMBIOS in
   * the F-segment (no ZoneHigh page), 7.2 puts 8 × type 4 in ZoneHigh.
   */
  smbiosType4Sockets: 'present' | 'configured';
  /**
   * Does `-machine memory-backend=ID` without `-m` size guest RAM from the backend? 7.2+: yes
   * (ram_size taken from the backend's size). v5.2.0: no, ram_size stays default_ram_size
   * (128 MiB) and etc/e820 / CMOS report that (observed: 5.2 + a 1 GiB backend → 128 MiB RAM).
   */
  ramSizeFromMemoryBackend: boolean;
  /**
   * The isapc board (ISAPC_CLASS: what every release shares). 'pc_init1': pc_piix.c pc_init_isa()
   * → pc_init1() without PCI, the pc split without gigabyte alignment, any CPU silently.
   * 'isapc.c' (hw/i386/isapc.c, 10.2+): no split, RAM > maxRam refused (tooMuchMemory, %d = MiB),
   * a CPU outside ISAPC_CLASS.cpuTypes32 warned about (deprecatedCpu, %s = model) and used.
   */
  isapc: IsapcInit;
}

/**
 * The topology levels the -smp refusals print. dies and modules are null where the machine does not
 * print them: microvm has no smp_props.dies_supported (nor, from 10.0, modules_supported), and 5.2's
 * generic smp_parse() (hw/core/machine.c), which microvm takes instead of pc_smp_parse(), prints
 * `sockets * cores * threads` (observed on 5.2, 7.2, 10.0 and 11.1). modules: 1 unless given;
 * `modules=` is not modelled.
 */
export interface CpuHierarchy {
  sockets: number;
  dies: number | null;
  modules: number | null;
  cores: number;
  threads: number;
}

/** The isapc board code of a release: see QemuProfile.isapc. */
export type IsapcInit =
  | { board: 'pc_init1' }
  | {
      board: 'isapc.c';
      /** error_report() when ram_size > maxRam (checked on 11.1.3: `-m 4G`, `-m 3585M`). */
      maxRam: bigint;
      /** Its text, %d = ram_size / MiB (integer division). */
      tooMuchMemory: string;
      /** warn_report() for a CPU type outside ISAPC_CLASS.cpuTypes32, %s = the model (QOM type `<model>-x86_64-cpu`). */
      deprecatedCpu: string;
    };

const ISAPC_PC_INIT1: IsapcInit = { board: 'pc_init1' };

const MSG_7_2 = {
  // hw/core/machine.c machine_set_mem() @ v7.2.0 (same wording in 10.0): checked on 7.2.22.
  slotsWithoutMaxmem: 'slots specified but no max-size',
  maxmemBelowSize: (max: bigint, size: bigint) =>
    `invalid value of maxmem: maximum memory size (0x${max.toString(16)}) must be at least the initial memory size (0x${size.toString(16)})`,
  slotsMaxmemEqual: (max: bigint, size: bigint) =>
    `invalid value of maxmem: memory slots were specified but maximum memory size (0x${max.toString(16)}) is equal to the initial memory size (0x${size.toString(16)})`,
  // hw/core/numa.c numa_complete_configuration(), all versions.
  numaSum: (sum: bigint, ram: bigint) =>
    `total memory for NUMA nodes (0x${sum.toString(16)}) should equal RAM size (0x${ram.toString(16)})`,
  // vl.c select_machine(): unquoted up to 9.0 (observed on 7.2.22).
  unsupportedMachine: (_typed: string, _typedAt?: string) => 'unsupported machine type',
  // hw/core/machine-smp.c @ v7.2.0: sockets, dies (x86), cores, threads.
  cpuHierarchy: (t: CpuHierarchy) => `sockets (${t.sockets})${t.dies === null ? '' : ` * dies (${t.dies})`} * cores (${t.cores}) * threads (${t.threads})`,
  smpProductMismatch: (h: string, maxcpus: number) => `Invalid CPU topology: product of the hierarchy must match maxcpus: ${h} != maxcpus (${maxcpus})`,
  smpMaxcpusBelowCpus: (h: string, maxcpus: number, cpus: number) =>
    `Invalid CPU topology: maxcpus must be equal to or greater than smp: ${h} == maxcpus (${maxcpus}) < smp_cpus (${cpus})`,
  smpProductBelowCpus: (h: string, cpus: number) => `cpu topology: ${h} < smp_cpus (${cpus})`,
  // Observed on 7.2.22 (`-M microvm,acpi=off -smp 2,dies=2`).
  smpDiesUnsupported: "dies not supported by this machine's CPU topology",
  // target/i386/cpu.c x86_cpu_realizefn() (the two spaces are in the format string).
  physBitsOutOfRange: (bits: number) => `phys-bits should be between 32 and 52  (but is ${bits})`,
  // qdev_device_add(): the machine's allowed dynamic sysbus devices (observed on 7.2.22, 10.0.13, 11.1.3).
  sysbusDeviceNotAllowed: (at: string) => `${at}: Parameter 'driver' expects a dynamic sysbus device type for the machine`,
  memoryBackendSizeMismatch: 'Machine memory size does not match the size of the memory backend',
  cpuHostNeedsKvm: "CPU model 'host' requires KVM or HVF",
};

/** 9.1+ select_machine() names the type: `unsupported machine type: "<type>"` (observed on 10.0.13 and 11.1). */
const MSG_10_0 = {
  ...MSG_7_2,
  unsupportedMachine: (typed: string) => `unsupported machine type: "${typed}"`,
  // x86 sets smp_props.modules_supported: cpu_hierarchy_to_string() adds `modules`. Observed on 10.0.13 and 11.1.3.
  cpuHierarchy: (t: CpuHierarchy) =>
    `sockets (${t.sockets})${t.dies === null ? '' : ` * dies (${t.dies})`}${t.modules === null ? '' : ` * modules (${t.modules})`} * cores (${t.cores}) * threads (${t.threads})`,
  // Observed on 10.0.13 and 11.1.3 (`-M microvm,acpi=off -smp 2,dies=2`).
  smpDiesUnsupported: "dies > 1 not supported by this machine's CPU topology",
};

/** 11.x x86_cpu_realizefn() checks only the lower bound (observed on 11.1.3: `max,phys-bits=31`). */
const MSG_11_1 = {
  ...MSG_10_0,
  physBitsOutOfRange: (bits: number) => `phys-bits should be at least 32 (but is ${bits})`,
};

const MSG_5_2 = {
  ...MSG_7_2,
  // softmmu/vl.c set_memory_options() @ v5.2.0 (docs/model/qemu.md#memory-hotplug-and-reserved-memory-end).
  slotsWithoutMaxmem: "invalid -m option value: missing 'maxmem' option",
  maxmemBelowSize: (max: bigint, size: bigint) =>
    `invalid value of -m option maxmem: maximum memory size (0x${max.toString(16)}) must be at least the initial memory size (0x${size.toString(16)})`,
  slotsMaxmemEqual: (max: bigint, size: bigint) =>
    `invalid value of -m option maxmem: memory slots were specified but maximum memory size (0x${max.toString(16)}) is equal to the initial memory size (0x${size.toString(16)})`,
  // hw/i386/pc.c pc_smp_parse() @ v5.2.0; observed on 5.2 (`-smp 4,maxcpus=2`, `-smp 3,sockets=2,cores=2,maxcpus=8`,
  // `-smp cpus=4,sockets=2,cores=1,threads=1`).
  smpProductMismatch: (h: string, maxcpus: number) => `Invalid CPU topology deprecated: ${h} != maxcpus (${maxcpus})`,
  smpMaxcpusBelowCpus: () => 'maxcpus must be equal to or greater than smp',
  // Observed on 5.2 (`-M microvm,acpi=off -smp 2,dies=2` starts).
  smpDiesUnsupported: null,
  // vl.c @ v5.2.0 reports it at the option's location (observed: `-M pc-i440fx-1.3: unsupported machine type`).
  unsupportedMachine: (_typed: string, typedAt?: string) => (typedAt !== undefined ? `${typedAt}: unsupported machine type` : 'unsupported machine type'),
  // hw/core/machine.c machine_init_notify() @ v5.2.0, after machine init, unlocated (observed on 5.2).
  sysbusDeviceNotAllowed: (_at: string, driver: string) => `Option '-device ${driver}' cannot be handled by this machine`,
  // Observed on 5.2 by e820 explore (seed 141401, cells 087 and 017).
  memoryBackendSizeMismatch: "Size specified by -m option must match size of explicitly specified 'memory-backend' property",
  cpuHostNeedsKvm: "CPU model 'host' requires KVM",
};

const DIMM_16G = (): bigint => 16n * GiB;

// include/hw/boards.h MACHINE_VER_DEPRECATION_MSG (9.1+): "machines more than " MACHINE_VER_DEPRECATION_MAJOR
// " years old are subject to deletion after " MACHINE_VER_DELETION_MAJOR " years" (3 / 6). Observed on 10.0.13 / 11.1.3.
const LIFECYCLE_DEPRECATION_REASON = 'machines more than 3 years old are subject to deletion after 6 years';

// Seen on 10.0.13 with dies=2 (Haswell, Broadwell, Skylake-*, Cascadelake-Server, Icelake-Server,
// Cooperlake, Snowridge, Denverton, SandyBridge, Nehalem, Conroe, core2duo, kvm64) and on 11.1.3;
// AMD/Hygon models boot (EPYC*, Opteron_G3, phenom, Dhyana), and so does SapphireRapids (cause not traced).
const INTEL_DIES_ABORT = { vendors: ['GenuineIntel'], exceptModels: ['SapphireRapids'] } as const;

export const QEMU_PROFILES: Readonly<Record<QemuVersion, QemuProfile>> = {
  '5.2': {
    version: '5.2',
    machineTypes: {
      i440fx: versionRange('1.4', '5.2'),
      legacyPc: ['1.0', '1.1', '1.2', '1.3'],
      q35: [...versionRange('2.4', '5.2'), '4.0.1'],
      deprecated: ['pc-1.0', 'pc-1.1', 'pc-1.2', 'pc-1.3'],
      deprecationReason: 'use a newer machine type instead',
      newest: '5.2',
    },
    amdHtHole: false,
    physBitsBoundCheck: 'none',
    legacyE820Key: true,
    tcgPhysBits: 'fixed40',
    physBitsRange: { min: 32, max: 52 },
    smpParse: 'pc_smp_parse',
    diesCpuid1fAbort: null,
    hostMaxUseHostPhysBits: false,
    legacyVirtioReportsMaxQueue: false,
    tcgLa57: false,
    tcgGuestHangsCpuModels: [],
    tcgBmi2Undefined: true,
    kvmIdentityBase: 0xfeffc000n,
    legacyAcpiSizing: true,
    virtioIommuPciRefused: true,
    harnessAudioNone: false,
    microvmQbootRtcOffHangs: true,
    bootKernelFwCfgFile: false,
    fwCfgSlotAsserts: { modify: '../../hw/nvram/fw_cfg.c:1028', add: null },
    messages: MSG_5_2,
    smbiosDimmChunk: DIMM_16G,
    // 5.2 has no 3.0 entry point for pc/q35 (no property, every type uses 2.1): only the V28 layout is reachable.
    smbiosType4Length: { ep21: 42, ep30: 42 },
    // Observed on 5.2+dfsg-11+deb11u3: "Property 'pc-i440fx-5.2-machine.smbios-entry-point-type' not found".
    smbiosEntryPointProperty: false,
    smbiosType4Sockets: 'present',
    ramSizeFromMemoryBackend: false,
    isapc: ISAPC_PC_INIT1,
  },
  '7.2': {
    version: '7.2',
    machineTypes: {
      i440fx: versionRange('1.4', '7.2'),
      legacyPc: [],
      q35: [...versionRange('2.4', '7.2'), '4.0.1'],
      deprecated: ['pc-i440fx-1.4', 'pc-i440fx-1.5', 'pc-i440fx-1.6', 'pc-i440fx-1.7'],
      // Observed on 7.2.22: "Machine type 'pc-i440fx-1.4' is deprecated: old and unattended - use a newer version instead"
      deprecationReason: 'old and unattended - use a newer version instead',
      newest: '7.2',
    },
    amdHtHole: true,
    physBitsBoundCheck: 'v7.1',
    legacyE820Key: false,
    tcgPhysBits: 'range32to52',
    physBitsRange: { min: 32, max: 52 },
    smpParse: 'machine_parse_smp_config',
    diesCpuid1fAbort: null,
    hostMaxUseHostPhysBits: true,
    legacyVirtioReportsMaxQueue: false,
    tcgLa57: true,
    tcgGuestHangsCpuModels: ['Opteron_G4', 'Opteron_G5'],
    tcgBmi2Undefined: false,
    kvmIdentityBase: 0xfeffc000n,
    legacyAcpiSizing: true,
    virtioIommuPciRefused: false,
    harnessAudioNone: false,
    microvmQbootRtcOffHangs: false,
    bootKernelFwCfgFile: false,
    fwCfgSlotAsserts: { modify: '../../hw/nvram/fw_cfg.c:1022', add: null },
    messages: MSG_7_2,
    smbiosDimmChunk: DIMM_16G,
    // 42 = SMBIOS 2.6 type 4 (up to processor_family2); derived from the measured +68 B per socket
    // on pc-i440fx-7.2 (42 + "CPU 0" + "QEMU" + "pc-i440fx-7.2" + NULs), docs/model/calibration.md#smbios-sizes. V30 (48):
    // `-M pc,smbios-entry-point-type=64 -m 1G -smp 4,sockets=4` puts SMBIOS (616 B) in ZoneHigh (boot, 7.2.22).
    smbiosType4Length: { ep21: 42, ep30: 48 },
    smbiosEntryPointProperty: true,
    smbiosType4Sockets: 'configured',
    ramSizeFromMemoryBackend: true,
    isapc: ISAPC_PC_INIT1,
  },
  '10.0': {
    version: '10.0',
    machineTypes: {
      i440fx: versionRange('2.4', '10.0'),
      legacyPc: [],
      q35: [...versionRange('2.4', '10.0'), '4.0.1'],
      deprecated: [...versionRange('2.4', '7.0').flatMap((v) => [`pc-i440fx-${v}`, `pc-q35-${v}`])],
      deprecationReason: LIFECYCLE_DEPRECATION_REASON,
      newest: '10.0',
    },
    amdHtHole: true,
    physBitsBoundCheck: 'v8.2',
    legacyE820Key: false,
    tcgPhysBits: 'range32to52',
    physBitsRange: { min: 32, max: 52 },
    smpParse: 'machine_parse_smp_config',
    diesCpuid1fAbort: INTEL_DIES_ABORT,
    hostMaxUseHostPhysBits: true,
    legacyVirtioReportsMaxQueue: true,
    tcgLa57: true,
    tcgGuestHangsCpuModels: ['Opteron_G4', 'Opteron_G5'],
    tcgBmi2Undefined: false,
    kvmIdentityBase: 0xfeffc000n,
    legacyAcpiSizing: false,
    virtioIommuPciRefused: false,
    harnessAudioNone: true,
    microvmQbootRtcOffHangs: false,
    bootKernelFwCfgFile: true,
    fwCfgSlotAsserts: { modify: 'hw/nvram/fw_cfg.c:1021', add: 'hw/nvram/fw_cfg.c:934' },
    messages: MSG_10_0,
    smbiosDimmChunk: (m) => (machineVersionAtMost(m, [9, 0]) ? 16n * GiB : 2047n * 1024n * GiB),
    // V28/V30 as in 7.2. Confirmed by boots of 10.0.13: pc-i440fx-8.1 (3.0 entry point by default) with
    // 4 sockets has 616 B of SMBIOS (ZoneHigh, 0x21000 block); pc-q35-8.2 with 4 sockets 595 B (f-segment).
    smbiosType4Length: { ep21: 42, ep30: 48 },
    smbiosEntryPointProperty: true,
    smbiosType4Sockets: 'configured',
    ramSizeFromMemoryBackend: true,
    isapc: ISAPC_PC_INIT1,
  },
  '11.1': {
    version: '11.1',
    machineTypes: {
      i440fx: versionRange('5.2', '11.1'),
      legacyPc: [],
      q35: versionRange('5.2', '11.1'),
      deprecated: [...versionRange('5.2', '8.1').flatMap((v) => [`pc-i440fx-${v}`, `pc-q35-${v}`])],
      deprecationReason: LIFECYCLE_DEPRECATION_REASON,
      newest: '11.1',
    },
    amdHtHole: true,
    physBitsBoundCheck: 'v8.2',
    legacyE820Key: false,
    tcgPhysBits: 'range32to52',
    physBitsRange: { min: 32, max: null },
    smpParse: 'machine_parse_smp_config',
    diesCpuid1fAbort: INTEL_DIES_ABORT,
    hostMaxUseHostPhysBits: true,
    legacyVirtioReportsMaxQueue: false,
    tcgLa57: true,
    tcgGuestHangsCpuModels: ['Opteron_G4', 'Opteron_G5'],
    tcgBmi2Undefined: false,
    kvmIdentityBase: 0xfeffc000n,
    legacyAcpiSizing: false,
    virtioIommuPciRefused: false,
    harnessAudioNone: true,
    microvmQbootRtcOffHangs: false,
    bootKernelFwCfgFile: true,
    fwCfgSlotAsserts: { modify: null, add: null },
    messages: MSG_11_1,
    smbiosDimmChunk: (m) =>
      machineVersionAtMost(m, [9, 0]) ? 16n * GiB : machineVersionAtMost(m, [10, 1]) ? 2047n * 1024n * GiB : 2n * 1024n * GiB,
    // Same pc-i440fx-8.1 4-socket boot as 10.0 confirmed V30 on 11.1.3.
    smbiosType4Length: { ep21: 42, ep30: 48 },
    smbiosEntryPointProperty: true,
    smbiosType4Sockets: 'configured',
    ramSizeFromMemoryBackend: true,
    // hw/i386/isapc.c pc_init_isa() (the comment there: "deprecated in 10.2"); the messages are
    // the ones 11.1.3 printed here for `-M isapc -m 4G` and `-M isapc -cpu qemu64`.
    isapc: {
      board: 'isapc.c',
      maxRam: 3584n * MiB,
      tooMuchMemory: 'Too much memory for this machine: %d MiB, maximum 3584 MiB',
      deprecatedCpu: 'cpu type %s-x86_64-cpu is deprecated for isapc machine',
    },
  },
};

export function qemuProfile(version: QemuVersion): QemuProfile {
  return QEMU_PROFILES[version];
}

// ---- Facts of machine types (compat properties): the same in every release that still has the type.

/** Machine-type compat switches, keyed by the type's version (hw/i386/pc_piix.c, pc_q35.c compat tables). */
export const MACHINE_COMPAT = {
  /** gigabyte_align=false: pc_i440fx_1_7_machine_options() and older (hw/i386/pc_piix.c; docs/model/qemu.md#pc-i440fx). */
  gigabyteAlignOffUpTo: [1, 7] as MachineVersion,
  /**
   * No `firmware=bios-256k.bin` in default_machine_opts (pc_i440fx_1_7_machine_options sets it
   * NULL): i440fx 1.7 and older boot QEMU's 128 KiB bios.bin, which lacks the NVMe/xHCI/OHCI drivers.
   */
  bios128kUpTo: [1, 7] as MachineVersion,
  /** enforce_amd_1tb_hole=false for pc-*-7.0 and older (hw/i386/pc_piix.c, pc_q35.c; docs/model/qemu.md#the-amd-hypertransport-hole). */
  amd1tbHoleOffUpTo: [7, 0] as MachineVersion,
  /** virtio-pci disable-modern=on (hw_compat_2_6): legacy-only virtio devices for 2.6 and older. */
  virtioLegacyOnlyUpTo: [2, 6] as MachineVersion,
  /** virtio-blk queue-size / virtio-scsi virtqueue_size 128 (hw_compat_4_2), 256 after. */
  virtioQueue128UpTo: [4, 2] as MachineVersion,
  /** smp_props.prefer_sockets for 6.1 and older (hw/core/machine-smp.c; docs/model/qemu.md#cpu-topology). */
  smpPreferSocketsUpTo: [6, 1] as MachineVersion,
  /**
   * x86mc->compat_apic_id_mode (pc_i440fx_1_3_machine_options and older; hw/i386/pc_piix.c): APIC
   * IDs are the CPU indexes (hw/i386/x86.c x86_cpu_apic_id_from_index), whatever the topology.
   */
  contiguousApicIdsUpTo: [1, 3] as MachineVersion,
  /** has_acpi_build=false: no QEMU ACPI tables, no etc/table-loader (i440fx 1.6 and older). */
  noAcpiBuildUpTo: [1, 6] as MachineVersion,
  /** legacy_acpi_table_size (i440fx): 6414 for ≤ 1.7, 6652 for 2.0 (hw/i386/acpi-build.c). */
  legacyAcpi: [
    { upTo: [1, 7] as MachineVersion, size: 6414 },
    { upTo: [2, 0] as MachineVersion, size: 6652 },
  ],
  /** pcmc->smbios_defaults = false (no type 1 strings from QEMU) for i440fx ≤ 1.7 (hw/i386/pc_piix.c). */
  noSmbiosDefaultsUpTo: [1, 7] as MachineVersion,
  /** SMBIOS legacy mode (key 0x8001, no etc/smbios files) for i440fx ≤ 2.0. */
  smbiosLegacyUpTo: [2, 0] as MachineVersion,
  /** has_reserved_memory=false (no slots/maxmem) for i440fx ≤ 2.0. */
  noReservedMemoryUpTo: [2, 0] as MachineVersion,
  /** enforce_aligned_dimm=false (no per-slot 1 GiB) for i440fx ≤ 2.1. */
  unalignedDimmUpTo: [2, 1] as MachineVersion,
  /** broken_reserved_end (reserved-memory-end = base only) for ≤ 2.4. */
  brokenReservedEndUpTo: [2, 4] as MachineVersion,
  /** x-pci-hole64-fix=off (no default 64-bit _CRS window) for ≤ 2.10 (hw/i386/pc.c PC_COMPAT_2_10). Unverified. */
  pciHole64FixOffUpTo: [2, 10] as MachineVersion,
  /**
   * full-cpuid-auto-level=off for ≤ 2.7 (hw/i386/pc.c PC_COMPAT_2_7, TYPE_X86_CPU). Named models
   * carry their own level/xlevel; TCG `max` has none, so CPUID then reports level 0 / xlevel 0.
   */
  fullCpuidAutoLevelOffUpTo: [2, 7] as MachineVersion,
  /**
   * fw_cfg dma_enabled=off for ≤ 2.4, i440fx and q35 (hw/i386/pc.c PC_COMPAT_2_4: fw_cfg_io /
   * fw_cfg_mem dma_enabled off): no DMA write support, so hw/acpi/vmgenid.c vmgenid_realize() refuses.
   */
  noFwCfgDmaUpTo: [2, 4] as MachineVersion,
  /** numa_mem_supported (-numa node,mem=) for ≤ 5.0. */
  numaMemUpTo: [5, 0] as MachineVersion,
  /**
   * 16 fw_cfg file slots instead of 32 for ≤ 2.8, i440fx and q35 (hw/core/machine.c hw_compat_2_8:
   * fw_cfg_io / fw_cfg_mem x-file-slots=0x10); reference/qemu/fw-cfg-files.ts.
   */
  fwCfgFileSlots16UpTo: [2, 8] as MachineVersion,
  /**
   * legacy_fw_cfg_order for ≤ 2.5, i440fx and q35: no `bios-geometry` file at reset
   * (hw/nvram/fw_cfg.c fw_cfg_machine_reset; measured: 2.5 adds bootorder only, 2.6 both).
   */
  legacyFwCfgOrderUpTo: [2, 5] as MachineVersion,
  /**
   * Default SMBIOS entry point by machine version (pcmc->default_smbios_ep_type): 2.1 (TYPE_32) for
   * ≤ 8.0 (hw/i386/pc_piix.c pc_i440fx_8_0_machine_options, pc_q35.c pc_q35_8_0_machine_options),
   * 3.0 (TYPE_64) for 8.1–8.2 (the 8.1 class default, kept for the 8.2 types by
   * pc_i440fx_8_2_machine_options / pc_q35_8_2_machine_options from 9.0 on — named
   * pc_*_machine_8_2_options from 9.1), and from 9.0 TYPE_AUTO (hw/i386/pc.c
   * pc_machine_class_init), which is 2.1 unless the tables need more than 2.1 allows (modelled as
   * 2.1). Older releases know only ≤ 8.0 types, so this one table covers 5.2 and 7.2 too.
   */
  smbiosEntryPoint: [
    { upTo: [8, 0] as MachineVersion, ep: '2.1' },
    { upTo: [8, 2] as MachineVersion, ep: '3.0' },
  ] as ReadonlyArray<{ upTo: MachineVersion; ep: '2.1' | '3.0' }>,
  /** After 8.2: TYPE_AUTO, 2.1 whenever the tables fit (see smbiosEntryPoint). */
  smbiosEntryPointNewer: '2.1' as '2.1' | '3.0',
  /**
   * broken_32bit_mem_addr_check for ≤ 8.1 (hw/i386/pc_piix.c pc_i440fx_8_1_machine_options and
   * pc_q35.c pc_q35_8_1_machine_options from 8.2; pc_*_machine_8_1_options from 9.1):
   * pc_max_used_gpa() of a CPU without long mode is then 2^phys_bits − 1 instead of the end of RAM
   * / device memory. Only releases with the 8.2 bound check read it (physBitsBoundCheck 'v8.2').
   */
  broken32BitMemAddrCheckUpTo: [8, 1] as MachineVersion,
} as const;

/**
 * The `isapc` machine class, as every covered release defines it (hw/i386/pc_piix.c
 * isapc_machine_options() @ v5.2.0, v7.2.0, v10.0.0; hw/i386/isapc.c 10.2+). It is unversioned and
 * takes no compat properties, so every machine-version switch above reads as for the newest
 * type; what the class sets itself is here. Per-release board code: QemuProfile.isapc.
 */
export const ISAPC_CLASS = {
  name: 'isapc',
  /** m->desc. */
  desc: 'ISA-only PC',
  /** m->max_cpus: `-smp 2` → "Invalid SMP CPUs 2. The max CPUs supported by machine 'isapc' is 1" (5.2–11.1, checked). */
  maxCpus: 1,
  /** m->default_cpu_type: the 486 has no long mode, so an x86-64 guest kernel cannot start. */
  defaultCpu: '486',
  /** No `firmware=bios-256k.bin` default machine option (the i440fx types have one): QEMU loads bios.bin. */
  defaultBios: 'bios.bin',
  /** pcmc->gigabyte_align = false (only matters for the pc_init1 board). */
  gigabyteAlign: false,
  /** pcmc->pci_enabled = false: no PCI host bridge, no 32/64-bit PCI holes (hole64 size 0), no PCI devices. */
  pci: false,
  /** pcmc->has_acpi_build = false: no etc/acpi/tables, no etc/table-loader. */
  hasAcpiBuild: false,
  /** pcmc->smbios_legacy_mode = true, smbios_defaults = false: no etc/smbios/* files (legacy key 0x8001 only). */
  smbiosLegacy: true,
  /** pcmc->has_reserved_memory = false: `-m …,slots=,maxmem=` refused. */
  hasReservedMemory: false,
  /** CPU models hw/i386/isapc.c (10.2+) takes without its deprecation warning; others still run as given. */
  cpuTypes32: ['486', 'athlon', 'kvm32', 'pentium', 'pentium2', 'pentium3', 'qemu32'] as readonly string[],
} as const;

// ---- Layout constants (hw/i386/pc.c, hw/pci-host/*.c, include/hw/i386/*): same in all covered versions.

export const QEMU_LAYOUT = {
  /** pc_piix.c pc_init1(): default max-ram-below-4g on i440fx. */
  PC_DEFAULT_LOWMEM: 0xe0000000n,
  /** pc_piix.c: gigabyte_align cap. */
  PC_GIGABYTE_LOWMEM: 0xc0000000n,
  /** pc_q35.c pc_q35_init(): ram ≥ this → 2 GiB below. */
  Q35_LOWMEM_THRESHOLD: 0xb0000000n,
  Q35_SPLIT_LOWMEM: 0x80000000n,
  FOUR_GIB: 4n * GiB,
  /** hw/i386/pc.c @ v7.2.0 AMD_HT_START / AMD_HT_END / AMD_ABOVE_1TB_START. */
  AMD_HT_START: 0xfd00000000n,
  AMD_HT_SIZE: 0x300000000n,
  AMD_ABOVE_1TB_START: 0x10000000000n,
  /** KVM identity map (1 page) + TSS (3 pages). */
  KVM_IDENTITY_SIZE: 0x4000n,
  /** hw/pci-host/i440fx.c / q35.c default pci-hole64-size. */
  I440FX_HOLE64_SIZE: 2n * GiB,
  Q35_HOLE64_SIZE: 32n * GiB,
  /** include/hw/i386/apic.h IO_APIC_DEFAULT_ADDRESS: end of the 32-bit PCI hole. */
  IO_APIC_DEFAULT_ADDRESS: 0xfec00000n,
  /** The legacy VGA window in PCI0 _CRS (hw/i386/acpi-build.c build_dsdt). */
  VGA_WINDOW: { start: 0xa0000n, end: 0xbffffn },
  /** hw/pci-host/q35.c MCH_HOST_BRIDGE_PCIEXBAR_DEFAULT / _MAX (256 MiB). */
  Q35_MMCONFIG_BASE: 0xb0000000n,
  Q35_MMCONFIG_SIZE: 0x10000000n,
  /** hw/core/machine.c default_ram_size. */
  DEFAULT_RAM: 128n * MiB,
  /** ACPI_MAX_RAM_SLOTS. */
  MAX_RAM_SLOTS: 256,
  /** ACPI_BUILD_TABLE_SIZE: etc/acpi/tables is padded to a multiple of this (i440fx ≥ 2.1, q35). */
  ACPI_BUILD_TABLE_SIZE: 0x20000n,
  ACPI_BUILD_ALIGN_SIZE: 0x1000n,
  /** ACPI_BUILD_LEGACY_CPU_AML_SIZE. */
  ACPI_LEGACY_CPU_AML_SIZE: 97,
  /** TCG_PHYS_ADDR_BITS for qemu-system-x86_64. */
  TCG_PHYS_BITS: 40,
} as const;

/** SMBIOS strings QEMU uses by default (smbios_set_defaults("QEMU", mc->desc, mc->name)). */
export const MACHINE_DESC = {
  i440fx: 'Standard PC (i440FX + PIIX, 1996)',
  q35: 'Standard PC (Q35 + ICH9, 2009)',
} as const;

/** Built-in CPU models (target/i386/cpu.c builtin_x86_defs): vendor, long mode (CPUID 0x80000001 EDX.LM). */
export interface CpuModelFacts {
  vendor: 'AuthenticAMD' | 'GenuineIntel' | 'HygonGenuine' | 'CentaurHauls' | 'host';
  longMode: boolean;
  /** PSE36 (32-bit models: phys-bits 36 instead of 32). */
  pse36: boolean;
  /**
   * PAE, for the 32-bit models: from QEMU 8.2 x86_cpu_realizefn gives 36 bits to PSE36 *or* PAE
   * (QemuProfile.physBits32FromPae); qemu32, coreduo and n270 have PAE without PSE36. Absent: as pse36.
   */
  pae?: boolean;
  /**
   * The definition asks for CPUID.(7,0):ECX.LA57 (5-level paging): Icelake-Server, SapphireRapids,
   * EPYC-Genoa; `max` and `host` take every feature the accelerator has. Whether the guest gets it
   * is the accelerator's call (QemuProfile.tcgLa57, or the KVM host): see resolveCpu().
   */
  la57: boolean;
}

/**
 * Models whose definition sets CPUID.(7,0):EBX BMI1 and BMI2 (target/i386/cpu.c builtin_x86_defs),
 * by base name (cpuModelBase); TCG `max` takes every TCG feature, both included. The others (up to
 * IvyBridge, Opteron_G1-G5, Denverton, Snowridge, qemu64, kvm64 …) have neither or not both.
 */
export const CPU_MODELS_WITH_BMI1_BMI2: ReadonlySet<string> = new Set([
  'Haswell', 'Broadwell', 'Skylake-Client', 'Skylake-Server', 'Cascadelake-Server', 'Cooperlake', 'Icelake-Client',
  'Icelake-Server', 'SapphireRapids', 'GraniteRapids', 'SierraForest', 'ClearwaterForest', 'DiamondRapids',
  'KnightsMill', 'EPYC', 'EPYC-Rome', 'EPYC-Milan', 'EPYC-Genoa', 'EPYC-Turin', 'Dhyana', 'YongFeng', 'max',
]);

const intel64: CpuModelFacts = { vendor: 'GenuineIntel', longMode: true, pse36: true, la57: false };
const intel64La57: CpuModelFacts = { ...intel64, la57: true };
const amd64: CpuModelFacts = { vendor: 'AuthenticAMD', longMode: true, pse36: true, la57: false };

export const CPU_MODELS: Readonly<Record<string, CpuModelFacts>> = {
  qemu64: amd64,
  // 32-bit models: PSE36 and PAE as `query-cpu-model-expansion type=full` reports them (5.2, 7.2, 10.0, 11.1 alike).
  qemu32: { vendor: 'GenuineIntel', longMode: false, pse36: false, pae: true, la57: false },
  kvm64: intel64,
  kvm32: { vendor: 'GenuineIntel', longMode: false, pse36: true, la57: false },
  max: { ...amd64, la57: true }, // TCG `max` reports AuthenticAMD (target/i386/cpu.c under TCG; docs/model/qemu.md#the-guest-cpu)
  host: { vendor: 'host', longMode: true, pse36: true, la57: true },
  coreduo: { vendor: 'GenuineIntel', longMode: false, pse36: false, pae: true, la57: false },
  n270: { vendor: 'GenuineIntel', longMode: false, pse36: false, pae: true, la57: false },
  pentium: { vendor: 'GenuineIntel', longMode: false, pse36: false, la57: false },
  pentium2: { vendor: 'GenuineIntel', longMode: false, pse36: true, la57: false },
  pentium3: { vendor: 'GenuineIntel', longMode: false, pse36: true, la57: false },
  '486': { vendor: 'GenuineIntel', longMode: false, pse36: false, la57: false },
  athlon: { vendor: 'AuthenticAMD', longMode: false, pse36: true, la57: false },
  core2duo: intel64,
  phenom: amd64,
  Conroe: intel64,
  Penryn: intel64,
  Nehalem: intel64,
  Westmere: intel64,
  SandyBridge: intel64,
  IvyBridge: intel64,
  Haswell: intel64,
  Broadwell: intel64,
  'Skylake-Client': intel64,
  'Skylake-Server': intel64,
  'Cascadelake-Server': intel64,
  'Cooperlake': intel64,
  'Icelake-Server': intel64La57,
  'SapphireRapids': intel64La57,
  'Snowridge': intel64,
  'Denverton': intel64,
  Opteron_G1: amd64,
  Opteron_G2: amd64,
  Opteron_G3: amd64,
  Opteron_G4: amd64,
  Opteron_G5: amd64,
  EPYC: amd64,
  'EPYC-Rome': amd64,
  'EPYC-Milan': amd64,
  'EPYC-Genoa': { ...amd64, la57: true },
  Dhyana: { vendor: 'HygonGenuine', longMode: true, pse36: true, la57: false },
  // Vendor, long mode, PSE36 and LA57 as `query-cpu-model-expansion type=full` reports them (the
  // definition's features, before TCG filters them) on the releases that define each; every -vN
  // and alias reports the same four as its base (checked for every name of 5.2, 7.2, 10.0, 11.1).
  'Icelake-Client': intel64,
  KnightsMill: intel64,
  SierraForest: intel64,
  ClearwaterForest: intel64,
  GraniteRapids: intel64La57,
  DiamondRapids: intel64La57,
  'EPYC-Turin': { ...amd64, la57: true },
  YongFeng: { vendor: 'CentaurHauls', longMode: true, pse36: true, la57: false },
};
