// The i440fx 32-bit PCI hole's room for the BARs the configuration asks for: a hole too small for
// them makes SeaBIOS place BARs the model does not follow, so such a configuration is not modelled.

import { MiB } from '../address.ts';
import { QEMU_LAYOUT as L } from '../profiles/qemu.ts';
import type { MachineConfig } from '../config.ts';
import { UnsupportedOptionError } from '../stages.ts';

/**
 * Upper bounds on the 32-bit MMIO a display device asks SeaBIOS for (BARs + ROM BAR, 64-bit BARs
 * included since SeaBIOS keeps them below 4 GiB when it can): std VGA / bochs-display / virtio-vga
 * 16 MiB vgamem BAR, cirrus 32 MiB, qxl-vga 64 MiB ram + 64 MiB vram + a 64-bit vram BAR.
 */
const DISPLAY_BAR32_BOUND: ReadonlyMap<string, bigint> = new Map([
  ['std', 32n * MiB], ['VGA', 32n * MiB], ['std-vga', 32n * MiB], ['bochs-display', 32n * MiB],
  ['virtio', 32n * MiB], ['virtio-vga', 32n * MiB], ['cirrus', 64n * MiB], ['cirrus-vga', 64n * MiB],
  ['qxl', 256n * MiB], ['qxl-vga', 256n * MiB],
  // ati-vga: 16 MiB vram BAR + MMIO; vmware-svga: 16 MiB vram + 2 MiB FIFO; secondary-vga: 16 MiB vgamem + MMIO.
  ['ati-vga', 32n * MiB], ['vmware-svga', 32n * MiB], ['secondary-vga', 32n * MiB],
]);

/** Devices with no PCI function (ISA, sysbus, fw_cfg-only): they take no 32-bit MMIO. */
const NO_PCI_FUNCTION = new Set(['isa-serial', 'isa-parallel', 'isa-debugcon', 'pvpanic', 'ne2k_isa', 'sb16', 'cs4231a', 'gus', 'adlib', 'pc-testdev', 'hyperv-testdev', 'ib700', 'vmcoreinfo', 'ramfb', 'pc-dimm', 'ide-hd', 'ide-cd', 'ide-drive', 'scsi-hd', 'scsi-cd', 'usb-tablet', 'usb-kbd', 'usb-mouse']);

/** Bound on any other PCI function's 32-bit MMIO (BARs, ROM BAR, a bridge's 1 MiB-aligned windows). */
const OTHER_PCI_BAR32_BOUND = 8n * MiB;

/**
 * The i440fx 32-bit PCI hole is [below_4g_mem_size, IO-APIC) (hw/pci-host/i440fx.c i440fx_init:
 * range_set_bounds on pci_hole). Not modelled, with why:
 * - below_4g ≥ 0xfec00000: the range is empty or inverted and QEMU aborts on an assertion in
 *   include/qemu/range.h (its text carries a build path and a line number: not a stable message).
 * - a hole too small for the devices' BARs: SeaBIOS src/fw/pciinit.c pci_bios_map_devices() packs
 *   the MEM and PREFMEM regions top-down from 0xfec00000, each aligned to its largest BAR, and
 *   panics "PCI: out of 32bit address space" (the guest never boots) when the lower one ends below
 *   RamSize. Packing loses less than each region's size to alignment, so a hole of twice an upper
 *   bound of the BAR total is enough; a smaller hole is refused rather than guessed. Measured
 *   (7.2/1.16.2, default devices): 4048M with max-ram-below-4g=4G (28 MiB hole) boots, 4050M
 *   (26 MiB: the std-VGA 16 MiB BAR has no 16 MiB-aligned slot) panics.
 */
export function checkI440fxPciHole32(config: MachineConfig, below: bigint): void {
  const top = L.IO_APIC_DEFAULT_ADDRESS;
  if (below >= top) {
    throw new UnsupportedOptionError(
      '-machine max-ram-below-4g',
      `RAM below 4 GiB (0x${below.toString(16)}) reaches the IO-APIC at 0x${top.toString(16)}: QEMU aborts on an assertion (include/qemu/range.h, empty i440fx PCI hole) whose text is build-specific, so it is not modelled`,
    );
  }
  const vga = config.vga ?? (config.nodefaults ? 'none' : 'std');
  let bound = DISPLAY_BAR32_BOUND.get(vga) ?? (vga === 'none' ? 0n : 256n * MiB);
  let functions = 2; // the default NIC (or -nic/-net ones counted below) and slack for on-board functions
  for (const d of config.devices) {
    const display = DISPLAY_BAR32_BOUND.get(d.driver);
    if (display !== undefined) bound += display;
    else if (!NO_PCI_FUNCTION.has(d.driver)) functions++;
  }
  functions += config.drives.length + (config.nics?.length ?? 0);
  bound += BigInt(functions) * OTHER_PCI_BAR32_BOUND;
  const hole = top - below;
  if (hole < 2n * bound) {
    throw new UnsupportedOptionError(
      '-machine max-ram-below-4g',
      `the 32-bit PCI hole [0x${below.toString(16)}, 0x${top.toString(16)}) is ${hole / MiB} MiB, under the ${(2n * bound) / MiB} MiB the model needs to be sure SeaBIOS can place every 32-bit BAR (otherwise it panics "PCI: out of 32bit address space"); not modelled`,
    );
  }
}
