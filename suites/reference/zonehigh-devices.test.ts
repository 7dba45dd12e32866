// Device drivers and SeaBIOS's ZoneHigh (docs/model/explore-findings.md#m7, #m8, #m9, #m12). Every expected value was
// confirmed with `npx e820 check` on the toolchain named in the case (QEMU 7.2.22 + Debian SeaBIOS
// 1.16.2-1 unless noted; trixie = QEMU 10.0 + 1.16.3-2, sid = 11.1 + 1.17.0-1).
import { describe, expect, it } from 'vitest';
import { GiB } from '../../reference/address.ts';
import { parseQemuArgs } from '../../reference/cmdline/index.ts';
import { predict as predictAll } from '../../reference/predict.ts';
import { BASELINE_TOOLCHAIN, toolchainOf, type Toolchain } from '../../reference/toolchain.ts';
import type { DeviceConfig, MachineConfig } from '../../reference/config.ts';
import { QEMU_PROFILES } from '../../reference/profiles/qemu.ts';
import { SEABIOS_PROFILES } from '../../reference/profiles/seabios.ts';
import { qemuStage } from '../../reference/qemu/index.ts';
import { pciPadMem64, seabiosStage } from '../../reference/seabios/index.ts';
import { UnsupportedOptionError } from '../../reference/stages.ts';
import type { QemuVersion, SeabiosVersion } from '../../reference/toolchain.ts';
import { machineConfig } from './machine-config-fixture.ts';

const cfg = machineConfig;
const handoff = (c: MachineConfig, q: QemuVersion = '7.2') => qemuStage(c, QEMU_PROFILES[q], {});
const predict = (c: MachineConfig, q: QemuVersion = '7.2', s: SeabiosVersion = '1.16.2') => seabiosStage(handoff(c, q), SEABIOS_PROFILES[s]);
/** ZoneHigh is 16 MiB in all these cases: what stays reserved is 16 MiB minus the giveback. */
const reserved = (c: MachineConfig, q: QemuVersion = '7.2', s: SeabiosVersion = '1.16.2') => 16 * 2 ** 20 - predict(c, q, s).zoneHighReturned;
const dev = (driver: string, ...props: Array<[string, string]>): DeviceConfig => ({ driver, props });
const nullDrive = (id: string): Array<[string, string]> => [['file', 'null-co://'], ['format', 'raw'], ['if', 'none'], ['id', id]];
const VIRTIO: Array<[string, string]> = [['file', 'null-co://'], ['format', 'raw'], ['if', 'virtio']];
const NVME = { drives: [nullDrive('d1')], devices: [dev('nvme', ['drive', 'd1'], ['serial', 'n1'])] };
const SCSI = { drives: [nullDrive('d0')], devices: [dev('virtio-scsi-pci', ['id', 'scsi0']), dev('scsi-hd', ['drive', 'd0'], ['bus', 'scsi0.0'])] };

describe('M7: virtio-scsi + disk, and devices that clear default_cdrom (softmmu/vl.c default_list)', () => {
  it.each([
    ['pc', 0x23000],
    ['q35', 0x23000], // scsi-hd removes the default CD-ROM: no AHCI port below the ACPI blob
  ] as const)('%s 1G + virtio-scsi-pci + scsi-hd: vp_device (68 B) + queue', (m, size) => {
    expect(reserved(cfg(m, GiB, SCSI))).toBe(size);
  });

  it('q35 + -device ide-hd: one AHCI port (the disk), not two', () => {
    expect(reserved(cfg('q35', GiB, { drives: [nullDrive('d0')], devices: [dev('ide-hd', ['drive', 'd0'])] }))).toBe(0x21000);
  });

  it('q35: a third auto-placed if=ide drive takes index 2, so QEMU adds no default CD-ROM', () => {
    const c = cfg('q35', GiB, { drives: [VIRTIO, [['if', 'ide']], [['if', 'ide']], [['if', 'ide']]] });
    expect(predict(c).entries).toEqual(predict({ ...c, nodefaults: true }).entries);
    const two = cfg('q35', GiB, { drives: [[['if', 'ide']], [['if', 'ide']]] });
    expect(reserved(two)).toBe(0x22000); // two disks + the default CD-ROM at index 2: three AHCI ports
    expect(reserved({ ...two, nodefaults: true })).toBe(0x21000);
  });

  it('a virtio-scsi controller without a disk leaves nothing alone; two controllers are refused', () => {
    expect(reserved(cfg('pc', GiB, { devices: [dev('virtio-scsi-pci')] }))).toBe(0x20000);
    expect(() => predict(cfg('pc', GiB, { devices: [dev('virtio-scsi-pci'), dev('virtio-scsi-pci')] }))).toThrow(UnsupportedOptionError);
    expect(() => predict(cfg('pc', GiB, { drives: [VIRTIO], devices: [dev('virtio-scsi-pci')] }))).toThrow(/transient/);
  });
});

