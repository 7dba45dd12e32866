// Seeded random QEMU configurations over the model's supported option space, for randomized
// differential conformance (`e820 explore`, suites/explore.test.ts). Pure: (seed, index,
// toolchain) → one cell; no I/O, no clock.
//
// What it aims at: the thresholds where the layers change behaviour (the pc 0xe0000000 and q35
// 0xb0000000 splits, gigabyte_align's 3 GiB, 4 GiB, ±1 page / ±1 MiB around each, the 8 KiB -m
// round-up), every option family reference/cmdline/ models (machine types the chosen QEMU
// registers, -m slots/maxmem, max-ram-below-4g, -smp, -cpu models/vendor/phys-bits, NUMA with
// memory-backend-ram, -machine memory-backend, -nodefaults, -bios, drives, devices, NICs, VGA,
// USB, options the model ignores, and -append mem=/memmap= of every kind), and a share of
// deliberately invalid combinations whose refusal the model predicts (the runner then checks QEMU
// refuses with the same words).
//
// Its modelled draws avoid, on purpose, what cannot boot this harness's guest or what the model
// does not claim: 32-bit CPU models, KVM (needs host facts; nested KVM does not boot here),
// isapc/microvm, memmap= edits that would leave the kernel without enough RAM or claim RAM where
// there is none. A share of cells (WIDE_DRAW_SHARE) is drawn from the whole option space instead:
// machine types, CPU models and devices from each QEMU release's own lists
// (reference/profiles/qemu.ts, qemu-cpu-models.ts, qemu-devices.ts), sizes and -smp topologies from
// QEMU's accepted ranges; what the model declines there is booted and counted as not modelled. Drives use QEMU's null-co:// block driver: no backing file, a
// 1 GiB disk of zeroes SeaBIOS finds like any other.
//
// Layout facts used here only to *aim* (addresses for memmap=, where the RAM split falls) are
// re-derived from the QEMU profile; the generator never reads a prediction.

import { GiB, KiB, MiB, FOUR_GIB } from '../../reference/address.ts';
import { CPU_MODELS, MACHINE_COMPAT, QEMU_LAYOUT, QEMU_PROFILES, machineVersionAtMost, parseMachineVersion, type MachineVersion } from '../../reference/profiles/qemu.ts';
import type { Toolchain } from '../../reference/toolchain.ts';
import type { Int15Service } from '../../reference/intent.ts';
import { qemuCpuModelNames } from '../../reference/profiles/qemu-cpu-models.ts';
import { qemuStandaloneDevices, type QemuDeviceKind } from '../../reference/profiles/qemu-devices.ts';
import { rngFor, type Rng } from './prng.ts';

/** Bump when the generator changes what a (seed, index) produces: replays name the version. */
export const GENERATOR_VERSION = 12;

/**
 * Share of cells drawn from the whole option space (issue 14 item 3), not only from what the
 * model models: in such a cell each of machine type, CPU model, devices, RAM size and -smp is, with
 * WIDE_ASPECT_SHARE, drawn from the QEMU release's own lists and accepted ranges (at least one
 * is). The model may decline such a cell (UnsupportedOptionError): the cell is kept, booted to
 * learn whether QEMU boots it, and counted as not modelled with the model's reason. 0.4 keeps most
 * cells on the thresholds the modelled draws aim at while a 30-cell run still draws ~12 wide ones.
 */
export const WIDE_DRAW_SHARE = 0.4;
export const WIDE_ASPECTS = ['machine', 'cpu', 'device', 'ram', 'smp'] as const;
export type WideAspect = (typeof WIDE_ASPECTS)[number];
export const WIDE_ASPECT_SHARE = 0.4;

/** Every option family the generator covers (the unit test checks each appears across seeds). */
export const OPTION_FAMILIES = [
  'machine:pc',
  'machine:q35',
  'machine:versioned-i440fx',
  'machine:versioned-q35',
  'machine-prop',
  'mem:threshold',
  'mem:round',
  'mem:random',
  'mem:default',
  'hotplug',
  'mrb',
  'smp',
  'smp:large',
  'cpu:model',
  'cpu:phys-bits',
  'cpu:vendor',
  'numa',
  'memory-backend',
  'nodefaults',
  'bios',
  'drive',
  'device',
  'nic',
  'vga',
  'usb',
  'ignored-option',
  'append:mem',
  'append:memmap',
  'append:exactmap',
  'invalid',
  'wide:machine',
  'wide:cpu',
  'wide:device',
  'wide:ram',
  'wide:smp',
  'firmware:e801',
  'firmware:88h',
] as const;

/**
 * Share of the eligible cells that boot a SeaBIOS build whose INT 15h E820 fails (the kernel then
 * sizes memory with E801) or whose E820 and E801 fail (88h): guests/firmware-patches/, declared to
 * the model as `int15: { fails: … }` (issue 18). Drawn from a stream of its own, so a (seed, index)
 * keeps every other draw it had. Eligible: a cell meant to boot, on `pc`/`q35` without -bios (the
 * patched image replaces bios-256k.bin only), not a wide draw, on a SeaBIOS release whose Debian
 * source builds here (1.14.0's is gone from the archive this machine uses: examples/reserve-1m).
 */
export const FALLBACK_ROAD_SHARE = 0.08;
export const FALLBACK_ROAD_SEABIOS: readonly string[] = ['1.16.2', '1.16.3', '1.17.0'];
/** The road, and the INT 15h services its build makes fail. */
export const FALLBACK_ROADS = { e801: ['e820'], '88h': ['e820', 'e801'] } as const satisfies Record<string, readonly Int15Service[]>;
export type FallbackRoad = keyof typeof FALLBACK_ROADS;
/** Mixed into the seed for the road's own stream. */
const ROAD_STREAM = 0x18e801;

/**
 * qboot and microvm (issue 18): of the cells eligible for a fallback road that did not take one,
 * this share boots `-bios qboot.rom` (reference/qboot-stage.ts), and of the rest this share of the
 * plain ones (no devices, NUMA, hotplug, max-ram-below-4g, -nodefaults or machine options) becomes
 * `-M microvm,acpi=off` with some of the options that leave its map alone (rtc=off,
 * x-option-roms=off, pcie=on; reference/qemu/microvm.ts). A stream of their own, as for the roads.
 */
export const QBOOT_SHARE = 0.08;
export const MICROVM_SHARE = 0.08;
const FIRMWARE_ROAD_STREAM = 0x18900b;

export interface ExploreCell {
  /** Matrix cell id: `NNN-<machine>-<ram>[-tags]`, unique within a run, CELL_ID-safe. */
  id: string;
  /** QEMU argv without -append (exact words; written to YAML as a list). */
  qemu: string[];
  /** Kernel arguments, or null. */
  append: string | null;
  /** Boot deadline for slow cells (large -smp), seconds; null = harness default. */
  timeoutSeconds: number | null;
  /** Coverage tags, `family[:detail]`. */
  families: string[];
  /** The deliberate invalid perturbation applied, or null for a configuration meant to boot. */
  invalid: string | null;
  /** One line: what the cell is for. */
  note: string;
  /** The cell boots a SeaBIOS build whose INT 15h services fail (FALLBACK_ROADS); absent: Debian's image. */
  road?: FallbackRoad;
}

