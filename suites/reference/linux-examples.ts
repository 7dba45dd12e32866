// Firmware maps and platforms for the linux-stage tests (shapes as the SeaBIOS/QEMU stages produce).

import type { E820Range } from '../../reference/e820.ts';
import { tableOnlyFirmwareMap, type FirmwareMap, type Platform } from '../../reference/stages.ts';

/** Inclusive-end helper: the maps below are copied from `BIOS-e820:` lines. */
export const R = (start: bigint, endInclusive: bigint, type: number): E820Range => ({ start, end: endInclusive + 1n, type });

/** SeaBIOS's table as the tests write it, with its 639 KiB of base memory (BDA 0x413). */
export function firmware(entries: E820Range[]): FirmwareMap {
  return tableOnlyFirmwareMap(entries, { baseMemKiB: 639, provenance: 'test' });
}

const AMD_HT_HOLE = R(0xfd00000000n, 0xffffffffffn, 2);
const LOW = [R(0n, 0x9fbffn, 1), R(0x9fc00n, 0x9ffffn, 2), R(0xf0000n, 0xfffffn, 2)];

/** QEMU 7.2 + SeaBIOS 1.16.2, -M pc -m 1G (docs/model/linux.md#a-worked-example-pc-with-1-gib). */
export const PC_1G = firmware([...LOW, R(0x100000n, 0x3ffdffffn, 1), R(0x3ffe0000n, 0x3fffffffn, 2), R(0xfffc0000n, 0xffffffffn, 2), AMD_HT_HOLE]);

/** -M pc -m 4G: 3 GiB below 4 GiB, 1 GiB above. */
export const PC_4G = firmware([
  ...LOW,
  R(0x100000n, 0xbffdffffn, 1),
  R(0xbffe0000n, 0xbfffffffn, 2),
  R(0xfffc0000n, 0xffffffffn, 2),
  R(0x100000000n, 0x13fffffffn, 1),
  AMD_HT_HOLE,
]);

/** -M q35 -m 1G: ECAM at 0xb0000000 and the RCBA page are E820 reserved. */
export const Q35_1G = firmware([
  ...LOW,
  R(0x100000n, 0x3ffdffffn, 1),
  R(0x3ffe0000n, 0x3fffffffn, 2),
  R(0xb0000000n, 0xbfffffffn, 2),
  R(0xfed1c000n, 0xfed1ffffn, 2),
  R(0xfffc0000n, 0xffffffffn, 2),
  AMD_HT_HOLE,
]);

const base = { accel: 'tcg', physBits: 40, cpuVendor: 'AuthenticAMD', cpuModel: 'qemu64', longMode: true, extendedLeaves: true, bmi1Bmi2: false, la57: false, pci: true } as const;

export const PC_PLATFORM_1G: Platform = {
  ...base,
  chipset: 'i440fx',
  pciWindows: [
    { start: 0xa0000n, end: 0xbffffn },
    { start: 0x40000000n, end: 0xfebfffffn },
    { start: 0x100000000n, end: 0x17fffffffn },
  ],
  mmconfig: null,
  hotplugRam: [],
};

export const PC_PLATFORM_4G: Platform = {
  ...PC_PLATFORM_1G,
  pciWindows: [
    { start: 0xa0000n, end: 0xbffffn },
    { start: 0xc0000000n, end: 0xfebfffffn },
    { start: 0x180000000n, end: 0x1ffffffffn },
  ],
};

export const Q35_PLATFORM_1G: Platform = {
  ...base,
  chipset: 'q35',
  pciWindows: [
    { start: 0xa0000n, end: 0xbffffn },
    { start: 0x40000000n, end: 0xafffffffn },
    { start: 0xc0000000n, end: 0xfebfffffn },
    { start: 0x100000000n, end: 0x17fffffffn },
  ],
  mmconfig: { start: 0xb0000000n, end: 0xbfffffffn },
  hotplugRam: [],
};
