// The explore generator (harness/explore/generate.ts), drafting: one section of the
// pure (seed, index, toolchain) → cell function, split by section (issue 12).

import { alignUp, GiB, KiB, MiB, FOUR_GIB } from '../../../reference/address.ts';
import { RAM_SIZE_ALIGN } from '../../../reference/cmdline/index.ts';
import { MACHINE_COMPAT, QEMU_LAYOUT, machineVersionAtMost, type MachineVersion } from '../../../reference/profiles/qemu.ts';
import { formatQemuSize } from '../../../reference/qemu-size.ts';
import { splitRam } from '../../../reference/qemu/ram.ts';
import type { Rng } from '../prng.ts';

export type Family = 'pc' | 'q35';

export interface Draft {
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

export const DISK = 'file=null-co://,format=raw';

/** QEMU size spelling: the model's formatQemuSize (reference/qemu-size.ts), with a `B` on byte counts. */
export function qemuSize(bytes: bigint): string {
  const s = formatQemuSize(bytes);
  return bytes !== 0n && bytes % KiB !== 0n ? `${s}B` : s;
}

/** Kernel memparse spelling, in one of its accepted forms (suffix either case, hex, decimal). */
export function kernelSize(r: Rng, bytes: bigint): string {
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

export function kernelAddr(r: Rng, addr: bigint): string {
  if (addr !== 0n && addr % MiB === 0n && r.chance(0.25)) return kernelSize(r, addr);
  return `0x${addr.toString(16)}`;
}

/**
 * Where QEMU splits RAM: the model's splitRam (reference/qemu/ram.ts), used only to aim memmap=
 * edits, of the RAM size QEMU uses: -m aligned up to 8 KiB (RAM_SIZE_ALIGN). Unaligned, q35's
 * `-m 2883580K` (0xaffff000) looked all-low while QEMU splits 0xb0000000 at 2 GiB, and an exactmap
 * aimed at it declared RAM in the PCI hole (explore seed 161501 cell 081).
 */
export function lowHigh(d: Draft): { below: bigint; above: bigint } {
  const ram = alignUp(d.ram ?? QEMU_LAYOUT.DEFAULT_RAM, RAM_SIZE_ALIGN);
  const { below, above } = splitRam(d.family, ram, d.mrb, !machineVersionAtMost(d.mv, MACHINE_COMPAT.gigabyteAlignOffUpTo));
  return { below, above };
}
