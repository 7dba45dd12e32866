import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GiB, MiB } from '../../reference/address.ts';
import { parseQemuArgs } from '../../reference/cmdline/index.ts';
import type { MachineConfig } from '../../reference/config.ts';
import { E820 } from '../../reference/e820.ts';
import { QEMU_PROFILES } from '../../reference/profiles/qemu.ts';
import { apicIdLimit, qemuStage, resolveTopology, smbiosTablesBytes } from '../../reference/qemu/index.ts';
import { QemuRefusal, UnsupportedOptionError } from '../../reference/stages.ts';
import { QEMU_VERSIONS } from '../../reference/toolchain.ts';

// Before reference/cmdline/ existed: a small local builder of MachineConfig values.
function cfg(o: {
  machine?: string;
  m?: bigint;
  slots?: number;
  maxmem?: bigint;
  mrb4g?: bigint;
  cpu?: string;
  cpuProps?: Array<[string, string]>;
  smp?: Partial<MachineConfig['smp']>;
  nodefaults?: boolean;
  devices?: string[];
  drives?: Array<Array<[string, string]>>;
  numa?: bigint[];
  accel?: 'tcg' | 'kvm';
}): MachineConfig {
  const name = o.machine ?? 'pc';
  const family = name === 'q35' || name.startsWith('pc-q35') ? 'q35' : 'pc';
  const version = /(\d+\.\d+)$/.exec(name)?.[1] ?? null;
  const backends = (o.numa ?? []).map((size, i) => ({ id: `m${i}`, kind: 'memory-backend-ram' as const, size, props: [] }));
  return {
    machine: { family, version, name },
    maxRamBelow4g: o.mrb4g ?? null,
    machineProps: [],
    accel: o.accel ?? 'tcg',
    memory: { size: o.m ?? null, spelled: null, slots: o.slots ?? null, maxmem: o.maxmem ?? null },
    cpu: { model: o.cpu ?? null, props: o.cpuProps ?? [] },
    smp: { cpus: null, sockets: null, dies: null, cores: null, threads: null, maxcpus: null, ...o.smp },
    backends,
    numa: backends.map((b, i) => ({ nodeid: i, memdev: b.id, mem: null, cpus: null })),
    bios: null,
    nodefaults: o.nodefaults ?? false,
    devices: (o.devices ?? []).map((driver) => ({ driver, props: [] })),
    drives: o.drives ?? [],
    kernelArgs: '',
    ignored: [],
  };
}

const Q72 = QEMU_PROFILES['7.2'];
const HT = { start: 0xfd00000000n, length: 0x300000000n, type: E820.RESERVED };
const ram = (start: bigint, length: bigint) => ({ start, length, type: E820.RAM });

