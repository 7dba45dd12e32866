// The devices `e820 explore` draws from each release's `-device help` (reference/profiles/qemu-devices.ts)
// and what the model does with each (reference/qemu/devices.ts QUIET_STANDALONE_DEVICES, NOT_MODELLED_WHY;
// reference/qemu/firmware-inputs.ts deviceRealizeRefusals). Each quiet group was booted with
// `e820 check --scope firmware` on 5.2 + 1.14.0, 7.2 + 1.16.2, 10.0 + 1.16.3 and 11.1 + 1.17.0 (pc next
// to a virtio-blk disk, q35 next to its AHCI CD-ROM): the map is the one without the devices; the
// refusals are QEMU's words on those releases. Named cells: suites/matrix/versions.yaml `devices-*`.
import { describe, expect, it } from 'vitest';
import { GiB } from '../../reference/address.ts';
import type { DeviceConfig, MachineConfig } from '../../reference/config.ts';
import { QEMU_PROFILES } from '../../reference/profiles/qemu.ts';
import { qemuStandaloneDevices, QEMU_STANDALONE_DEVICES, type QemuDeviceKind } from '../../reference/profiles/qemu-devices.ts';
import { SEABIOS_PROFILES } from '../../reference/profiles/seabios.ts';
import { qemuStage } from '../../reference/qemu/index.ts';
import { seabiosStage } from '../../reference/seabios/index.ts';
import { QemuRefusal, UnsupportedOptionError } from '../../reference/stages.ts';
import type { QemuVersion, SeabiosVersion } from '../../reference/toolchain.ts';
import { machineConfig } from './machine-config-fixture.ts';

const dev = (driver: string, ...props: Array<[string, string]>): DeviceConfig => ({ driver, props });
const VIRTIO: Array<[string, string]> = [['file', 'null-co://'], ['format', 'raw'], ['if', 'virtio']];
const TOOLCHAINS: Array<[QemuVersion, SeabiosVersion]> = [['5.2', '1.14.0'], ['7.2', '1.16.2'], ['10.0', '1.16.3'], ['11.1', '1.17.0']];
const map = (c: MachineConfig, q: QemuVersion, s: SeabiosVersion) => seabiosStage(qemuStage(c, QEMU_PROFILES[q], {}), SEABIOS_PROFILES[s]).entries;

const QUIET = [
  'lsi53c895a', 'lsi53c810', 'megasas', 'megasas-gen2', 'mptsas1068', 'am53c974', 'dc390', 'sdhci-pci',
  'e1000-82545em', 'i82559er', 'ne2k_pci', 'ne2k_isa', 'pcnet', 'tulip', 'vmxnet3', 'ati-vga', 'secondary-vga', 'vmware-svga',
  'ES1370', 'sb16', 'cs4231a', 'pci-serial-4x', 'edu', 'pci-testdev', 'pc-testdev', 'hyperv-testdev', 'i6300esb', 'ib700', 'vmcoreinfo',
];

describe('devices that leave nothing in ZoneHigh: the map without them', () => {
  for (const [q, s] of TOOLCHAINS) {
    it.each(QUIET)(`%s on pc next to a virtio-blk disk and on q35 (${q} + ${s})`, (driver) => {
      const pc = machineConfig('pc', GiB, { drives: [VIRTIO] });
      expect(map({ ...pc, devices: [dev(driver)] }, q, s)).toEqual(map(pc, q, s));
      const q35 = machineConfig('q35', GiB);
      expect(map({ ...q35, devices: [dev(driver)] }, q, s)).toEqual(map(q35, q, s));
    });
  }

  it('piix4-usb-uhci is driven as UHCI: its probe structures stay below a virtio-blk queue (+0x2000, as piix3-usb-uhci)', () => {
    const pc = machineConfig('pc', GiB, { drives: [VIRTIO] });
    expect(map({ ...pc, devices: [dev('piix4-usb-uhci')] }, '7.2', '1.16.2')).toEqual(map({ ...pc, devices: [dev('piix3-usb-uhci')] }, '7.2', '1.16.2'));
  });

  it('every curated device of every release is claimed, refused in QEMU words, or declined with a reason', () => {
    for (const [q] of TOOLCHAINS) {
      for (const kind of Object.keys(QEMU_STANDALONE_DEVICES) as QemuDeviceKind[]) {
        for (const driver of qemuStandaloneDevices(q, kind)) {
          const devices = kind === 'usb-device' ? [dev('piix3-usb-uhci'), dev(driver)] : [dev(driver)];
          try {
            qemuStage({ ...machineConfig('q35', GiB), devices }, QEMU_PROFILES[q], {});
          } catch (e) {
            if (e instanceof UnsupportedOptionError) expect(e.message).not.toMatch(/its firmware footprint is not modelled$/);
            else expect(e).toBeInstanceOf(QemuRefusal);
          }
        }
      }
    }
  });
});

