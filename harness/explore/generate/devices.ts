// The explore generator (harness/explore/generate.ts), devices: one section of the
// pure (seed, index, toolchain) → cell function, split by section (issue 12).

import type { Toolchain } from '../../../reference/toolchain.ts';
import { qemuStandaloneDevices } from '../../../reference/profiles/qemu-devices.ts';
import type { Rng } from '../prng.ts';
import { type Family, type Draft, DISK } from './draft.ts';

export interface DeviceSpec {
  tag: string;
  family: 'drive' | 'device' | 'nic' | 'vga' | 'usb' | 'ignored-option';
  weight: number;
  only?: Family;
  build(n: number, r: Rng, t: Toolchain): string[];
}

/** qxl is not in the -device help of every release (reference/profiles/qemu-devices.ts). */
export const hasQxl = (t: Toolchain): boolean => qemuStandaloneDevices(t.qemu, 'display').includes('qxl-vga');

export const DEVICES: readonly DeviceSpec[] = [
  { tag: 'virtio-drive', family: 'drive', weight: 6, build: () => ['-drive', `${DISK},if=virtio`] },
  { tag: 'virtio-blk-pci', family: 'drive', weight: 4, build: (n) => ['-drive', `${DISK},if=none,id=d${n}`, '-device', `virtio-blk-pci,drive=d${n}`] },
  { tag: 'nvme', family: 'drive', weight: 4, build: (n) => ['-drive', `${DISK},if=none,id=d${n}`, '-device', `nvme,drive=d${n},serial=nvme${n}`] },
  {
    tag: 'virtio-scsi',
    family: 'drive',
    weight: 3,
    build: (n) => ['-device', `virtio-scsi-pci,id=scsi${n}`, '-drive', `${DISK},if=none,id=d${n}`, '-device', `scsi-hd,drive=d${n},bus=scsi${n}.0`],
  },
  { tag: 'ide-drive', family: 'drive', weight: 4, build: (_n, r) => ['-drive', `${DISK},if=ide${r.chance(0.3) ? ',media=cdrom' : ''}`] },
  { tag: 'ide-hd', family: 'drive', weight: 2, build: (n) => ['-drive', `${DISK},if=none,id=d${n}`, '-device', `ide-hd,drive=d${n}`] },
  { tag: 'nic-e1000', family: 'nic', weight: 3, build: (_n, r) => ['-nic', `user,model=${r.pick(['e1000', 'virtio-net-pci', 'rtl8139', 'e1000e'])}`] },
  { tag: 'netdev', family: 'nic', weight: 2, build: (n, r) => ['-netdev', `user,id=n${n}`, '-device', `${r.pick(['e1000', 'virtio-net-pci', 'rtl8139', 'e1000e'])},netdev=n${n}`] },
  { tag: 'nic-none', family: 'nic', weight: 1, build: () => ['-nic', 'none'] },
  { tag: 'vga-opt', family: 'vga', weight: 3, build: (_n, r, t) => ['-vga', r.pick(['std', 'cirrus', 'none', 'virtio', ...(hasQxl(t) ? ['qxl'] : [])])] },
  { tag: 'vga-device', family: 'vga', weight: 3, build: (_n, r, t) => ['-device', r.pick(['VGA', 'bochs-display', 'virtio-vga', ...(hasQxl(t) ? ['qxl-vga'] : []), 'cirrus-vga'])] },
  { tag: 'usb', family: 'usb', weight: 4, build: (_n, r) => ['-device', r.pick(['qemu-xhci', 'nec-usb-xhci', 'usb-ehci', 'ich9-usb-ehci1', 'piix3-usb-uhci', 'pci-ohci'])] },
  { tag: 'virtio-misc', family: 'device', weight: 3, build: (_n, r) => ['-device', r.pick(['virtio-rng-pci', 'virtio-balloon-pci', 'virtio-serial-pci'])] },
  { tag: 'pvpanic', family: 'device', weight: 1, build: () => ['-device', 'pvpanic'] },
  { tag: 'isa-serial', family: 'device', weight: 1, build: () => ['-device', 'isa-serial'] },
  { tag: 'pci-bridge', family: 'device', weight: 1, build: (n) => ['-device', `pci-bridge,chassis_nr=${n + 1},id=br${n}`] },
  { tag: 'pcie-root-port', family: 'device', weight: 1, only: 'q35', build: (n) => ['-device', `pcie-root-port,id=rp${n},chassis=${n + 1}`] },
  { tag: 'vmgenid', family: 'device', weight: 2, build: () => ['-device', 'vmgenid'] },
  {
    tag: 'ignored',
    family: 'ignored-option',
    weight: 3,
    build: (_n, r) =>
      r.pick([
        ['-name', 'explore'],
        ['-rtc', 'base=utc'],
        ['-uuid', '6f2c1b9e-51a4-4f0e-9b8a-2d1e0c3f4a5b'],
        ['-boot', r.pick(['order=cd', 'menu=on', 'strict=on'])],
        ['-no-user-config'],
        ['-snapshot'],
      ]),
  },
];

export function chooseDevices(r: Rng, t: Toolchain, d: Draft): void {
  if (!r.chance(0.3)) return;
  const n = r.weighted([
    [5, 1],
    [3, 2],
    [1, 3],
  ] as const);
  const usedOnce = new Set<string>();
  // A USB controller next to a disk SeaBIOS drives (q35's default CD-ROM sits on AHCI) leaves a
  // reserved block that depends on allocation timing (docs/model/explore-findings.md#m8); the model refuses the pair as
  // not modelled, so the generator keeps them apart.
  let disk = d.family === 'q35' && !d.nodefaults;
  let usb = false;
  for (let i = 0; i < n; i++) {
    const pool = DEVICES.filter(
      (s) => (s.only === undefined || s.only === d.family) && !usedOnce.has(s.tag) && !(s.family === 'usb' && disk) && !(s.family === 'drive' && usb),
    );
    const spec = r.weighted(pool.map((s) => [s.weight, s] as const));
    // One -vga, one ignored option of a kind, at most one VGA-ish device per cell.
    if (spec.family === 'vga' || spec.family === 'ignored-option' || spec.tag === 'vmgenid' || spec.tag === 'nic-none') usedOnce.add(spec.tag);
    if (spec.family === 'vga') {
      usedOnce.add('vga-opt');
      usedOnce.add('vga-device');
    }
    if (spec.family === 'drive') disk = true;
    if (spec.family === 'usb') usb = true;
    const words = spec.build(d.diskCount++, r, t);
    d.extra.push(words);
    d.tags.add(spec.family);
    d.tags.add(`${spec.family}:${spec.tag}`);
    d.idTags.push(spec.tag);
  }
}
