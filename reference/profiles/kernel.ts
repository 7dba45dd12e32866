// Linux E820 behaviour per kernel release, as data. The linux stage (reference/linux/*) reads
// these switches; it never compares kernel version strings itself.
// Sources: arch/x86/kernel/e820.c, arch/x86/kernel/setup.c, kernel/resource.c, lib/cmdline.c,
// arch/x86/pci/{mmconfig-shared,acpi}.c and drivers/firmware/memmap.c of the Debian source
// packages linux-source-5.10 5.10.223-1, -6.1 6.1.176-1, -6.12 6.12.107-1, -7.2 7.2.13-1, and
// ~40 boots of the matching Debian images under QEMU 7.2 + SeaBIOS 1.16.2.

import { E820 } from '../e820.ts';
import type { KernelFlavour, KernelVersion } from '../toolchain.ts';

/** printk levels as `dmesg -r` shows them. */
export const KERN = { ERR: 3, WARNING: 4, NOTICE: 5, INFO: 6, DEBUG: 7 } as const;

export type NosaveAlgorithm =
  /** Before the 2025 stable fix "x86/e820: Fix handling of subpage regions…": one line per non-RAM entry and per hole. */
  | 'per-entry'
  /** After it: one line per hole between RAM entries, plus the tail up to max_pfn. */
  | 'ram-holes';

export interface KernelProfile {
  version: KernelVersion;
  /** Point release the profile describes (the nosave algorithm changed inside 5.10.y). */
  release: string;
  /**
   * The guest image's bzImage header init_size (offset 0x260): the memory its decompressor needs
   * from LOAD_PHYSICAL_ADDR (16 MiB) on. Debian's cloud images as provisioned: 5.10.223 0x2d5e000,
   * 6.1.192 0x3378000, 6.12.117 0x37de000, 7.2.13 0x3c3b000.
   */
  guestInitSize: bigint;
  /**
   * The guest image's decompressor switches to BMI2 code when CPUID shows BMI1 and BMI2: zstd's
   * ZSTD_DYNAMIC_BMI2 (lib/zstd) in the zstd-compressed Debian images from 6.12 on (SHLX seen
   * executing under `-d in_asm`); 5.10 and 6.1 are LZ4-compressed.
   */
  guestDecompressorBmi2: boolean;

  // ── loading the firmware map (docs/model/linux.md#loading-the-firmware-map) ──
  /** append_e820_table() rejects maps with fewer entries than this (2 up to 6.12, 1 in 7.2). */
  minFirmwareEntries: number;

  /**
   * e820__memory_setup_default() (arch/x86/kernel/e820.c) when it refuses the E820 table (INT 15h
   * E820 failed, or fewer entries than minFirmwareEntries): the map it makes instead, RAM
   * [0, lowEnd) (LOWMEMSIZE(), arch/x86/include/asm/setup.h) and [highStart, highStart + size)
   * (HIGH_MEMORY), size the larger of alt_mem_k (INT 15h E801) and ext_mem_k (INT 15h 88h) as
   * arch/x86/boot/memory.c detect_memory() stored them, E801 on a tie; dumped as `BIOS-e801:` or
   * `BIOS-88:` (reference/linux/boot-memory.ts).
   */
  memoryFallback: { lowEnd: bigint; highStart: bigint };

  // ── print formats (docs/model/linux.md#print-formats) ──
  /** e820_print_type() text per type; the fixed part before it is `] ` in every version. */
  typeText: Readonly<Record<number, string>>;
  /** Text of a type not in typeText; `%u` stands for the decimal number. */
  unknownTypeText: string;
  /** e820__print_table() prints `[gap …]` lines between entries (7.2). */
  printGapLines: boolean;
  /** e820__print_table() prints `[Firmware Bug]: out of order E820 entry!` (7.2). */
  printOutOfOrder: boolean;
  /**
   * Between `]` and the type text in `e820: update/remove` lines: one space up to 6.12; none in
   * 7.2, whose type texts start with a space (`… 0x00000fff] System RAM ==> device reserved`).
   */
  editTypeSeparator: string;
  /** Between the two type texts of an update line: ` ==> ` (≤ 6.12), ` ==>` (7.2). */
  updateArrow: string;
  /** The any-type `e820: remove` line ends with a space (5.10–6.12). */
  anyTypeRemoveTrailingSpace: boolean;
  /** `__e820__range_add` on a full table; `%s` = `[mem A-B]`. */
  tableFullText: string;

