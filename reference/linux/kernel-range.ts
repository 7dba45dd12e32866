// e820_add_kernel_range() (arch/x86/kernel/setup.c; docs/model/linux.md#the-kernel-image-range): if [_text, _end) is
// not all E820 RAM after the user map, the kernel warns, removes the range from every type and
// re-adds it as RAM. Where the image sits is chosen by KASLR in the decompressor
// (arch/x86/boot/compressed/kaslr.c) at random, so the model can only say "certainly all RAM"
// or "cannot tell". It answers "all RAM" when every address the image could occupy is type-1 RAM.

import { E820 } from '../e820.ts';
import { MiB } from '../address.ts';
import type { KernelProfile } from '../profiles/kernel.ts';
import { type KernelArg, memparse } from './early-params.ts';
import type { KTable } from './table.ts';

/** CONFIG_PHYSICAL_START of the Debian x86-64 configs: where the image goes without KASLR. */
export const LOAD_PHYSICAL_ADDR = 0x1000000n;
/**
 * Calibration bound on _end − _text of the Debian kernels (a bound, not a measurement of one
 * build): the fallback placement at LOAD_PHYSICAL_ADDR is checked over this span. The bzImage
 * header's init_size (offset 0x260, ≥ _end − _text) of the cloud images: 5.10.223 45.4 MiB,
 * 6.1.192 51.5 MiB, 6.12.107 55.9 MiB, 7.2.13 60.2 MiB — all under this bound.
 */
export const KERNEL_SPAN_BOUND = 64n * MiB;
/** kaslr.c MAX_MEMMAP_REGIONS: more memmap= regions than this disable physical randomisation. */
export const MAX_MEMMAP_REGIONS = 4;

interface Span {
  start: bigint;
  end: bigint;
}

function subtract(spans: Span[], cut: Span): Span[] {
  const out: Span[] = [];
  for (const s of spans) {
    if (cut.end <= s.start || cut.start >= s.end) {
      out.push(s);
      continue;
    }
    if (cut.start > s.start) out.push({ start: s.start, end: cut.start });
    if (cut.end < s.end) out.push({ start: cut.end, end: s.end });
  }
  return out;
}

/** kaslr.c handle_mem_options(): memory limit, regions to avoid, and whether KASLR gives up. */
function kaslrOptions(args: readonly KernelArg[], profile: KernelProfile): { limit: bigint | null; avoid: Span[]; disabled: boolean } {
  let limit: bigint | null = null;
  const avoid: Span[] = [];
  let disabled = false;
  const lower = (v: bigint): void => {
    if (v > 0n && (limit === null || v < limit)) limit = v;
  };
  for (const a of args) {
    // The decompressor compares names with strcmp (no `-`/`_` folding).
    if (a.param === 'nokaslr') disabled = true;
    if (a.param === 'memmap' && a.value !== null) {
      const pieces = a.value.split(',');
      for (let i = 0; i < pieces.length; i++) {
        const p = pieces[i]!;
        if (avoid.length >= MAX_MEMMAP_REGIONS) {
          disabled = true;
          break;
        }
        if (p.startsWith('exactmap')) break;
        const size = memparse(p, profile);
        if (size.used === 0) break;
        const op = p[size.used];
        if (op === '#' || op === '$' || op === '!') {
          const at = memparse(p.slice(size.used + 1), profile).value;
          if (at !== 0n) avoid.push({ start: at, end: at + size.value });
          else lower(size.value);
        } else if (op !== '@') lower(size.value);
      }
    } else if (a.param === 'mem' && a.value !== null && a.value !== 'nopentium') {
      const v = memparse(a.value, profile).value;
      if (v === 0n) break;
      lower(v);
    }
  }
  return { limit, avoid, disabled };
}

export type KernelRangeVerdict = { readonly ram: true } | { readonly ram: false; readonly why: string };

/**
 * Is [_text, _end) certainly type-1 RAM in `table` (the map after the user edits), for a
 * firmware map `firmware` and the command line `args`?
 */
export function kernelRangeIsRam(firmware: KTable, table: KTable, userdef: boolean, args: readonly KernelArg[], profile: KernelProfile): KernelRangeVerdict {
  if (!userdef) return { ram: true };
  const o = kaslrOptions(args, profile);
  const fallback: Span = { start: LOAD_PHYSICAL_ADDR, end: LOAD_PHYSICAL_ADDR + KERNEL_SPAN_BOUND };
  // Without randomisation (nokaslr, too many memmap= regions) or without a slot big enough
  // (find_random_phys_addr() finds none) the image stays at LOAD_PHYSICAL_ADDR.
  let candidates: Span[] = [fallback];
  if (!o.disabled) {
    const top = o.limit;
    let ram: Span[] = firmware
      .filter((e) => e.type === E820.RAM)
      .map((e) => ({ start: e.addr > LOAD_PHYSICAL_ADDR ? e.addr : LOAD_PHYSICAL_ADDR, end: top !== null && e.addr + e.size > top ? top : e.addr + e.size }))
      .filter((s) => s.start < s.end);
    for (const a of o.avoid) ram = subtract(ram, a);
    // The fallback stays a candidate even when the user map leaves a roomy slot: the decompressor's
    // mem_avoid[] (kaslr.c mem_avoid_init) also holds the initrd, the command line, boot_params and
    // the decompression buffer, which the model does not know, so find_random_phys_addr() may find
    // no slot. Observed: 6.12, -m 128M, memmap=16M#46M → the image stays at 16 MiB and
    // e820_add_kernel_range() rewrites the map.
    candidates = [fallback, ...ram];
  }
  for (const c of candidates) {
    const stillRam = [c];
    let left = stillRam;
    for (const e of table) if (e.type === E820.RAM) left = subtract(left, { start: e.addr, end: e.addr + e.size });
    if (left.length > 0) {
      const l = left[0]!;
      return {
        ram: false,
        why:
          `the kernel image may lie at 0x${l.start.toString(16)} (KASLR), which the user map does not mark RAM: ` +
          'e820_add_kernel_range() output and the resulting map depend on where it lands',
      };
    }
  }
  return { ram: true };
}
