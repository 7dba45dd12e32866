// Sizes of the tables SeaBIOS builds itself when QEMU does not hand them over: its own ACPI
// tables (src/fw/acpi.c) and its legacy SMBIOS tables (src/fw/smbios.c).

import type { SelfBuiltAcpiAml } from '../profiles/seabios.ts';
import type { FirmwareInputs } from '../stages.ts';

/**
 * The tables SeaBIOS's own acpi_setup() (src/fw/acpi.c, rel-1.14.0 to rel-1.16.3) allocates in
 * ZoneHigh, in its order, with the sizes it asks malloc_high/memalign_high for (packed structs of
 * src/std/acpi.h). MaxCountCPUs is etc/max-cpus, raised to the present CPUs (src/fw/smp.c
 * smp_setup), which QEMU's APIC id limit always covers.
 */
export function selfBuiltAcpiTables(fi: FirmwareInputs, aml: SelfBuiltAcpiAml): Array<{ table: string; size: bigint; align: bigint }> {
  const HEADER = 36;
  const cpus = fi.maxCpusKey;
  const acpiCpus = Math.min(cpus, 0xff);
  const PCI_SLOTS = 32;
  const tables: Array<{ table: string; size: number; align: number }> = [
    { table: 'FADT', size: 116, align: 16 }, // build_fadt: fadt_descriptor_rev1 …
    { table: 'FACS', size: 64, align: 64 }, // … and memalign_high(64, facs_descriptor_rev1)
    {
      table: 'SSDT', // build_ssdt's `length`
      size:
        aml.ssdtMiscBytes +
        (1 + 3 + 4) + // Scope(_SB_)
        acpiCpus * aml.processorBytes +
        (1 + 2 + 5 + 12 * acpiCpus) + // NTFY
        (6 + 2 + 1 + acpiCpus) + // CPON
        (1 + 3 + 4) + // Scope(PCI0)
        (PCI_SLOTS - 1) * aml.pciSlotBytes +
        (1 + 2 + 5 + 12 * (PCI_SLOTS - 1)), // PCNT
      align: 16,
    },
    // build_madt: header + flags, a processor entry per id, the IO-APIC, room for 16 overrides, the local NMI.
    { table: 'MADT', size: HEADER + 8 + 8 * cpus + 12 + 10 * 16 + 6, align: 16 },
  ];
  if (fi.hpet) tables.push({ table: 'HPET', size: HEADER + 20, align: 16 }); // build_hpet: only when the HPET answers
  // build_srat: only with etc/numa-nodes (QEMU's FW_CFG_NUMA lists the nodes), a CPU entry per id, a memory entry per node + 2.
  if (fi.numaNodes > 0) tables.push({ table: 'SRAT', size: HEADER + 12 + 16 * fi.maxCpusKey + 40 * (fi.numaNodes + 2), align: 16 });
  if (fi.acpiPmDevice === 'ich9-lpc') tables.push({ table: 'MCFG', size: HEADER + 8 + 16, align: 16 }); // build_mcfg_q35
  const rsdtEntries = tables.length - 1; // every table but the FACS, which the FADT points to
  tables.push({ table: 'DSDT', size: aml.dsdtBytes, align: 16 }); // the default DSDT (no acpi/ romfile one)
  tables.push({ table: 'RSDT', size: HEADER + 4 * rsdtEntries, align: 16 });
  return tables.map((t) => ({ table: t.table, size: BigInt(t.size), align: BigInt(t.align) }));
}

/**
 * Length of the SMBIOS tables SeaBIOS builds itself (src/fw/smbios.c smbios_legacy_setup, unchanged
 * from rel-1.14.0 to rel-1.17.0): when QEMU hands over only legacy fields (key 0x8001), or an anchor
 * this SeaBIOS does not read. A type 4 per possible CPU (MaxCountCPUs), so it grows past
 * BUILD_MAX_SMBIOS_FSEG and moves to ZoneHigh from 9 CPUs at 1 GiB. Strings are SeaBIOS's defaults
 * unless QEMU gives type 1 fields (`type1Strings`: manufacturer, product, version).
 */
export function legacySmbiosBytes(maxCpus: number, ramBelow4g: bigint, ramAbove4g: bigint, type1Strings: readonly string[]): number {
  const APPNAME = 'Bochs'.length + 1; // src/config.h BUILD_APPNAME
  const withStrings = (struct: number, strings: readonly number[]): number => struct + strings.reduce((a, b) => a + b, 0) + (strings.length > 0 ? 1 : 2);
  const type0 = withStrings(24, [APPNAME, APPNAME, '01/01/2011'.length + 1]); // vendor, version: BUILD_APPNAME; RELEASE_DATE_STR
  const type1 = withStrings(27, type1Strings.length > 0 ? type1Strings.map((t) => t.length + 1) : [APPNAME, APPNAME]);
  const type3 = withStrings(20, [APPNAME]);
  let type4 = 0;
  for (let cpu = 1; cpu <= maxCpus; cpu++) type4 += withStrings(32, [`CPU${cpu.toString(16).padStart(2, ' ')}`.length + 1, APPNAME]);
  const ramMb = Number((ramBelow4g + ramAbove4g) >> 20n);
  const memDevs = (ramMb + 0x3fff) >> 14;
  let type17 = 0;
  for (let i = 0; i < memDevs; i++) type17 += withStrings(21, [`DIMM ${i}`.length + 1]);
  const over4g = ramAbove4g > 0n;
  const type19 = withStrings(15, []) * (over4g ? 2 : 1);
  const type20 = withStrings(19, []) * (over4g ? 1 + memDevs : 1);
  return type0 + type1 + type3 + type4 + withStrings(15, []) + type17 + type19 + type20 + withStrings(11, []) + withStrings(4, []);
}