  // ── types ──
  /** E820_TYPE_RESERVED_KERN (128) exists (5.10–6.12); 7.2 treats 128 as an unknown type. */
  hasReservedKern: boolean;
  /** /proc/iomem and /sys/firmware/memmap name per type (arch/x86/kernel/e820.c e820_type_to_string). */
  resourceName: Readonly<Record<number, string>>;
  unknownResourceName: string;

  // ── setup_data (docs/model/linux.md#setup_data) ──
  /** e820__reserve_setup_data() exists (5.10–6.12). */
  reservesSetupData: boolean;
  /** setup_data types whose node is *not* also updated in e820_table_kexec (second update line). */
  setupDataKexecSkip: readonly number[] | 'all';

  // ── setup_arch (docs/model/linux.md#trim_bios_range and the sections after it) ──
  /** e820_end_pfn() counts these types (RAM; 6.12+ also ACPI). */
  lastPfnTypes: readonly number[];
  /** MAX_ARCH_PFN with 4-level paging (no LA57 on QEMU's default CPUs). */
  maxArchPfn: bigint;
  /**
   * MAX_ARCH_PFN with 5-level paging: arch/x86/include/asm/sparsemem.h MAX_PHYSMEM_BITS =
   * pgtable_l5_enabled() ? 52 : 46. The decompressor turns 5-level paging on when the kernel has it,
   * the CPU has LA57 (CPUID level ≥ 7) and `no5lvl` is absent (arch/x86/boot/compressed/pgtable_64.c
   * paging_prepare() in 5.10, configure_5level_paging() in 6.x).
   */
  maxArchPfn5Level: bigint;
  /**
   * The kernel can run 5-level paging (CONFIG_X86_5LEVEL=y; an unconditional part of x86-64 by 7.2).
   * Debian's 5.10 cloud kernel is built without it: its decompressor has no `no5lvl` string (the
   * IS_ENABLED() check drops it) and it stays 4-level under `-cpu max` on QEMU 7.2; 6.1, 6.12 and
   * 7.2 have the string and go 5-level.
   */
  fiveLevelPaging: boolean;
  nosave: NosaveAlgorithm;
  /**
   * CONFIG_HIBERNATION. Without it register_nosave_region() is an empty inline
   * (include/linux/suspend.h), so e820__register_nosave_regions() prints no line. Debian's
   * kernels, cloud and the project's minimal build, have it; a real machine's kernel
   * (`e820 host check`, read from its configuration) may not.
   */
  hibernation: boolean;
  /** Types the nosave walk treats as RAM. */
  nosaveRamTypes: readonly number[];
  /** e820_search_gap() direction: backward (≤ 6.12: ties → lower gap, leading hole ignored) or forward (7.2). */
  pciGapSearch: 'backward' | 'forward';
  /** The tag inside the brackets of the PCI gap line: `[mem …]` (≤ 6.12) or `[gap …]` (7.2). */
  pciGapTag: 'mem' | 'gap';

  // ── PCI init (docs/model/linux.md#late-resources-and-ram-buffers) ──
  /** q35's ECAM check line; `%s` = `[mem A-B]`. */
  ecamReservedText: string;
  /**
   * null: pci_mmcfg_reserved() checks the MCFG window against E820 at early init whatever the
   * firmware (≤ 6.1). A year: only when DMI's BIOS date is older (arch/x86/pci/mmconfig-shared.c
   * `dmi_get_bios_year() < 2016 && raw_pci_ops`, "x86/pci: Skip early E820 check for ECAM region");
   * a newer firmware's window is taken unchecked and no line is printed (seen with qboot, BIOS date
   * 2019, on 6.12 and 7.2).
   */
  ecamEarlyE820CheckBiosYearBelow: number | null;
  /** Prefix of the `Expanded resource` line (`resource: ` in 6.1+) and its level. */
  expandedResourcePrefix: string;
  expandedResourceLevel: number;
  /** RAM buffer line text before `[mem A-B]`, and its level. */
  ramBufferText: string;
  ramBufferLevel: number;
  /** How a Soft Reserved range shows in /proc/iomem after boot. */
  softReservedInIomem: 'inside-hmem' | 'top' | 'absent';
  /** r_show's MAX_IORES_LEVEL: deeper lines keep this indentation. */
  iomemMaxDepth: number;
  /** /sys/firmware/memmap is filled from e820_table_firmware (≤ 6.12) or e820_table_kexec (7.2). */
  memmapSource: 'firmware' | 'kexec';

