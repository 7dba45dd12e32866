// Sizes of the tables QEMU hands SeaBIOS to place: the SMBIOS tables, and the non-AML part of the
// legacy-sized ACPI blob.

import type { ResolvedTopology } from '../stages.ts';

/**
 * The part of etc/acpi/tables that is not AML (`tables_blob->len - aml_len` in
 * hw/i386/acpi-build.c acpi_build), which the legacy sizing of pc-i440fx-1.7/2.0 keeps as built:
 * FACS, MADT (a local APIC entry per possible CPU, the IO-APIC, 5 interrupt overrides,
 * the local NMI), HPET, SRAT (a CPU entry per possible CPU, nodes + 2 memory entries: no device
 * memory on these machine types), WAET and the RSDT. Checked against the table addresses Linux
 * prints (`ACPI: APIC 0x… 0000D0`) on QEMU 5.2 and 7.2, pc-i440fx-2.0 -smp 12, with and without NUMA.
 */
export function legacyAcpiNonAmlBytes(topology: ResolvedTopology, numaNodes: number, hpet: boolean): number {
  const HEADER = 36;
  const rsdtEntries = ['FACP', 'APIC', ...(hpet ? ['HPET'] : []), ...(numaNodes > 0 ? ['SRAT'] : []), 'WAET'];
  return (
    64 + // FACS (the FADT after the DSDT is counted with the AML: `aml_len += tables_blob->len - fadt`)
    (HEADER + 8 + 8 * topology.maxcpus + 12 + 5 * 10 + 6) + // MADT
    (hpet ? HEADER + 20 : 0) +
    (numaNodes > 0 ? HEADER + 12 + 16 * topology.maxcpus + 40 * (numaNodes + 2) : 0) +
    (HEADER + 4) + // WAET
    (HEADER + 4 * rsdtEntries.length)
  );
}

/**
 * Length of etc/smbios/smbios-tables as QEMU builds it by default (hw/smbios/smbios.c; strings from
 * smbios_set_defaults("QEMU", mc->desc, mc->name)): types 1, 3, 4 × sockets, 16, 17 × DIMMs,
 * 19 × RAM entries, 32, 127. Checked against measured 321 B (pc-i440fx-7.2) / 309 B (pc-q35-7.2),
 * +68 / +65 B per socket, +33 B with RAM above 4 GiB (docs/model/calibration.md#smbios-sizes).
 */
export function smbiosTablesBytes(opts: {
  machineName: string;
  desc: string;
  sockets: number;
  ramSize: bigint;
  ramEntries: number;
  dimmChunk: bigint;
  type4Length: number;
}): number {
  const str = (s: string): number => s.length + 1;
  const name = opts.machineName;
  const type1 = 27 + str('QEMU') + str(opts.desc) + str(name) + 1;
  const type3 = 22 + str('QEMU') + str(name) + 1;
  let type4 = 0;
  // The socket designation is "%s%2x" of sock_pfx "CPU" and the instance (smbios_build_type_4_table,
  // smbios_set_defaults): "CPU 0" … "CPU f", "CPU10" — hex, space-padded to two digits.
  for (let i = 0; i < opts.sockets; i++) type4 += opts.type4Length + str(`CPU${i.toString(16).padStart(2, ' ')}`) + str('QEMU') + str(name) + 1;
  const type16 = 23 + 2;
  const dimms = Number((opts.ramSize + opts.dimmChunk - 1n) / opts.dimmChunk);
  let type17 = 0;
  for (let i = 0; i < dimms; i++) type17 += 40 + str(`DIMM ${i}`) + str('QEMU') + 1;
  const type19 = opts.ramEntries * (31 + 2);
  const type32 = 11 + 2;
  const type127 = 4 + 2;
  return type1 + type3 + type4 + type16 + type17 + type19 + type32 + type127;
}
