import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GiB, MiB } from '../../reference/address.ts';
import type { MachineConfig } from '../../reference/config.ts';
import { E820, type E820Range } from '../../reference/e820.ts';
import { QEMU_PROFILES } from '../../reference/profiles/qemu.ts';
import { SEABIOS_PROFILES } from '../../reference/profiles/seabios.ts';
import { qemuStage } from '../../reference/qemu/index.ts';
import type { HostFacts } from '../../reference/qemu/index.ts';
import type { QemuVersion, SeabiosVersion } from '../../reference/toolchain.ts';
import { dumpMapLines, e820Add, e820Remove, int15E801, int15E820, int1588, seabiosStage } from '../../reference/seabios/index.ts';
import { machineConfig } from './machine-config-fixture.ts';

// ---- the naive reference: paint intervals, then coalesce same-type neighbours.
const HOLE = 0xffffffff;
function paint(map: readonly E820Range[], start: bigint, end: bigint, type: number): E820Range[] {
  const out: E820Range[] = [];
  for (const r of map) {
    if (r.end <= start || r.start >= end) out.push(r);
    else {
      if (r.start < start) out.push({ ...r, end: start });
      if (r.end > end) out.push({ ...r, start: end });
    }
  }
  if (type !== HOLE && end > start) out.push({ start, end, type });
  out.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const merged: E820Range[] = [];
  for (const r of out) {
    const last = merged[merged.length - 1];
    if (last !== undefined && last.type === r.type && last.end === r.start) merged[merged.length - 1] = { ...last, end: r.end };
    else merged.push(r);
  }
  return merged;
}
const typeAt = (map: readonly E820Range[], x: bigint): number | undefined => map.find((r) => r.start <= x && x < r.end)?.type;
const wellFormed = (map: readonly E820Range[]): void => {
  for (const r of map) expect(r.end > r.start).toBe(true);
  for (let i = 1; i < map.length; i++) expect(map[i]!.start >= map[i - 1]!.end).toBe(true);
};

const op = fc.record({
  remove: fc.boolean(),
  start: fc.bigInt({ min: 0n, max: 64n }),
  size: fc.bigInt({ min: 0n, max: 24n }),
  type: fc.integer({ min: 1, max: 3 }),
});

describe('e820Add / e820Remove (src/e820map.c)', () => {
  it('agree with the painting reference when the list never fills', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        let sb: readonly E820Range[] = [];
        let ref: E820Range[] = [];
        for (const o of ops) {
          const r = o.remove ? e820Remove(sb, o.start, o.size, 1000) : e820Add(sb, o.start, o.size, o.type, 1000);
          expect(r.dropped).toBe(0);
          sb = r.entries;
          ref = paint(ref, o.start, o.start + o.size, o.remove ? HOLE : o.type);
          expect(sb).toEqual(ref);
          wellFormed(sb);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('with the entry limit: never more than max entries, only ever loses bytes, exact when nothing is dropped', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.array(op, { maxLength: 40 }), (max, ops) => {
        let sb: readonly E820Range[] = [];
        for (const o of ops) {
          const painted = paint(sb, o.start, o.start + o.size, o.remove ? HOLE : o.type);
          const r = o.remove ? e820Remove(sb, o.start, o.size, max) : e820Add(sb, o.start, o.size, o.type, max);
          wellFormed(r.entries);
          expect(r.entries.length).toBeLessThanOrEqual(max);
          if (r.dropped === 0) expect(r.entries).toEqual(painted);
          for (const e of r.entries) for (const x of [e.start, e.end - 1n]) expect(typeAt(painted, x)).toBe(e.type);
          sb = r.entries;
        }
      }),
      { numRuns: 500 },
    );
  });

  it('a split on a full list loses both the tail and the new entry (docs/model/seabios.md#the-e820-list-add-and-remove)', () => {
    const full = [{ start: 0n, end: 100n, type: 1 }, { start: 200n, end: 300n, type: 2 }];
    const r = e820Add(full, 10n, 10n, 2, 2);
    expect(r.dropped).toBe(2);
    expect(r.entries).toEqual([{ start: 0n, end: 10n, type: 1 }, { start: 200n, end: 300n, type: 2 }]);
    // A same-type merge still works on a full list: a deletion comes before the insertion.
    expect(e820Add(full, 100n, 100n, 2, 2)).toEqual({ entries: [{ start: 0n, end: 100n, type: 1 }, { start: 100n, end: 300n, type: 2 }], dropped: 0 });
  });

  it('size 0 changes nothing; touching ranges of different types stay apart', () => {
    const m = [{ start: 0n, end: 10n, type: 1 }];
    expect(e820Add(m, 5n, 0n, 2, 32).entries).toEqual(m);
    expect(e820Add(m, 10n, 5n, 2, 32).entries).toEqual([...m, { start: 10n, end: 15n, type: 2 }]);
  });
});

