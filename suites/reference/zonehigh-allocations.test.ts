// What e820 explore found (docs/model/explore-findings.md#m17, #m18, #m19, #m21): SMBIOS type 4 count and RAM from a memory backend per QEMU
// version, NVMe's real ZoneHigh allocation list, self-built ACPI next to drivers. Expected values
// confirmed with `npx e820 check` (QEMU 7.2.22 + SeaBIOS 1.16.2-1; 5.2 = 5.2+dfsg-11 + 1.14.0-2).
import { describe, expect, it } from 'vitest';
import { GiB, MiB } from '../../reference/address.ts';
import type { MachineConfig } from '../../reference/config.ts';
import { QEMU_PROFILES } from '../../reference/profiles/qemu.ts';
import { SEABIOS_PROFILES } from '../../reference/profiles/seabios.ts';
import { qemuStage } from '../../reference/qemu/index.ts';
import { seabiosStage } from '../../reference/seabios/index.ts';
import { UnsupportedOptionError } from '../../reference/stages.ts';
import type { QemuVersion, SeabiosVersion } from '../../reference/toolchain.ts';
import { machineConfig } from './machine-config-fixture.ts';

const cfg = machineConfig;
const predict = (c: MachineConfig, q: QemuVersion, s: SeabiosVersion) => seabiosStage(qemuStage(c, QEMU_PROFILES[q], {}), SEABIOS_PROFILES[s]);
const virtio: Array<[string, string]> = [['file', 'null-co://'], ['format', 'raw'], ['if', 'virtio']];
const nvmeDrive: Array<[string, string]> = [['file', 'null-co://'], ['format', 'raw'], ['if', 'none'], ['id', 'd1']];
const nvme = { driver: 'nvme', props: [['drive', 'd1'], ['serial', 'n1']] as Array<[string, string]> };
/** Size of the reserved block SeaBIOS keeps at the top of RAM below 4 GiB (pc -m 1G: ends at 1 GiB). */
const topReserved = (c: MachineConfig, q: QemuVersion = '7.2', s: SeabiosVersion = '1.16.2'): bigint => {
  const e = predict(c, q, s).entries.find((x) => x.type === 2 && (x.end === GiB || x.end === GiB - 1n));
  return e === undefined ? 0n : GiB - e.start;
};

describe('M17: SMBIOS type 4 count', () => {
  const c = cfg('pc', GiB, { smp: { cpus: 1, sockets: 8, dies: null, cores: null, threads: null, maxcpus: 8 } });
  it('5.2 builds type 4 for the sockets holding present CPUs: SMBIOS stays in the F-segment', () => {
    expect(QEMU_PROFILES['5.2'].smbiosType4Sockets).toBe('present');
    expect(topReserved(c, '5.2', '1.14.0')).toBe(0x20000n);
  });
  it('7.2 builds one per configured socket', () => {
    expect(QEMU_PROFILES['7.2'].smbiosType4Sockets).toBe('configured');
    expect(topReserved(c, '7.2')).toBe(0x21000n);
  });
});

describe('M18: -machine memory-backend= without -m', () => {
  const c = cfg('pc', null, { memoryBackend: 'r0', backends: [{ id: 'r0', kind: 'memory-backend-ram', size: GiB, props: [] }] });
  it('5.2 keeps the 128 MiB default', () => {
    expect(qemuStage(c, QEMU_PROFILES['5.2'], {}).ramSize).toBe(128n * MiB);
  });
  it('7.2 takes the backend size', () => {
    expect(qemuStage(c, QEMU_PROFILES['7.2'], {}).ramSize).toBe(GiB);
  });
});

describe('M19: NVMe allocation list', () => {
  it('NVMe alone: +0x9000 over the ACPI blob', () => {
    expect(topReserved(cfg('pc', GiB, { drives: [nvmeDrive], devices: [nvme] }))).toBe(0x29000n);
  });
  it('with a virtio-blk disk the 88-byte controller struct sits in the queue slack: 0x2b000', () => {
    expect(topReserved(cfg('pc', GiB, { drives: [virtio, nvmeDrive], devices: [nvme] }))).toBe(0x2b000n);
  });
  it('two NVMe controllers are refused (thread interleaving)', () => {
    const two = cfg('pc', GiB, {
      drives: [nvmeDrive, [['file', 'null-co://'], ['format', 'raw'], ['if', 'none'], ['id', 'd2']]],
      devices: [nvme, { driver: 'nvme', props: [['drive', 'd2'], ['serial', 'n2']] }],
    });
    expect(() => predict(two, '7.2', '1.16.2')).toThrow(UnsupportedOptionError);
  });
});

describe('M21: SeaBIOS-built ACPI next to a driver', () => {
  it('pc-i440fx-1.6 alone: the tables SeaBIOS builds fit a 0x2000 block', () => {
    expect(topReserved(cfg('pc-i440fx-1.6', GiB))).toBe(0x2000n);
  });
  it('pc-i440fx-1.6 + a virtio disk: the 0x2a24-byte queue packs below the tables, +0x5000 (booted on 5.2 and 7.2)', () => {
    expect(topReserved(cfg('pc-i440fx-1.6', GiB, { drives: [virtio] }))).toBe(0x5000n);
    expect(topReserved(cfg('pc-i440fx-1.6', GiB, { drives: [virtio] }), '5.2', '1.14.0')).toBe(0x5000n);
  });
});
