// M26 – M32 (docs/model/explore-findings.md): QEMU-layer disagreements `e820 qtest --explore`
// found on 05 Dec 2026; their cells in suites/matrix/qemu-layer.yaml check them against QEMU.
import { describe, expect, it } from 'vitest';
import { parseQemuArgs } from '../../reference/cmdline/index.ts';
import { QEMU_PROFILES } from '../../reference/profiles/qemu.ts';
import { qemuStage, smbiosTablesBytes } from '../../reference/qemu/index.ts';
import type { QemuVersion } from '../../reference/toolchain.ts';

const GiB = 1n << 30n;
const MiB = 1n << 20n;
const stage = (argv: string[], q: QemuVersion) => qemuStage(parseQemuArgs(argv, { qemuVersion: q }), QEMU_PROFILES[q], {});

describe('M26: SMBIOS type 4 socket designations ("CPU%2x")', () => {
  const bytes = (sockets: number) =>
    smbiosTablesBytes({ machineName: 'pc-i440fx-5.2', desc: 'Standard PC (i440FX + PIIX, 1996)', sockets, ramSize: GiB, ramEntries: 1, dimmChunk: 16n * GiB, type4Length: 42 });
  it('every socket below 256 adds the same length: "CPU 9", "CPU a", "CPU10" and "CPUff" alike', () => {
    const perSocket = bytes(2) - bytes(1);
    for (const n of [9, 10, 15, 16, 255]) expect(bytes(n + 1) - bytes(n)).toBe(perSocket);
  });
  it('a socket numbered 256 or more has three hex digits', () => {
    expect(bytes(258) - bytes(257)).toBe(bytes(2) - bytes(1) + 1);
  });
});

describe('M27: FW_CFG_RAM_SIZE with -machine memory-backend= and no -m', () => {
  const argv = ['-machine', 'pc,memory-backend=ram0', '-object', 'memory-backend-ram,id=ram0,size=1G'];
  it('5.2: the machine keeps 128 MiB (M18), the key reports the backend', () => {
    const h = stage(argv, '5.2');
    expect(h.ramSize).toBe(128n * MiB);
    expect(h.fwCfgRamSize).toBe(GiB);
  });
  it('7.2 and 11.1: both are the backend', () => {
    for (const q of ['7.2', '11.1'] as const) {
      const h = stage(argv, q);
      expect([h.ramSize, h.fwCfgRamSize]).toEqual([GiB, GiB]);
    }
  });
  it('without a backend the key is the RAM size', () => {
    expect(stage(['-M', 'pc', '-m', '3G'], '5.2').fwCfgRamSize).toBe(3n * GiB);
  });
});

describe('M28: the NUMA nodes’ sum is refused before the CPU is realized', () => {
  const argv = ['-M', 'pc', '-m', '2G', '-cpu', 'qemu64,phys-bits=30', '-object', 'memory-backend-ram,id=m0,size=2176M', '-numa', 'node,nodeid=0,memdev=m0'];
  it.each(['5.2', '7.2', '10.0', '11.1'] as const)('on %s', (q) => {
    expect(() => stage(argv, q)).toThrow('total memory for NUMA nodes (0x88000000) should equal RAM size (0x80000000)');
  });
  it('the CPU is still refused when the nodes add up', () => {
    const fine = ['-M', 'pc', '-m', '2G', '-cpu', 'qemu64,phys-bits=30', '-object', 'memory-backend-ram,id=m0,size=2G', '-numa', 'node,nodeid=0,memdev=m0'];
    expect(() => stage(fine, '5.2')).toThrow('TCG only supports phys-bits=40');
    expect(() => stage(fine, '7.2')).toThrow('phys-bits should be between 32 and 52  (but is 30)');
  });
});