describe('qemuStage: RAM split thresholds (QEMU 7.2, TCG, qemu64)', () => {
  it.each([
    ['pc -m 3583M: all below', 'pc', 3583n * MiB, null, [HT, ram(0n, 0xdff00000n)]],
    ['pc -m 3584M (= 0xe0000000): splits 3G + 512M', 'pc', 3584n * MiB, null, [HT, ram(0n, 0xc0000000n), ram(4n * GiB, 0x20000000n)]],
    ['pc -m 3585M', 'pc', 3585n * MiB, null, [HT, ram(0n, 0xc0000000n), ram(4n * GiB, 0x20100000n)]],
    ['q35 -m 2815M: all below', 'q35', 2815n * MiB, null, [HT, ram(0n, 0xaff00000n)]],
    ['q35 -m 2816M (= 0xb0000000): 2G + 768M', 'q35', 2816n * MiB, null, [HT, ram(0n, 0x80000000n), ram(4n * GiB, 0x30000000n)]],
    ['q35 -m 2817M', 'q35', 2817n * MiB, null, [HT, ram(0n, 0x80000000n), ram(4n * GiB, 0x30100000n)]],
    ['pc,max-ram-below-4g=4G -m 3968M: all below', 'pc', 3968n * MiB, 4n * GiB, [HT, ram(0n, 0xf8000000n)]],
    ['pc,max-ram-below-4g=2G -m 4G', 'pc', 4n * GiB, 2n * GiB, [HT, ram(0n, 0x80000000n), ram(4n * GiB, 0x80000000n)]],
    ['pc -m 4G', 'pc', 4n * GiB, null, [HT, ram(0n, 0xc0000000n), ram(4n * GiB, 0x40000000n)]],
    ['q35 -m 1G', 'q35', GiB, null, [HT, ram(0n, 0x40000000n)]],
    ['q35,max-ram-below-4g=1G -m 4G', 'q35', 4n * GiB, GiB, [HT, ram(0n, 0x40000000n), ram(4n * GiB, 0xc0000000n)]],
  ] as const)('%s', (_name, machine, m, mrb4g, expected) => {
    const h = qemuStage(cfg({ machine, m, mrb4g: mrb4g ?? undefined }), Q72);
    expect(h.e820).toEqual(expected);
  });

  it('pc-i440fx-1.7 -m 4G: gigabyte_align off, 3.5G below, no HT entry (type ≤ 7.0), deprecation warning', () => {
    const h = qemuStage(cfg({ machine: 'pc-i440fx-1.7', m: 4n * GiB }), Q72);
    expect(h.e820).toEqual([ram(0n, 0xe0000000n), ram(4n * GiB, 0x20000000n)]);
    expect(h.warnings).toEqual(["Machine type 'pc-i440fx-1.7' is deprecated: old and unattended - use a newer version instead"]);
    expect(h.firmwareInputs.highAllocations).toEqual([{ file: 'etc/acpi/tables', size: 0x2000n, align: 64n }]);
  });

  it('max-ram-below-4g=2500M on pc -m 4G: unaligned split plus the gigabyte warning', () => {
    const h = qemuStage(cfg({ m: 4n * GiB, mrb4g: 2500n * MiB }), Q72);
    expect(h.e820).toEqual([HT, ram(0n, 0x9c400000n), ram(4n * GiB, 0x63c00000n)]);
    expect(h.warnings).toEqual(['Large machine and max_ram_below_4g (2621440000) not a multiple of 1G; possible bad performance.']);
  });

  it('q35 max-ram-below-4g=1536M -m 1G warns through the unsigned subtraction', () => {
    const h = qemuStage(cfg({ machine: 'q35', m: GiB, mrb4g: 1536n * MiB }), Q72);
    expect(h.warnings).toEqual([
      'There is possibly poor performance as the ram size  (0x40000000) is more then twice the size of max-ram-below-4g (1610612736) and max-ram-below-4g is not a multiple of 1G.',
    ]);
  });

  it('no HT entry with an Intel model, phys-bits 39, or on QEMU 5.2', () => {
    expect(qemuStage(cfg({ cpu: 'Skylake-Client' }), Q72).e820).toEqual([ram(0n, 128n * MiB)]);
    expect(qemuStage(cfg({ cpuProps: [['phys-bits', '39']] }), Q72).e820).toEqual([ram(0n, 128n * MiB)]);
    expect(qemuStage(cfg({}), QEMU_PROFILES['5.2']).e820).toEqual([ram(0n, 128n * MiB)]);
    expect(qemuStage(cfg({}), QEMU_PROFILES['5.2']).legacyE820).toEqual([]);
  });

  it('KVM puts the identity/TSS entry first and takes the host vendor', () => {
    const h = qemuStage(cfg({ m: 4n * GiB, accel: 'kvm' }), Q72, { host: { cpuVendor: 'GenuineIntel', physBits: 46 } });
    expect(h.e820).toEqual([
      { start: 0xfeffc000n, length: 0x4000n, type: E820.RESERVED },
      ram(0n, 0xc0000000n),
      ram(4n * GiB, 0x40000000n),
    ]);
    expect(() => qemuStage(cfg({ accel: 'kvm' }), Q72)).toThrow(UnsupportedOptionError);
  });

  it('relocates above-4G RAM to 1 TiB when the max used GPA reaches the HT hole (phys-bits=48)', () => {
    const h = qemuStage(cfg({ machine: 'q35', m: 4n * GiB, slots: 1, maxmem: 1100n * GiB, cpuProps: [['phys-bits', '48']] }), Q72);
    expect(h.e820).toEqual([HT, ram(0n, 0x80000000n), ram(0x10000000000n, 0x80000000n)]);
    expect(h.reservedMemoryEnd).toBe(0x212c0000000n);
  });

  it('reserved-memory-end for hotplug configurations (docs/model/qemu.md#memory-hotplug-and-reserved-memory-end)', () => {
    expect(qemuStage(cfg({ m: 4n * GiB, slots: 2, maxmem: 8n * GiB }), Q72).reservedMemoryEnd).toBe(0x2c0000000n);
    expect(qemuStage(cfg({ m: 2n * GiB, slots: 4, maxmem: 10n * GiB }), Q72).reservedMemoryEnd).toBe(0x400000000n);
    expect(qemuStage(cfg({ machine: 'pc-q35-2.4', m: 4n * GiB, slots: 2, maxmem: 8n * GiB }), Q72).reservedMemoryEnd).toBe(0x180000000n);
    expect(qemuStage(cfg({ m: GiB }), Q72).reservedMemoryEnd).toBeNull();
  });

  it('CMOS registers (hw/i386/pc.c pc_cmos_init; docs/model/qemu.md#cmos-memory-registers)', () => {
    expect(qemuStage(cfg({ m: 4n * GiB }), Q72).cmos).toEqual({
      baseKiB: 640, extendedKiB: 65535, above16MiB64K: 0xbf00, above4GiB64K: 0x4000, cpusMinusOne: 0,
    });
    expect(qemuStage(cfg({ machine: 'q35', m: 4n * GiB, smp: { cpus: 4 } }), Q72).cmos).toMatchObject({ above16MiB64K: 0x7f00, above4GiB64K: 0x8000, cpusMinusOne: 3 });
    expect(qemuStage(cfg({ m: 100001n * 1024n }), Q72).cmos.above16MiB64K).toBe(0x051a);
  });

  it('PCI windows in _CRS: pc 1G and q35 1G', () => {
    expect(qemuStage(cfg({ m: GiB }), Q72).platform.pciWindows).toEqual([
      { start: 0xa0000n, end: 0xbffffn },
      { start: 0x40000000n, end: 0xfebfffffn },
      { start: 0x100000000n, end: 0x17fffffffn },
    ]);
    const q = qemuStage(cfg({ machine: 'q35', m: GiB }), Q72).platform;
    expect(q.pciWindows).toEqual([
      { start: 0xa0000n, end: 0xbffffn },
      { start: 0x40000000n, end: 0xafffffffn },
      { start: 0xc0000000n, end: 0xfebfffffn },
      { start: 0x100000000n, end: 0x8ffffffffn },
    ]);
    expect(q.mmconfig).toEqual({ start: 0xb0000000n, end: 0xbfffffffn });
  });
});