export interface GenerateOptions {
  seed: number;
  count: number;
  toolchain: Toolchain;
  /** First index (replaying part of a run); default 0. */
  start?: number;
  /** Draw FALLBACK_ROADS (default true); off when the run has its own --expect or SeaBIOS image. */
  fallbackRoads?: boolean;
}

/** The cells of a run: cell i depends only on (seed, i, toolchain), never on count. */
export function generateCells(opts: GenerateOptions): ExploreCell[] {
  const start = opts.start ?? 0;
  return Array.from({ length: opts.count }, (_, k) => generateCell(opts.seed, start + k, opts.toolchain, opts.fallbackRoads ?? true));
}

// ---- drafting --------------------------------------------------------------------------------

type Family = 'pc' | 'q35';

interface Draft {
  family: Family;
  machineName: string;
  /** Effective machine-type version (alias → the QEMU's newest). */
  mv: MachineVersion;
  machineOpt: '-M' | '-machine';
  machineProps: Array<[string, string]>;
  ram: bigint | null;
  ramSpelled: string | null;
  slots: number | null;
  maxmem: string | null;
  mrb: bigint | null;
  mrbSpelled: string | null;
  smp: string | null;
  cpus: number;
  cpu: string | null;
  cpuProps: string[];
  objects: string[];
  numa: string[];
  nodefaults: boolean;
  bios: string | null;
  extra: string[][];
  kernel: string[];
  timeout: number | null;
  tags: Set<string>;
  idTags: string[];
  invalid: string | null;
  diskCount: number;
  /** Device memory may push above-4G RAM to 1 TiB (AMD HT hole): do not aim edits at 4G+. */
  highUnknown: boolean;
}

const DISK = 'file=null-co://,format=raw';

/** QEMU size spelling: the largest exact binary suffix. */
export function qemuSize(bytes: bigint): string {
  if (bytes === 0n) return '0';
  for (const [suffix, unit] of [['T', 1n << 40n], ['G', GiB], ['M', MiB], ['K', KiB]] as const) {
    if (bytes % unit === 0n) return `${bytes / unit}${suffix}`;
  }
  return `${bytes}B`;
}

/** Kernel memparse spelling, in one of its accepted forms (suffix either case, hex, decimal). */
function kernelSize(r: Rng, bytes: bigint): string {
  const style = r.weighted([
    [6, 'suffix'],
    [2, 'hex'],
    [1, 'lower'],
    [1, 'decimal'],
  ] as const);
  if (style === 'hex') return `0x${bytes.toString(16)}`;
  if (style === 'decimal') return bytes.toString();
  const s = qemuSize(bytes).replace(/B$/, '');
  return style === 'lower' ? s.toLowerCase() : s;
}

function kernelAddr(r: Rng, addr: bigint): string {
  if (addr !== 0n && addr % MiB === 0n && r.chance(0.25)) return kernelSize(r, addr);
  return `0x${addr.toString(16)}`;
}

/** Where QEMU splits RAM (same rule as pc_init1/pc_q35_init; used only to aim memmap= edits). */
function lowHigh(d: Draft): { below: bigint; above: bigint } {
  const ram = d.ram ?? QEMU_LAYOUT.DEFAULT_RAM;
  let low: bigint;
  if (d.family === 'pc') {
    const M = d.mrb !== null && d.mrb !== 0n ? d.mrb : QEMU_LAYOUT.PC_DEFAULT_LOWMEM;
    low = M;
    const gig = !machineVersionAtMost(d.mv, MACHINE_COMPAT.gigabyteAlignOffUpTo);
    if (ram >= M && gig && low > QEMU_LAYOUT.PC_GIGABYTE_LOWMEM) low = QEMU_LAYOUT.PC_GIGABYTE_LOWMEM;
  } else {
    low = ram >= QEMU_LAYOUT.Q35_LOWMEM_THRESHOLD ? QEMU_LAYOUT.Q35_SPLIT_LOWMEM : QEMU_LAYOUT.Q35_LOWMEM_THRESHOLD;
    const M = d.mrb !== null && d.mrb !== 0n ? d.mrb : FOUR_GIB;
    if (low > M) low = M;
  }
  return ram >= low ? { below: low, above: ram - low } : { below: ram, above: 0n };
}

// ---- machine ---------------------------------------------------------------------------------

function chooseMachine(r: Rng, t: Toolchain, d: Draft): void {
  const types = QEMU_PROFILES[t.qemu].machineTypes;
  const newest = parseMachineVersion(types.newest);
  const kind = r.weighted([
    [32, 'pc'],
    [30, 'q35'],
    [20, 'i440fx'],
    [15, 'q35v'],
    [types.legacyPc.length > 0 ? 3 : 0, 'legacy'],
  ] as const);
  d.machineOpt = r.chance(0.15) ? '-machine' : '-M';
  if (kind === 'pc' || kind === 'q35') {
    d.family = kind;
    d.machineName = kind;
    d.mv = newest;
    d.tags.add(`machine:${kind}`);
  } else if (kind === 'i440fx' || kind === 'legacy') {
    const v = kind === 'legacy' ? r.pick(types.legacyPc) : r.pick(types.i440fx);
    d.family = 'pc';
    d.machineName = kind === 'legacy' ? `pc-${v}` : `pc-i440fx-${v}`;
    d.mv = parseMachineVersion(v);
    d.tags.add(kind === 'legacy' ? 'machine:legacy-pc' : 'machine:versioned-i440fx');
  } else {
    const v = r.pick(types.q35);
    d.family = 'q35';
    d.machineName = `pc-q35-${v}`;
    d.mv = parseMachineVersion(v);
    d.tags.add('machine:versioned-q35');
  }
  if (r.chance(0.1)) {
    // usb=on, acpi=off and sata=off change what SeaBIOS allocates; the model refuses them as not
    // modelled (docs/model/explore-findings.md#m14), so they are left out. These four do not move the map.
    const choices: Array<readonly [number, [string, string]]> = [
      [3, ['hpet', 'off']],
      [2, ['smm', 'off']],
      [2, ['vmport', 'off']],
      [2, ['graphics', 'off']],
      [3, ['smbios-entry-point-type', r.pick(['32', '64'])]],
    ];
    const p = r.weighted(choices);
    d.machineProps.push(p);
    d.tags.add(`machine-prop:${p[0]}`);
    d.tags.add('machine-prop');
    d.idTags.push(`${p[0]}=${p[1]}`);
  }
}

// ---- memory ----------------------------------------------------------------------------------

const DELTAS: ReadonlyArray<readonly [number, bigint]> = [
  [4, 0n],
  [2, -4n * KiB],
  [2, 4n * KiB],
  [1, -8n * KiB],
  [1, 8n * KiB],
  [2, -MiB],
  [2, MiB],
  [1, -64n * MiB],
  [1, 64n * MiB],
];