describe('M29: a memory backend below the 128 MiB default leaves device memory (7.2+)', () => {
  const argv = (size: string) => ['-machine', 'q35,memory-backend=ram0', '-object', `memory-backend-ram,id=ram0,size=${size}`];
  it('7.2 and 11.1: 100 MiB leaves 28 MiB at 4 GiB and etc/reserved-memory-end', () => {
    for (const q of ['7.2', '11.1'] as const) {
      const h = stage(argv('100M'), q);
      expect(h.deviceMemory).toEqual({ start: 4n * GiB, end: 4n * GiB + 28n * MiB });
      expect(h.reservedMemoryEnd).toBe(5n * GiB);
    }
  });
  it('a backend of the default size or above leaves none; 5.2 keeps 128 MiB of RAM (M18)', () => {
    expect(stage(argv('128M'), '7.2').reservedMemoryEnd).toBeNull();
    expect(stage(argv('1G'), '7.2').reservedMemoryEnd).toBeNull();
    expect(stage(argv('100M'), '5.2').reservedMemoryEnd).toBeNull();
  });
  it('with acpi=off it is not modelled, as maxmem is not', () => {
    const off = ['-machine', 'q35,acpi=off,memory-backend=ram0', '-object', 'memory-backend-ram,id=ram0,size=100M'];
    expect(() => stage(off, '7.2')).toThrow(/not modelled/);
    expect(stage(['-machine', 'q35,acpi=off,memory-backend=ram0', '-object', 'memory-backend-ram,id=ram0,size=1G'], '7.2').reservedMemoryEnd).toBeNull();
  });
});

describe('M30: i440fx 1.3 and older number APIC IDs by CPU index', () => {
  const maxCpusKey = (machine: string) => stage(['-M', machine, '-m', '1G', '-smp', '6,sockets=2,cores=3'], '5.2').firmwareInputs.maxCpusKey;
  it('pc-1.2 and pc-1.3: MAX_CPUS is the CPU count', () => {
    expect(maxCpusKey('pc-1.2')).toBe(6);
    expect(maxCpusKey('pc-1.3')).toBe(6);
  });
  it('pc-i440fx-1.4 and later: the topology’s APIC IDs (socket 1, core 2 is 6), so 7', () => {
    expect(maxCpusKey('pc-i440fx-1.4')).toBe(7);
    expect(maxCpusKey('pc-i440fx-5.2')).toBe(7);
  });
});

describe('M31 and M32: -smp before the CPU model, and microvm’s hierarchy', () => {
  const refusal = (argv: string[], q: QemuVersion): string => {
    try {
      stage(argv, q);
    } catch (e) {
      return (e as Error).message;
    }
    return '(accepted)';
  };
  it.each(['5.2', '7.2', '10.0', '11.1'] as const)('a bad topology is named before an unknown CPU model, on %s', (q) => {
    expect(refusal(['-M', 'pc', '-m', '1G', '-smp', '4,sockets=3,cores=1,threads=1', '-cpu', 'NoSuchModel'], q)).toMatch(/topology/);
    expect(refusal(['-M', 'pc', '-m', '1G', '-smp', '4', '-cpu', 'NoSuchModel'], q)).toMatch(/unable to find CPU model 'NoSuchModel'/);
  });
  it('microvm prints sockets * cores * threads; pc adds dies (and modules from 10.0)', () => {
    const smp = ['-m', '1G', '-smp', '4,sockets=3,cores=1,threads=1'];
    expect(refusal(['-M', 'microvm,acpi=off', ...smp], '7.2')).toMatch(/: sockets \(3\) \* cores \(1\) \* threads \(1\) != maxcpus \(4\)$/);
    expect(refusal(['-M', 'microvm,acpi=off', ...smp], '11.1')).toMatch(/: sockets \(3\) \* cores \(1\) \* threads \(1\) != maxcpus \(4\)$/);
    expect(refusal(['-M', 'microvm,acpi=off', ...smp], '5.2')).toMatch(/: cpu topology: sockets \(3\) \* cores \(1\) \* threads \(1\) < smp_cpus \(4\)$/);
    expect(refusal(['-M', 'pc', ...smp], '7.2')).toMatch(/sockets \(3\) \* dies \(1\) \* cores/);
    expect(refusal(['-M', 'pc', ...smp], '10.0')).toMatch(/dies \(1\) \* modules \(1\) \* cores/);
  });
});
