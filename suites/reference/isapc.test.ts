// isapc end to end: QEMU stage (per release), SeaBIOS stage, the kernel layer (or its absence),
// against what the Debian builds did on this machine (QEMU 5.2, 7.2.22, 10.0.13, 11.1.3 with
// SeaBIOS 1.14.0-2 / 1.16.2-1 bios.bin, whose debug port logs; kernels 5.10, 6.1, 6.12, 7.2).

import { describe, expect, it } from 'vitest';
import { GiB, MiB } from '../../reference/address.ts';
import { parseQemuArgs } from '../../reference/cmdline/index.ts';
import { E820 } from '../../reference/e820.ts';
import { predict } from '../../reference/predict.ts';
import { QEMU_PROFILES } from '../../reference/profiles/qemu.ts';
import { SEABIOS_PROFILES } from '../../reference/profiles/seabios.ts';
import { qemuStage } from '../../reference/qemu/index.ts';
import { seabiosStage } from '../../reference/seabios/index.ts';
import { QemuRefusal, UnsupportedOptionError } from '../../reference/stages.ts';
import { toolchainOf, type QemuVersion, type SeabiosVersion } from '../../reference/toolchain.ts';

const handoff = (args: string, qemu: QemuVersion = '7.2') => qemuStage(parseQemuArgs(args.split(' '), { qemuVersion: qemu }), QEMU_PROFILES[qemu]);
const firmware = (args: string, qemu: QemuVersion = '7.2', seabios: SeabiosVersion = '1.16.2') => seabiosStage(handoff(args, qemu), SEABIOS_PROFILES[seabios]);
const refusal = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    if (e instanceof QemuRefusal) return e.qemuMessage;
    throw e;
  }
  throw new Error('no refusal');
};

const HT = { start: 0xfd00000000n, length: 0x300000000n, type: E820.RESERVED };
const ram = (start: bigint, length: bigint) => ({ start, length, type: E820.RAM });
const R = (start: bigint, end: bigint, type: number) => ({ start, end, type });
/** SeaBIOS's fixed low part: RAM to the EBDA, the EBDA, the BIOS segment. */
const LOW = [R(0n, 0x9fc00n, 1), R(0x9fc00n, 0xa0000n, 2), R(0xf0000n, 0x100000n, 2)];
const BIOS_RESERVE = R(0xfffc0000n, 0x100000000n, 2);
const HT_RANGE = R(0xfd00000000n, 0x10000000000n, 2);

