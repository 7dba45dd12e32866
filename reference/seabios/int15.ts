// INT 15h / INT 12h services (src/system.c; identical in all four tags), and what they answer
// after POST.

import { MiB } from '../address.ts';
import type { E820Range } from '../e820.ts';
import type { Int15Service } from '../intent.ts';
import { SEABIOS_LAYOUT as L } from '../profiles/seabios.ts';
import type { FirmwareMap, Int15Answers } from '../stages.ts';

export type Int15E820Result =
  | { cf: 0; eax: number; ebx: number; ecx: number; entry: E820Range }
  | { cf: 1; ah: 0x86 };

/** handle_15e820: entry BX of the map; EBX+1 (32-bit) or 0 after the last; errors CF=1 AH=86h. */
export function int15E820(map: readonly E820Range[], ebx: number, ecx: number, edx: number): Int15E820Result {
  const bx = ebx & 0xffff;
  if (edx >>> 0 !== 0x534d4150 || bx >= map.length || ecx >>> 0 < 20) return { cf: 1, ah: 0x86 };
  const entry = map[bx]!;
  return { cf: 0, eax: 0x534d4150, ecx: 20, ebx: bx === map.length - 1 ? 0 : ((ebx >>> 0) + 1) >>> 0, entry };
}

/** handle_15e801: AX=CX KiB between 1 and 16 MiB, BX=DX 64 KiB blocks above 16 MiB (from LegacyRamSize). */
export function int15E801(legacyRamSize: bigint): { ax: number; bx: number; cx: number; dx: number } {
  if (legacyRamSize > L.INT15_E801_SPLIT) {
    const dx = Number((legacyRamSize - L.INT15_E801_SPLIT) / (64n * 1024n));
    const cx = Number((L.INT15_E801_SPLIT - MiB) / 1024n);
    return { ax: cx, bx: dx, cx, dx };
  }
  const cx = Number((legacyRamSize - MiB) / 1024n);
  return { ax: cx, bx: 0, cx, dx: 0 };
}

/** handle_1588: KiB above 1 MiB, capped at 63 MiB. */
export function int1588(legacyRamSize: bigint): { ax: number } {
  return { ax: Number(((legacyRamSize > L.INT15_88H_LIMIT ? L.INT15_88H_LIMIT : legacyRamSize) - MiB) / 1024n) };
}

/**
 * What the three services answer after POST (E801 and 88h from the final LegacyRamSize, which
 * malloc_prepboot's calcRamSize sets), with the declared failures (reference/intent.ts int15Fails)
 * answering CF=1 instead.
 */
export function int15Answers(firmware: Pick<FirmwareMap, 'entries' | 'legacyRamSize'>, fails: readonly Int15Service[] = []): Int15Answers {
  return {
    e820: fails.includes('e820') ? null : firmware.entries,
    e801: fails.includes('e801') ? null : int15E801(firmware.legacyRamSize),
    e88: fails.includes('88h') ? null : int1588(firmware.legacyRamSize),
  };
}