  // ── command line (docs/model/linux.md#mem-and-memmap) ──
  /** memparse() consumes a K/M/G… suffix even without digits before it (≤ 6.12). */
  memparseSuffixWithoutDigits: boolean;
  /** simple_strtoull() saturates on overflow (7.2) instead of wrapping modulo 2^64. */
  memparseSaturates: boolean;
}

/** e820_print_type() before 7.2 (also the names messages use for a type). */
export const LEGACY_TYPE_TEXT: Readonly<Record<number, string>> = {
  [E820.RAM]: 'usable',
  [E820.RESERVED_KERN]: 'usable',
  [E820.RESERVED]: 'reserved',
  [E820.SOFT_RESERVED]: 'soft reserved',
  [E820.ACPI]: 'ACPI data',
  [E820.NVS]: 'ACPI NVS',
  [E820.UNUSABLE]: 'unusable',
  [E820.PMEM]: 'persistent (type 7)',
  [E820.PRAM]: 'persistent (type 12)',
};

/** 7.2 moved the separating space into the type text, so dumps show two spaces after `]`. */
const V72_TYPE_TEXT: Readonly<Record<number, string>> = {
  [E820.RAM]: ' System RAM',
  [E820.RESERVED]: ' device reserved',
  [E820.SOFT_RESERVED]: ' soft reserved',
  [E820.ACPI]: ' ACPI data',
  [E820.NVS]: ' ACPI NVS',
  [E820.UNUSABLE]: ' unusable',
  [E820.PMEM]: ' persistent RAM (type 7)',
  [E820.PRAM]: ' persistent RAM (type 12)',
};

const RESOURCE_NAME_BASE: Readonly<Record<number, string>> = {
  [E820.RAM]: 'System RAM',
  [E820.ACPI]: 'ACPI Tables',
  [E820.NVS]: 'ACPI Non-volatile Storage',
  [E820.UNUSABLE]: 'Unusable memory',
  [E820.PRAM]: 'Persistent Memory (legacy)',
  [E820.PMEM]: 'Persistent Memory',
  [E820.RESERVED]: 'Reserved',
  [E820.SOFT_RESERVED]: 'Soft Reserved',
};

/** SETUP_EFI = 4, SETUP_IMA = 8, SETUP_RNG_SEED = 9 (arch/x86/include/uapi/asm/bootparam.h). */
const SETUP_EFI = 4;
const SETUP_IMA = 8;
const SETUP_RNG_SEED = 9;

/** 2^(46−12): MAX_PHYSMEM_BITS = 46 with 4-level paging. */
const MAX_ARCH_PFN_4LEVEL = 1n << 34n;
/** 2^(52−12): MAX_PHYSMEM_BITS = 52 with 5-level paging. */
const MAX_ARCH_PFN_5LEVEL = 1n << 40n;

const V5_10: KernelProfile = {
  version: '5.10',
  release: '5.10.223-1',
  guestInitSize: 0x2d5e000n,
  guestDecompressorBmi2: false,
  minFirmwareEntries: 2,
  memoryFallback: { lowEnd: 0x9f000n, highStart: 0x100000n },
  typeText: LEGACY_TYPE_TEXT,
  unknownTypeText: 'type %u',
  printGapLines: false,
  printOutOfOrder: false,
  editTypeSeparator: ' ',
  updateArrow: ' ==> ',
  anyTypeRemoveTrailingSpace: true,
  tableFullText: 'too many entries; ignoring %s',
  hasReservedKern: true,
  resourceName: { ...RESOURCE_NAME_BASE, [E820.RESERVED_KERN]: 'System RAM' },
  unknownResourceName: 'Unknown E820 type',
  reservesSetupData: true,
  setupDataKexecSkip: [SETUP_EFI],
  lastPfnTypes: [E820.RAM],
  maxArchPfn: MAX_ARCH_PFN_4LEVEL,
  maxArchPfn5Level: MAX_ARCH_PFN_5LEVEL,
  fiveLevelPaging: false,
  nosave: 'per-entry',
  hibernation: true,
  nosaveRamTypes: [E820.RAM, E820.RESERVED_KERN],
  pciGapSearch: 'backward',
  pciGapTag: 'mem',
  ecamReservedText: 'PCI: MMCONFIG at %s reserved in E820',
  ecamEarlyE820CheckBiosYearBelow: null,
  expandedResourcePrefix: '',
  expandedResourceLevel: 4,
  ramBufferText: 'e820: reserve RAM buffer',
  ramBufferLevel: 7,
  softReservedInIomem: 'inside-hmem',
  iomemMaxDepth: 5,
  memmapSource: 'firmware',
  memparseSuffixWithoutDigits: true,
  memparseSaturates: false,
};