describe('isapc, QEMU stage: the machine class (hw/i386/pc_piix.c isapc_machine_options, isapc.c 10.2+)', () => {
  it('-M isapc -m 64M: the 486 default CPU (Intel, no long mode, 32 bits), one RAM entry, no PCI, no ACPI, legacy SMBIOS, bios.bin', () => {
    const h = handoff('-M isapc -m 64M');
    expect(h.machine).toEqual({ name: 'isapc', family: 'isapc', version: null });
    expect(h.e820).toEqual([ram(0n, 64n * MiB)]);
    expect(h.platform).toMatchObject({ chipset: 'isapc', pci: false, cpuModel: '486', cpuVendor: 'GenuineIntel', longMode: false, physBits: 32, pciWindows: [], mmconfig: null });
    expect(h.firmwareInputs).toMatchObject({ hasTableLoader: false, highAllocations: [], smbiosTablesBytes: null, smbiosEntryPoint: null, devices: [], biosImage: 'bios.bin' });
    expect(h.warnings).toEqual([]);
    expect(h.cmos).toEqual({ baseKiB: 640, extendedKiB: 64512, above16MiB64K: 768, above4GiB64K: 0, cpusMinusOne: 0 });
  });

  it.each([
    ['5.2', [ram(0n, 64n * MiB)]],
    ['7.2', [HT, ram(0n, 64n * MiB)]],
    ['10.0', [HT, ram(0n, 64n * MiB)]],
    ['11.1', [HT, ram(0n, 64n * MiB)]],
  ] as const)('-cpu qemu64 on %s: the AMD HT entry from 7.1 on (isapc has no compat properties, so enforce_amd_1tb_hole holds)', (qemu, e820) => {
    const h = handoff('-M isapc -m 64M -cpu qemu64', qemu);
    expect(h.e820).toEqual(e820);
    expect(h.platform).toMatchObject({ longMode: true, physBits: 40, pciWindows: [] });
  });

  it('11.1 warns for a CPU outside the 32-bit list and uses it all the same; 5.2–10.0 say nothing', () => {
    expect(handoff('-M isapc -cpu qemu64', '11.1').warnings).toEqual(['cpu type qemu64-x86_64-cpu is deprecated for isapc machine']);
    expect(handoff('-M isapc -cpu max', '11.1').warnings).toEqual(['cpu type max-x86_64-cpu is deprecated for isapc machine']);
    expect(handoff('-M isapc -cpu Skylake-Client', '11.1').warnings).toEqual(['cpu type Skylake-Client-x86_64-cpu is deprecated for isapc machine']);
    for (const cpu of ['486', 'pentium3', 'qemu32', 'athlon']) expect(handoff(`-M isapc -cpu ${cpu}`, '11.1').warnings).toEqual([]);
    expect(handoff('-M isapc', '11.1').warnings).toEqual([]);
    for (const q of ['5.2', '7.2', '10.0'] as const) expect(handoff('-M isapc -cpu qemu64', q).warnings).toEqual([]);
  });

  it('one CPU at most, slots/maxmem refused, PCI devices refused where QEMU creates them (checked on 5.2–11.1)', () => {
    for (const q of ['5.2', '7.2', '10.0', '11.1'] as const) {
      expect(refusal(() => handoff('-M isapc -smp 2', q))).toBe("Invalid SMP CPUs 2. The max CPUs supported by machine 'isapc' is 1");
      expect(refusal(() => handoff('-M isapc -smp 1,maxcpus=2', q))).toBe("Invalid SMP CPUs 2. The max CPUs supported by machine 'isapc' is 1");
      expect(refusal(() => handoff('-M isapc -m 1G,slots=2,maxmem=4G', q))).toBe(`"-memory 'slots|maxmem'" is not supported by: isapc`);
      expect(refusal(() => handoff('-M isapc -device e1000', q))).toBe("-device e1000: No 'PCI' bus found for device 'e1000'");
      expect(refusal(() => handoff('-M isapc -device virtio-blk-pci', q))).toBe("-device virtio-blk-pci: No 'PCI' bus found for device 'virtio-blk-pci'");
      expect(refusal(() => handoff('-M isapc -drive if=virtio,file=/dev/null,format=raw', q))).toBe(
        "-drive if=virtio,file=/dev/null,format=raw: No 'PCI' bus found for device 'virtio-blk-pci'",
      );
    }
    expect(handoff('-M isapc -drive file=/dev/null,format=raw,media=cdrom').firmwareInputs.devices).toEqual([]);
    expect(() => handoff('-M isapc -device sga')).toThrow(UnsupportedOptionError);
  });

  it('microvm with ACPI (its default) under TCG is refused as not capturable, saying why', () => {
    expect(() => handoff('-M microvm')).toThrow(/no clock .* give acpi=off/);
  });
});

