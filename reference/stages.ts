// The values passed between the pipeline stages, in boot order:
//   MachineConfig ──qemu stage──▶ Handoff ──seabios stage──▶ FirmwareMap ──linux stage──▶ KernelView
// Each stage is a pure function of its input, the config and its component's profile.

import type { MachineFamily } from './config.ts';
import type { E820Range, E820Record } from './e820.ts';
import type { BiosVariant } from './profiles/seabios.ts';

/** What QEMU says no to, worded as QEMU words it (the stage throws it; the CLI prints it). */
export class QemuRefusal extends Error {
  constructor(readonly qemuMessage: string) {
    super(`QEMU would refuse this configuration: ${qemuMessage}`);
    this.name = 'QemuRefusal';
  }
}

/** An option or value the model does not cover: never guessed. */
export class UnsupportedOptionError extends Error {
  constructor(
    readonly option: string,
    readonly detail: string,
  ) {
    super(`${option}: ${detail}`);
    this.name = 'UnsupportedOptionError';
  }
}

export interface CmosMemory {
  /** 0x15/0x16, KiB. */
  baseKiB: number;
  /** 0x17/0x18 and 0x30/0x31, KiB above 1 MiB, clamped to 65535. */
  extendedKiB: number;
  /** 0x34/0x35, 64 KiB units above 16 MiB, clamped to 65535. */
  above16MiB64K: number;
  /** 0x5b–0x5d, 64 KiB units above 4 GiB, low 24 bits. */
  above4GiB64K: number;
  /** 0x5f. */
  cpusMinusOne: number;
}

/** Non-E820 facts of the platform that the kernel's view depends on (PCI windows, address width). */
export interface Platform {
  chipset: 'i440fx' | 'q35' | 'isapc' | 'microvm';
  accel: 'tcg' | 'kvm';
  /** Guest CPU physical address bits (iomem_resource end = 2^bits − 1). */
  physBits: number;
  cpuVendor: string;
  /** Resolved CPU model (`qemu64` when none was given). */
  cpuModel: string;
  /** CPUID 0x80000001 EDX.LM of the guest CPU. */
  longMode: boolean;
  /**
   * CPUID reports leaves 0x80000000+ (false: TCG `max` with full-cpuid-auto-level=off, level and
   * xlevel 0), so the guest sees no LM even where `longMode` (QEMU's feature word) is set.
   */
  extendedLeaves: boolean;
  /** CPUID.(7,0):EBX shows BMI1 and BMI2 (zstd's decompressor then takes its BMI2 code). */
  bmi1Bmi2: boolean;
  /** CPUID.(7,0):ECX.LA57 of the guest CPU: Linux uses 5-level paging unless `no5lvl` is given. */
  la57: boolean;
  /**
   * A PCI host bridge at 00:00.0 (false on isapc). Without one SeaBIOS prints "Detected non-PCI
   * system" and finds no PIIX4 PM device to build ACPI tables for, and Linux never runs
   * pcibios_resource_survey(), so e820__reserve_resources_late() (late E820 resources, RAM
   * buffers) does not happen.
   */
  pci: boolean;
  /** The PCI host bridge windows ACPI _CRS announces (inclusive ends), e.g. `PCI Bus 0000:00`. */
  pciWindows: ReadonlyArray<{ start: bigint; end: bigint }>;
  /** q35 MMCONFIG/ECAM window, null on i440fx. */
  mmconfig: { start: bigint; end: bigint } | null;
  /**
   * RAM the guest's ACPI memory-hotplug driver adds at boot (cold-plugged DIMMs), inclusive ends, in
   * the order it adds them: each becomes a `System RAM` resource and a /sys/firmware/memmap entry.
   */
  hotplugRam: ReadonlyArray<{ start: bigint; end: bigint }>;
  /**
   * boot_params setup_data chain QEMU builds for -kernel (only with -dtb in Debian's QEMU 7.2):
   * node address, payload length (the node spans 16 + len bytes), SETUP_* type. Absent = none.
   */
  setupData?: ReadonlyArray<{ addr: bigint; len: bigint; type: number }>;
  /**
   * false: the firmware copies no option ROM below 1 MiB (qboot runs none, reference/qboot-stage.ts),
   * so the kernel's probe_roms() finds nothing in [0xc0000, 0xeffff]. Absent: SeaBIOS, whose ROMs'
   * sizes the model does not know (reference/linux/iomem.ts UNCERTAIN_ZONES).
   */
  optionRoms?: false;
}