describe('M8: USB host controllers free their ZoneHigh structures; next to a disk driver UHCI and xHCI leave them inside the block, EHCI/OHCI are refused', () => {
  it.each(['usb-ehci', 'piix3-usb-uhci', 'pci-ohci', 'nec-usb-xhci', 'qemu-xhci'])('pc 1G + %s alone: nothing stays', (d) => {
    expect(reserved(cfg('pc', GiB, { devices: [dev(d)] }))).toBe(0x20000);
  });

  it('q35 -nodefaults + qemu-xhci alone: nothing stays', () => {
    expect(reserved(cfg('q35', GiB, { nodefaults: true, devices: [dev('qemu-xhci')] }))).toBe(0x20000);
  });

  it('refused: EHCI next to a disk driver (q35 + ich9-usb-ehci1 and its default AHCI CD-ROM; machine: +0x1000)', () => {
    expect(() => predict(cfg('q35', GiB, { devices: [dev('ich9-usb-ehci1')] }))).toThrow(/transient ZoneHigh allocations/);
  });

  // xHCI allocates before its thread first waits and frees only after probing the ports
  // (XHCI_PROBE_FOOTPRINT): the disk's data lands below it. Each booted on 7.2 + 1.16.2.
  it('xHCI next to a disk: its probe structures stay inside the reserved block (pc + virtio-blk: +0x1000)', () => {
    expect(reserved(cfg('pc', GiB, { drives: [VIRTIO], devices: [dev('qemu-xhci')] })) - reserved(cfg('pc', GiB, { drives: [VIRTIO] }))).toBe(0x1000);
    // q35's default CD-ROM: the AHCI port's blocks fit in the slack beside xHCI's (booted: no change).
    expect(reserved(cfg('q35', GiB, { devices: [dev('qemu-xhci')] }))).toBe(reserved(cfg('q35', GiB)));
    // Two controllers' threads interleave: not modelled; nor is a slot count other than 64.
    expect(() => predict(cfg('pc', GiB, { drives: [VIRTIO], devices: [dev('qemu-xhci'), dev('qemu-xhci')] }))).toThrow(/transient/);
    expect(() => predict(cfg('pc', GiB, { devices: [dev('qemu-xhci', ['slots', '8'])] }))).toThrow(/slot count/);
  });

  it('trixie, 64-bit BARs above 4 GiB: xHCI stays below 4 GiB (USB class is not migrated), and its probe structures sit above the queue', () => {
    const c = cfg('q35', 6n * GiB, { nodefaults: true, drives: [VIRTIO], devices: [dev('qemu-xhci')] });
    expect(reserved(c, '10.0', '1.16.3')).toBe(reserved(cfg('q35', 6n * GiB, { nodefaults: true, drives: [VIRTIO] }), '10.0', '1.16.3') + 0x1000);
  });

  it('pc-i440fx-1.7 boots the 128 KiB bios.bin, which has no xHCI driver: xHCI + virtio-blk is modelled', () => {
    const c = cfg('pc-i440fx-1.7', GiB, { drives: [VIRTIO], devices: [dev('qemu-xhci')] });
    expect(reserved(c)).toBe(reserved(cfg('pc-i440fx-1.7', GiB, { drives: [VIRTIO] })));
    expect(() => predict(cfg('pc-i440fx-1.7', GiB, { drives: [VIRTIO], devices: [dev('usb-ehci')] }))).toThrow(/transient/);
  });
});

describe('M9: pc-i440fx ≤ 1.7 runs bios.bin (default_machine_opts NULL), built without NVMe', () => {
  it.each(['pc-i440fx-1.4', 'pc-i440fx-1.7'])('%s: image bios.bin, NVMe leaves nothing (0x2000 = ACPI only)', (m) => {
    expect(handoff(cfg(m, GiB, NVME)).firmwareInputs.biosImage).toBe('bios.bin');
    expect(reserved(cfg(m, GiB, NVME))).toBe(0x2000);
  });

  it('pc-i440fx-2.0 runs bios-256k.bin: NVMe stays', () => {
    expect(handoff(cfg('pc-i440fx-2.0', GiB)).firmwareInputs.biosImage).toBe('bios-256k.bin');
    expect(reserved(cfg('pc-i440fx-2.0', GiB, NVME))).toBe(reserved(cfg('pc-i440fx-2.0', GiB)) + 0x9000);
  });
});