describe('isapc, QEMU stage: RAM per release — pc_init1() up to 10.0, isapc.c (no split, ≤ 3584 MiB) in 11.1', () => {
  it.each([
    // 5.2 / 7.2: the i440fx split without gigabyte alignment; a 486 (phys-bits 32) passes the 7.1 bound check.
    ['5.2', '-M isapc -m 4G', [ram(0n, 0xe0000000n), ram(4n * GiB, 0x20000000n)]],
    ['7.2', '-M isapc -m 4G', [ram(0n, 0xe0000000n), ram(4n * GiB, 0x20000000n)]],
    ['7.2', '-M isapc -m 4G -cpu qemu64', [HT, ram(0n, 0xe0000000n), ram(4n * GiB, 0x20000000n)]],
    ['10.0', '-M isapc -m 4G -cpu qemu64', [HT, ram(0n, 0xe0000000n), ram(4n * GiB, 0x20000000n)]],
    ['10.0', '-M isapc -m 4G -cpu pentium2', [ram(0n, 0xe0000000n), ram(4n * GiB, 0x20000000n)]],
    // exactly 3.5 GiB: ram_size ≥ lowmem, so "split" into all below and nothing above.
    ['10.0', '-M isapc -m 3584M', [ram(0n, 0xe0000000n)]],
    ['11.1', '-M isapc -m 3584M', [ram(0n, 0xe0000000n)]],
    // max-ram-below-4g: honoured by pc_init1, overwritten by isapc.c.
    ['7.2', '-M isapc,max-ram-below-4g=1G -m 2G', [ram(0n, GiB), ram(4n * GiB, GiB)]],
    ['10.0', '-M isapc,max-ram-below-4g=1G -m 2G -cpu pentium2', [ram(0n, GiB), ram(4n * GiB, GiB)]],
    ['11.1', '-M isapc,max-ram-below-4g=1G -m 2G', [ram(0n, 2n * GiB)]],
  ] as const)('%s %s', (qemu, args, e820) => {
    expect(handoff(args, qemu).e820).toEqual(e820);
  });

  it('the largest RAM: unbounded on 5.2/7.2 (RAM goes above 4 GiB); 10.0 refuses RAM above 4 GiB a 32-bit 486 cannot address; 11.1 refuses > 3584 MiB', () => {
    expect(refusal(() => handoff('-M isapc -m 3585M', '10.0'))).toBe('Address space limit 0xffffffff < 0x1000fffff phys-bits too low (32)');
    expect(refusal(() => handoff('-M isapc -m 4G', '10.0'))).toBe('Address space limit 0xffffffff < 0x11fffffff phys-bits too low (32)');
    expect(refusal(() => handoff('-M isapc,max-ram-below-4g=1G -m 2G', '10.0'))).toBe('Address space limit 0xffffffff < 0x13fffffff phys-bits too low (32)');
    expect(refusal(() => handoff('-M isapc -m 3585M', '11.1'))).toBe('Too much memory for this machine: 3585 MiB, maximum 3584 MiB');
    expect(refusal(() => handoff('-M isapc -m 4G -cpu pentium2', '11.1'))).toBe('Too much memory for this machine: 4096 MiB, maximum 3584 MiB');
    // The RAM limit comes before pc_memory_init() refuses slots/maxmem (checked on 11.1.3).
    expect(refusal(() => handoff('-M isapc -m 4G,slots=1,maxmem=8G', '11.1'))).toBe('Too much memory for this machine: 4096 MiB, maximum 3584 MiB');
    // 3584 MiB + 8 KiB (the -m round-up unit) is too much, and prints as 3584 MiB.
    expect(refusal(() => handoff('-M isapc -m 3670024K', '11.1'))).toBe('Too much memory for this machine: 3584 MiB, maximum 3584 MiB');
    // 7.2 has no limit of its own (its bound check passes a 32-bit CPU; qemu64 reaches 1 TiB).
    expect(handoff('-M isapc -m 64G -cpu qemu64', '7.2').e820).toEqual([HT, ram(0n, 0xe0000000n), ram(4n * GiB, 60n * GiB + 0x20000000n)]);
  });

  it('tiny RAM: -m 640K and -m 1M are one RAM entry; CMOS says so', () => {
    const h = handoff('-M isapc -m 640K');
    expect(h.e820).toEqual([ram(0n, 0xa0000n)]);
    expect(h.cmos).toMatchObject({ baseKiB: 640, extendedKiB: 0, above16MiB64K: 0 });
    expect(handoff('-M isapc -m 1M').e820).toEqual([ram(0n, MiB)]);
  });
});