describe('combinations QEMU refuses for reasons not modelled are declined', () => {
  it.each([
    [['vmware-svga', 'vmware-svga'], /vmware-svga twice/],
    [['VGA', 'vmware-svga'], /vmware-svga next to VGA/],
    [['vmware-svga', 'qxl-vga'], /vmware-svga next to qxl-vga/],
    [['sb16', 'sb16'], /sb16 twice/],
  ])('%j', (drivers, reason) => {
    const c = { ...machineConfig('pc', GiB), devices: drivers.map((d) => dev(d)) };
    expect(() => qemuStage(c, QEMU_PROFILES['10.0'], {})).toThrow(reason);
  });
});

describe('refusals at -device realize, in QEMU words', () => {
  it('vmcoreinfo on a machine type without fw_cfg DMA (≤ 2.4), and a second one', () => {
    const old = { ...machineConfig('pc', GiB), machine: { ...machineConfig('pc', GiB).machine, name: 'pc-i440fx-2.4', version: '2.4' }, devices: [dev('vmcoreinfo')] };
    expect(() => qemuStage(old, QEMU_PROFILES['7.2'], {})).toThrow('-device vmcoreinfo: vmcoreinfo device requires fw_cfg with DMA');
    const two = { ...machineConfig('pc', GiB), devices: [dev('vmcoreinfo'), dev('vmcoreinfo')] };
    expect(() => qemuStage(two, QEMU_PROFILES['11.1'], {})).toThrow('-device vmcoreinfo: at most one vmcoreinfo device is permitted');
  });

  it.each(['usb-kbd', 'usb-mouse'])('%s (boot protocol) is declined behind UHCI too; usb-tablet behind UHCI is predicted (11.1 + 1.17.0, pc 1G: kbd and mouse move the end of RAM 2 pages, the tablet none)', (hid) => {
    const c = machineConfig('pc', GiB, { devices: [dev('piix3-usb-uhci'), dev(hid)] });
    expect(() => qemuStage(c, QEMU_PROFILES['11.1'], {})).toThrow(UnsupportedOptionError);
    expect(() => qemuStage(c, QEMU_PROFILES['11.1'], {})).toThrow(/boot-protocol USB keyboard or mouse/);
    expect(() => qemuStage(machineConfig('pc', GiB, { devices: [dev('piix3-usb-uhci'), dev('usb-tablet')] }), QEMU_PROFILES['11.1'], {})).not.toThrow();
  });

  it.each(['5.2', '7.2', '10.0', '11.1'] as const)('a second vmgenid, a second pvpanic on %s (measured with -S on each)', (q) => {
    const twice = (driver: string, ...second: Array<[string, string]>) => machineConfig('q35', GiB, { devices: [dev(driver), dev(driver, ...second)] });
    expect(() => qemuStage(twice('vmgenid'), QEMU_PROFILES[q], {})).toThrow('-device vmgenid: at most one vmgenid device is permitted');
    expect(() => qemuStage(twice('pvpanic'), QEMU_PROFILES[q], {})).toThrow('-device pvpanic: duplicate fw_cfg file name: etc/pvpanic-port');
    expect(() => qemuStage(twice('pvpanic', ['ioport', '0x600']), QEMU_PROFILES[q], {})).toThrow('-device pvpanic,ioport=0x600: duplicate fw_cfg file name: etc/pvpanic-port');
    expect(() => qemuStage(machineConfig('q35', GiB, { devices: [dev('pvpanic'), dev('vmgenid')] }), QEMU_PROFILES[q], {})).not.toThrow();
  });

  it.each(['5.2', '7.2', '10.0', '11.1'] as const)('isa-parallel without chardev= on %s (with one it is quiet)', (q) => {
    const c = { ...machineConfig('q35', GiB), devices: [dev('isa-parallel')] };
    expect(() => qemuStage(c, QEMU_PROFILES[q], {})).toThrow("-device isa-parallel: Can't create parallel device, empty char device");
    expect(() => qemuStage({ ...c, devices: [dev('isa-parallel', ['chardev', 'p0'])] }, QEMU_PROFILES[q], {})).not.toThrow();
  });

  it.each(['kvaser_pci', 'pcm3680_pci', 'mioe3680_pci'])('%s without a CAN bus', (driver) => {
    const c = { ...machineConfig('q35', GiB), devices: [dev(driver)] };
    expect(() => qemuStage(c, QEMU_PROFILES['5.2'], {})).toThrow(`-device ${driver}: can_sja_connect_to_bus failed`);
  });

  it('virtio-iommu-pci on 5.2: no x86 hotplug handler for it, on every machine type; 7.2+ take it (explore seed 161501 cell 034)', () => {
    const hints = 'Check your machine implements a hotplug handler for the virtio-iommu-pci device\nCheck the guest is booted without FW or with -no-acpi';
    for (const machine of ['pc', 'pc-i440fx-5.1', 'pc-i440fx-2.6', 'q35', 'pc-q35-5.1']) {
      const c = machineConfig(machine, GiB, { devices: [dev('virtio-iommu-pci')] });
      const named = machine === 'pc' ? 'pc-i440fx-5.2' : machine === 'q35' ? 'pc-q35-5.2' : machine;
      expect(() => qemuStage(c, QEMU_PROFILES['5.2'], {})).toThrow(`-device virtio-iommu-pci: ${named} machine fails to create iommu-map device tree bindings\n${hints}`);
    }
    for (const q of ['7.2', '10.0', '11.1'] as const) {
      expect(() => qemuStage(machineConfig('pc', GiB, { devices: [dev('virtio-iommu-pci')] }), QEMU_PROFILES[q], {})).not.toThrow();
    }
  });

  it('an IOMMU on pc, in each release\'s words (q35 takes it)', () => {
    const c = { ...machineConfig('pc', GiB), devices: [dev('amd-iommu')] };
    expect(() => qemuStage(c, QEMU_PROFILES['5.2'], {})).toThrow("Option '-device amd-iommu' cannot be handled by this machine");
    expect(() => qemuStage(c, QEMU_PROFILES['11.1'], {})).toThrow("-device amd-iommu: Parameter 'driver' expects a dynamic sysbus device type for the machine");
    expect(() => qemuStage({ ...machineConfig('q35', GiB), devices: [dev('intel-iommu')] }, QEMU_PROFILES['7.2'], {})).toThrow(/an IOMMU/);
  });
});