// ---- the stage on named configurations (derived, then confirmed on QEMU 7.2.22 + Debian SeaBIOS 1.16.2-1)

const cfg = machineConfig;
const predict = (c: MachineConfig, q: QemuVersion = '7.2', s: SeabiosVersion = '1.16.2', host?: HostFacts) =>
  seabiosStage(qemuStage(c, QEMU_PROFILES[q], { host }), SEABIOS_PROFILES[s]);
const R = (start: bigint, end: bigint, type: number): E820Range => ({ start, end, type });
const LOW = [R(0n, 0x9fc00n, 1), R(0x9fc00n, 0xa0000n, 2), R(0xf0000n, 0x100000n, 2)];
const BIOS = R(0xfffc0000n, 0x100000000n, 2);
const HT = R(0xfd00000000n, 0x10000000000n, 2);
const Q35 = [R(0xb0000000n, 0xc0000000n, 2), R(0xfed1c000n, 0xfed20000n, 2)];

describe('seabiosStage: the worked example (docs/model/seabios.md#a-worked-example-pc-with-1-gib) and thresholds', () => {
  it('pc -m 1024: 7 items, Returned 16646144, provenance per entry', () => {
    const f = predict(cfg('pc', GiB));
    expect(f.entries).toEqual([...LOW, R(0x100000n, 0x3ffe0000n, 1), R(0x3ffe0000n, 0x40000000n, 2), BIOS, HT]);
    expect(f.zoneHighReturned).toBe(16646144);
    expect(f.provenance).toEqual([
      'etc/e820 RAM',
      'SeaBIOS EBDA (bda_init)',
      'SeaBIOS BIOS segment 0xf0000 (malloc_preinit)',
      'etc/e820 RAM + ZoneHigh giveback (malloc_prepboot)',
      'QEMU ACPI tables in ZoneHigh',
      'SeaBIOS BIOS reserve 0xfffc0000 (qemu_preinit)',
      'etc/e820 reserved',
    ]);
    expect(f.legacyRamSize).toBe(0x3ffe0000n);
    expect(f.earlyLegacyRamSize).toBe(0x3f000000n);
    expect(f.baseMemKiB).toBe(639);
    expect(dumpMapLines(f.entries)[4]).toBe('  3: 0000000000100000 - 000000003ffe0000 = 1 RAM');
    expect(f.log).toEqual(['qemu/e820: addr 0x0000000000000000 len 0x0000000040000000 [RAM]', 'Returned 16646144 bytes of ZoneHigh']);
  });

  it('SeaBIOS 1.14.0: same map, 256 KiB zone → Returned 131072; 1.16.3 logs the reserved line', () => {
    const f = predict(cfg('pc', GiB), '7.2', '1.14.0');
    expect(f.entries).toEqual(predict(cfg('pc', GiB)).entries);
    expect(f.zoneHighReturned).toBe(131072);
    expect(predict(cfg('pc', GiB), '7.2', '1.16.3').log[0]).toBe('qemu/e820: addr 0x000000fd00000000 len 0x0000000300000000 [reserved]');
  });

  it('q35 -m 1G: AHCI CD-ROM makes the top block 0x21000; MMCONFIG and RCBA reserved', () => {
    const f = predict(cfg('q35', GiB));
    expect(f.entries).toEqual([...LOW, R(0x100000n, 0x3ffdf000n, 1), R(0x3ffdf000n, 0x40000000n, 2), ...Q35, BIOS, HT]);
    expect(f.zoneHighReturned).toBe(16642048);
    expect(predict(cfg('q35', GiB, { nodefaults: true })).zoneHighReturned).toBe(16646144);
  });

  it.each([
    ['pc -m 3583M', cfg('pc', 3583n * MiB), [...LOW, R(0x100000n, 0xdfee0000n, 1), R(0xdfee0000n, 0xdff00000n, 2), BIOS, HT]],
    ['pc -m 3584M', cfg('pc', 3584n * MiB), [...LOW, R(0x100000n, 0xbffe0000n, 1), R(0xbffe0000n, 0xc0000000n, 2), BIOS, R(0x100000000n, 0x120000000n, 1), HT]],
    ['q35 -m 2815M', cfg('q35', 2815n * MiB), [...LOW, R(0x100000n, 0xafedf000n, 1), R(0xafedf000n, 0xaff00000n, 2), ...Q35, BIOS, HT]],
    ['q35 -m 2816M', cfg('q35', 2816n * MiB), [...LOW, R(0x100000n, 0x7ffdf000n, 1), R(0x7ffdf000n, 0x80000000n, 2), ...Q35, BIOS, R(0x100000000n, 0x130000000n, 1), HT]],
    ['pc,max-ram-below-4g=4G -m 3968M', cfg('pc', 3968n * MiB, { maxRamBelow4g: 4n * GiB }), [...LOW, R(0x100000n, 0xf7fe0000n, 1), R(0xf7fe0000n, 0xf8000000n, 2), BIOS, HT]],
    ['pc-i440fx-1.7 -m 4G', cfg('pc-i440fx-1.7', 4n * GiB), [...LOW, R(0x100000n, 0xdfffe000n, 1), R(0xdfffe000n, 0xe0000000n, 2), BIOS, R(0x100000000n, 0x120000000n, 1)]],
  ])('%s', (_n, c, expected) => {
    expect(predict(c).entries).toEqual(expected);
  });

  it('KVM on an AMD host (48 bits), pc -m 4G: identity pages from etc/e820 stay in the map', () => {
    const f = predict({ ...cfg('pc', 4n * GiB), accel: 'kvm' }, '7.2', '1.16.2', { cpuVendor: 'AuthenticAMD', physBits: 48 });
    expect(f.entries).toEqual([
      ...LOW, R(0x100000n, 0xbffe0000n, 1), R(0xbffe0000n, 0xc0000000n, 2), R(0xfeffc000n, 0xff000000n, 2), BIOS,
      R(0x100000000n, 0x140000000n, 1), HT,
    ]);
    expect(f.zoneHighReturned).toBe(16646144);
  });

  it.each([
    ['q35 1G + virtio-blk (after the AHCI CD-ROM)', cfg('q35', GiB, { drives: [[['if', 'virtio']]] }), 16629760],
    ['pc 2G + 2 virtio-blk', cfg('pc', 2n * GiB, { drives: [[['if', 'virtio']], [['if', 'virtio']]] }), 16621568],
    ['pc 1G + nvme', cfg('pc', GiB, { devices: [{ driver: 'nvme', props: [] }] }), 16609280],
    ['pc 1G + vmgenid', cfg('pc', GiB, { devices: [{ driver: 'vmgenid', props: [] }] }), 16637952],
    ['q35 2G + 2 virtio-blk + vmgenid (held out from the calibration)', cfg('q35', 2n * GiB, { drives: [[['if', 'virtio']], [['if', 'virtio']]], devices: [{ driver: 'vmgenid', props: [] }] }), 16613376],
  ] as const)('ZoneHigh footprints: %s', (_n, c, returned) => {
    expect(predict(c).zoneHighReturned).toBe(returned);
  });

  it('ZoneHigh: 256 KiB up to -m 32, 16 MiB from -m 33 (1.16.2)', () => {
    expect(predict(cfg('pc', 32n * MiB)).zoneHighReturned).toBe(131072);
    expect(predict(cfg('pc', 33n * MiB)).zoneHighReturned).toBe(16646144);
  });

  it('SMBIOS over 600 bytes (8 sockets) goes to ZoneHigh: 0x21000 block', () => {
    const f = predict(cfg('pc', GiB, { smp: { cpus: 8, sockets: 8, dies: null, cores: null, threads: null, maxcpus: null } }));
    expect(f.entries[4]).toEqual(R(0x3ffdf000n, 0x40000000n, 2));
    expect(f.provenance[4]).toBe('SMBIOS tables in ZoneHigh + QEMU ACPI tables in ZoneHigh');
  });
});