function thresholds(d: Draft): bigint[] {
  const base = d.family === 'pc' ? [QEMU_LAYOUT.PC_DEFAULT_LOWMEM, QEMU_LAYOUT.PC_GIGABYTE_LOWMEM, FOUR_GIB] : [QEMU_LAYOUT.Q35_LOWMEM_THRESHOLD, QEMU_LAYOUT.Q35_SPLIT_LOWMEM, FOUR_GIB];
  return [...base, 2n * GiB, GiB];
}

function chooseRam(r: Rng, d: Draft): void {
  const how = r.weighted([
    [30, 'threshold'],
    [25, 'round'],
    [25, 'random-mib'],
    [10, 'random-page'],
    [5, 'default'],
    [3, 'small'],
    [2, 'large'],
  ] as const);
  let ram: bigint;
  switch (how) {
    case 'threshold':
      ram = r.pick(thresholds(d)) + r.weighted(DELTAS);
      break;
    case 'round':
      ram = r.pick([128n * MiB, 256n * MiB, 512n * MiB, GiB, 1536n * MiB, 2n * GiB, 3n * GiB, 4n * GiB, 5n * GiB, 6n * GiB, 8n * GiB]);
      break;
    case 'random-mib':
      ram = r.bigStep(128n * MiB, 8n * GiB, MiB);
      break;
    case 'random-page':
      ram = r.bigStep(128n * MiB, 4n * GiB, 4n * KiB);
      break;
    case 'small':
      // The guest (cloud kernel + initramfs) needs ~80 MiB: -m 64M never reaches the kernel.
      ram = r.pick([80n * MiB, 96n * MiB, 100n * MiB, 112n * MiB]);
      break;
    case 'large':
      ram = r.pick([10n * GiB, 12n * GiB]);
      break;
    case 'default':
      d.ram = null;
      d.ramSpelled = null;
      d.tags.add('mem:default');
      return;
  }
  d.ram = ram;
  d.tags.add(how === 'threshold' ? 'mem:threshold' : how === 'round' ? 'mem:round' : 'mem:random');
  // A suffix-less -m is MiB (5.2: × MiB; 7.2+: "M" appended).
  d.ramSpelled = ram % MiB === 0n && r.chance(0.2) ? (ram / MiB).toString() : qemuSize(ram);
  if (d.ramSpelled !== qemuSize(ram)) d.tags.add('mem:bare-mib');
}

function chooseMrb(r: Rng, d: Draft): void {
  if (!r.chance(0.16)) return;
  const mrb = r.weighted([
    [3, GiB],
    [3, 2n * GiB],
    [2, 2560n * MiB],
    [2, 2816n * MiB],
    [3, 3n * GiB],
    [2, 3584n * MiB],
    [3, 3968n * MiB],
    [3, FOUR_GIB],
    [1, 512n * MiB],
    [1, 2049n * MiB],
    [1, 0n],
    [3, r.bigStep(GiB, FOUR_GIB, MiB)],
  ] as const);
  d.mrb = mrb;
  d.mrbSpelled = mrb === 0n ? '0' : qemuSize(mrb);
  d.tags.add('mrb');
  d.idTags.push(`mrb${d.mrbSpelled}`);
  // Aim the RAM size at the new split half the time.
  if (mrb !== 0n && r.chance(0.5)) {
    const ram = mrb + r.weighted(DELTAS) + (r.chance(0.5) ? r.pick([0n, GiB, 2n * GiB]) : 0n);
    if (ram >= 128n * MiB) {
      d.ram = ram;
      d.ramSpelled = qemuSize(ram);
      d.tags.add('mem:threshold');
    }
  }
}

function chooseHotplug(r: Rng, d: Draft): void {
  if (!r.chance(0.14)) return;
  // With a hotplug region the guest runs out of memory below 256 MiB ("System is deadlocked on
  // memory" with -M q35 -m 128M,slots=2,maxmem=3200M on QEMU 7.2 + Linux 6.1).
  if ((d.ram ?? QEMU_LAYOUT.DEFAULT_RAM) < 256n * MiB) {
    d.ram = 256n * MiB;
    d.ramSpelled = '256M';
  }
  const ram = d.ram ?? QEMU_LAYOUT.DEFAULT_RAM;
  d.slots = r.weighted([
    [4, 1],
    [4, 2],
    [3, 4],
    [2, 8],
    [1, 0],
    [1, 32],
    [1, 256],
  ] as const);
  const extra = r.weighted([
    [6, BigInt(r.int(1, 8)) * GiB],
    [2, BigInt(r.int(1, 64)) * 128n * MiB],
    [1, 64n * GiB],
    // Device memory past 0xfd00000000: the AMD HT hole relocates above-4G RAM to 1 TiB (7.1+),
    // or phys-bits is too small (refusal).
    [1, 1000n * GiB],
  ] as const);
  d.maxmem = qemuSize(ram + extra);
  d.highUnknown = extra >= 512n * GiB;
  d.tags.add('hotplug');
}

// ---- CPUs ------------------------------------------------------------------------------------

function chooseSmp(r: Rng, d: Draft): void {
  const kind = r.weighted([
    [50, 'none'],
    [22, 'small'],
    [12, 'medium'],
    [6, 'maxcpus'],
    [3, 'dies'],
    [4, 'large'],
  ] as const);
  if (kind === 'none') return;
  d.tags.add('smp');
  if (kind === 'small') {
    const n = r.int(1, 4);
    d.smp = r.pick([`${n}`, `${n},sockets=${n}`, `cpus=${n}`, n === 4 ? 'sockets=1,cores=2,threads=2' : `${n},cores=${n}`]);
    d.cpus = n;
  } else if (kind === 'medium') {
    const n = r.int(5, 8);
    d.smp = r.pick([`${n}`, `${n},sockets=${n}`, `${n},sockets=${n},cores=1`]);
    d.cpus = n;
  } else if (kind === 'maxcpus') {
    // One CPU realised, many possible: the ACPI and SMBIOS tables grow with maxcpus/sockets.
    const max = r.pick([2, 4, 8, 16, 32]);
    d.smp = r.pick([`1,maxcpus=${max}`, `1,maxcpus=${max},sockets=${max}`, `2,maxcpus=${max}`]);
    d.cpus = d.smp.startsWith('2') ? 2 : 1;
    d.tags.add('smp:maxcpus');
  } else if (kind === 'dies') {
    d.smp = r.pick(['4,sockets=1,dies=2,cores=2', '8,sockets=2,dies=2,cores=2', '2,dies=2']);
    d.cpus = Number(d.smp.split(',')[0]);
    d.tags.add('smp:dies');
  } else {
    // Up to 24: under TCG on a shared 2-core host -smp 64 did not reach init within 180 s and
    // -smp 32 with Linux 5.10 not within 150 s (CPU bring-up); baseline.yaml keeps 32/64-CPU cells.
    const n = r.pick([12, 16, 24]);
    d.smp = r.pick([`${n}`, `${n},sockets=2,cores=${n / 2}`, `${n},sockets=${n / 4},cores=4`]);
    d.cpus = n;
    d.tags.add('smp:large');
    // Under TCG each secondary CPU otherwise spends ~1 s calibrating its delay loop (baseline.yaml).
    d.kernel.push('lpj=4000000');
    d.tags.add('append:lpj');
    d.timeout = n >= 24 ? 150 : 90;
  }
  d.idTags.push(`smp${d.smp.replace(/[^A-Za-z0-9.]+/g, '')}`);
}