describe('qemuStage: what QEMU refuses, in its words', () => {
  const refusal = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      if (e instanceof QemuRefusal) return e.qemuMessage;
      throw e;
    }
    throw new Error('no refusal');
  };
  it.each([
    [cfg({ mrb4g: 5n * GiB }), "Machine option 'max-ram-below-4g=5368709120' expects size less than or equal to 4G"],
    [cfg({ machine: 'pc-i440fx-1.0' }), 'unsupported machine type\nUse -machine help to list supported machines'],
    [cfg({ m: GiB, slots: 2 }), 'slots specified but no max-size'],
    [cfg({ m: 2n * GiB, slots: 2, maxmem: GiB }), 'invalid value of maxmem: maximum memory size (0x40000000) must be at least the initial memory size (0x80000000)'],
    [cfg({ m: 2n * GiB, slots: 2, maxmem: 2n * GiB }), 'invalid value of maxmem: memory slots were specified but maximum memory size (0x80000000) is equal to the initial memory size (0x80000000)'],
    [cfg({ cpuProps: [['phys-bits', '30']] }), 'phys-bits should be between 32 and 52  (but is 30)'],
    [cfg({ cpu: 'qemu32', cpuProps: [['phys-bits', '36']] }), 'phys-bits is not user-configurable in 32 bit'],
    [cfg({ machine: 'q35', m: 4n * GiB, slots: 1, maxmem: 1100n * GiB }), 'Address space limit 0xffffffffff < 0x21abfffffff phys-bits too low (40)'],
    [cfg({ machine: 'pc-i440fx-2.0', m: GiB, slots: 2, maxmem: 2n * GiB }), `"-memory 'slots|maxmem'" is not supported by: pc-i440fx-2.0`],
    [cfg({ m: GiB, numa: [512n * MiB, 256n * MiB] }), 'total memory for NUMA nodes (0x30000000) should equal RAM size (0x40000000)'],
  ])('%#', (config, message) => {
    expect(refusal(() => qemuStage(config, Q72))).toBe(message);
  });
  it('pc-1.0 exists on 5.2 only; 5.2 TCG accepts only phys-bits=40', () => {
    expect(qemuStage(cfg({ machine: 'pc-1.0' }), QEMU_PROFILES['5.2']).machine.name).toBe('pc-1.0');
    expect(refusal(() => qemuStage(cfg({ cpuProps: [['phys-bits', '39']] }), QEMU_PROFILES['5.2']))).toBe('TCG only supports phys-bits=40');
  });
});

