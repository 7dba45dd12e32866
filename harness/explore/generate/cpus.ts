// The explore generator (harness/explore/generate.ts), CPUs: one section of the
// pure (seed, index, toolchain) → cell function, split by section (issue 12).

import { CPU_MODELS, QEMU_PROFILES, machineVersionAtMost } from '../../../reference/profiles/qemu.ts';
import type { Toolchain } from '../../../reference/toolchain.ts';
import type { Rng } from '../prng.ts';
import type { Draft } from './draft.ts';

export function chooseSmp(r: Rng, d: Draft): void {
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
 * CPU models whose guest kernel hangs under TCG before init on some release (the model's
 * QemuProfile.tcgGuestHangsCpuModels, joined over the releases so a seed draws the same models on
 * every toolchain). The machine cannot boot them; the model makes no claim about it.
 */
export const GUEST_HANGS_UNDER_TCG: ReadonlySet<string> = new Set(Object.values(QEMU_PROFILES).flatMap((p) => p.tcgGuestHangsCpuModels));

/** Long-mode models from the model's CPU table (32-bit ones never start the x86-64 guest kernel). */
export function cpuModels(): string[] {
  return Object.entries(CPU_MODELS)
    .filter(([name, f]) => f.longMode && name !== 'host' && !GUEST_HANGS_UNDER_TCG.has(name))
    .map(([name]) => name);
}

export function chooseCpu(r: Rng, t: Toolchain, d: Draft): void {
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