/**
 * CPU models whose guest kernel hangs under TCG before init (Linux 6.1 on QEMU 7.2: the last
 * console line is the Speculative Store Bypass mitigation; `-M pc -m 1G -cpu Opteron_G4` never
 * reaches init, Opteron_G3 does). The machine cannot boot them; the model makes no claim about it.
 */
const GUEST_HANGS_UNDER_TCG = new Set(['Opteron_G4', 'Opteron_G5']);

/** Long-mode models from the model's CPU table (32-bit ones never start the x86-64 guest kernel). */
function cpuModels(): string[] {
  return Object.entries(CPU_MODELS)
    .filter(([name, f]) => f.longMode && name !== 'host' && !GUEST_HANGS_UNDER_TCG.has(name))
    .map(([name]) => name);
}

function chooseCpu(r: Rng, t: Toolchain, d: Draft): void {
  if (r.chance(0.45)) {
    d.cpu = r.weighted([
      [4, 'qemu64'],
      [2, 'max'],
      [1, 'kvm64'],
      [6, r.pick(cpuModels())],
    ] as const);
    d.tags.add('cpu:model');
  }
  if (r.chance(0.25)) {
    const fixed40 = QEMU_PROFILES[t.qemu].tcgPhysBits === 'fixed40';
    const bits = fixed40 && r.chance(0.85) ? 40 : r.weighted([
      [2, 36],
      [3, 39],
      [3, 40],
      [2, 41],
      [2, 42],
      [2, 46],
      [3, 48],
      [1, 52],
      [2, r.int(32, 52)],
    ] as const);
    d.cpuProps.push(`phys-bits=${bits}`);
    d.tags.add('cpu:phys-bits');
  }
  if (r.chance(0.08)) {
    d.cpuProps.push(`vendor=${r.pick(['GenuineIntel', 'AuthenticAMD'])}`);
    d.tags.add('cpu:vendor');
  }
  // `max` on machine types ≤ 2.7 (PC_COMPAT_2_7 full-cpuid-auto-level=off): the guest kernel never
  // starts (no console output, boot deadline), which the model does not claim yet.
  if (d.cpu === 'max' && machineVersionAtMost(d.mv, [2, 7])) d.cpu = 'qemu64';
  if (d.cpuProps.length > 0 && d.cpu === null) d.cpu = 'qemu64';
  if (d.cpu !== null) d.idTags.push([d.cpu, ...d.cpuProps.map((p) => p.replace(/^phys-bits=/, 'pb').replace(/^vendor=/, ''))].join('-'));
}

// ---- NUMA / memory backends ------------------------------------------------------------------

function chooseNuma(r: Rng, d: Draft): void {
  const roll = r.next();
  if (roll < 0.05 && d.slots === null) {
    // -machine memory-backend=: RAM from one -object (5.0+ property).
    const ram = d.ram ?? QEMU_LAYOUT.DEFAULT_RAM;
    d.objects.push(`memory-backend-ram,id=ram0,size=${qemuSize(ram)}`);
    d.machineProps.push(['memory-backend', 'ram0']);
    if (r.chance(0.3)) {
      d.ram = ram;
      d.ramSpelled = null; // -m omitted: the size comes from the backend
    }
    d.tags.add('memory-backend');
    d.idTags.push('membackend');
    return;
  }
  if (roll >= 0.19) return;
  let ram = d.ram ?? QEMU_LAYOUT.DEFAULT_RAM;
  const unit = r.weighted([
    [4, 128n * MiB],
    [2, MiB],
    [1, 2n * MiB],
  ] as const);
  if (ram % unit !== 0n || ram < unit * 2n) {
    ram = ram < 256n * MiB ? 256n * MiB : ram - (ram % unit);
    d.ram = ram;
    d.ramSpelled = qemuSize(ram);
  }
  const units = Number(ram / unit);
  const n = Math.min(r.weighted([
    [1, 1],
    [6, 2],
    [3, 3],
    [2, 4],
  ] as const), units);
  // Random cut points in units.
  const cuts = new Set<number>();
  while (cuts.size < n - 1) cuts.add(r.int(1, units - 1));
  const points = [0, ...[...cuts].sort((a, b) => a - b), units];
  const sizes = points.slice(1).map((p, i) => BigInt(p - points[i]!) * unit);
  const legacyOk = machineVersionAtMost(d.mv, MACHINE_COMPAT.numaMemUpTo);
  const legacy = legacyOk && r.chance(0.4);
  const withCpus = d.cpus >= n && r.chance(0.5);
  let cpu = 0;
  sizes.forEach((size, i) => {
    const parts = ['node', ...(r.chance(0.8) ? [`nodeid=${i}`] : [])];
    if (withCpus) {
      const count = i === n - 1 ? d.cpus - cpu : Math.max(1, Math.floor(d.cpus / n));
      parts.push(`cpus=${count === 1 ? `${cpu}` : `${cpu}-${cpu + count - 1}`}`);
      cpu += count;
    }
    if (legacy) parts.push(`mem=${qemuSize(size)}`);
    else {
      d.objects.push(`memory-backend-ram,id=m${i},size=${qemuSize(size)}`);
      parts.push(`memdev=m${i}`);
    }
    d.numa.push(parts.join(','));
  });
  d.tags.add('numa');
  d.tags.add(legacy ? 'numa:legacy-mem' : 'numa:memdev');
  if (withCpus) d.tags.add('numa:cpus');

}

// ---- devices ---------------------------------------------------------------------------------

interface DeviceSpec {
  tag: string;
  family: 'drive' | 'device' | 'nic' | 'vga' | 'usb' | 'ignored-option';
  weight: number;
  only?: Family;
  build(n: number, r: Rng, t: Toolchain): string[];
}

/** qxl is not in the -device help of every release (reference/profiles/qemu-devices.ts). */
const hasQxl = (t: Toolchain): boolean => qemuStandaloneDevices(t.qemu, 'display').includes('qxl-vga');

