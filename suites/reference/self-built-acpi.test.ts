// Machine types without etc/table-loader (pc-1.x) boot with the ACPI tables SeaBIOS builds itself,
// whose PCI0._CRS 32-bit window starts at pcimem_start (2 GiB, 3 GiB or RamSize on i440fx), not at
// the end of RAM as in QEMU's own DSDT. A reserved range between the two is therefore a top-level
// /proc/iomem line there and a child of "PCI Bus 0000:00" elsewhere (both observed with the
// reserve-1m SeaBIOS of examples/: pc-i440fx-1.4 -m 1G and pc -m 1G).

import { describe, expect, test } from 'vitest';
import { parseQemuArgs } from '../../reference/cmdline.ts';
import { E820 } from '../../reference/e820.ts';
import type { DeclaredIntent } from '../../reference/intent.ts';
import { predict } from '../../reference/predict.ts';
import { BASELINE_TOOLCHAIN } from '../../reference/toolchain.ts';

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
