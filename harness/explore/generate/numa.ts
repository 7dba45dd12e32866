// The explore generator (harness/explore/generate.ts), NUMA / memory backends: one section of the
// pure (seed, index, toolchain) → cell function, split by section (issue 12).

import { MiB } from '../../../reference/address.ts';
import { MACHINE_COMPAT, QEMU_LAYOUT, machineVersionAtMost } from '../../../reference/profiles/qemu.ts';
import type { Rng } from '../prng.ts';
import { type Draft, qemuSize } from './draft.ts';

export function chooseNuma(r: Rng, d: Draft): void {
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
