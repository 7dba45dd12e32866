// The explore generator (harness/explore/generate.ts), the whole option space (WIDE_DRAW_SHARE): one section of the
// pure (seed, index, toolchain) → cell function, split by section (issue 12).

import { GiB, KiB, MiB } from '../../../reference/address.ts';
import { QEMU_PROFILES, parseMachineVersion } from '../../../reference/profiles/qemu.ts';
import type { Toolchain } from '../../../reference/toolchain.ts';
import { qemuCpuModelNames } from '../../../reference/profiles/qemu-cpu-models.ts';
import { qemuStandaloneDevices, type QemuDeviceKind } from '../../../reference/profiles/qemu-devices.ts';
import type { Rng } from '../prng.ts';
import { WIDE_ASPECTS, WIDE_ASPECT_SHARE } from './options.ts';
import { type Draft, qemuSize } from './draft.ts';
import { resetRam } from './invalids.ts';

/** Every machine type `-M help` lists for pc/q35 on this release, and isapc/microvm. */
export function allMachineTypes(t: Toolchain): string[] {
  const m = QEMU_PROFILES[t.qemu].machineTypes;
  return ['pc', 'q35', 'isapc', 'microvm', ...m.i440fx.map((v) => `pc-i440fx-${v}`), ...m.legacyPc.map((v) => `pc-${v}`), ...m.q35.map((v) => `pc-q35-${v}`)];
}

export const DEVICE_KIND_WEIGHTS: ReadonlyArray<readonly [number, QemuDeviceKind]> = [
  [4, 'storage'],
  [3, 'usb-host'],
  [2, 'usb-device'],
  [4, 'nic'],
  [3, 'display'],
  [2, 'sound'],
  [3, 'serial-input'],
  [4, 'misc'],
];

export function chooseWide(r: Rng, t: Toolchain, d: Draft): void {
  const aspects = WIDE_ASPECTS.filter(() => r.chance(WIDE_ASPECT_SHARE));
  if (aspects.length === 0) aspects.push(r.pick(WIDE_ASPECTS));
  d.tags.add('wide');
  for (const a of aspects) {
    d.tags.add(`wide:${a}`);
    switch (a) {
      case 'machine': {
        // Uniform over the release's list: old versioned types and isapc/microvm as often as pc.
        const name = r.pick(allMachineTypes(t));
        d.machineName = name;
        d.family = name.includes('q35') ? 'q35' : 'pc';
        const v = /(\d+\.\d+)(?:\.\d+)?$/.exec(name);
        d.mv = v ? parseMachineVersion(v[1]!) : parseMachineVersion(QEMU_PROFILES[t.qemu].machineTypes.newest);
        d.idTags.push('wM');
        break;
      }
      case 'cpu': {
        // Any `-cpu help` name but `host` (TCG refuses it: the 'cpu-host-tcg' invalid covers that).
        const names = [...qemuCpuModelNames(t.qemu)].filter((n) => n !== 'host').sort();
        d.cpu = r.pick(names);
        d.idTags.push(`wC${d.cpu}`);
        break;
      }
      case 'device': {
        const n = r.weighted([
          [3, 1],
          [2, 2],
          [1, 3],
        ] as const);
        for (let i = 0; i < n; i++) {
          const kind = r.weighted(DEVICE_KIND_WEIGHTS);
          const name = r.pick(qemuStandaloneDevices(t.qemu, kind));
          // A USB device needs a bus: put a host controller of the release in front of it.
          if (kind === 'usb-device') d.extra.push(['-device', r.pick(qemuStandaloneDevices(t.qemu, 'usb-host'))]);
          d.extra.push(['-device', name]);
          d.tags.add(`wide:device:${kind}`);
          d.idTags.push(`wD${name}`);
        }
        break;
      }
      case 'ram': {
        // -m from QEMU's accepted range at its granularity (sizes round up to 8 KiB), not aimed at
        // a threshold; at least the ~80 MiB the guest needs, at most 16 GiB (host memory).
        const ram = r.weighted([
          [3, r.bigStep(80n * MiB, 16n * GiB, MiB)],
          [2, r.bigStep(80n * MiB, 6n * GiB, 8n * KiB)],
          [1, r.bigStep(80n * MiB, 4n * GiB, KiB)],
        ] as const);
        // NUMA nodes and backends were sized for the old RAM: dropped (resetRam); maxmem follows.
        resetRam(d, ram);
        if (d.maxmem !== null) d.maxmem = qemuSize(ram + 4n * GiB);
        d.idTags.push('wR');
        break;
      }
      case 'smp': {
        // 1..32 CPUs in a topology QEMU accepts (sockets × cores × threads = maxcpus); lpj= and a
        // longer deadline past 8, as for smp:large.
        const threads = r.pick([1, 1, 2]);
        const cores = r.pick([1, 2, 3, 4]);
        const sockets = r.pick([1, 2, 3, 4]);
        const max = threads * cores * sockets;
        const cpus = r.int(1, max);
        d.smp = r.pick([`${cpus},sockets=${sockets},cores=${cores},threads=${threads},maxcpus=${max}`, `${max},sockets=${sockets},cores=${cores},threads=${threads}`, `${cpus}`]);
        d.cpus = Number(d.smp.split(',')[0]);
        d.numa = d.numa.map((x) => x.replace(/,cpus=[0-9-]+/, ''));
        if (d.cpus > 8) {
          if (!d.kernel.includes('lpj=4000000')) d.kernel.push('lpj=4000000');
          d.timeout = 120;
        }
        d.idTags.push(`wS${d.smp.replace(/[^0-9]+/g, '.')}`);
        break;
      }
    }
  }
}
