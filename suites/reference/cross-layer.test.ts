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
import { BIOS_E820_TYPE, biosE820Ranges, MEMMAP_TYPE, sanitize } from '../kernel-e820-text.ts';

const MiB = 1n << 20n;

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

/** Asserts `check` on the report of every drawn configuration the model says boots (300 draws). */
function forEveryBootingReport(check: (report: LayerReport, ramMiB: number, toolchain: Toolchain) => void): void {
  fc.assert(
    fc.property(configurations, toolchains, ({ machine, ramMiB }, toolchain) => {
      const report = bootingReport(machine, ramMiB, toolchain);
      fc.pre(report !== null);
      check(report!, ramMiB, toolchain);
    }),
    { numRuns: 300 },
  );
}

describe('cross-layer invariants of predict() (real-boot.test.ts, without a boot)', () => {
  it('the configurations drawn here boot in the model (most of them): the properties below are not vacuous', () => {
    const sample = fc.sample(fc.tuple(configurations, toolchains), { numRuns: 200, seed: 12 });
    const booting = sample.filter(([c, t]) => bootingReport(c.machine, c.ramMiB, t) !== null).length;
    expect(booting).toBeGreaterThan(150);
  });

  it('fw_cfg etc/e820: the RAM records add up to -m', () => {
    forEveryBootingReport((report, ramMiB) => {
      const ram = (report.qemu?.e820 ?? []).filter((e) => e.type === 1).reduce((s, e) => s + BigInt(e.length), 0n);
      expect(ram).toBe(BigInt(ramMiB) * MiB);
    });
  });

  it("the kernel's BIOS-e820 lines are SeaBIOS's final map after sanitize", () => {
    forEveryBootingReport((report, _ramMiB, toolchain) => {
      const spelling = toolchain.kernel === '7.2' ? 1 : 0;
      const seabios = (report.firmware?.e820 ?? []).map((e) => ({ start: BigInt(e.start), last: BigInt(e.end) - 1n, type: BIOS_E820_TYPE[e.type]?.[spelling] ?? `type ${e.type}` }));
      const bios = biosE820Ranges(report.kernel?.biosE820 ?? []);
      expect(bios.length).toBeGreaterThan(0);
      expect(bios).toEqual(sanitize(seabios));
    });
  });

  it('/sys/firmware/memmap is the BIOS-e820 map, entry by entry', () => {
    forEveryBootingReport((report) => {
      const bios = biosE820Ranges(report.kernel?.biosE820 ?? []);
      const memmap = (report.kernel?.memmap ?? []).map((m) => ({ start: BigInt(m.start), last: BigInt(m.end), type: m.type }));
      expect(memmap).toEqual(bios.map((b) => ({ ...b, type: MEMMAP_TYPE[b.type] ?? `?${b.type}` })));
    });
  });

  it('every top-level System RAM line of /proc/iomem lies inside a usable BIOS-e820 range', () => {
    forEveryBootingReport((report) => {
      const usable = biosE820Ranges(report.kernel?.biosE820 ?? []).filter((b) => MEMMAP_TYPE[b.type] === 'System RAM');
      const ramLines = (report.kernel?.iomem ?? []).filter((l) => /^[0-9a-f]+-[0-9a-f]+ : System RAM$/.test(l));
      expect(ramLines.length).toBeGreaterThan(0);
      for (const line of ramLines) {
        const [s, e] = line.split(' ')[0]!.split('-').map((h) => BigInt(`0x${h}`)) as [bigint, bigint];
        expect(usable.some((u) => u.start <= s && e <= u.last), line).toBe(true);
      }
    });
  });
});