const DEVICES: readonly DeviceSpec[] = [
  { tag: 'virtio-drive', family: 'drive', weight: 6, build: () => ['-drive', `${DISK},if=virtio`] },
  { tag: 'virtio-blk-pci', family: 'drive', weight: 4, build: (n) => ['-drive', `${DISK},if=none,id=d${n}`, '-device', `virtio-blk-pci,drive=d${n}`] },
  { tag: 'nvme', family: 'drive', weight: 4, build: (n) => ['-drive', `${DISK},if=none,id=d${n}`, '-device', `nvme,drive=d${n},serial=nvme${n}`] },
  {
    tag: 'virtio-scsi',
    family: 'drive',
    weight: 3,
    build: (n) => ['-device', `virtio-scsi-pci,id=scsi${n}`, '-drive', `${DISK},if=none,id=d${n}`, '-device', `scsi-hd,drive=d${n},bus=scsi${n}.0`],
  },
  { tag: 'ide-drive', family: 'drive', weight: 4, build: (_n, r) => ['-drive', `${DISK},if=ide${r.chance(0.3) ? ',media=cdrom' : ''}`] },
  { tag: 'ide-hd', family: 'drive', weight: 2, build: (n) => ['-drive', `${DISK},if=none,id=d${n}`, '-device', `ide-hd,drive=d${n}`] },
  { tag: 'nic-e1000', family: 'nic', weight: 3, build: (_n, r) => ['-nic', `user,model=${r.pick(['e1000', 'virtio-net-pci', 'rtl8139', 'e1000e'])}`] },
  { tag: 'netdev', family: 'nic', weight: 2, build: (n, r) => ['-netdev', `user,id=n${n}`, '-device', `${r.pick(['e1000', 'virtio-net-pci', 'rtl8139', 'e1000e'])},netdev=n${n}`] },
  { tag: 'nic-none', family: 'nic', weight: 1, build: () => ['-nic', 'none'] },
  { tag: 'vga-opt', family: 'vga', weight: 3, build: (_n, r, t) => ['-vga', r.pick(['std', 'cirrus', 'none', 'virtio', ...(hasQxl(t) ? ['qxl'] : [])])] },
  { tag: 'vga-device', family: 'vga', weight: 3, build: (_n, r, t) => ['-device', r.pick(['VGA', 'bochs-display', 'virtio-vga', ...(hasQxl(t) ? ['qxl-vga'] : []), 'cirrus-vga'])] },
  { tag: 'usb', family: 'usb', weight: 4, build: (_n, r) => ['-device', r.pick(['qemu-xhci', 'nec-usb-xhci', 'usb-ehci', 'ich9-usb-ehci1', 'piix3-usb-uhci', 'pci-ohci'])] },
  { tag: 'virtio-misc', family: 'device', weight: 3, build: (_n, r) => ['-device', r.pick(['virtio-rng-pci', 'virtio-balloon-pci', 'virtio-serial-pci'])] },
  { tag: 'pvpanic', family: 'device', weight: 1, build: () => ['-device', 'pvpanic'] },
  { tag: 'isa-serial', family: 'device', weight: 1, build: () => ['-device', 'isa-serial'] },
  { tag: 'pci-bridge', family: 'device', weight: 1, build: (n) => ['-device', `pci-bridge,chassis_nr=${n + 1},id=br${n}`] },
  { tag: 'pcie-root-port', family: 'device', weight: 1, only: 'q35', build: (n) => ['-device', `pcie-root-port,id=rp${n},chassis=${n + 1}`] },
  { tag: 'vmgenid', family: 'device', weight: 2, build: () => ['-device', 'vmgenid'] },
  {
    tag: 'ignored',
    family: 'ignored-option',
    weight: 3,
    build: (_n, r) =>
      r.pick([
        ['-name', 'explore'],
        ['-rtc', 'base=utc'],
        ['-uuid', '6f2c1b9e-51a4-4f0e-9b8a-2d1e0c3f4a5b'],
        ['-boot', r.pick(['order=cd', 'menu=on', 'strict=on'])],
        ['-no-user-config'],
        ['-snapshot'],
      ]),
  },
];

function chooseDevices(r: Rng, t: Toolchain, d: Draft): void {
  if (!r.chance(0.3)) return;
  const n = r.weighted([
    [5, 1],
    [3, 2],
    [1, 3],
  ] as const);
  const usedOnce = new Set<string>();
  // A USB controller next to a disk SeaBIOS drives (q35's default CD-ROM sits on AHCI) leaves a
  // reserved block that depends on allocation timing (docs/model/explore-findings.md#m8); the model refuses the pair as
  // not modelled, so the generator keeps them apart.
  let disk = d.family === 'q35' && !d.nodefaults;
  let usb = false;
  for (let i = 0; i < n; i++) {
    const pool = DEVICES.filter(
      (s) => (s.only === undefined || s.only === d.family) && !usedOnce.has(s.tag) && !(s.family === 'usb' && disk) && !(s.family === 'drive' && usb),
    );
    const spec = r.weighted(pool.map((s) => [s.weight, s] as const));
    // One -vga, one ignored option of a kind, at most one VGA-ish device per cell.
    if (spec.family === 'vga' || spec.family === 'ignored-option' || spec.tag === 'vmgenid' || spec.tag === 'nic-none') usedOnce.add(spec.tag);
    if (spec.family === 'vga') {
      usedOnce.add('vga-opt');
      usedOnce.add('vga-device');
    }
    if (spec.family === 'drive') disk = true;
    if (spec.family === 'usb') usb = true;
    const words = spec.build(d.diskCount++, r, t);
    d.extra.push(words);
    d.tags.add(spec.family);
    d.tags.add(`${spec.family}:${spec.tag}`);
    d.idTags.push(spec.tag);
  }
}

// ---- kernel command line ---------------------------------------------------------------------

/**
 * Where edits stay clear of the guest kernel's image: when KASLR finds no slot (small RAM) the
 * kernel stays at its 16 MiB load address, up to ~60 MiB (Linux 6.12), and an edit covering it
 * makes the kernel repair the map (".text .data .bss are not marked as E820_TYPE_RAM!") — a
 * placement the model does not claim (docs/model/explore-findings.md#m11). With enough RAM KASLR avoids memmap= ranges.
 */
const EDIT_FLOOR = 96n * MiB;

/** A range [start, start+size) inside usable low RAM, away from the first MiB and the kernel. */
function lowRange(r: Rng, below: bigint, size: bigint, where: 'any' | 'top' | 'low1m'): bigint | null {
  if (where === 'low1m') return r.pick([0x9f000n, 0x80000n, 0x10000n]);
  const lo = EDIT_FLOOR;
  const hi = below - size - (where === 'top' ? 0n : 64n * MiB);
  if (hi <= lo) return null;
  if (where === 'top') return r.bigStep(below - 16n * MiB - size > lo ? below - 16n * MiB - size : lo, hi, 4n * KiB);
  const step = r.weighted([
    [4, MiB],
    [2, 4n * KiB],
    [1, 64n * MiB],
  ] as const);
  return r.bigStep(lo, hi, step);
}

function memmapPiece(r: Rng, d: Draft, below: bigint, above: bigint): string | null {
  const op = r.weighted([
    [5, '$'],
    [3, '#'],
    [2, '!'],
    [3, '@'],
    [2, '%upd'],
    [2, '%add'],
    [2, '%rm'],
    [1, 'size-only'],
  ] as const);
  const size = r.weighted([
    [3, 4n * KiB],
    [2, 64n * KiB],
    [4, MiB],
    [3, 4n * MiB],
    [2, 16n * MiB],
    [1, 64n * MiB],
    [1, r.bigStep(4n * KiB, 32n * MiB, 4n * KiB)],
  ] as const);
  if (op === 'size-only') {
    if (below < 512n * MiB) return null;
    d.tags.add('append:memmap-size');
    return kernelSize(r, r.bigStep(384n * MiB, below, MiB));
  }
  const high = above > 0n && r.chance(0.2);
  const where = high ? 'any' : r.weighted([
    [8, 'any'],
    [1, 'top'],
    [op === '$' || op === '#' ? 1 : 0, 'low1m'],
  ] as const);
  let at: bigint | null;
  if (high) {
    at = above > size ? FOUR_GIB + r.bigStep(0n, above - size, MiB) : null;
  } else at = lowRange(r, below, size, where);
  if (at === null) return null;
  if (where === 'low1m' && size > 64n * KiB) return null;
  d.tags.add(`append:memmap-${op.replace('%', 'pct-')}`);
  if (high) d.tags.add('append:memmap-high');
  if (where === 'top') d.tags.add('append:memmap-top');
  const s = kernelSize(r, size);
  const a = kernelAddr(r, at);
  switch (op) {
    case '$':
    case '#':
    case '!':
    case '@':
      return `${s}${op}${a}`;
    case '%upd':
      return `${s}%${a}-${r.pick(['1+3', '1+2', '1+12', '1+4'])}`;
    case '%add':
      return `${s}%${a}+${r.pick(['3', '2', '0xefffffff', '7'])}`;
    case '%rm':
      return `${s}%${a}-1`;
  }
}