describe('M12: pci_pad_mem64 (1.16.3: phys-bits ≥ 36 valid + long mode + RAM > 4 GiB; 1.17.0: RAM > 4 GiB + long mode)', () => {
  const q35 = (cpuProps: Array<[string, string]> = [], m = 6n * GiB) => cfg('q35', m, { ...NVME, cpu: { model: 'qemu64', props: cpuProps } });
  it.each([
    ['trixie, qemu64 (AMD, 40 bits): BAR above 4 GiB, NVMe leaves nothing', q35(), '10.0', '1.16.3', 0x21000],
    ['trixie, -m 1G: no RAM above 4 GiB, NVMe stays', q35([], GiB), '10.0', '1.16.3', 0x29000],
    ['trixie, vendor=GenuineIntel (40 bits: not a trusted width, CPUPhysBits 0): NVMe stays', q35([['vendor', 'GenuineIntel']]), '10.0', '1.16.3', 0x29000],
    ['trixie, phys-bits=39 on AMD (untrusted): NVMe stays', q35([['phys-bits', '39']]), '10.0', '1.16.3', 0x29000],
    ['trixie, GenuineIntel phys-bits=39 (trusted): NVMe leaves nothing', q35([['vendor', 'GenuineIntel'], ['phys-bits', '39']]), '10.0', '1.16.3', 0x21000],
    ['sid, vendor=GenuineIntel: no phys-bits condition, NVMe leaves nothing', q35([['vendor', 'GenuineIntel']]), '11.1', '1.17.0', 0x21000],
    ['bookworm 1.16.2: never pads, NVMe stays', q35(), '7.2', '1.16.2', 0x29000],
  ] as const)('%s', (_n, c, q, s, size) => {
    expect(reserved(c, q, s)).toBe(size);
  });

  it('pciPadMem64 needs long mode and RAM above 4 GiB', () => {
    expect(pciPadMem64(handoff(cfg('q35', 6n * GiB), '10.0'), SEABIOS_PROFILES['1.16.3'])).toBe(true);
    expect(pciPadMem64(handoff(cfg('q35', 2n * GiB), '11.1'), SEABIOS_PROFILES['1.17.0'])).toBe(false);
    expect(pciPadMem64(handoff(cfg('q35', 6n * GiB)), SEABIOS_PROFILES['1.16.2'])).toBe(false);
  });

  it('NVMe on a named non-root bus while BARs go high: refused (bridge windows are 32-bit)', () => {
    const c = cfg('q35', 6n * GiB, {
      drives: [nullDrive('d1')],
      devices: [dev('pcie-root-port', ['id', 'rp1']), dev('nvme', ['drive', 'd1'], ['serial', 'n1'], ['bus', 'rp1'])],
    });
    expect(() => predict(c, '10.0', '1.16.3')).toThrow(UnsupportedOptionError);
  });
});

describe('UHCI next to the q35 AHCI CD-ROM', () => {
  // Booted: q35 1G + piix4-usb-uhci / ich9-usb-uhci1 on 5.2, 7.2 and 11.1 (firmware layer), versions.yaml usb-q35-1G-uhci-ahci-cdrom.
  it('leaves nothing: the AHCI port allocates after UHCI freed its probe structures', () => {
    const cd = predictAll(parseQemuArgs(['-M', 'q35', '-m', '1G']), BASELINE_TOOLCHAIN);
    expect(predictAll(parseQemuArgs(['-M', 'q35', '-m', '1G', '-device', 'ich9-usb-uhci1']), BASELINE_TOOLCHAIN).report).toEqual(cd.report);
  });
  it('with a virtio disk as well is not modelled', () => {
    expect(() => predictAll(parseQemuArgs(['-M', 'q35', '-m', '1G', '-device', 'piix3-usb-uhci', '-drive', 'file=null-co://,format=raw,if=virtio']), BASELINE_TOOLCHAIN)).toThrow(/UHCI next to an AHCI drive/);
  });
});