describe('qemuStage: firmware inputs', () => {
  it('SMBIOS lengths reproduce the measured 7.2 values (docs/model/calibration.md#smbios-sizes)', () => {
    expect(qemuStage(cfg({ m: GiB }), Q72).firmwareInputs.smbiosTablesBytes).toBe(388 - 67);
    expect(qemuStage(cfg({ machine: 'q35', m: GiB }), Q72).firmwareInputs.smbiosTablesBytes).toBe(376 - 67);
    expect(qemuStage(cfg({ m: GiB, smp: { cpus: 4, sockets: 4 } }), Q72).firmwareInputs.smbiosTablesBytes).toBe(592 - 67);
    expect(qemuStage(cfg({ machine: 'pc-i440fx-6.1', m: GiB, smp: { cpus: 8 } }), Q72).firmwareInputs.smbiosTablesBytes).toBe(864 - 67);
    expect(qemuStage(cfg({ m: 4n * GiB }), Q72).firmwareInputs.smbiosTablesBytes).toBe(388 - 67 + 33);
  });
  it('-smp N: 1 socket from machine type 6.2, N sockets up to 6.1', () => {
    expect(resolveTopology(cfg({ smp: { cpus: 8 } }), [7, 2], QEMU_PROFILES['7.2'])).toMatchObject({ sockets: 1, cores: 8 });
    expect(resolveTopology(cfg({ smp: { cpus: 8 } }), [6, 1], QEMU_PROFILES['7.2'])).toMatchObject({ sockets: 8, cores: 1 });
    expect(apicIdLimit({ cpus: 6, sockets: 2, dies: 1, cores: 3, threads: 1, maxcpus: 6 })).toBe(7); // socket 1 core 2 → APIC id (1 << 2) | 2
  });
  it('-machine memory-backend=ID takes the RAM size from that backend (as the parser records it)', () => {
    const parsed = parseQemuArgs(['-machine', 'q35,memory-backend=r', '-object', 'memory-backend-ram,id=r,size=1G']);
    expect(qemuStage(parsed, Q72).ramSize).toBe(GiB);
    expect(() => qemuStage({ ...parsed, memoryBackend: 'x' }, Q72)).toThrow("Memory backend 'x' not found");
  });
  it('q35 default CD-ROM sits on AHCI; -nodefaults removes it', () => {
    expect(qemuStage(cfg({ machine: 'q35' }), Q72).firmwareInputs.devices).toEqual([{ kind: 'ahci-port', detail: 'default CD-ROM' }]);
    expect(qemuStage(cfg({ machine: 'q35', nodefaults: true }), Q72).firmwareInputs.devices).toEqual([]);
    expect(qemuStage(cfg({}), Q72).firmwareInputs.devices).toEqual([]);
  });
});

