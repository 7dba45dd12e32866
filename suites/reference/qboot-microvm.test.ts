// qboot's table (reference/qboot-stage.ts), the firmware road (reference/firmware.ts) and the
// microvm machine (reference/qemu/microvm.ts), against what QEMU 5.2, 7.2.22, 10.0.13 and 11.1.3
// booted on this machine (suites/matrix/qboot.yaml, suites/matrix/microvm.yaml).

import { describe, expect, it } from 'vitest';
import { GiB, MiB } from '../../reference/address.ts';
import { parseQemuArgs } from '../../reference/cmdline/index.ts';
import { E820 } from '../../reference/e820.ts';
import { firmwareRoad } from '../../reference/firmware.ts';
import { predict } from '../../reference/predict.ts';
import { QEMU_PROFILES } from '../../reference/profiles/qemu.ts';
import { QEMU_FIRMWARE_FILES } from '../../reference/profiles/firmware-files.ts';
import { qbootInt15Answers, qbootStage } from '../../reference/qboot-stage.ts';
import { microvmCmos, qemuStage } from '../../reference/qemu/index.ts';
import { microvmOptions } from '../../reference/qemu/microvm.ts';
import { UnsupportedOptionError } from '../../reference/stages.ts';
import { QEMU_VERSIONS, type QemuVersion, type Toolchain } from '../../reference/toolchain.ts';

/** Each Debian suite's own toolchain, by its QEMU. */
const SUITE: Record<QemuVersion, Toolchain> = {
  '5.2': { qemu: '5.2', seabios: '1.14.0', kernel: '5.10' },
  '7.2': { qemu: '7.2', seabios: '1.16.2', kernel: '6.1' },
  '10.0': { qemu: '10.0', seabios: '1.16.3', kernel: '6.12' },
  '11.1': { qemu: '11.1', seabios: '1.17.0', kernel: '7.2' },
};
const toolchainOf = (qemu: QemuVersion): Toolchain => SUITE[qemu];
const config = (args: string, qemu: QemuVersion) => parseQemuArgs(args.split(' '), { qemuVersion: qemu });
const handoff = (args: string, qemu: QemuVersion = '7.2') => qemuStage(config(args, qemu), QEMU_PROFILES[qemu]);
const range = (start: bigint, end: bigint, type: number) => ({ start, end, type });
const FIXED = [range(0n, 0x9fc00n, E820.RAM), range(0x9fc00n, 0xa0000n, E820.RESERVED), range(0xd0000n, 0xf0000n, E820.NVS), range(0xf0000n, 0x100000n, E820.RESERVED)];
const HT = range(0xfd00000000n, 0x10000000000n, E820.RESERVED);

describe('qboot: extract_e820 (main.c)', () => {
  it('pc: the four fixed entries, then etc/e820 in file order with its RAM at 0 moved to 1 MiB', () => {
    // 7.2's etc/e820 lists the AMD HT reservation before the RAM (observed through the guest's fw_cfg).
    expect(qbootStage(handoff('-M pc -m 1G -bios qboot.rom')).entries).toEqual([...FIXED, HT, range(MiB, GiB, E820.RAM)]);
  });
  it('q35: the MMCONFIG window qboot programs is reserved after the fixed entries', () => {
    expect(qbootStage(handoff('-M q35 -m 4G -bios qboot.rom', '10.0')).entries).toEqual([
      ...FIXED,
      range(0xb0000000n, 0xc0000000n, E820.RESERVED),
      HT,
      range(MiB, 2n * GiB, E820.RAM),
      range(4n * GiB, 6n * GiB, E820.RAM),
    ]);
  });
  it('answers only E820: E801 fails, 88h leaves AX as the caller passed it', () => {
    const fw = qbootStage(handoff('-M pc -m 1G -bios qboot.rom'));
    expect(qbootInt15Answers(fw)).toEqual({ e820: fw.entries, e801: null, e88: { ax: 0x8800 } });
  });
  it('its SMBIOS BIOS year (2019) only where it can publish SMBIOS (a 2.1 entry point)', () => {
    expect(qbootStage(handoff('-M q35 -m 1G -bios qboot.rom', '10.0')).smbiosBiosYear).toBe(2019);
    expect(qbootStage(handoff('-M q35,smbios-entry-point-type=64 -m 1G -bios qboot.rom', '10.0')).smbiosBiosYear).toBeNull();
  });
});

