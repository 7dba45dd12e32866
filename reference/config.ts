// The typed form of a user's QEMU command line: what was asked for, normalised, with no
// version-dependent defaults filled in (the stages resolve those from the profiles).
// reference/cmdline/ parses argv into this and prints it back; the two round-trip.

export type MachineFamily = 'pc' | 'q35' | 'isapc' | 'microvm';

export interface MachineType {
  family: MachineFamily;
  /** Versioned type (`pc-i440fx-7.2` → '7.2', `pc-1.0` → '1.0'); null for the unversioned alias (`pc`, `q35`). */
  version: string | null;
  /** As the user spelled it: 'pc', 'q35', 'pc-i440fx-7.2', 'pc-q35-2.4', 'pc-1.0', 'isapc'. */
  name: string;
  /** The option that named it, as typed (`-M pc-i440fx-1.3`), for releases whose messages quote it (5.2). */
  typedAt?: string;
}

export type Accelerator = 'tcg' | 'kvm';

export interface MemoryConfig {
  /** Bytes after QEMU's 8 KiB round-up; null = not given or 0 (the machine default, 128 MiB). */
  size: bigint | null;
  /**
   * How the size was spelled (the last `size` given), for error messages and the argv round trip:
   * toQemuArgs prints it verbatim, so a config parsed for one QEMU version means the same to it.
   * null = no size given.
   */
  spelled: string | null;
  slots: number | null;
  maxmem: bigint | null;
}

export interface CpuConfig {
  /** Model name (`qemu64`, `Skylake-Client`, `EPYC`, `host`, `max`); null = the machine's default. */
  model: string | null;
  /** `phys-bits=`, `host-phys-bits=`, `vendor=`, feature flags, … in the order given. */
  props: ReadonlyArray<readonly [string, string]>;
}

export interface SmpConfig {
  cpus: number | null;
  sockets: number | null;
  dies: number | null;
  cores: number | null;
  threads: number | null;
  maxcpus: number | null;
}

export interface MemoryBackend {
  id: string;
  kind: 'memory-backend-ram' | 'memory-backend-file' | 'memory-backend-memfd';
  size: bigint;
  props: ReadonlyArray<readonly [string, string]>;
}

export interface NumaNode {
  nodeid: number | null;
  memdev: string | null;
  /** Legacy `mem=` (machine types ≤ 5.0 only). */
  mem: bigint | null;
  cpus: string | null;
  /** The `-numa` argument as typed (QEMU echoes it in errors raised while parsing -numa); absent: as toQemuArgs prints it. */
  spelled?: string;
}

export interface DeviceConfig {
  driver: string;
  props: ReadonlyArray<readonly [string, string]>;
}

/** An option accepted because it cannot change the memory map; listed, never silently dropped. */
export interface IgnoredOption {
  option: string;
  value: string | null;
  why: string;
}

export interface MachineConfig {
  machine: MachineType;
  /** `max-ram-below-4g=` in bytes; null = unset. */
  maxRamBelow4g: bigint | null;
  /** Other machine properties given, in order (e.g. smbios-entry-point-type). */
  machineProps: ReadonlyArray<readonly [string, string]>;
  accel: Accelerator;
  memory: MemoryConfig;
  cpu: CpuConfig;
  smp: SmpConfig;
  backends: readonly MemoryBackend[];
  numa: readonly NumaNode[];
  /** `-bios FILE` as given (`bios.bin`, `bios-256k.bin` or a path); null = the machine default. */
  bios: string | null;
  nodefaults: boolean;
  devices: readonly DeviceConfig[];
  /** `-drive` specs as given (they add disks SeaBIOS drives). */
  drives: ReadonlyArray<ReadonlyArray<readonly [string, string]>>;
  /** Kernel command line from `-append` (the harness adds its own fixed arguments in front). */
  kernelArgs: string;
  ignored: readonly IgnoredOption[];
  // ---- Added with reference/cmdline/. Optional so existing literals stay valid; the parser
  // always fills them (null / []), and a missing field means the same as null / [].
  /** `-machine memory-backend=ID`: RAM comes from that `-object memory-backend-*`; null = none. */
  memoryBackend?: string | null;
  /** `-vga TYPE` as given (`std`, `none`, …): the legacy way to pick the display device; null = not given. */
  vga?: string | null;
  /** `-netdev` specs in order, implied key spelled out (`type=user`). */
  netdevs?: ReadonlyArray<ReadonlyArray<readonly [string, string]>>;
  /** `-nic` specs in order, implied key spelled out (`type=user`): each adds a NIC with its option ROM. */
  nics?: ReadonlyArray<ReadonlyArray<readonly [string, string]>>;
  /**
   * Warnings QEMU prints while reading this command line (and carries on), exactly as printed
   * after the `qemu-system-x86_64: ` prefix, e.g. `warning: Using a multiplier suffix on hex
   * numbers is deprecated: 0x10M`. toQemuArgs does not print them; they come back on re-parsing.
   */
  warnings?: readonly string[];
}