describe('qemuStage: properties', () => {
  const size = fc.bigInt({ min: 1n, max: 2048n }).map((n) => n * 8n * 1024n * 1024n); // 8 MiB .. 16 GiB
  it('RAM in etc/e820 adds up to -m; entries never overlap; below-4G RAM ends under the PCI hole', () => {
    fc.assert(
      fc.property(size, fc.constantFrom('pc', 'q35', 'pc-i440fx-1.7', 'pc-i440fx-7.0'), fc.constantFrom(...QEMU_VERSIONS), (m, machine, v) => {
        const p = QEMU_PROFILES[v];
        if (machine === 'pc-i440fx-1.7' && !p.machineTypes.i440fx.includes('1.7')) return;
        if (machine === 'pc-i440fx-7.0' && !p.machineTypes.i440fx.includes('7.0')) return;
        const h = qemuStage(cfg({ machine, m }), p);
        const ramTotal = (h.e820 ?? []).filter((r) => r.type === E820.RAM).reduce((a, r) => a + r.length, 0n);
        expect(ramTotal).toBe(m);
        expect(h.ramBelow4g + h.ramAbove4g).toBe(m);
        expect(h.ramBelow4g).toBeLessThanOrEqual(0xe0000000n);
        const sorted = [...(h.e820 ?? [])].sort((a, b) => (a.start < b.start ? -1 : 1));
        for (let i = 1; i < sorted.length; i++) expect(sorted[i]!.start >= sorted[i - 1]!.start + sorted[i - 1]!.length).toBe(true);
      }),
    );
  });
});