/** The machine type after alias resolution (`pc` → `pc-i440fx-7.2`). */
export interface ResolvedMachine {
  name: string;
  family: MachineFamily;
  /** `7.2`, `1.0`; null only for unversioned types (isapc, microvm). */
  version: string | null;
}

/** The CPU topology after QEMU's smp parsing (hw/core/machine-smp.c). */
export interface ResolvedTopology {
  cpus: number;
  sockets: number;
  dies: number;
  cores: number;
  threads: number;
  maxcpus: number;
}

/** Everything QEMU hands the firmware, plus what it printed. */
export interface Handoff {
  machine: ResolvedMachine;
  topology: ResolvedTopology;
  /** fw_cfg present (pc_memory_init creates it on pc, q35 and isapc alike). */
  hasFwCfg: boolean;
  /** Memory-hotplug (device memory) region [start, end), not in E820; null without slots/maxmem. */
  deviceMemory: { start: bigint; end: bigint } | null;
  /** fw_cfg etc/e820 in file order; null if QEMU registers no etc/e820. */
  e820: readonly E820Record[] | null;
  /** Legacy key 0x8003 (QEMU ≤ 7.1), reserved-only records; null where absent. */
  legacyE820: readonly E820Record[] | null;
  cmos: CmosMemory;
  ramSize: bigint;
  /**
   * FW_CFG_RAM_SIZE: the global ram_size (hw/i386/fw_cfg.c fw_cfg_arch_create). It is ramSize,
   * except on v5.2.0 with `-machine memory-backend=` and no -m (ram.ts fwCfgRamSizeOf).
   */
  fwCfgRamSize: bigint;
  ramBelow4g: bigint;
  ramAbove4g: bigint;
  aboveStart: bigint;
  /** etc/reserved-memory-end, where QEMU creates it. */
  reservedMemoryEnd: bigint | null;
  platform: Platform;
  /** Warnings QEMU prints and carries on. */
  warnings: readonly string[];
  /** Firmware-visible inputs to SeaBIOS's allocations (ACPI blob, SMBIOS, devices): stage-defined. */
  firmwareInputs: FirmwareInputs;
  /**
   * Why the guest kernel is known not to start on this board though QEMU builds it (measured, the
   * cause not established); absent otherwise. The kernel layer is then not predicted; what QEMU
   * hands the firmware still is (reference/predict.ts kernelCannotStart).
   */
  guestHangs?: string;
}

