// The tables SeaBIOS builds itself when QEMU hands over none (src/fw/acpi.c acpi_setup; src/fw/smbios.c
// smbios_legacy_setup) and QEMU's legacy-sized ACPI blob (pc-i440fx-1.7/2.0), computed the way they
// are built. Sizes below were read from the table lengths Linux prints (`ACPI: SSDT 0x… 000AE2`) and
// every reserved-block size was booted (suites/matrix/versions.yaml, the sb-* and legacy-acpi-* cells).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseQemuArgs } from '../../reference/cmdline/index.ts';
import { predict } from '../../reference/predict.ts';
import { SEABIOS_PROFILES } from '../../reference/profiles/seabios.ts';
import { legacySmbiosBytes, selfBuiltAcpiTables } from '../../reference/seabios/index.ts';
import type { FirmwareInputs } from '../../reference/stages.ts';
import { BASELINE_TOOLCHAIN, toolchainOf } from '../../reference/toolchain.ts';

const AML = SEABIOS_PROFILES['1.16.2'].selfBuiltAcpi!;
const inputs = (over: Partial<FirmwareInputs>): FirmwareInputs =>
  ({ maxCpusKey: 1, hpet: true, numaNodes: 0, acpiPmDevice: 'piix4-pm', ...over }) as FirmwareInputs;
const sizes = (over: Partial<FirmwareInputs>) => Object.fromEntries(selfBuiltAcpiTables(inputs(over), AML).map((t) => [t.table, Number(t.size)]));
const total = (over: Partial<FirmwareInputs>) => selfBuiltAcpiTables(inputs(over), AML).reduce((a, t) => a + t.size, 0n);

const T52 = toolchainOf({ qemu: '5.2', seabios: '1.14.0', kernel: '5.10' });
/** The reserved block SeaBIOS keeps at the top of ZoneHigh. */
const block = (argv: string[], toolchain = BASELINE_TOOLCHAIN): bigint => {
  const f = predict(parseQemuArgs(argv, { qemuVersion: toolchain.qemu }), toolchain).firmware;
  return f.zoneHigh!.end - f.zoneHigh!.start - BigInt(f.zoneHighReturned);
};

describe("SeaBIOS's own ACPI tables", () => {
  it('pc-i440fx-1.4 -smp 8: the lengths and allocation sizes Linux shows (QEMU 7.2 + 1.16.2-1)', () => {
    // FACP 0x74, FACS 0x40, SSDT 0xAE2, HPET 0x38, DSDT 0x11E9, RSDT 0x34 (4 tables); the MADT is
    // allocated for 16 overrides but only 5 are written (0xB0 long, 286 bytes asked for).
    expect(sizes({ maxCpusKey: 8 })).toEqual({ FADT: 0x74, FACS: 0x40, SSDT: 0xae2, MADT: 286, HPET: 0x38, DSDT: 0x11e9, RSDT: 0x34 });
  });

  it('each APIC id adds a Processor object, its NTFY and CPON entries and a MADT entry: 105 bytes; with NUMA 16 more', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 254 }), fc.integer({ min: 0, max: 8 }), fc.boolean(), (cpus, nodes, hpet) => {
        const growth = total({ maxCpusKey: cpus + 1, numaNodes: nodes, hpet }) - total({ maxCpusKey: cpus, numaNodes: nodes, hpet });
        expect(growth).toBe(nodes > 0 ? 121n : 105n);
      }),
    );
  });

  it('the HPET table (and its RSDT entry) only when there is an HPET; the MCFG only on ICH9', () => {
    expect(total({ hpet: true }) - total({ hpet: false })).toBe(56n + 4n);
    expect(sizes({ acpiPmDevice: 'ich9-lpc' }).MCFG).toBe(60);
    expect(sizes({ acpiPmDevice: 'piix4-pm' }).MCFG).toBeUndefined();
  });

  it('SeaBIOS 1.17 builds none (commit 35aa9a72 dropped the code)', () => {
    expect(SEABIOS_PROFILES['1.17.0'].selfBuiltAcpi).toBeNull();
  });

  it("issue 14's example: pc-1.0, 7 CPUs, 4 NUMA nodes on QEMU 5.2 reserve 0x3000, not the old constant's 0x2000", () => {
    const numa = Array.from({ length: 4 }, () => ['-numa', 'node,mem=256M']).flat();
    expect(block(['-M', 'pc-1.0', '-m', '1G', '-smp', '7', ...numa], T52)).toBe(0x3000n);
    expect(block(['-M', 'pc-1.0', '-m', '1G', '-smp', '7'], T52)).toBe(0x2000n);
  });

  it('-no-hpet moves the page boundary at 33 CPUs: 0x4000 with the HPET table, 0x3000 without', () => {
    expect(block(['-M', 'pc-i440fx-1.4', '-m', '1G', '-smp', '33'])).toBe(0x4000n);
    expect(block(['-M', 'pc-i440fx-1.4', '-m', '1G', '-smp', '33', '-no-hpet'])).toBe(0x3000n);
  });

  it('MaxCountCPUs is the APIC id limit QEMU gives, not the present CPUs', () => {
    expect(block(['-M', 'pc-i440fx-1.4', '-m', '1G', '-smp', '4,maxcpus=64'])).toBe(0x5000n);
  });
});