const V6_1: KernelProfile = {
  ...V5_10,
  fiveLevelPaging: true,
  version: '6.1',
  release: '6.1.176-1',
  guestInitSize: 0x3378000n,
  guestDecompressorBmi2: false,
  setupDataKexecSkip: [SETUP_EFI, SETUP_IMA, SETUP_RNG_SEED],
  nosave: 'ram-holes',
  expandedResourcePrefix: 'resource: ',
  expandedResourceLevel: 6,
};

const V6_12: KernelProfile = {
  ...V6_1,
  version: '6.12',
  release: '6.12.107-1',
  guestInitSize: 0x37de000n,
  guestDecompressorBmi2: true,
  setupDataKexecSkip: 'all',
  lastPfnTypes: [E820.RAM, E820.ACPI],
  ecamReservedText: 'PCI: ECAM %s reserved as E820 entry',
  ecamEarlyE820CheckBiosYearBelow: 2016,
  softReservedInIomem: 'top',
};

const V7_2: KernelProfile = {
  ...V6_12,
  version: '7.2',
  release: '7.2.13-1',
  guestInitSize: 0x3c3b000n,
  guestDecompressorBmi2: true,
  minFirmwareEntries: 1,
  typeText: V72_TYPE_TEXT,
  unknownTypeText: ' type %u',
  printGapLines: true,
  printOutOfOrder: true,
  editTypeSeparator: '',
  updateArrow: ' ==>',
  anyTypeRemoveTrailingSpace: false,
  tableFullText: 'E820 table full; ignoring %s',
  hasReservedKern: false,
  resourceName: RESOURCE_NAME_BASE,
  reservesSetupData: false,
  nosaveRamTypes: [E820.RAM],
  pciGapSearch: 'forward',
  pciGapTag: 'gap',
  ramBufferText: 'e820: register RAM buffer resource',
  ramBufferLevel: 6,
  softReservedInIomem: 'absent',
  iomemMaxDepth: 8,
  memmapSource: 'kexec',
  memparseSuffixWithoutDigits: false,
  memparseSaturates: true,
};

export const KERNEL_PROFILES: Readonly<Record<KernelVersion, KernelProfile>> = {
  '5.10': V5_10,
  '6.1': V6_1,
  '6.12': V6_12,
  '7.2': V7_2,
};

/**
 * bullseye-security's 5.10.262 carries the nosave backport and otherwise behaves like 5.10.223
 * (every E820-related file of docs/model/linux.md#sources-and-versions was diffed unchanged).
 */
export const KERNEL_5_10_262: KernelProfile = { ...V5_10, release: '5.10.262-1', nosave: 'ram-holes' };

export function kernelProfile(version: KernelVersion): KernelProfile {
  return KERNEL_PROFILES[version];
}

/**
 * Point-release variants inside a kernel series, keyed by the upstream patch level (the `N` of
 * 5.10.N; Debian's package version and the bzImage banner `… Debian 5.10.223-1 …` both carry it).
 * Only the nosave algorithm differs (docs/model/linux.md#nosave-regions): the stable fix "x86/e820: Fix handling
 * of subpage regions when calculating nosave ranges in e820__register_nosave_regions()"
 * (arch/x86/kernel/e820.c, upstream April 2025) is absent from Debian 5.10.223-1 and present in
 * 5.10.262-1, both booted. The first 5.10.y carrying it was not verified, so patch levels in
 * between are refused rather than guessed. 6.1 (≥ 6.1.176 here), 6.12 and 7.2 releases in
 * Debian all have it.
 */
const POINT_RELEASES: Partial<Record<KernelVersion, { oldUpTo: number; newFrom: number; old: KernelProfile; new: KernelProfile }>> = {
  '5.10': { oldUpTo: 223, newFrom: 262, old: V5_10, new: KERNEL_5_10_262 },
};

export class UnknownPointReleaseError extends Error {
  constructor(version: KernelVersion, release: string, detail: string) {
    super(`kernel ${version} point release ${JSON.stringify(release)}: ${detail}`);
    this.name = 'UnknownPointReleaseError';
  }
}