describe('an added AHCI controller', () => {
  // Booted: pc and q35 with -device ahci (with and without a virtio disk) on 5.2, 7.2 and 11.1.
  it('with no drive on it keeps nothing, like q35\'s own under -nodefaults', () => {
    const without = predictAll(parseQemuArgs(['-M', 'pc', '-m', '1G', '-drive', 'file=null-co://,format=raw,if=virtio']), BASELINE_TOOLCHAIN);
    const with_ = predictAll(parseQemuArgs(['-M', 'pc', '-m', '1G', '-device', 'ahci,id=sata0', '-drive', 'file=null-co://,format=raw,if=virtio']), BASELINE_TOOLCHAIN);
    expect(with_.report).toEqual(without.report);
    // ich9-ahci is the device's own name (`ahci` is its alias); booted on 10.0 q35.
    const named = predictAll(parseQemuArgs(['-M', 'pc', '-m', '1G', '-device', 'ich9-ahci,id=sata0', '-drive', 'file=null-co://,format=raw,if=virtio']), BASELINE_TOOLCHAIN);
    expect(named.report).toEqual(without.report);
  });
  it('with a drive on its bus, or an IDE device that may land on it, is not modelled', () => {
    expect(() => predictAll(parseQemuArgs(['-M', 'pc', '-device', 'ahci,id=sata0', '-drive', 'file=null-co://,format=raw,if=none,id=d0', '-device', 'ide-hd,bus=sata0.0,drive=d0']), BASELINE_TOOLCHAIN)).toThrow(/ide-hd on its bus/);
    expect(() => predictAll(parseQemuArgs(['-M', 'pc', '-device', 'ahci', '-drive', 'file=null-co://,format=raw,if=none,id=d0', '-device', 'ide-hd,drive=d0']), BASELINE_TOOLCHAIN)).toThrow(/without id= with ide-hd that may sit on it/);
  });
  it('without id= and no IDE device that could take one of its ports: as with an id (booted: q35 and pc -device ahci on 5.2, 10.0, 11.1)', () => {
    for (const m of ['pc', 'q35']) {
      const without = predictAll(parseQemuArgs(['-M', m, '-m', '1G']), BASELINE_TOOLCHAIN);
      expect(predictAll(parseQemuArgs(['-M', m, '-m', '1G', '-device', 'ahci']), BASELINE_TOOLCHAIN).report).toEqual(without.report);
    }
  });
});

describe('legacy-only virtio: the queue size QEMU reports', () => {
  // Booted (suites/matrix/versions.yaml pc-i440fx-2.6-*, *disable-modern*, *legacy-queue512*).
  const reserved = (argv: string[], t: Toolchain) => predictAll(parseQemuArgs(argv, { qemuVersion: t.qemu }), t).firmware.entries.filter((e) => e.type === 2 && e.start > 0x100000n && e.end <= 0x40000000n);
  const q100 = toolchainOf({ qemu: '10.0', seabios: '1.16.3', kernel: '6.12' });
  const disk = ['-drive', 'file=null-co://,format=raw,if=virtio'];
  it('10.0 reports 1024 on ≤ 2.6 and SeaBIOS keeps nothing; 7.2 reports 128 and the queue stays', () => {
    expect(reserved(['-M', 'pc-i440fx-2.6', '-m', '1G', ...disk], q100)).toEqual(reserved(['-M', 'pc-i440fx-2.6', '-m', '1G'], q100));
    expect(reserved(['-M', 'pc-i440fx-2.6', '-m', '1G', ...disk], BASELINE_TOOLCHAIN)).not.toEqual(reserved(['-M', 'pc-i440fx-2.6', '-m', '1G'], BASELINE_TOOLCHAIN));
  });
  it('disable-modern= on the device decides, and a legacy queue over 256 fails on any release', () => {
    const dev = (p: string) => ['-M', 'pc', '-m', '1G', '-drive', 'file=null-co://,format=raw,if=none,id=d0', '-device', `virtio-blk-pci,drive=d0,${p}`];
    expect(reserved(dev('disable-modern=on'), q100)).toEqual(reserved(['-M', 'pc', '-m', '1G'], q100));
    expect(reserved(dev('disable-modern=on,queue-size=512'), BASELINE_TOOLCHAIN)).toEqual(reserved(['-M', 'pc', '-m', '1G'], BASELINE_TOOLCHAIN));
    expect(reserved(['-M', 'pc-i440fx-2.6', '-m', '1G', ...dev('disable-modern=off').slice(4)], q100)).not.toEqual(reserved(['-M', 'pc-i440fx-2.6', '-m', '1G'], q100));
  });
});