describe('INT 15h / INT 12h (src/system.c)', () => {
  it('E820 walks the map with EBX continuation and errors with CF=1 AH=86h', () => {
    const f = predict(cfg('pc', GiB));
    expect(int15E820(f.entries, 0, 20, 0x534d4150)).toEqual({ cf: 0, eax: 0x534d4150, ecx: 20, ebx: 1, entry: f.entries[0] });
    expect(int15E820(f.entries, 0x12340001, 24, 0x534d4150)).toMatchObject({ cf: 0, ebx: 0x12340002, entry: f.entries[1] });
    expect(int15E820(f.entries, 6, 20, 0x534d4150)).toMatchObject({ cf: 0, ebx: 0 });
    expect(int15E820(f.entries, 7, 20, 0x534d4150)).toEqual({ cf: 1, ah: 0x86 });
    expect(int15E820(f.entries, 0, 19, 0x534d4150)).toEqual({ cf: 1, ah: 0x86 });
    expect(int15E820(f.entries, 0, 20, 0)).toEqual({ cf: 1, ah: 0x86 });
  });
  it.each([
    [GiB, { ax: 0x3c00, bx: 0x3efe }, 0xfc00],
    [48n * MiB, { ax: 0x3c00, bx: 0x01fe }, 0xbb80],
    [3072n * MiB, { ax: 0x3c00, bx: 0xbefe }, 0xfc00],
    [16n * MiB, { ax: 0x3b80, bx: 0 }, 0x3b80],
  ])('E801 / 88h for -m %s (docs/model/seabios.md#legacyramsize-and-the-int-15h-services)', (m, e801, ax88) => {
    const f = predict(cfg('pc', m));
    expect(int15E801(f.legacyRamSize)).toMatchObject(e801);
    expect(int1588(f.legacyRamSize).ax).toBe(ax88);
  });
});

