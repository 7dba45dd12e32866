// The explore generator (harness/explore/generate.ts), deliberate invalids: one section of the
// pure (seed, index, toolchain) → cell function, split by section (issue 12).

import { GiB, MiB } from '../../../reference/address.ts';
import { MACHINE_COMPAT, QEMU_LAYOUT, QEMU_PROFILES, machineVersionAtMost, parseMachineVersion } from '../../../reference/profiles/qemu.ts';
import type { Toolchain } from '../../../reference/toolchain.ts';
import type { Rng } from '../prng.ts';
import { type Draft, qemuSize } from './draft.ts';

export const INVALIDS = [
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
export function resetRam(d: Draft, ram: bigint): void {
  d.ram = ram;
  d.ramSpelled = qemuSize(ram);
  d.numa = [];
  d.objects = [];
  d.machineProps = d.machineProps.filter(([k]) => k !== 'memory-backend');
}

export function applyInvalid(r: Rng, t: Toolchain, d: Draft): void {
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