/** What SeaBIOS will find and allocate for, as QEMU presents it. */
export interface FirmwareInputs {
  /** etc/table-loader ALLOCATE commands into the high zone, in command order. */
  highAllocations: ReadonlyArray<{ file: string; size: bigint; align: bigint }>;
  /** etc/table-loader WRITE_POINTER commands (vmgenid): each leaves a small ZoneHigh record in SeaBIOS. */
  loaderWritePointers: number;
  /** Size of etc/smbios/smbios-tables; null when QEMU uses legacy SMBIOS or none. */
  smbiosTablesBytes: number | null;
  /**
   * Legacy SMBIOS (key 0x8001) type 1 strings QEMU supplies: [manufacturer, product, version] with
   * smbios_defaults, [] without (i440fx ≤ 1.7, isapc); null when QEMU offers etc/smbios tables.
   */
  smbiosLegacyType1: readonly string[] | null;
  /** Does QEMU supply its own SMBIOS type 0 (then SeaBIOS adds none). */
  smbiosHasType0: boolean;
  smbiosEntryPoint: '2.1' | '3.0' | null;
  /** No table-loader (machine types ≤ 1.6, or acpi=off): SeaBIOS may build ACPI itself. */
  hasTableLoader: boolean;
  /**
   * The PCI device SeaBIOS's own acpi_setup() builds tables for (src/fw/acpi.c acpi_find_tbl):
   * pc's PIIX4 PM function (absent with acpi=off), q35's ICH9 LPC bridge (always), none on isapc.
   */
  acpiPmDevice: 'piix4-pm' | 'ich9-lpc' | null;
  /** NUMA nodes QEMU lists in fw_cfg etc/numa-nodes (0 without -numa): SeaBIOS's own tables then add an SRAT. */
  numaNodes: number;
  /**
   * fw_cfg FW_CFG_MAX_CPUS, which SeaBIOS reads as etc/max-cpus: QEMU's APIC id limit, not maxcpus
   * (hw/i386/fw_cfg.c fw_cfg_arch_create). SeaBIOS's own MADT, SSDT and SRAT have an entry per id.
   */
  maxCpusKey: number;
  /** Is there an HPET at 0xfed00000 (-machine hpet=, -no-hpet): SeaBIOS's own tables then add one (build_hpet). */
  hpet: boolean;
  /**
   * Devices SeaBIOS drives that leave ZoneHigh allocations, in setup order. `kind` is a key of
   * reference/profiles/seabios.ts DEVICE_ZONEHIGH_FOOTPRINT (`ahci-port`, `virtio-blk`,
   * `virtio-scsi`, `nvme`) or of TRANSIENT_USB_DRIVERS (`xhci`, `ehci`, `uhci`, `ohci`).
   * `busGiven`: the device names a bus (`bus=`) other than the root bus, so SeaBIOS may place its
   * BARs in a bridge window.
   */
  /**
   * Devices SeaBIOS drives, in driver order. legacyQueueSize: a legacy-only virtio device's queue
   * size as QEMU reports it (absent when the device also speaks modern virtio).
   */
  devices: ReadonlyArray<{ kind: string; detail?: string; busGiven?: boolean; legacyQueueSize?: number }>;
  /** The ROM image SeaBIOS runs from (`bios-256k.bin`, `bios.bin`, or a user path). */
  biosImage: string;
  /**
   * Which of Debian's configurations the image was built with (reference/profiles/seabios.ts
   * BIOS_VARIANTS), when known from the image itself (a project-built or user image whose file
   * name says nothing); absent: looked up by biosImage's file name.
   */
  biosVariant?: BiosVariant;
}

/** SeaBIOS's result. */
export interface FirmwareMap {
  /** The final E820 table in order (INT 15h E820), end exclusive. */
  entries: readonly E820Range[];
  /** `Returned N bytes of ZoneHigh`. */
  zoneHighReturned: number;
  /** Final LegacyRamSize (E801/88h are derived from it). */
  legacyRamSize: bigint;
  /** BDA 0x413, KiB (INT 12h). */
  baseMemKiB: number;
  /** Human-readable provenance per final entry ("rule that produced it"), same order as entries. */
  provenance: readonly string[];
  /** ZoneHigh as chosen by malloc_preinit [start, end); null when no RAM entry could hold it. */
  zoneHigh: { start: bigint; end: bigint } | null;
  /** LegacyRamSize as calcRamSize computed it in malloc_init (what option ROMs see during POST). */
  earlyLegacyRamSize: bigint;
  /** Debug-port lines the map-building steps print at level 1, in order (qemu/e820, cmos, warnings, Returned). */
  log: readonly string[];
  /** Per declared firmware change (reference/intent.ts), in order: where it was applied; absent without any. */
  declared?: readonly string[];
  /**
   * The PCI host bridge windows of the DSDT SeaBIOS built itself (machine types without
   * etc/table-loader); absent when QEMU's tables are used (Platform.pciWindows).
   */
  pciWindows?: ReadonlyArray<{ start: bigint; end: bigint }>;
  /** The ECAM window of the MCFG SeaBIOS builds itself (q35 without QEMU's tables); absent when QEMU's tables are used. */
  mmconfig?: { start: bigint; end: bigint };
  /**
   * Year of the BIOS date in the SMBIOS type 0 the firmware publishes (what the kernel's
   * dmi_get_bios_year() returns); null when it publishes no SMBIOS (then -1). Absent: SeaBIOS,
   * whose type 0 says 04/01/2014 (src/fw/biostables.c), unless QEMU supplies one.
   */
  smbiosBiosYear?: number | null;
}

