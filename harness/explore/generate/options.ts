// The explore generator (harness/explore/generate.ts), its options: one section of the
// pure (seed, index, toolchain) → cell function, split by section (issue 12).

import type { Toolchain } from '../../../reference/toolchain.ts';
import type { Int15Service } from '../../../reference/intent.ts';

/**
 * Bump when the generator changes what a (seed, index) produces: replays name the version.
 * 13: the modelled CPU draws take every long-mode model of the model's CPU table, which grew by
 * Icelake-Client, KnightsMill, SierraForest, ClearwaterForest, GraniteRapids, DiamondRapids,
 * EPYC-Turin and YongFeng (the split into harness/explore/generate/ itself changed no cell).
 * 14: memmap= edits are aimed at the RAM split of -m aligned up to 8 KiB, as QEMU splits it
 * (generate/draft.ts lowHigh).
 */
export const GENERATOR_VERSION = 14;

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
export const ROAD_STREAM = 0x18e801;

/**
 * qboot and microvm (issue 18): of the cells eligible for a fallback road that did not take one,
 * this share boots `-bios qboot.rom` (reference/qboot-stage.ts), and of the rest this share of the
 * plain ones (no devices, NUMA, hotplug, max-ram-below-4g, -nodefaults or machine options) becomes
 * `-M microvm,acpi=off` with some of the options that leave its map alone (rtc=off,
 * x-option-roms=off, pcie=on; reference/qemu/microvm.ts). A stream of their own, as for the roads.
 */
export const QBOOT_SHARE = 0.08;
export const MICROVM_SHARE = 0.08;
export const FIRMWARE_ROAD_STREAM = 0x18900b;

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