describe('isapc, SeaBIOS stage: etc/e820 is read, then nothing lands in ZoneHigh (no table-loader, no PIIX4 for ACPI, legacy SMBIOS in the f-segment)', () => {
  it('-m 64M (1.16.2): the whole 16 MiB zone is returned — no reserved block below the top of RAM', () => {
    const f = firmware('-M isapc -m 64M');
    expect(f.entries).toEqual([...LOW, R(0x100000n, 0x4000000n, 1), BIOS_RESERVE]);
    expect(f.zoneHigh).toEqual({ start: 0x3000000n, end: 0x4000000n });
    expect(f.zoneHighReturned).toBe(16777216);
    expect(f.log).toEqual(['qemu/e820: addr 0x0000000000000000 len 0x0000000004000000 [RAM]', 'Returned 16777216 bytes of ZoneHigh']);
  });

  it('1.14.0: the 256 KiB zone, returned whole as well', () => {
    expect(firmware('-M isapc -m 128M', '5.2', '1.14.0').zoneHighReturned).toBe(262144);
  });

  it.each([
    ['2M', 262144, 0x200000n],
    ['17M', 262144, 0x1100000n],
    ['32M', 262144, 0x2000000n],
    ['33M', 16777216, 0x2100000n],
  ] as const)('-m %s: Returned %i bytes (observed on 7.2 + 1.16.2)', (m, returned, top) => {
    const f = firmware(`-M isapc -m ${m}`);
    expect(f.zoneHighReturned).toBe(returned);
    expect(f.entries).toEqual([...LOW, R(0x100000n, top, 1), BIOS_RESERVE]);
  });

  it('-m 640K / 1M: no RAM above 1 MiB, so no ZoneHigh and no "Returned" line (4 entries); 1100K: 80 KiB above 1 MiB is still too small', () => {
    for (const m of ['640K', '1M']) {
      const f = firmware(`-M isapc -m ${m}`);
      expect(f.entries).toEqual([...LOW, BIOS_RESERVE]);
      expect(f.zoneHigh).toBeNull();
    }
    const f = firmware('-M isapc -m 1100K');
    expect(f.entries).toEqual([...LOW, R(0x100000n, 0x114000n, 1), BIOS_RESERVE]);
    expect(f.zoneHigh).toBeNull();
    const p = predict(parseQemuArgs(['-M', 'isapc', '-m', '1M']), toolchainOf({}));
    expect(p.report.firmware).not.toHaveProperty('zoneHighReturned');
  });

  it('-m 4G -cpu qemu64 on 10.0 (7 entries, observed) and the 486 on 7.2 (6 entries, observed)', () => {
    expect(firmware('-M isapc -m 4G -cpu qemu64', '10.0').entries).toEqual([
      ...LOW,
      R(0x100000n, 0xe0000000n, 1),
      BIOS_RESERVE,
      R(0x100000000n, 0x120000000n, 1),
      HT_RANGE,
    ]);
    expect(firmware('-M isapc -m 4G').entries).toEqual([...LOW, R(0x100000n, 0xe0000000n, 1), BIOS_RESERVE, R(0x100000000n, 0x120000000n, 1)]);
  });

  it('the 256 KiB image does not finish POST on isapc (observed with all four SeaBIOS versions): not modelled', () => {
    expect(() => firmware('-M isapc -bios bios-256k.bin')).toThrow(UnsupportedOptionError);
    expect(() => firmware('-M isapc -bios /some/where/bios-256k.bin')).toThrow(/does not finish POST/);
    expect(firmware('-M isapc -bios bios.bin').entries).toEqual(firmware('-M isapc').entries);
  });
});