function chooseAppend(r: Rng, d: Draft): void {
  if (!r.chance(0.42)) return;
  const split = lowHigh(d);
  const below = split.below;
  const above = d.highUnknown ? 0n : split.above;
  const ram = below + above;
  const kind = r.weighted([
    [3, 'mem'],
    [6, 'memmap'],
    [2, 'exactmap'],
    [1, 'mem+memmap'],
  ] as const);
  const words: string[] = [];
  if ((kind === 'mem' || kind === 'mem+memmap') && ram >= 384n * MiB) {
    const v = r.weighted([
      [3, r.bigStep(256n * MiB, ram, MiB)],
      [1, r.bigStep(256n * MiB, ram, 4n * KiB) + BigInt(r.int(0, 1023))],
      [1, below],
      [1, ram + GiB],
      [above > 0n ? 2 : 0, FOUR_GIB + r.bigStep(0n, above, MiB)],
    ] as const);
    words.push(`mem=${kernelSize(r, v)}`);
    d.tags.add('append:mem');
  }
  if (kind === 'memmap' || kind === 'mem+memmap') {
    const pieces: string[] = [];
    const n = r.weighted([
      [5, 1],
      [3, 2],
      [1, 3],
    ] as const);
    for (let i = 0; i < n; i++) {
      const p = memmapPiece(r, d, below, above);
      if (p !== null) pieces.push(p);
    }
    if (pieces.length > 1 && r.chance(0.3)) {
      words.push(`memmap=${pieces.join(',')}`);
      d.tags.add('append:memmap-comma');
    } else words.push(...pieces.map((p) => `memmap=${p}`));
    if (pieces.length > 0) d.tags.add('append:memmap');
  }
  if (kind === 'exactmap' && below >= 256n * MiB) {
    // Rebuild a usable map no larger than what the firmware gives: 640K@0, low RAM up to at
    // least 1 MiB under the top of low RAM (the ACPI tables and ZoneHigh live there), optional
    // reserved piece and high RAM.
    const end = below - r.weighted([
      [3, MiB],
      [2, 16n * MiB],
      [2, r.bigStep(MiB, below / 2n, MiB)],
    ] as const);
    words.push('memmap=exactmap', `memmap=${r.pick(['640K', '0x9fc00', '0xa0000'])}@0`, `memmap=${kernelSize(r, end - MiB)}@${r.pick(['1M', '0x100000'])}`);
    if (end < below - MiB && r.chance(0.4)) words.push(`memmap=${kernelSize(r, MiB)}$${kernelAddr(r, r.bigStep(end, below - MiB, MiB))}`);
    if (above > 0n && r.chance(0.6)) words.push(`memmap=${kernelSize(r, above)}@${kernelAddr(r, FOUR_GIB)}`);
    d.tags.add('append:exactmap');
  }
  if (words.length > 0) {
    d.kernel.push(...words);
    d.idTags.push(kind);
  }
}

// ---- the whole option space (WIDE_DRAW_SHARE) -------------------------------------------------

/** Every machine type `-M help` lists for pc/q35 on this release, and isapc/microvm. */
export function allMachineTypes(t: Toolchain): string[] {
  const m = QEMU_PROFILES[t.qemu].machineTypes;
  return ['pc', 'q35', 'isapc', 'microvm', ...m.i440fx.map((v) => `pc-i440fx-${v}`), ...m.legacyPc.map((v) => `pc-${v}`), ...m.q35.map((v) => `pc-q35-${v}`)];
}

const DEVICE_KIND_WEIGHTS: ReadonlyArray<readonly [number, QemuDeviceKind]> = [
  [4, 'storage'],
  [3, 'usb-host'],
  [2, 'usb-device'],
  [4, 'nic'],
  [3, 'display'],
  [2, 'sound'],
  [3, 'serial-input'],
  [4, 'misc'],
];

function chooseWide(r: Rng, t: Toolchain, d: Draft): void {
  const aspects = WIDE_ASPECTS.filter(() => r.chance(WIDE_ASPECT_SHARE));
  if (aspects.length === 0) aspects.push(r.pick(WIDE_ASPECTS));
  d.tags.add('wide');
  for (const a of aspects) {
    d.tags.add(`wide:${a}`);
    switch (a) {
      case 'machine': {
        // Uniform over the release's list: old versioned types and isapc/microvm as often as pc.
        const name = r.pick(allMachineTypes(t));
        d.machineName = name;
        d.family = name.includes('q35') ? 'q35' : 'pc';
        const v = /(\d+\.\d+)(?:\.\d+)?$/.exec(name);
        d.mv = v ? parseMachineVersion(v[1]!) : parseMachineVersion(QEMU_PROFILES[t.qemu].machineTypes.newest);
        d.idTags.push('wM');
        break;
      }
      case 'cpu': {
        // Any `-cpu help` name but `host` (TCG refuses it: the 'cpu-host-tcg' invalid covers that).
        const names = [...qemuCpuModelNames(t.qemu)].filter((n) => n !== 'host').sort();
        d.cpu = r.pick(names);
        d.idTags.push(`wC${d.cpu}`);
        break;
      }
      case 'device': {
        const n = r.weighted([
          [3, 1],
          [2, 2],
          [1, 3],
        ] as const);
        for (let i = 0; i < n; i++) {
          const kind = r.weighted(DEVICE_KIND_WEIGHTS);
          const name = r.pick(qemuStandaloneDevices(t.qemu, kind));
          // A USB device needs a bus: put a host controller of the release in front of it.
          if (kind === 'usb-device') d.extra.push(['-device', r.pick(qemuStandaloneDevices(t.qemu, 'usb-host'))]);
          d.extra.push(['-device', name]);
          d.tags.add(`wide:device:${kind}`);
          d.idTags.push(`wD${name}`);
        }
        break;
      }
      case 'ram': {
        // -m from QEMU's accepted range at its granularity (sizes round up to 8 KiB), not aimed at
        // a threshold; at least the ~80 MiB the guest needs, at most 16 GiB (host memory).
        const ram = r.weighted([
          [3, r.bigStep(80n * MiB, 16n * GiB, MiB)],
          [2, r.bigStep(80n * MiB, 6n * GiB, 8n * KiB)],
          [1, r.bigStep(80n * MiB, 4n * GiB, KiB)],
        ] as const);
        // NUMA nodes and backends were sized for the old RAM: dropped (resetRam); maxmem follows.
        resetRam(d, ram);
        if (d.maxmem !== null) d.maxmem = qemuSize(ram + 4n * GiB);
        d.idTags.push('wR');
        break;
      }
      case 'smp': {
        // 1..32 CPUs in a topology QEMU accepts (sockets × cores × threads = maxcpus); lpj= and a
        // longer deadline past 8, as for smp:large.
        const threads = r.pick([1, 1, 2]);
        const cores = r.pick([1, 2, 3, 4]);
        const sockets = r.pick([1, 2, 3, 4]);
        const max = threads * cores * sockets;
        const cpus = r.int(1, max);
        d.smp = r.pick([`${cpus},sockets=${sockets},cores=${cores},threads=${threads},maxcpus=${max}`, `${max},sockets=${sockets},cores=${cores},threads=${threads}`, `${cpus}`]);
        d.cpus = Number(d.smp.split(',')[0]);
        d.numa = d.numa.map((x) => x.replace(/,cpus=[0-9-]+/, ''));
        if (d.cpus > 8) {
          if (!d.kernel.includes('lpj=4000000')) d.kernel.push('lpj=4000000');
          d.timeout = 120;
        }
        d.idTags.push(`wS${d.smp.replace(/[^0-9]+/g, '.')}`);
        break;
      }
    }
  }
}