/**
 * The project's minimal kernel of a series (harness/provision/kernel-build.ts, configured by
 * guests/kernel/minimal.config): the same Debian source as the series' profile, with every option
 * that changes an observed layer set as in Debian's cloud kernel (CONFIG_RANDOMIZE_BASE,
 * HIBERNATION, X86_5LEVEL, NUMA, MEMORY_HOTPLUG, EFI, PCI_MMCONFIG, X86_PAT, FIRMWARE_MEMMAP …).
 * What still differs is the image: init_size is read from the built bzImage's header (0x260) and
 * checked against the build by suites/flavours.test.ts. A series without an entry has no
 * minimal kernel yet.
 */
export const MINIMAL_BUILD: Readonly<Partial<Record<KernelVersion, Pick<KernelProfile, 'guestInitSize' | 'guestDecompressorBmi2'>>>> = {
  // 5.10.223-1, minimal.config + minimal-5.10.config (no 5-level paging), LZ4 (recipe f6d7e03c3f5e9a1f).
  '5.10': { guestInitSize: 0x1067000n, guestDecompressorBmi2: false },
  // 6.1.176-1, tinyconfig + minimal.config, LZ4 (recipe 038f4037a15a378a).
  '6.1': { guestInitSize: 0x1079000n, guestDecompressorBmi2: false },
  // 6.12.107-1 (trixie's pool serves no newer source), same recipe; LZ4, so no BMI2 zstd path.
  '6.12': { guestInitSize: 0xe9b000n, guestDecompressorBmi2: false },
  // 7.2.8-1, minimal.config + minimal-7.2.config (CONFIG_X86_5LEVEL is gone: 5-level paging built
  // in), LZ4 (recipe c73ac184d269490e). The profile describes 7.2.13-1, whose source sid's pool no
  // longer serves (404 for 7.2.9-1 to 7.2.13-1): Debian's changelog of 7.2.9-1 to 7.2.13-1 (in the
  // 7.2.13 packages) lists no change to arch/x86/kernel/e820.c, setup.c, kernel/resource.c, the
  // x86 PCI/MMCONFIG code, drivers/firmware/memmap.c or the hibernation nosave walk, and the
  // 7.2.13 cloud config sets every option of the fragment that changes a layer as the fragment does.
  '7.2': { guestInitSize: 0xcae000n, guestDecompressorBmi2: false },
};

export class NoMinimalKernelError extends Error {
  constructor(readonly version: KernelVersion) {
    super(
      `kernel ${version}: the project's minimal kernel has no profile for this series yet (built so far: ${Object.keys(MINIMAL_BUILD).join(', ')}); use --kernel-flavour cloud`,
    );
    this.name = 'NoMinimalKernelError';
  }
}

/** The profile of a series' flavour: the cloud kernel's, or the minimal build's changes over it. */
export function flavourProfile(profile: KernelProfile, flavour: KernelFlavour = 'cloud'): KernelProfile {
  if (flavour === 'cloud') return profile;
  const build = MINIMAL_BUILD[profile.version];
  if (build === undefined) throw new NoMinimalKernelError(profile.version);
  return { ...profile, ...build };
}

/**
 * The profile for a known point release (`5.10.223-1`, `5.10.262`, or a banner
 * `… Debian 5.10.223-1 …`); without one, the series default (`kernelProfile`). `flavour`
 * selects the image (flavourProfile).
 */
export function kernelProfileForRelease(version: KernelVersion, release?: string, flavour: KernelFlavour = 'cloud'): KernelProfile {
  return flavourProfile(releaseProfile(version, release), flavour);
}

function releaseProfile(version: KernelVersion, release?: string): KernelProfile {
  const series = POINT_RELEASES[version];
  if (release === undefined || series === undefined) return kernelProfile(version);
  // The last `5.10.N` wins: a banner names the ABI (`5.10.0-32-cloud-amd64`) before the Debian version.
  const all = [...release.matchAll(new RegExp(`(?:^|[\\s(])${version.replace('.', '\\.')}\\.(\\d+)`, 'g'))];
  const last = all.at(-1);
  if (last === undefined) throw new UnknownPointReleaseError(version, release, `no ${version}.N in it`);
  const patch = Number(last[1]);
  const named = `${version}.${patch}`;
  if (patch <= series.oldUpTo) return { ...series.old, release: named };
  if (patch >= series.newFrom) return { ...series.new, release: named };
  throw new UnknownPointReleaseError(
    version,
    release,
    `the nosave algorithm changed between ${version}.${series.oldUpTo} and ${version}.${series.newFrom}; which side ${version}.${patch} is on was not verified`,
  );
}
