// The explore generator (harness/explore/generate.ts), memory: one section of the
// pure (seed, index, toolchain) → cell function, split by section (issue 12).

import { GiB, KiB, MiB, FOUR_GIB } from '../../../reference/address.ts';
import { QEMU_LAYOUT } from '../../../reference/profiles/qemu.ts';
import type { Rng } from '../prng.ts';
import { type Draft, qemuSize } from './draft.ts';

export const DELTAS: ReadonlyArray<readonly [number, bigint]> = [
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

export function thresholds(d: Draft): bigint[] {
  const base = d.family === 'pc' ? [QEMU_LAYOUT.PC_DEFAULT_LOWMEM, QEMU_LAYOUT.PC_GIGABYTE_LOWMEM, FOUR_GIB] : [QEMU_LAYOUT.Q35_LOWMEM_THRESHOLD, QEMU_LAYOUT.Q35_SPLIT_LOWMEM, FOUR_GIB];
  return [...base, 2n * GiB, GiB];
}

export function chooseRam(r: Rng, d: Draft): void {
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

export function chooseMrb(r: Rng, d: Draft): void {
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

export function chooseHotplug(r: Rng, d: Draft): void {
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