// ---- deliberate invalids ---------------------------------------------------------------------

const INVALIDS = [
  'numa-sum',
  'maxmem-below-size',
  'slots-no-maxmem',
  'slots-maxmem-equal',
  'slots-over-256',
  'maxmem-unaligned',
  'phys-bits-too-low',
  'phys-bits-out-of-range',
  'mrb-over-4g',
  'machine-unknown-version',
  'smp-product',
  'smp-maxcpus-below-cpus',
  'cpu-host-tcg',
  'numa-legacy-mem',
  'memory-backend-size',
  'm-bad-size',
] as const;
export type InvalidKind = (typeof INVALIDS)[number];
export const INVALID_KINDS: readonly InvalidKind[] = INVALIDS;

/** Sets the RAM size and drops what was sized for the old one (NUMA nodes, backends). */
function resetRam(d: Draft, ram: bigint): void {
  d.ram = ram;
  d.ramSpelled = qemuSize(ram);
  d.numa = [];
  d.objects = [];
  d.machineProps = d.machineProps.filter(([k]) => k !== 'memory-backend');
}

function applyInvalid(r: Rng, t: Toolchain, d: Draft): void {
  const kind = r.pick(INVALIDS);
  const ram = d.ram ?? QEMU_LAYOUT.DEFAULT_RAM;
  d.invalid = kind;
  d.tags.add('invalid');
  d.tags.add(`invalid:${kind}`);
  d.idTags.push(`inv-${kind}`);
  const types = QEMU_PROFILES[t.qemu].machineTypes;
  const dropNumaCpus = (): void => {
    d.numa = d.numa.map((n) => n.replace(/,cpus=[0-9-]+/, ''));
  };
  switch (kind) {
    case 'numa-sum':
      resetRam(d, ram);
      d.objects = [`memory-backend-ram,id=m0,size=${qemuSize(ram)}`, 'memory-backend-ram,id=m1,size=128M'];
      d.numa = ['node,nodeid=0,memdev=m0', 'node,nodeid=1,memdev=m1'];
      break;
    case 'maxmem-below-size':
      if (ram < GiB) resetRam(d, GiB);
      d.ramSpelled ??= qemuSize(ram);
      d.slots = r.pick([null, 2]);
      d.maxmem = qemuSize((d.ram ?? ram) - 512n * MiB);
      break;
    case 'slots-no-maxmem':
      d.slots = r.int(1, 4);
      d.maxmem = null;
      break;
    case 'slots-maxmem-equal':
      d.ramSpelled ??= qemuSize(ram);
      d.slots = r.int(1, 4);
      d.maxmem = qemuSize(ram);
      break;
    case 'slots-over-256':
      d.slots = r.pick([257, 300, 512]);
      d.maxmem = qemuSize(ram + 4n * GiB);
      break;
    case 'maxmem-unaligned':
      d.slots = 1;
      d.maxmem = `${ram + GiB + 512n}`;
      break;
    case 'phys-bits-too-low':
      d.cpu ??= 'qemu64';
      d.cpuProps = d.cpuProps.filter((p) => !p.startsWith('phys-bits='));
      d.cpuProps.push(`phys-bits=${r.pick([32, 33, 34])}`);
      if (ram <= 3n * GiB) resetRam(d, 6n * GiB);
      break;
    case 'phys-bits-out-of-range':
      d.cpu ??= 'qemu64';
      d.cpuProps = d.cpuProps.filter((p) => !p.startsWith('phys-bits='));
      // 11.1 dropped the upper bound (x86_cpu_realizefn): there only values below 32 are invalid.
      d.cpuProps.push(`phys-bits=${r.pick(QEMU_PROFILES[t.qemu].physBitsRange.max === null ? [31, 20, 8, 1] : [31, 53, 64, 20])}`);
      break;
    case 'mrb-over-4g':
      d.mrb = null;
      d.mrbSpelled = r.pick(['5G', '4097M', '8G']);
      break;
    case 'machine-unknown-version': {
      const newest = parseMachineVersion(types.newest);
      const candidates = [`pc-i440fx-${newest[0]}.${newest[1] + 1}`, `pc-q35-${newest[0] + 1}.0`, 'pc-q35-2.3', 'pc-i440fx-1.3'];
      d.machineName = r.pick(candidates.filter((c) => !(c === 'pc-i440fx-1.3' && types.i440fx.includes('1.3'))));
      d.family = d.machineName.startsWith('pc-q35') ? 'q35' : 'pc';
      break;
    }
    case 'smp-product':
      d.smp = r.pick(['8,sockets=2,cores=2,threads=1', '6,sockets=4,cores=2', '4,sockets=3,cores=1,threads=1']);
      dropNumaCpus();
      break;
    case 'smp-maxcpus-below-cpus':
      d.smp = r.pick(['4,maxcpus=2', '8,maxcpus=4']);
      dropNumaCpus();
      break;
    case 'cpu-host-tcg':
      d.cpu = 'host';
      d.cpuProps = [];
      break;
    case 'numa-legacy-mem': {
      // Refused on machine types newer than 5.0; on older ones the node size is off by 128M.
      const legacyOk = machineVersionAtMost(d.mv, MACHINE_COMPAT.numaMemUpTo);
      resetRam(d, ram);
      d.numa = [`node,nodeid=0,mem=${qemuSize(legacyOk ? ram + 128n * MiB : ram)}`];
      break;
    }
    case 'memory-backend-size':
      resetRam(d, ram);
      d.objects = [`memory-backend-ram,id=ram0,size=${qemuSize(ram + 256n * MiB)}`];
      d.machineProps.push(['memory-backend', 'ram0']);
      d.slots = null;
      d.maxmem = null;
      break;
    case 'm-bad-size':
      d.ramSpelled = r.pick(['1Q', '-1G', 'lots', '1G2']);
      d.slots = null;
      d.maxmem = null;
      d.numa = [];
      d.objects = [];
      d.machineProps = d.machineProps.filter(([k]) => k !== 'memory-backend');
      break;
  }
}

