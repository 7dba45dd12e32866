// The cross-layer invariants suites/harness/real-boot.test.ts asserts on real boots, asserted as
// properties of the model: for any configuration the model says boots, its own layers must agree
// with each other the way the machine's do. A prediction that breaks one is wrong before any boot.
// The expected values come from the neighbouring layer of the same prediction and from tables
// written out here, never from the stage that made the value under test.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { claimFor } from '../../reference/claim.ts';
import type { LayerReport } from '../../reference/report.ts';
import { KERNEL_VERSIONS, QEMU_VERSIONS, SEABIOS_VERSIONS, type Toolchain } from '../../reference/toolchain.ts';

const MiB = 1n << 20n;

/** `BIOS-e820:` type text → /sys/firmware/memmap type (arch/x86/kernel/e820.c), before 7.2 and from 7.2 on. */
const MEMMAP_TYPE: Readonly<Record<string, string>> = {
  usable: 'System RAM',
  'System RAM': 'System RAM',
  reserved: 'Reserved',
  'device reserved': 'Reserved',
  'ACPI data': 'ACPI Tables',
  'ACPI NVS': 'ACPI Non-volatile Storage',
  unusable: 'Unusable memory',
};

/** SeaBIOS's E820 type numbers → the type text e820_print_type() prints, before 7.2 and from 7.2 on. */
const BIOS_E820_TYPE: Readonly<Record<number, readonly [string, string]>> = {
  1: ['usable', 'System RAM'],
  2: ['reserved', 'device reserved'],
  3: ['ACPI data', 'ACPI data'],
  4: ['ACPI NVS', 'ACPI NVS'],
  5: ['unusable', 'unusable'],
};

interface Range {
  start: bigint;
  /** Inclusive, as the kernel prints it. */
  last: bigint;
  type: string;
}

/** The ranges of a BIOS-e820 dump; 7.2 also prints the holes between them (`BIOS-e820: [gap …]`), which are no range. */
function biosE820Ranges(lines: readonly string[]): Range[] {
  return lines.filter((l) => !l.startsWith('BIOS-e820: [gap ')).map(biosE820);
}

function biosE820(line: string): Range {
  const m = /^BIOS-e820: \[mem (0x[0-9a-f]+)-(0x[0-9a-f]+)\] {1,2}(.+)$/.exec(line);
  if (!m) throw new Error(`not a BIOS-e820 line: ${line}`);
  return { start: BigInt(m[1]!), last: BigInt(m[2]!), type: m[3]! };
}

/** Sort and merge touching same-type ranges: enough of Linux's sanitize for SeaBIOS's non-overlapping map. */
function sanitize(ranges: readonly Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const out: Range[] = [];
  for (const r of sorted) {
    const last = out.at(-1);
    if (last && last.type === r.type && last.last + 1n >= r.start) last.last = r.last > last.last ? r.last : last.last;
    else out.push({ ...r });
  }
  return out;
}

const toolchains: fc.Arbitrary<Toolchain> = fc.record({
  qemu: fc.constantFrom(...QEMU_VERSIONS),
  seabios: fc.constantFrom(...SEABIOS_VERSIONS),
  kernel: fc.constantFrom(...KERNEL_VERSIONS),
});

/** `-M pc|q35 -m NM`, from 128 MiB (the guest kernel's decompressor needs room) to 16 GiB. */
const configurations = fc.record({
  machine: fc.constantFrom('pc', 'q35'),
  ramMiB: fc.oneof(fc.integer({ min: 128, max: 16 * 1024 }), fc.constantFrom(2816, 3072, 3584, 3968, 4096)),
});

/** The report of a configuration the model says boots with a running kernel, else null. */
function bootingReport(machine: string, ramMiB: number, toolchain: Toolchain): LayerReport | null {
  const claim = claimFor(['-M', machine, '-m', `${ramMiB}M`], toolchain);
  if (claim.kind !== 'boots' || !claim.prediction.kernelStarts) return null;
  return claim.prediction.report;
}

describe('cross-layer invariants of predict() (real-boot.test.ts, without a boot)', () => {
  it('the configurations drawn here boot in the model (most of them): the properties below are not vacuous', () => {
    const sample = fc.sample(fc.tuple(configurations, toolchains), { numRuns: 200, seed: 12 });
    const booting = sample.filter(([c, t]) => bootingReport(c.machine, c.ramMiB, t) !== null).length;
    expect(booting).toBeGreaterThan(150);
  });

  it('fw_cfg etc/e820: the RAM records add up to -m', () => {
    fc.assert(
      fc.property(configurations, toolchains, ({ machine, ramMiB }, toolchain) => {
        const report = bootingReport(machine, ramMiB, toolchain);
        fc.pre(report !== null);
        const ram = (report!.qemu?.e820 ?? []).filter((e) => e.type === 1).reduce((s, e) => s + BigInt(e.length), 0n);
        expect(ram).toBe(BigInt(ramMiB) * MiB);
      }),
      { numRuns: 300 },
    );
  });

  it("the kernel's BIOS-e820 lines are SeaBIOS's final map after sanitize", () => {
    fc.assert(
      fc.property(configurations, toolchains, ({ machine, ramMiB }, toolchain) => {
        const report = bootingReport(machine, ramMiB, toolchain);
        fc.pre(report !== null);
        const spelling = toolchain.kernel === '7.2' ? 1 : 0;
        const seabios = (report!.firmware?.e820 ?? []).map((e) => ({ start: BigInt(e.start), last: BigInt(e.end) - 1n, type: BIOS_E820_TYPE[e.type]?.[spelling] ?? `type ${e.type}` }));
        const bios = biosE820Ranges(report!.kernel?.biosE820 ?? []);
        expect(bios.length).toBeGreaterThan(0);
        expect(bios).toEqual(sanitize(seabios));
      }),
      { numRuns: 300 },
    );
  });

  it('/sys/firmware/memmap is the BIOS-e820 map, entry by entry', () => {
    fc.assert(
      fc.property(configurations, toolchains, ({ machine, ramMiB }, toolchain) => {
        const report = bootingReport(machine, ramMiB, toolchain);
        fc.pre(report !== null);
        const bios = biosE820Ranges(report!.kernel?.biosE820 ?? []);
        const memmap = (report!.kernel?.memmap ?? []).map((m) => ({ start: BigInt(m.start), last: BigInt(m.end), type: m.type }));
        expect(memmap).toEqual(bios.map((b) => ({ ...b, type: MEMMAP_TYPE[b.type] ?? `?${b.type}` })));
      }),
      { numRuns: 300 },
    );
  });

  it('every top-level System RAM line of /proc/iomem lies inside a usable BIOS-e820 range', () => {
    fc.assert(
      fc.property(configurations, toolchains, ({ machine, ramMiB }, toolchain) => {
        const report = bootingReport(machine, ramMiB, toolchain);
        fc.pre(report !== null);
        const usable = biosE820Ranges(report!.kernel?.biosE820 ?? []).filter((b) => MEMMAP_TYPE[b.type] === 'System RAM');
        const ramLines = (report!.kernel?.iomem ?? []).filter((l) => /^[0-9a-f]+-[0-9a-f]+ : System RAM$/.test(l));
        expect(ramLines.length).toBeGreaterThan(0);
        for (const line of ramLines) {
          const [s, e] = line.split(' ')[0]!.split('-').map((h) => BigInt(`0x${h}`)) as [bigint, bigint];
          expect(usable.some((u) => u.start <= s && e <= u.last), line).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});