describe('pvscsi: a descriptor and three ring pages in ZoneHigh, disk or not (src/hw/pvscsi.c pvscsi_init_rings)', () => {
  // Booted (firmware layer): pc alone on 5.2, 7.2; pc + virtio-blk, q35 (AHCI CD-ROM), pc + UHCI,
  // pc-i440fx-1.7 (bios.bin: no pvscsi driver) on 7.2; q35 on 11.1; pc + qemu-xhci on 10.0.
  it.each(TOOLCHAINS)('pc 1G on %s: 0x4000 more than without (%s)', (q, s) => {
    const pc = machineConfig('pc', GiB);
    const without = seabiosStage(qemuStage(pc, QEMU_PROFILES[q], {}), SEABIOS_PROFILES[s]).zoneHighReturned;
    const withIt = seabiosStage(qemuStage({ ...pc, devices: [dev('pvscsi')] }, QEMU_PROFILES[q], {}), SEABIOS_PROFILES[s]).zoneHighReturned;
    expect(without - withIt).toBe(0x4000);
  });
  it('next to a SCSI disk it is declined (which controller holds it is not modelled)', () => {
    const c = { ...machineConfig('pc', GiB), devices: [dev('pvscsi', ['id', 'p0']), dev('scsi-hd', ['bus', 'p0.0'], ['drive', 'd0'])] };
    expect(() => qemuStage(c, QEMU_PROFILES['7.2'], {})).toThrow(/next to pvscsi/);
  });
});

