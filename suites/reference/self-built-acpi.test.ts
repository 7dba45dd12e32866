// Machine types without etc/table-loader (pc-1.x) boot with the ACPI tables SeaBIOS builds itself,
// whose PCI0._CRS 32-bit window starts at pcimem_start (2 GiB, 3 GiB or RamSize on i440fx), not at
// the end of RAM as in QEMU's own DSDT. A reserved range between the two is therefore a top-level
// /proc/iomem line there and a child of "PCI Bus 0000:00" elsewhere (both observed with the
// reserve-1m SeaBIOS of examples/: pc-i440fx-1.4 -m 1G and pc -m 1G).

import { describe, expect, test } from 'vitest';
import { parseQemuArgs } from '../../reference/cmdline/index.ts';
import { E820 } from '../../reference/e820.ts';
import type { DeclaredIntent } from '../../reference/intent.ts';
import { predict } from '../../reference/predict.ts';
import { BASELINE_TOOLCHAIN, toolchainOf } from '../../reference/toolchain.ts';

const reserve: DeclaredIntent = { firmware: [{ op: 'add', start: 0x50000000n, size: 0x100000n, type: E820.RESERVED }], qemu: [] };
const iomemOf = (...argv: string[]) => predict(parseQemuArgs(argv, { qemuVersion: '7.2' }), BASELINE_TOOLCHAIN, { intent: reserve }).report.kernel?.iomem ?? [];

describe("PCI windows of SeaBIOS's own DSDT", () => {
  test('pc-i440fx-1.4, 1 GiB: the window starts at 2 GiB, so the reserved MiB at 0x50000000 is top-level', () => {
    expect(iomemOf('-M', 'pc-i440fx-1.4', '-m', '1G')).toContain('50000000-500fffff : Reserved');
  });

  test("pc (QEMU's tables), 1 GiB: the window starts at the end of RAM, so the same MiB is the bus's child", () => {
    expect(iomemOf('-M', 'pc', '-m', '1G')).toContain('  50000000-500fffff : Reserved');
  });

  test('pc-i440fx-1.4, 2.5 GiB: the window starts at 3 GiB; a reservation at 0xb0000000 stays top-level', () => {
    const intent: DeclaredIntent = { firmware: [{ op: 'add', start: 0xb0000000n, size: 0x100000n, type: E820.RESERVED }], qemu: [] };
    const iomem = predict(parseQemuArgs(['-M', 'pc-i440fx-1.4', '-m', '2560M'], { qemuVersion: '7.2' }), BASELINE_TOOLCHAIN, { intent }).report.kernel?.iomem ?? [];
    expect(iomem).toContain('b0000000-b00fffff : Reserved');
  });
});

// -machine acpi=off / -no-acpi: QEMU offers no tables. pc then has no PIIX4 PM device, so SeaBIOS
// builds nothing and ZoneHigh is returned whole; q35 keeps its ICH9 LPC bridge, so SeaBIOS 1.14 and
// 1.16 build their own tables (sized by the APIC ids, src/fw/acpi.c) and an MCFG, while 1.17 builds none.
// Each case below was booted (`e820 check`, QEMU 5.2, 7.2 and 11.1) and agreed on every layer.
describe('ACPI off', () => {
  const tc = (qemu: '5.2' | '7.2' | '11.1') =>
    ({ '5.2': toolchainOf({ qemu, seabios: '1.14.0', kernel: '5.10' }), '7.2': BASELINE_TOOLCHAIN, '11.1': toolchainOf({ qemu, seabios: '1.17.0', kernel: '6.12' }) })[qemu];
  const p = (qemu: '5.2' | '7.2' | '11.1', ...argv: string[]) => predict(parseQemuArgs(argv, { qemuVersion: qemu }), tc(qemu));
  const reservedBelow4G = (pr: ReturnType<typeof p>) => pr.firmware.entries.filter((e) => e.type === E820.RESERVED && e.start >= 0x100000n && e.end <= 0xb0000000n);

  test('pc: no tables and no PM device, so nothing stays in ZoneHigh', () => {
    const pr = p('7.2', '-M', 'pc', '-m', '1G', '-no-acpi');
    expect(pr.handoff.firmwareInputs.hasTableLoader).toBe(false);
    expect(pr.handoff.firmwareInputs.acpiPmDevice).toBeNull();
    expect(reservedBelow4G(pr)).toEqual([]);
    expect(pr.report.firmware?.zoneHighReturned).toBe(16 * 2 ** 20);
    expect(pr.report.kernel?.iomem?.some((l) => l.includes('PCI Bus'))).toBe(false);
  });

  test('q35 with SeaBIOS 1.14/1.16: its own tables (a 0x2000 block) and its own MCFG', () => {
    for (const v of ['5.2', '7.2'] as const) {
      const pr = p(v, '-M', 'q35', '-m', '1G', '-nodefaults', '-no-acpi');
      expect(reservedBelow4G(pr).map((e) => [e.start, e.end])).toEqual([[0x3fffe000n, 0x40000000n]]);
      expect(pr.firmware.mmconfig).toEqual({ start: 0xb0000000n, end: 0xbfffffffn });
    }
  });

  test('q35 with SeaBIOS 1.17: no fallback tables, no MCFG', () => {
    const pr = p('11.1', '-M', 'q35', '-m', '1G', '-machine', 'acpi=off');
    expect(pr.firmware.mmconfig).toBeUndefined();
    expect(pr.handoff.platform.mmconfig).toBeNull();
    expect(pr.report.kernel?.iomem?.some((l) => l.includes('MMCONFIG'))).toBe(false);
  });

  test('the tables grow with the APIC ids: q35 -nodefaults leaves 0x2000 up to 9 ids and 0x3000 from 10 (booted)', () => {
    const block = (smp: string) => reservedBelow4G(p('7.2', '-M', 'q35', '-m', '1G', '-nodefaults', '-no-acpi', '-smp', smp)).map((e) => e.end - e.start);
    expect(block('9')).toEqual([0x2000n]);
    expect(block('10')).toEqual([0x3000n]);
  });

  test("the default CD-ROM's AHCI data packs below SeaBIOS's own tables (booted)", () => {
    expect(reservedBelow4G(p('7.2', '-M', 'q35', '-m', '1G', '-no-acpi')).map((e) => e.end - e.start)).toEqual([0x3000n]);
  });

  test('memory hotplug without ACPI stays not modelled; NUMA without tables from anyone changes nothing', () => {
    expect(() => p('7.2', '-M', 'pc', '-m', '1G,maxmem=2G', '-no-acpi')).toThrow(/memory hotplug/);
    const numa = ['-object', 'memory-backend-ram,id=m0,size=512M', '-numa', 'node,memdev=m0', '-object', 'memory-backend-ram,id=m1,size=512M', '-numa', 'node,memdev=m1'];
    // Booted: pc 7.2, q35 11.1.
    expect(p('7.2', '-M', 'pc', '-m', '1G', '-no-acpi', ...numa).report).toEqual(p('7.2', '-M', 'pc', '-m', '1G', '-no-acpi').report);
  });
});
