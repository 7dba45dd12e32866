// The fw_cfg file directory against its slots (reference/qemu/fw-cfg-files.ts): QEMU aborts at the
// first system reset when the files it adds there (bootorder, bios-geometry) find no free slot, and
// while building the machine when a 17th file is added on a 16-slot machine type. Every case below
// was booted with `e820 check` on the release named (QEMU 10.0.13, 7.2.22, 5.2 of Debian), both
// sides of each edge, and the counts were read with `-trace fw_cfg_add_file` (explore seed 141503
// cell 013 was the first found).
import { describe, expect, it } from 'vitest';
import { parseQemuArgs } from '../../reference/cmdline/index.ts';
import { QEMU_PROFILES } from '../../reference/profiles/qemu.ts';
import { qemuStage } from '../../reference/qemu/index.ts';
import { checkFwCfgFileSlots, fwCfgFileCount, QemuAbort } from '../../reference/qemu/fw-cfg-files.ts';
import { QemuRefusal, UnsupportedOptionError } from '../../reference/stages.ts';
import type { QemuVersion } from '../../reference/toolchain.ts';

const stage = (q: QemuVersion, args: string) => () => qemuStage(parseQemuArgs(args.split(' '), { qemuVersion: q }), QEMU_PROFILES[q], {});
const modify = (at: string) => `${at}: fw_cfg_modify_file: Assertion \`index < fw_cfg_file_slots(s)' failed.`;
const HOT = '-m 1G,slots=1,maxmem=2G';

describe('fw_cfg file slots: QEMU aborts at the edge, boots below it', () => {
  it.each([
    // [release, arguments, files before the reset, QEMU's assertion or null (boots)]
    ['10.0', '-M pc-i440fx-2.6 -m 4054252K,slots=1,maxmem=7199980K -smp 8,sockets=8,cores=1 -cpu Penryn -device vmgenid', 15, modify('hw/nvram/fw_cfg.c:1021')],
    ['10.0', '-M pc-i440fx-2.6 -m 1G -device vmgenid', 14, null],
    ['10.0', `-M pc-i440fx-2.5 ${HOT} -device vmgenid`, 15, null], // legacy order: bootorder only
    ['10.0', `-M pc-i440fx-2.5 ${HOT} -device vmgenid -device vmcoreinfo`, 16, modify('hw/nvram/fw_cfg.c:1021')],
    ['10.0', `-M pc-i440fx-2.6 ${HOT} -device vmgenid -device vmcoreinfo -device pvpanic`, 17, "hw/nvram/fw_cfg.c:934: fw_cfg_add_file_callback: Assertion `count < fw_cfg_file_slots(s)' failed."],
    ['10.0', `-M pc-i440fx-2.9 ${HOT} -device vmgenid -device vmcoreinfo -device pvpanic`, 17, null], // 32 slots
    ['10.0', `-M pc-q35-2.8 ${HOT} -device vmgenid`, 15, modify('hw/nvram/fw_cfg.c:1021')],
    ['7.2', `-M pc-i440fx-2.6 ${HOT} -device vmgenid -device vmcoreinfo`, 15, modify('../../hw/nvram/fw_cfg.c:1022')],
    ['7.2', `-M pc-i440fx-2.6 ${HOT} -device vmgenid`, 14, null],
    ['5.2', `-M pc-i440fx-2.6 ${HOT} -device vmgenid -device pvpanic`, 15, modify('../../hw/nvram/fw_cfg.c:1028')],
    ['5.2', `-M pc-i440fx-2.5 ${HOT} -device vmgenid -device pvpanic`, 15, null],
  ] as Array<[QemuVersion, string, number, string | null]>)('%s %s: %i files', (q, args, _files, abort) => {
    if (abort === null) expect(stage(q, args)).not.toThrow();
    else {
      expect(stage(q, args)).toThrow(QemuAbort);
      expect(stage(q, args)).toThrow(abort);
    }
  });

  it('counts the files -trace fw_cfg_add_file listed', () => {
    const base = { version: [2, 6] as const, acpiPmDevice: true, hasTableLoader: true, smbiosLegacy: false, deviceMemory: false };
    // 10.0 pc-i440fx-2.6 -m 1G: 12 files, then bootorder and bios-geometry (5.2 and 7.2: 11, no etc/boot/kernel).
    expect(fwCfgFileCount({ devices: [] }, QEMU_PROFILES['10.0'], base)).toEqual({ beforeReset: 12, atReset: 2, slots: 16 });
    expect(fwCfgFileCount({ devices: [] }, QEMU_PROFILES['7.2'], base).beforeReset).toBe(11);
    // acpi=off on pc: no PIIX4 PM, no tables: 6 on 7.2 (measured); 2.5: bootorder only; 2.9: 32 slots.
    expect(fwCfgFileCount({ devices: [] }, QEMU_PROFILES['7.2'], { ...base, acpiPmDevice: false, hasTableLoader: false }).beforeReset).toBe(6);
    expect(fwCfgFileCount({ devices: [] }, QEMU_PROFILES['7.2'], { ...base, version: [2, 5] }).atReset).toBe(1);
    expect(fwCfgFileCount({ devices: [] }, QEMU_PROFILES['7.2'], { ...base, version: [2, 9] }).slots).toBe(32);
    // Devices that add no file count nothing (each booted alone with -S).
    const quiet = ['e1000', 'nvme', 'qemu-xhci', 'usb-tablet', 'VGA', 'virtio-scsi-pci', 'i6300esb', 'virtio-iommu-pci'].map((driver) => ({ driver, props: [] }));
    expect(fwCfgFileCount({ devices: quiet }, QEMU_PROFILES['10.0'], base).beforeReset).toBe(12);
  });

  it('an abort at a source line not measured is declined, not guessed; the abort is a refusal claim', () => {
    expect(() => checkFwCfgFileSlots({ beforeReset: 17, atReset: 2, slots: 16 }, QEMU_PROFILES['7.2'])).toThrow(UnsupportedOptionError);
    expect(() => checkFwCfgFileSlots({ beforeReset: 14, atReset: 2, slots: 16 }, QEMU_PROFILES['7.2'])).not.toThrow();
    expect(new QemuAbort('x')).toBeInstanceOf(QemuRefusal);
  });
});
