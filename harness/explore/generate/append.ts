// The explore generator (harness/explore/generate.ts), kernel command line: one section of the
// pure (seed, index, toolchain) → cell function, split by section (issue 12).

import { GiB, KiB, MiB, FOUR_GIB } from '../../../reference/address.ts';
import type { Rng } from '../prng.ts';
import { type Draft, kernelSize, kernelAddr, lowHigh } from './draft.ts';

/**
 * Where edits stay clear of the guest kernel's image: when KASLR finds no slot (small RAM) the
 * kernel stays at its 16 MiB load address, up to ~60 MiB (Linux 6.12), and an edit covering it
 * makes the kernel repair the map (".text .data .bss are not marked as E820_TYPE_RAM!") — a
 * placement the model does not claim (docs/model/explore-findings.md#m11). With enough RAM KASLR avoids memmap= ranges.
 */
export const EDIT_FLOOR = 96n * MiB;

/** A range [start, start+size) inside usable low RAM, away from the first MiB and the kernel. */
export function lowRange(r: Rng, below: bigint, size: bigint, where: 'any' | 'top' | 'low1m'): bigint | null {
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

export function memmapPiece(r: Rng, d: Draft, below: bigint, above: bigint): string | null {
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

export function chooseAppend(r: Rng, d: Draft): void {
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