/**
 * A firmware map that is its table and nothing of SeaBIOS's: qboot's (reference/qboot-stage.ts), a
 * real machine's read from /sys/firmware/memmap (harness/host/check.ts), a table written by hand
 * (the linux-stage tests). ZoneHigh, LegacyRamSize and the debug log stay empty (the linux stage
 * reads none of them). What differs is a parameter: INT 12h's base memory where the firmware
 * keeps one (0: it does not say), and each entry's provenance (one string for all of them).
 */
export function tableOnlyFirmwareMap(entries: readonly E820Range[], o: { baseMemKiB: number; provenance: string | readonly string[] }): FirmwareMap {
  return {
    entries,
    zoneHighReturned: 0,
    legacyRamSize: 0n,
    baseMemKiB: o.baseMemKiB,
    provenance: typeof o.provenance === 'string' ? entries.map(() => o.provenance as string) : o.provenance,
    zoneHigh: null,
    earlyLegacyRamSize: 0n,
    log: [],
  };
}

/**
 * What the firmware's INT 15h memory-size services return to a caller that asks each once, as
 * Linux's real-mode setup code does (arch/x86/boot/memory.c detect_memory()); null where the
 * build makes the service fail (CF=1, reference/intent.ts int15Fails).
 */
export interface Int15Answers {
  /** AX=E820h, EBX=0,1,…: the entries in order (handle_15e820 walks the map). */
  readonly e820: readonly E820Range[] | null;
  /** AX=E801h: AX=CX KiB between 1 and 16 MiB, BX=DX 64 KiB blocks above 16 MiB. */
  readonly e801: { readonly ax: number; readonly bx: number; readonly cx: number; readonly dx: number } | null;
  /** AH=88h: AX KiB above 1 MiB. */
  readonly e88: { readonly ax: number } | null;
}

/**
 * The kernel's reported view: the lines and files the harness observes. A field the model cannot
 * predict for a configuration is absent (undefined), never guessed; `unpredictable` says why.
 */
/** Which way the kernel sized memory (reference/linux/boot-memory.ts), for `predict --explain`. */
export interface MemoryPathView {
  /** The BIOS's E820 table, or a map made from E801's or 88h's size. */
  path: 'e820' | 'e801' | '88h';
  /** `BIOS-e820`, `BIOS-e801` or `BIOS-88`: the dump's prefix. */
  who: string;
  /** Why this path, one sentence. */
  why: string;
  /** On a fallback: the firmware map's RAM the kernel's map leaves out, one sentence; absent when none. */
  lost?: string;
}

export interface KernelView {
  /** `BIOS-e820:` lines (7.2: with `[gap …]` lines), text after the `<L>[time] ` prefix; empty on the E801/88h paths. */
  biosE820: readonly string[];
  /** The path the kernel took to its first map; absent only in views made before it was modelled. */
  memoryPath?: MemoryPathView;
  /** Every other E820-related line (reference/kernel-lines.ts decides which), in dmesg order. */
  e820Edits?: readonly string[];
  /** printk level of each e820Edits line, same order (`dmesg -r`'s `<L>`). */
  e820EditLevels?: readonly number[];
  /** /sys/firmware/memmap/N in index order; absent if the kernel never gets there (panic). */
  memmap?: ReadonlyArray<{ start: string; end: string; type: string }>;
  /** Predicted /proc/iomem lines that are E820-derived (rule: reference/linux/iomem.ts header). */
  iomem?: readonly string[];
  /** The kernel panics during setup_arch with this message (e.g. an invalid user map). */
  panic?: string;
  /** Why a field above is absent, one sentence per field. */
  unpredictable?: readonly string[];
}