describe("SeaBIOS's own SMBIOS tables", () => {
  const GiB = 1n << 30n;
  it("'Bochs' strings and a 45-byte type 4 per CPU: 578 bytes at 8 CPUs stay in the f-segment, 623 at 9 go to ZoneHigh", () => {
    expect(legacySmbiosBytes(8, GiB, 0n, [])).toBe(578);
    expect(legacySmbiosBytes(9, GiB, 0n, [])).toBe(623);
    expect(block(['-M', 'pc-i440fx-1.4', '-m', '1G', '-smp', '8'])).toBe(0x2000n);
    expect(block(['-M', 'pc-i440fx-1.4', '-m', '1G', '-smp', '9'])).toBe(0x3000n);
  });

  it('grows by 45 bytes per CPU below 0x100 and 46 from 0x100 (`CPU%2x`)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), (cpus) => {
        expect(legacySmbiosBytes(cpus + 1, GiB, 0n, []) - legacySmbiosBytes(cpus, GiB, 0n, [])).toBe(cpus + 1 >= 0x100 ? 46 : 45);
      }),
    );
  });

  it("QEMU's type 1 strings (smbios_defaults, pc-i440fx-1.8 to 2.0) and RAM above 4 GiB lengthen it", () => {
    expect(legacySmbiosBytes(1, GiB, 0n, ['QEMU', 'Standard PC (i440FX + PIIX, 1996)', 'pc-i440fx-2.0']) - legacySmbiosBytes(1, GiB, 0n, [])).toBe(53 - 12);
    expect(legacySmbiosBytes(1, 3n * GiB, 2n * GiB, []) - legacySmbiosBytes(1, GiB, 0n, [])).toBe(17 + 21);
  });
});

describe("QEMU's legacy-sized ACPI blob (pc-i440fx-1.7 and 2.0)", () => {
  const acpiBlob = (argv: string[], toolchain = BASELINE_TOOLCHAIN) =>
    predict(parseQemuArgs(argv, { qemuVersion: toolchain.qemu }), toolchain).handoff.firmwareInputs.highAllocations.find((a) => a.file === 'etc/acpi/tables')?.size;

  it('the non-AML tables count, FADT excepted: 1.7 crosses to 0x3000 at 14 CPUs, 2.0 at 12', () => {
    expect(acpiBlob(['-M', 'pc-i440fx-1.7', '-m', '1G', '-smp', '13'])).toBe(0x2000n);
    expect(acpiBlob(['-M', 'pc-i440fx-1.7', '-m', '1G', '-smp', '14'])).toBe(0x3000n);
    expect(acpiBlob(['-M', 'pc-i440fx-2.0', '-m', '1G', '-smp', '11'])).toBe(0x2000n);
    expect(acpiBlob(['-M', 'pc-i440fx-2.0', '-m', '1G', '-smp', '12'])).toBe(0x3000n);
  });

  it("QEMU's SRAT is part of it (5.2, two nodes)", () => {
    const numa = ['-numa', 'node,mem=2G', '-numa', 'node,mem=3G'];
    expect(acpiBlob(['-M', 'pc-i440fx-2.0', '-m', '5G', '-smp', '9', ...numa], T52)).toBe(0x3000n);
    expect(acpiBlob(['-M', 'pc-i440fx-2.0', '-m', '5G', '-smp', '9'], T52)).toBe(0x2000n);
  });
});
