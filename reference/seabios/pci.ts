// What SeaBIOS's PCI setup decides that the later layers see: the windows of the DSDT it builds
// itself, and whether pci_pad_mem64 moves 64-bit BARs above 4 GiB.

import { FOUR_GIB } from '../address.ts';
import { E820 } from '../e820.ts';
import { QEMU_LAYOUT } from '../profiles/qemu.ts';
import { SEABIOS_LAYOUT as L, type SeabiosProfile } from '../profiles/seabios.ts';
import type { Handoff } from '../stages.ts';

/**
 * PCI0._CRS of the DSDT SeaBIOS builds itself (src/fw/acpi-dsdt-pci-crs.dsl, patched by
 * src/fw/acpi.c build_ssdt with pcimem_start/pcimem_end): the VGA window and
 * [pcimem_start, BUILD_PCIMEM_END). pcimem_start is RamSize raised to 2 or 3 GiB on i440fx
 * (src/fw/pciinit.c i440fx_mem_addr_setup), the end of MMCONFIG on q35 (mch_mmconfig_setup) —
 * not the end of RAM that QEMU's own DSDT uses. The 64-bit window (PW64) exists only when
 * SeaBIOS mapped BARs above 4 GiB, which the model assumes it did not.
 */
export function selfBuiltPciWindows(handoff: Handoff): Array<{ start: bigint; end: bigint }> {
  const ramSize = handoff.ramBelow4g;
  const start =
    handoff.platform.chipset === 'q35' ? L.Q35_PCIMEM_START : ramSize <= 0x80000000n ? 0x80000000n : ramSize <= 0xc0000000n ? 0xc0000000n : ramSize;
  return [{ ...QEMU_LAYOUT.VGA_WINDOW }, { start, end: L.PCIMEM_END - 1n }];
}

/**
 * pci_setup's pci_pad_mem64 (src/fw/pciinit.c): true when every 64-bit memory BAR goes above 4 GiB.
 * RamSizeOver4G: from etc/e820 the highest end of a RAM record at or above 4 GiB, minus 4 GiB
 * (src/fw/paravirt.c qemu_early_e820), else CMOS 0x5b-0x5d (qemu_cfg_e820). CPUPhysBits: physbits(1)
 * (paravirt.c, 1.16.3+): CPUID 0x80000008 bits, kept only if ≥ 41, or 36/39 on GenuineIntel, or
 * 40 on AuthenticAMD (the QEMU quirk), else 0. CPUs with long mode here all have PAE and leaf
 * 0x80000008; without long mode the pad is off in both releases that have it.
 */
export function pciPadMem64(handoff: Handoff, profile: SeabiosProfile): boolean {
  if (profile.mem64BarsHigh === 'never' || !handoff.platform.longMode) return false;
  let over4G = 0n;
  if (handoff.hasFwCfg && handoff.e820 !== null) {
    for (const r of handoff.e820) {
      if (r.type === E820.RAM && r.start >= FOUR_GIB && r.start + r.length - FOUR_GIB > over4G) over4G = r.start + r.length - FOUR_GIB;
    }
  } else if (handoff.hasFwCfg) over4G = BigInt(handoff.cmos.above4GiB64K) << 16n;
  if (over4G === 0n) return false;
  if (profile.mem64BarsHigh === 'ram-over-4g') return true;
  const bits = handoff.platform.physBits;
  const vendor = handoff.platform.cpuVendor;
  const valid = bits >= 41 || (vendor === 'GenuineIntel' && (bits === 36 || bits === 39)) || (vendor === 'AuthenticAMD' && bits === 40);
  return valid && bits >= 36;
}