describe('seabiosStage: properties', () => {
  it('final maps are sorted, non-overlapping, non-empty; RAM never exceeds -m; E820 types are only 1 and 2', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 2n, max: 1024n }).map((n) => n * 16n * MiB),
        fc.constantFrom('pc', 'q35'),
        fc.constantFrom<SeabiosVersion>('1.14.0', '1.16.2', '1.16.3', '1.17.0'),
        (m, machine, sv) => {
          const f = predict(cfg(machine, m), '7.2', sv);
          wellFormed(f.entries);
          const ram = f.entries.filter((e) => e.type === E820.RAM).reduce((a, e) => a + (e.end - e.start), 0n);
          expect(ram <= m).toBe(true);
          expect(f.entries.every((e) => e.type === 1 || e.type === 2)).toBe(true);
          expect(f.provenance.length).toBe(f.entries.length);
        },
      ),
      { numRuns: 200 },
    );
  });
});

// Derived from the profiles, then confirmed by `e820 check` boots (TCG) of each suite's QEMU with its
// own SeaBIOS (5.2+1.14.0-2, 10.0.13+1.16.3-2, 11.1.3+1.17.0-1) and of cross combinations.
describe('seabiosStage: per-toolchain examples (confirmed by boots)', () => {
  const RET_ACPI_ONLY = 16646144; // 16 MiB zone, only the 0x20000 ACPI blob stays
  const RET_ACPI_PLUS = 16642048; // a second resident: 0x21000 block

  it('5.2 + 1.14.0, pc -m 1G: no HT entry, 256 KiB zone → Returned 131072', () => {
    const f = predict(cfg('pc', GiB), '5.2', '1.14.0');
    expect(f.entries).toEqual([...LOW, R(0x100000n, 0x3ffe0000n, 1), R(0x3ffe0000n, 0x40000000n, 2), BIOS]);
    expect(f.zoneHighReturned).toBe(131072);
  });

  it('5.2 + 1.14.0, pc-1.0 -m 1G: no table-loader, SeaBIOS builds ACPI itself (0x2000 block)', () => {
    const f = predict(cfg('pc-1.0', GiB), '5.2', '1.14.0');
    expect(f.entries).toEqual([...LOW, R(0x100000n, 0x3fffe000n, 1), R(0x3fffe000n, 0x40000000n, 2), BIOS]);
    expect(f.zoneHighReturned).toBe(253952);
  });

  it('5.2 + 1.14.0, q35 -m 1G -smp 8 (5.2 type: 8 sockets, SMBIOS in ZoneHigh) → 0x21000 block', () => {
    const smp = { cpus: 8, sockets: null, dies: null, cores: null, threads: null, maxcpus: null };
    expect(predict(cfg('q35', GiB, { smp }), '5.2', '1.14.0').zoneHighReturned).toBe(126976);
  });

  it('10.0 + 1.16.3, pc -m 20G -smp 3,sockets=3: one SMBIOS "DIMM" (9.1+ chunk) keeps SMBIOS in the f-segment', () => {
    const smp = { cpus: 3, sockets: 3, dies: null, cores: null, threads: null, maxcpus: null };
    const f = predict(cfg('pc', 20n * GiB, { smp }), '10.0', '1.16.3');
    expect(f.entries).toEqual([...LOW, R(0x100000n, 0xbffe0000n, 1), R(0xbffe0000n, 0xc0000000n, 2), BIOS, R(0x100000000n, 0x540000000n, 1), HT]);
    expect(f.zoneHighReturned).toBe(RET_ACPI_ONLY);
    expect(predict(cfg('pc', 20n * GiB, { smp })).zoneHighReturned).toBe(RET_ACPI_PLUS); // 7.2: two 16 GiB DIMMs, 610 B
  });

  it('SMBIOS 3.0 entry point: type 4 is 48 bytes (V30) — pc-i440fx-8.1 with 4 sockets crosses 600 B on 10.0 and 11.1', () => {
    const smp = (n: number) => ({ cpus: n, sockets: n, dies: null, cores: null, threads: null, maxcpus: null });
    for (const [q, s] of [['10.0', '1.16.3'], ['11.1', '1.17.0']] as const) {
      expect(predict(cfg('pc-i440fx-8.1', GiB, { smp: smp(4) }), q, s).zoneHighReturned).toBe(RET_ACPI_PLUS);
      expect(predict(cfg('pc-i440fx-8.1', GiB, { smp: smp(3) }), q, s).zoneHighReturned).toBe(RET_ACPI_ONLY);
      expect(predict(cfg('pc-q35-8.2', GiB, { smp: smp(4), nodefaults: true }), q, s).zoneHighReturned).toBe(RET_ACPI_ONLY); // 595 B
    }
    const ep64 = cfg('pc', GiB, { smp: smp(4), machineProps: [['smbios-entry-point-type', '64']] });
    expect(predict(ep64).zoneHighReturned).toBe(RET_ACPI_PLUS); // 7.2: 616 B
  });

  it('11.1 + 1.17.0, pc-i440fx-6.1 -smp 8 (8 sockets) → 0x21000; 1.16.3 logs the HT reservation line', () => {
    const smp = { cpus: 8, sockets: null, dies: null, cores: null, threads: null, maxcpus: null };
    expect(predict(cfg('pc-i440fx-6.1', GiB, { smp }), '11.1', '1.17.0').entries[3]).toEqual(R(0x100000n, 0x3ffdf000n, 1));
    expect(predict(cfg('pc', GiB), '10.0', '1.16.3').log[0]).toBe('qemu/e820: addr 0x000000fd00000000 len 0x0000000300000000 [reserved]');
  });

  it.each([
    ['10.0 + 1.16.3, q35 1G + NVMe', cfg('q35', GiB, { drives: [[['if', 'none'], ['id', 'n0']]], devices: [{ driver: 'nvme', props: [['drive', 'n0']] }] }), '10.0', '1.16.3', 16609280],
    ['5.2 + 1.14.0, q35 1G + NVMe (256 KiB zone: NVMe init fails, AHCI only)', cfg('q35', GiB, { drives: [[['if', 'none'], ['id', 'n0']]], devices: [{ driver: 'nvme', props: [['drive', 'n0']] }] }), '5.2', '1.14.0', 126976],
    ['cross 7.2 + 1.14.0, pc 1G', cfg('pc', GiB), '7.2', '1.14.0', 131072],
    ['cross 7.2 + 1.17.0, q35 2G + virtio-blk', cfg('q35', 2n * GiB, { drives: [[['if', 'virtio']]] }), '7.2', '1.17.0', 16629760],
    ['cross 11.1 + 1.16.2, pc 1G 8 sockets', cfg('pc', GiB, { smp: { cpus: 8, sockets: 8, dies: null, cores: null, threads: null, maxcpus: null } }), '11.1', '1.16.2', RET_ACPI_PLUS],
    ['cross 5.2 + 1.16.2, q35 4G', cfg('q35', 4n * GiB), '5.2', '1.16.2', RET_ACPI_PLUS],
  ] as const)('%s', (_n, c, q, s, returned) => {
    expect(predict(c, q, s).zoneHighReturned).toBe(returned);
  });
});