describe('the kernel on qboot (observed lines)', () => {
  const kernel = (args: string, qemu: QemuVersion) => predict(config(args, qemu), toolchainOf(qemu)).kernel!;
  it('pc 1G on 7.2: BIOS-e820 lines, and no uncertainty from option ROMs (qboot runs none)', () => {
    const k = kernel('-M pc -m 1G -bios qboot.rom', '7.2');
    expect(k.biosE820).toEqual([
      'BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable',
      'BIOS-e820: [mem 0x000000000009fc00-0x000000000009ffff] reserved',
      'BIOS-e820: [mem 0x00000000000d0000-0x00000000000effff] ACPI NVS',
      'BIOS-e820: [mem 0x00000000000f0000-0x00000000000fffff] reserved',
      'BIOS-e820: [mem 0x0000000000100000-0x000000003fffffff] usable',
      'BIOS-e820: [mem 0x000000fd00000000-0x000000ffffffffff] reserved',
    ]);
    expect(k.iomem).toContain('000d0000-000effff : ACPI Non-volatile Storage');
    expect(k.unpredictable ?? []).toEqual([]);
  });
  it('q35: 6.1 checks the ECAM window against E820 and says so; 6.12 and 7.2 skip the check for a BIOS dated 2016 or later', () => {
    const line = (k: { e820Edits?: readonly string[] }) => (k.e820Edits ?? []).filter((l) => /ECAM|MMCONFIG/.test(l));
    expect(line(kernel('-M q35 -m 4G -bios qboot.rom', '7.2'))).toEqual(['PCI: MMCONFIG at [mem 0xb0000000-0xbfffffff] reserved in E820']);
    expect(line(kernel('-M q35 -m 4G -bios qboot.rom', '10.0'))).toEqual([]);
    expect(line(kernel('-M q35 -m 4G -bios qboot.rom', '11.1'))).toEqual([]);
    // SeaBIOS's BIOS date is 2014: the check and its line stay.
    expect(line(kernel('-M q35 -m 4G', '10.0'))).toEqual(['PCI: ECAM [mem 0xb0000000-0xbfffffff] reserved as E820 entry']);
  });
});