describe('isapc end to end (predict)', () => {
  it('the 486 default: QEMU and SeaBIOS predicted, the kernel layer absent with the reason', () => {
    for (const qemu of ['5.2', '7.2', '10.0', '11.1'] as const) {
      const p = predict(parseQemuArgs(['-M', 'isapc', '-m', '128M'], { qemuVersion: qemu }), toolchainOf({ qemu }));
      expect(p.kernelStarts).toBe(false);
      expect(p.kernel).toBeNull();
      expect(p.report).not.toHaveProperty('kernel');
      expect(p.report.qemu?.e820).toEqual([{ start: '0x0', length: '0x8000000', type: 1 }]);
      expect(p.report.firmware?.e820).toHaveLength(5);
      expect(p.unpredicted).toEqual([
        "kernel: the 486 CPU has no long mode (CPUID 0x80000001 EDX.LM), so the x86-64 guest kernel's setup code refuses to boot",
      ]);
    }
  });

  it('any CPU without long mode, on any machine, keeps the kernel from starting', () => {
    expect(predict(parseQemuArgs(['-M', 'pc', '-cpu', 'qemu32']), toolchainOf({})).kernelStarts).toBe(false);
    expect(predict(parseQemuArgs(['-M', 'isapc', '-cpu', 'pentium3']), toolchainOf({})).kernelStarts).toBe(false);
    expect(predict(parseQemuArgs(['-M', 'pc']), toolchainOf({})).kernelStarts).toBe(true);
  });

  it('-m 256M -cpu qemu64 on the baseline: no PCI, so the late E820 resources and the RAM buffers never appear (captured on 6.1)', () => {
    const p = predict(parseQemuArgs(['-M', 'isapc', '-m', '256M', '-cpu', 'qemu64']), toolchainOf({}));
    expect(p.kernelStarts).toBe(true);
    expect(p.report.kernel).toEqual({
      biosE820: [
        'BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable',
        'BIOS-e820: [mem 0x000000000009fc00-0x000000000009ffff] reserved',
        'BIOS-e820: [mem 0x00000000000f0000-0x00000000000fffff] reserved',
        'BIOS-e820: [mem 0x0000000000100000-0x000000000fffffff] usable',
        'BIOS-e820: [mem 0x00000000fffc0000-0x00000000ffffffff] reserved',
        'BIOS-e820: [mem 0x000000fd00000000-0x000000ffffffffff] reserved',
      ],
      e820Edits: [
        'BIOS-provided physical RAM map:',
        'e820: update [mem 0x00000000-0x00000fff] usable ==> reserved',
        'e820: remove [mem 0x000a0000-0x000fffff] usable',
        'last_pfn = 0x10000 max_arch_pfn = 0x400000000',
        'PM: hibernation: Registered nosave memory: [mem 0x00000000-0x00000fff]',
        'PM: hibernation: Registered nosave memory: [mem 0x0009f000-0x000fffff]',
        '[mem 0x10000000-0xfffbffff] available for PCI devices',
      ],
      memmap: [
        { start: '0x0', end: '0x9fbff', type: 'System RAM' },
        { start: '0x9fc00', end: '0x9ffff', type: 'Reserved' },
        { start: '0xf0000', end: '0xfffff', type: 'Reserved' },
        { start: '0x100000', end: '0xfffffff', type: 'System RAM' },
        { start: '0xfffc0000', end: '0xffffffff', type: 'Reserved' },
        { start: '0xfd00000000', end: '0xffffffffff', type: 'Reserved' },
      ],
      iomem: [
        '00000000-00000fff : Reserved',
        '00001000-0009fbff : System RAM',
        '0009fc00-0009ffff : Reserved',
        '000f0000-000fffff : Reserved',
        '00100000-0fffffff : System RAM',
      ],
    });
    expect(p.report.firmware?.zoneHighReturned).toBe(16777216);
  });
});
