// What the guest's platform looks like to the firmware and the kernel: the chipset, the CPU facts
// the later stages read, and the PCI host bridge windows QEMU's DSDT declares in PCI0 _CRS.

import { alignUp, GiB } from '../address.ts';
import type { MachineConfig } from '../config.ts';
import { ISAPC_CLASS, MACHINE_COMPAT, machineVersionAtMost, QEMU_LAYOUT as L } from '../profiles/qemu.ts';
import type { Platform } from '../stages.ts';
import type { ResolvedCpu } from './cpu.ts';
import type { Board, MemoryLayout } from './layout.ts';

export function platformOf(config: MachineConfig, board: Board, cpu: ResolvedCpu, layout: MemoryLayout, acpi: boolean, hasTableLoader: boolean): Platform {
  const isapc = board.family === 'isapc';
  const i440fx = board.family === 'pc';
  // PCI host bridge windows in PCI0 _CRS (hw/i386/acpi-build.c build_dsdt + the host bridge's
  // pci-hole properties, read when SeaBIOS fetches the tables: no 64-bit BARs assigned assumed).
  // isapc has neither a PCI bus nor ACPI tables: no windows.
  const pciWindows: Array<{ start: bigint; end: bigint }> = [];
  const mmconfig = board.family === 'q35' ? { start: L.Q35_MMCONFIG_BASE, end: L.Q35_MMCONFIG_BASE + L.Q35_MMCONFIG_SIZE - 1n } : null;
  if (!isapc && acpi) {
    pciWindows.push({ ...L.VGA_WINDOW });
    const holeEnd = L.IO_APIC_DEFAULT_ADDRESS - 1n;
    if (mmconfig === null) pciWindows.push({ start: layout.below, end: holeEnd });
    else {
      // The DSDT builder excludes MMCONFIG from the q35 hole [below_4g, IOAPIC).
      if (layout.below < mmconfig.start) pciWindows.push({ start: layout.below, end: mmconfig.start - 1n });
      pciWindows.push({ start: mmconfig.end + 1n, end: holeEnd });
    }
    if (!machineVersionAtMost(board.version, MACHINE_COMPAT.pciHole64FixOffUpTo)) {
      const start = layout.hole64.start;
      pciWindows.push({ start, end: alignUp(start + layout.hole64.size, GiB) - 1n });
    }
  }
  return {
    chipset: isapc ? 'isapc' : i440fx ? 'i440fx' : 'q35',
    accel: config.accel,
    physBits: cpu.physBits,
    cpuVendor: cpu.vendor,
    cpuModel: cpu.model,
    longMode: cpu.longMode,
    bmi1Bmi2: cpu.bmi1Bmi2,
    la57: cpu.la57,
    extendedLeaves: cpu.extendedLeaves,
    pci: isapc ? ISAPC_CLASS.pci : true,
    pciWindows,
    // Linux finds ECAM through ACPI MCFG only (QEMU's q35 host bridge is not in its chipset probes).
    mmconfig: acpi ? mmconfig : null,
    // QEMU's DSDT describes each DIMM (MHPD); without QEMU's tables nothing does.
    hotplugRam: acpi && hasTableLoader ? layout.dimms : [],
  };
}