describe('the firmware road', () => {
  const road = (args: string, qemu: QemuVersion) => firmwareRoad(handoff(args, qemu), qemu, config(args, qemu).bios);
  it.each(QEMU_VERSIONS.map((v) => [v]))('%s: -bios qboot.rom is qboot, the default is SeaBIOS', (v) => {
    expect(road('-M pc -m 1G -bios qboot.rom', v).kind).toBe('qboot');
    expect(road('-M q35 -m 1G', v).kind).toBe('seabios');
    expect(QEMU_FIRMWARE_FILES[v].qbootRom).toBe(true);
  });
  it('bios-microvm.bin: qboot on 5.2 and 7.2 (a symlink in Debian), the suite\'s SeaBIOS microvm build on 10.0 and 11.1 (microvm only)', () => {
    expect(road('-M microvm,acpi=off -m 1G -bios bios-microvm.bin', '5.2').kind).toBe('qboot');
    expect(road('-M microvm,acpi=off -m 1G -bios bios-microvm.bin', '7.2').kind).toBe('qboot');
    expect(road('-M microvm,acpi=off -m 1G -bios bios-microvm.bin', '10.0')).toMatchObject({ kind: 'seabios', seabiosVersion: '1.16.3' });
    expect(road('-M microvm,acpi=off -m 1G -bios bios-microvm.bin', '11.1')).toMatchObject({ kind: 'seabios', seabiosVersion: '1.17.0' });
    expect(() => road('-M pc -m 1G -bios bios-microvm.bin', '10.0')).toThrow(/SeaBIOS's microvm build/);
  });
  it('SeaBIOS\'s microvm build on 10.0: the map of a machine without PCI, with the image\'s own release\'s profile (observed, 4G)', () => {
    // The toolchain names SeaBIOS 1.16.2, but the harness's SeaBIOS directory holds only bios.bin and
    // bios-256k.bin, so QEMU finds bios-microvm.bin in its own suite's files: trixie's 1.16.3. The map
    // is the one booted with trixie's toolchain (suites/matrix/microvm.yaml microvm-4G-seabios).
    const p = predict(config('-M microvm,acpi=off -m 4G -bios bios-microvm.bin', '10.0'), { qemu: '10.0', seabios: '1.16.2', kernel: '6.12' });
    expect(p.firmware.entries).toEqual([
      range(0n, 0x9fc00n, E820.RAM),
      range(0x9fc00n, 0xa0000n, E820.RESERVED),
      range(0xf0000n, 0x100000n, E820.RESERVED),
      range(MiB, 3n * GiB, E820.RAM),
      range(0xfffc0000n, 4n * GiB, E820.RESERVED),
      range(4n * GiB, 5n * GiB, E820.RAM),
    ]);
    expect(p.firmware.zoneHighReturned).toBe(16 * 1024 * 1024);
    expect(p.firmwareUnobservable).toBeNull();
    expect(() => handoff('-M microvm,acpi=off,x-option-roms=off -m 1G -bios bios-microvm.bin', '10.0')).toThrow(/option ROM/);
  });
  it('SeaBIOS\'s pc images on microvm: the 128 KiB bios.bin like isapc (observed on 7.2), the 256 KiB one refused (it stops in POST)', () => {
    expect(road('-M microvm,acpi=off -m 1G -bios bios.bin', '7.2').kind).toBe('seabios');
    const p = predict(config('-M microvm,acpi=off -m 1G -bios bios.bin', '7.2'), toolchainOf('7.2'));
    expect(p.firmware.entries).toEqual([range(0n, 0x9fc00n, E820.RAM), range(0x9fc00n, 0xa0000n, E820.RESERVED), range(0xf0000n, MiB, E820.RESERVED), range(MiB, GiB, E820.RAM), range(0xfffc0000n, 4n * GiB, E820.RESERVED)]);
    expect(() => predict(config('-M microvm,acpi=off -m 1G -bios bios-256k.bin', '7.2'), toolchainOf('7.2'))).toThrow(/does not finish POST/);
    expect(() => handoff('-M microvm,acpi=off,x-option-roms=off -m 1G -bios bios.bin', '7.2')).toThrow(/option ROM/);
  });
  it('qboot under KVM is refused (KVM cells stop at the firmware, and qboot prints nothing)', () => {
    const c = config('-M pc -m 1G -bios qboot.rom -accel kvm', '7.2');
    expect(() => predict(c, toolchainOf('7.2'), { host: { cpuVendor: 'AuthenticAMD', physBits: 48 } })).toThrow(/qboot under KVM/);
  });
  it('a declared SeaBIOS change on a qboot configuration is refused', () => {
    const c = config('-M pc -m 1G -bios qboot.rom', '7.2');
    expect(() => predict(c, toolchainOf('7.2'), { intent: { qemu: [], firmware: [{ op: 'add', start: 0x50000000n, size: MiB, type: E820.RESERVED }] } })).toThrow(UnsupportedOptionError);
  });
});

describe('microvm: hw/i386/microvm.c', () => {
  it.each(QEMU_VERSIONS.map((v) => [v]))('%s: RAM split at 3 GiB, RAM records only, qboot without ACPI', (v) => {
    const h = handoff('-M microvm,acpi=off -m 4G', v);
    expect(h.e820).toEqual([
      { start: 0n, length: 3n * GiB, type: E820.RAM },
      { start: 4n * GiB, length: GiB, type: E820.RAM },
    ]);
    expect(h.platform.pci).toBe(false);
    expect(h.firmwareInputs.biosImage).toBe('qboot.rom');
    expect(handoff('-M microvm,acpi=off -m 3G', v).e820).toEqual([{ start: 0n, length: 3n * GiB, type: E820.RAM }]);
  });
  it('microvm_set_rtc: base memory is MIN(below / KiB, 640), no CPU count; all ones without an RTC', () => {
    expect(microvmCmos(512n * 1024n, 0n, true).baseKiB).toBe(512);
    expect(microvmCmos(3n * GiB, GiB, true)).toEqual({ baseKiB: 640, extendedKiB: 65535, above16MiB64K: 48896, above4GiB64K: 16384, cpusMinusOne: 0 });
    // No RTC: the registers read as all ones (qtest, 5.2 and 11.1).
    expect(microvmCmos(GiB, 0n, false)).toEqual({ baseKiB: 0xffff, extendedKiB: 0xffff, above16MiB64K: 0xffff, above4GiB64K: 0xffffff, cpusMinusOne: 0xff });
  });
  it('pcie=on means nothing without ACPI; rtc defaults on under TCG', () => {
    const o = microvmOptions(config('-M microvm,acpi=off,pcie=on -m 1G', '10.0'));
    expect(o).toMatchObject({ acpi: false, pcie: false, rtc: true, isaSerial: true });
  });
  it('what cannot be captured or is not modelled is refused by name', () => {
    expect(() => handoff('-M microvm -m 1G')).toThrow(/acpi=off/);
    expect(() => handoff('-M microvm,acpi=on -m 1G')).toThrow(/no clock/);
    expect(() => handoff('-M microvm,acpi=off,isa-serial=off -m 1G')).toThrow(/no serial console/);
    expect(() => handoff('-M microvm,acpi=off,pit=off -m 1G')).toThrow(UnsupportedOptionError);
    expect(() => handoff('-M microvm,acpi=off -m 1G,slots=2,maxmem=4G')).toThrow(/no memory hotplug/);
    expect(() => handoff('-M microvm,acpi=off -m 1G -accel kvm')).toThrow(/KVM/);
  });
  it('rtc=off with qboot: on 5.2, where the guest hangs before the kernel\'s banner, the kernel layer is not predicted but the QEMU layer is; the releases that boot it predict both', () => {
    for (const args of ['-M microvm,acpi=off,rtc=off -m 1G', '-M microvm,acpi=off,rtc=off,x-option-roms=off -m 4180']) {
      const hung = predict(config(args, '5.2'), toolchainOf('5.2'));
      expect(hung.kernelStarts).toBe(false);
      expect(hung.kernel).toBeNull();
      expect(hung.report.kernel).toBeUndefined();
      expect(hung.unpredicted.join('\n')).toMatch(/rtc=off with qboot on microvm of QEMU 5.2: the guest hangs/);
      expect(hung.report.qemu?.e820?.length).toBeGreaterThan(0);
      expect(hung.report.qemu).toEqual(predict(config(args, '7.2'), toolchainOf('7.2')).report.qemu);
      expect(handoff(args, '5.2').cmos).toEqual(handoff(args, '7.2').cmos);
      for (const v of ['7.2', '10.0', '11.1'] as const) {
        expect(handoff(args, v).cmos.baseKiB).toBe(0xffff);
        expect(predict(config(args, v), toolchainOf(v)).kernelStarts).toBe(true);
      }
    }
    expect(predict(config('-M microvm,acpi=off -m 4180', '5.2'), toolchainOf('5.2')).kernelStarts).toBe(true);
  });
  it('dies > 1: refused in QEMU\'s words from 7.2 on (microvm has no smp_props.dies_supported), taken on 5.2', () => {
    const args = '-M microvm,acpi=off -m 1G -smp 2,dies=2';
    expect(() => handoff(args, '7.2')).toThrow("dies not supported by this machine's CPU topology");
    for (const v of ['10.0', '11.1'] as const) expect(() => handoff(args, v)).toThrow("dies > 1 not supported by this machine's CPU topology");
    expect(handoff(args, '5.2').machine.family).toBe('microvm');
    expect(handoff('-M microvm,acpi=off -m 1G -smp 2,dies=1', '11.1').topology.cpus).toBe(2);
  });
  it('predicts the kernel layer from qboot\'s table, without PCI (no RAM buffers)', () => {
    const p = predict(config('-M microvm,acpi=off -m 1G', '10.0'), toolchainOf('10.0'));
    expect(p.firmwareRoad.kind).toBe('qboot');
    expect(p.firmwareUnobservable).toMatch(/qboot prints nothing/);
    expect(p.kernel!.e820Edits!.some((l) => l.includes('RAM buffer'))).toBe(false);
  });
});