// ---- the cell --------------------------------------------------------------------------------

/** Nothing microvm does not have or the model refuses there: devices, NUMA, hotplug, max-ram-below-4g, -nodefaults, machine options. */
function isPlainDraft(d: Draft): boolean {
  return d.extra.length === 0 && d.numa.length === 0 && d.objects.length === 0 && d.slots === null && d.maxmem === null && d.mrb === null && !d.nodefaults && d.machineProps.length === 0;
}

function toArgv(d: Draft): string[] {
  const argv: string[] = [];
  const mprops: string[] = [];
  if (d.mrbSpelled !== null) mprops.push(`max-ram-below-4g=${d.mrbSpelled}`);
  for (const [k, v] of d.machineProps) mprops.push(`${k}=${v}`);
  argv.push(d.machineOpt, [d.machineName, ...mprops].join(','));
  const mem: string[] = [];
  if (d.ramSpelled !== null) mem.push(d.ramSpelled);
  if (d.slots !== null) mem.push(`slots=${d.slots}`);
  if (d.maxmem !== null) mem.push(`maxmem=${d.maxmem}`);
  if (mem.length > 0) argv.push('-m', mem.join(','));
  if (d.smp !== null) argv.push('-smp', d.smp);
  if (d.cpu !== null) argv.push('-cpu', [d.cpu, ...d.cpuProps].join(','));
  for (const o of d.objects) argv.push('-object', o);
  for (const n of d.numa) argv.push('-numa', n);
  if (d.nodefaults) argv.push('-nodefaults');
  if (d.bios !== null) argv.push('-bios', d.bios);
  for (const e of d.extra) argv.push(...e);
  return argv;
}

/** Cell ids: the CELL_ID alphabet of harness/matrix/schema.ts, at most 80 characters. */
function cellId(index: number, d: Draft): string {
  const ramTag = d.ramSpelled === null && d.ram === null ? 'mdefault' : `m${d.ramSpelled ?? qemuSize(d.ram ?? 0n)}`;
  const mem = [
    ...(d.slots !== null ? [`slots${d.slots}`] : []),
    ...(d.maxmem !== null ? [`max${d.maxmem}`] : []),
    ...(d.numa.length > 0 ? [`numa${d.numa.length}`] : []),
  ];
  const tags = [d.machineName, ramTag, ...mem, ...d.idTags];
  const clean = tags.map((t) => t.replace(/[^A-Za-z0-9._+-]+/g, '_')).join('-');
  return `${String(index).padStart(3, '0')}-${clean}`.slice(0, 80).replace(/[-_.]+$/, '');
}

/** One cell of run `seed` on `toolchain`. */
export function generateCell(seed: number, index: number, toolchain: Toolchain, fallbackRoads = true): ExploreCell {
  const r = rngFor(seed, index);
  const d: Draft = {
    family: 'pc',
    machineName: 'pc',
    mv: [0, 0],
    machineOpt: '-M',
    machineProps: [],
    ram: null,
    ramSpelled: null,
    slots: null,
    maxmem: null,
    mrb: null,
    mrbSpelled: null,
    smp: null,
    cpus: 1,
    cpu: null,
    cpuProps: [],
    objects: [],
    numa: [],
    nodefaults: false,
    bios: null,
    extra: [],
    kernel: [],
    timeout: null,
    tags: new Set(),
    idTags: [],
    invalid: null,
    diskCount: 0,
    highUnknown: false,
  };
  const wide = r.chance(WIDE_DRAW_SHARE);
  chooseMachine(r, toolchain, d);
  chooseRam(r, d);
  chooseMrb(r, d);
  chooseHotplug(r, d);
  chooseSmp(r, d);
  chooseCpu(r, toolchain, d);
  chooseNuma(r, d);
  if (r.chance(0.12)) {
    d.nodefaults = true;
    d.tags.add('nodefaults');
    d.idTags.push('nodefaults');
  }
  if (r.chance(0.14)) {
    d.bios = r.pick(['bios.bin', 'bios-256k.bin']);
    d.tags.add('bios');
    d.tags.add(`bios:${d.bios}`);
    d.idTags.push(d.bios === 'bios.bin' ? 'bios128k' : 'bios256k');
  }
  chooseDevices(r, toolchain, d);
  if (wide) chooseWide(r, toolchain, d);
  chooseAppend(r, d);
  if (r.chance(0.1)) applyInvalid(r, toolchain, d);
  let road: FallbackRoad | undefined;
  if (fallbackRoads && d.invalid === null && d.bios === null && !d.tags.has('wide') && (d.machineName === 'pc' || d.machineName === 'q35') && FALLBACK_ROAD_SEABIOS.includes(toolchain.seabios)) {
    const rr = rngFor(seed ^ ROAD_STREAM, index);
    if (rr.chance(FALLBACK_ROAD_SHARE)) {
      road = rr.pick(['e801', '88h'] as const);
      d.tags.add(`firmware:${road}`);
      d.idTags.push(road);
    }
  }

  if (fallbackRoads && road === undefined && d.invalid === null && d.bios === null && !d.tags.has('wide') && (d.machineName === 'pc' || d.machineName === 'q35')) {
    const fr = rngFor(seed ^ FIRMWARE_ROAD_STREAM, index);
    if (fr.chance(QBOOT_SHARE)) {
      d.bios = 'qboot.rom';
      d.tags.add('firmware:qboot');
      d.idTags.push('qboot');
    } else if (fr.chance(MICROVM_SHARE) && isPlainDraft(d)) {
      d.machineName = 'microvm';
      d.machineProps = [['acpi', 'off']];
      if (fr.chance(0.3)) d.machineProps.push(['rtc', 'off']);
      if (fr.chance(0.3)) d.machineProps.push(['x-option-roms', 'off']);
      if (fr.chance(0.2)) d.machineProps.push(['pcie', 'on']);
      d.tags.add('machine:microvm');
      d.idTags.push(...d.machineProps.slice(1).map(([k, v]) => `${k}${v}`));
    }
  }

  const families = [...d.tags].sort();
  const note = [
    d.invalid !== null ? `deliberately out of range (${d.invalid}): QEMU should refuse it, or the model says what happens` : 'meant to boot',
    ...(d.tags.has('wide') ? ['drawn from the whole option space (the model may not model it)'] : []),
    ...(road !== undefined ? [`SeaBIOS built so that INT 15h ${FALLBACK_ROADS[road].map((s) => s.toUpperCase()).join(' and ')} fail${FALLBACK_ROADS[road].length === 1 ? 's' : ''}: the kernel's ${road === 'e801' ? 'E801' : '88h'} road`] : []),
    `families: ${families.join(' ')}`,
  ].join('; ');
  return {
    id: cellId(index, d),
    qemu: toArgv(d),
    append: d.kernel.length > 0 ? d.kernel.join(' ') : null,
    timeoutSeconds: d.timeout,
    families,
    invalid: d.invalid,
    note,
    ...(road !== undefined ? { road } : {}),
  };
}
