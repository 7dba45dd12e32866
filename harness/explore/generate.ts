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

// The sections live in harness/explore/generate/ (one file per section); this module is the
// generator's entry point and its public names.

import { generateCell } from './generate/cell.ts';
import type { GenerateOptions, ExploreCell } from './generate/options.ts';

export * from './generate/options.ts';
export { qemuSize } from './generate/draft.ts';
export { allMachineTypes } from './generate/wide.ts';
export { INVALID_KINDS } from './generate/invalids.ts';
export { generateCell } from './generate/cell.ts';

/** The cells of a run: cell i depends only on (seed, i, toolchain), never on count. */
export function generateCells(opts: GenerateOptions): ExploreCell[] {
  const start = opts.start ?? 0;
  return Array.from({ length: opts.count }, (_, k) => generateCell(opts.seed, start + k, opts.toolchain, opts.fallbackRoads ?? true));
}