// Each example was derived from the profiles and then confirmed by `e820 check` boots of the Debian
// binaries (QEMU 5.2+dfsg-11+deb11u3, 10.0.13+ds-0+deb13u1, 11.1.3+ds-1 under TCG) and `-M help`.
describe('qemuStage: per-version machine types (confirmed with -M help and boots)', () => {
  const refusal = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      if (e instanceof QemuRefusal) return e.qemuMessage;
      throw e;
    }
    throw new Error('no refusal');
  };
  const Q52 = QEMU_PROFILES['5.2'];
  const Q100 = QEMU_PROFILES['10.0'];
  const Q111 = QEMU_PROFILES['11.1'];

  it('oldest registered types: pc-1.0 (5.2), pc-i440fx-2.4 (10.0), pc-i440fx-5.2 / pc-q35-5.2 (11.1)', () => {
    expect(qemuStage(cfg({ machine: 'pc-1.0', m: GiB }), Q52).warnings).toEqual(["Machine type 'pc-1.0' is deprecated: use a newer machine type instead"]);
    expect(refusal(() => qemuStage(cfg({ machine: 'pc-i440fx-2.3' }), Q100))).toBe('unsupported machine type: "pc-i440fx-2.3"\nUse -machine help to list supported machines');
    expect(refusal(() => qemuStage(cfg({ machine: 'pc-i440fx-5.1' }), Q111))).toBe('unsupported machine type: "pc-i440fx-5.1"\nUse -machine help to list supported machines');
    expect(refusal(() => qemuStage(cfg({ machine: 'pc-q35-4.0.1' }), Q111))).toBe('unsupported machine type: "pc-q35-4.0.1"\nUse -machine help to list supported machines');
    expect(qemuStage(cfg({ machine: 'pc-q35-5.2', m: 2n * GiB }), Q111).e820).toEqual([ram(0n, 2n * GiB)]);
  });

  it('9.1+ lifecycle deprecation text (include/hw/boards.h MACHINE_VER_DEPRECATION_MSG), as 10.0.13 and 11.1.3 print it', () => {
    const msg = 'machines more than 3 years old are subject to deletion after 6 years';
    expect(qemuStage(cfg({ machine: 'pc-i440fx-2.4', m: 4n * GiB }), Q100).warnings).toEqual([`Machine type 'pc-i440fx-2.4' is deprecated: ${msg}`]);
    expect(qemuStage(cfg({ machine: 'pc-i440fx-7.0', m: GiB }), Q100).warnings).toEqual([`Machine type 'pc-i440fx-7.0' is deprecated: ${msg}`]);
    expect(qemuStage(cfg({ machine: 'pc-i440fx-7.1', m: GiB }), Q100).warnings).toEqual([]);
    expect(qemuStage(cfg({ machine: 'pc-i440fx-8.1', m: GiB }), Q111).warnings).toEqual([`Machine type 'pc-i440fx-8.1' is deprecated: ${msg}`]);
    expect(qemuStage(cfg({ machine: 'pc-i440fx-8.2', m: GiB }), Q111).warnings).toEqual([]);
  });

  it('pc-i440fx-2.4 -m 4G on 10.0: gigabyte_align on (3G below), no HT entry (type ≤ 7.0)', () => {
    expect(qemuStage(cfg({ machine: 'pc-i440fx-2.4', m: 4n * GiB }), Q100).e820).toEqual([ram(0n, 0xc0000000n), ram(4n * GiB, 0x40000000n)]);
  });

  it('pc-i440fx-7.0 on 11.1: no HT entry; newest types get it', () => {
    expect(qemuStage(cfg({ machine: 'pc-i440fx-7.0', m: GiB }), Q111).e820).toEqual([ram(0n, GiB)]);
    expect(qemuStage(cfg({ m: 4n * GiB }), Q111).e820).toEqual([HT, ram(0n, 0xc0000000n), ram(4n * GiB, 0x40000000n)]);
  });

  it('smbios-entry-point-type: unknown to 5.2 (observed refusal); 3.0 entry point → 48-byte type 4 tables (V30)', () => {
    const ep64 = (machine: string) => ({ ...cfg({ machine, m: GiB, smp: { cpus: 4, sockets: 4 } }), machineProps: [['smbios-entry-point-type', '64'] as const] });
    expect(refusal(() => qemuStage(ep64('pc'), Q52))).toBe("Property 'pc-i440fx-5.2-machine.smbios-entry-point-type' not found");
    expect(qemuStage(ep64('pc'), Q72).firmwareInputs.smbiosTablesBytes).toBe(616 - 67);
    expect(qemuStage(cfg({ machine: 'pc-i440fx-8.1', m: GiB, smp: { cpus: 4, sockets: 4 } }), Q100).firmwareInputs).toMatchObject({ smbiosEntryPoint: '3.0', smbiosTablesBytes: 616 - 67 });
  });

  it('5.2: pc-1.0 and pc-i440fx-1.7 keep gigabyte_align off; pc -m 4G has no HT entry', () => {
    expect(qemuStage(cfg({ machine: 'pc-i440fx-1.7', m: 4n * GiB }), Q52).e820).toEqual([ram(0n, 0xe0000000n), ram(4n * GiB, 0x20000000n)]);
    expect(qemuStage(cfg({ m: 4n * GiB }), Q52).e820).toEqual([ram(0n, 0xc0000000n), ram(4n * GiB, 0x40000000n)]);
  });

  it('SMBIOS DIMM chunk: pc -m 20G is two 16 GiB "DIMMs" on 7.2, one on 10.0/11.1 (≥ 9.1 types) — decides ZoneHigh with 3 sockets', () => {
    const bytes = (p: (typeof QEMU_PROFILES)[keyof typeof QEMU_PROFILES]) =>
      qemuStage(cfg({ m: 20n * GiB, smp: { cpus: 3, sockets: 3 } }), p).firmwareInputs.smbiosTablesBytes;
    // + SeaBIOS's 67-byte type 0: 7.2 → 610 (> 600, ZoneHigh), 10.0 → 562 (f-segment). Both confirmed by boots.
    expect(bytes(Q72)).toBe(610 - 67);
    expect(bytes(Q100)).toBe(562 - 67);
    expect(bytes(Q111)).toBe(562 - 67);
  });
});
