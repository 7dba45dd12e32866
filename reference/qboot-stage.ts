// qboot stage: Handoff → FirmwareMap, the E820 table qboot's INT 15h returns. qboot is the small
// firmware QEMU ships as qboot.rom (roms/qboot, upstream bonzini/qboot) and the microvm machine's
// default firmware. It builds its table once, in main.c extract_e820(), from four fixed entries,
// the q35 MMCONFIG window when it enabled one, and fw_cfg etc/e820 copied verbatim, except that the
// first record starting at 0 is moved to start at 1 MiB. It reads no CMOS, reserves nothing at the
// top of RAM and allocates its ACPI tables below its own code in the 0xd0000–0xfffff shadow
// (malloc.c), inside the fixed entries. Its INT 15h (code16.c int15_handler) answers only E820.
//
// extract_e820() last changed in qboot ac9488f ("qboot: enable mmconfig", 2017) and int15_handler
// in 2015, before QEMU took qboot in as roms/qboot (QEMU 4.2), so every QEMU release the model
// knows ships a qboot.rom that builds this same table. Pure: no I/O, inputs untouched.

import { KiB, MiB } from './address.ts';
import { E820, type E820Range } from './e820.ts';
import { tableOnlyFirmwareMap, UnsupportedOptionError, type FirmwareMap, type Handoff, type Int15Answers } from './stages.ts';

/** qboot's fixed entries, in the order main.c extract_e820() writes them (map[0..3]). */
export const QBOOT_LAYOUT = {
  /** map[0]: "low RAM", [0, 639 KiB). */
  LOW_RAM_END: 639n * KiB,
  /** map[1]: "EBDA", [639 KiB, 640 KiB), reserved. */
  EBDA_SIZE: KiB,
  /** map[2]: "ACPI tables", [0xd0000, +128 KiB), ACPI NVS: where tables.c's allocations land (malloc_align below stext). */
  ACPI_START: 0xd0000n,
  ACPI_SIZE: 128n * KiB,
  /** map[3]: "firmware", [0xf0000, +64 KiB), reserved. */
  FIRMWARE_START: 0xf0000n,
  FIRMWARE_SIZE: 64n * KiB,
  /**
   * include/pci.h PCIE_MMCONFIG_BASE / PCIE_MMCONFIG_SIZE: hwsetup.c setup_mmconfig() programs the
   * q35 MCH's PCIEXBAR there (only when 00:00.0 is the Q35 MCH) and extract_e820() then reserves it.
   */
  MMCONFIG_BASE: 0xb0000000n,
  MMCONFIG_SIZE: 256n * MiB,
  /** Where extract_e820() moves the etc/e820 record that starts at 0. */
  HIGH_RAM_START: MiB,
} as const;

/** smbios.c BIOS_DATE "11/11/2019": the year of qboot's SMBIOS type 0. */
export const QBOOT_BIOS_YEAR = 2019;

/**
 * AX after qboot's INT 15h AH=88h: int15_handler's default case only sets CF and leaves the
 * registers as the caller passed them, and Linux's detect_memory_88() (arch/x86/boot/memory.c)
 * stores AX without looking at CF: 0x8800 (AH=0x88, AL=0 from initregs()).
 */
export const QBOOT_FAILED_88H_AX = 0x8800;

/** The table qboot builds, entry by entry (provenance says which line of extract_e820 made it). */
export function qbootStage(handoff: Handoff): FirmwareMap {
  const L = QBOOT_LAYOUT;
  if (handoff.firmwareInputs.smbiosHasType0) {
    throw new UnsupportedOptionError('-smbios', "QEMU's own SMBIOS type 0 under qboot (its BIOS date decides the kernel's ECAM check): not modelled");
  }
  const entries: E820Range[] = [
    { start: 0n, end: L.LOW_RAM_END, type: E820.RAM },
    { start: L.LOW_RAM_END, end: L.LOW_RAM_END + L.EBDA_SIZE, type: E820.RESERVED },
    { start: L.ACPI_START, end: L.ACPI_START + L.ACPI_SIZE, type: E820.NVS },
    { start: L.FIRMWARE_START, end: L.FIRMWARE_START + L.FIRMWARE_SIZE, type: E820.RESERVED },
  ];
  const provenance = [
    'qboot extract_e820 map[0]: low RAM [0, 639 KiB)',
    'qboot extract_e820 map[1]: EBDA [639 KiB, 640 KiB)',
    'qboot extract_e820 map[2]: ACPI tables [0xd0000, +128 KiB), ACPI NVS',
    'qboot extract_e820 map[3]: firmware [0xf0000, +64 KiB)',
  ];
  // hwsetup.c setup_mmconfig(): only the Q35 MCH gets an MMCONFIG window.
  if (handoff.platform.chipset === 'q35') {
    entries.push({ start: L.MMCONFIG_BASE, end: L.MMCONFIG_BASE + L.MMCONFIG_SIZE, type: E820.RESERVED });
    provenance.push('qboot extract_e820: PCIE_MMCONFIG_BASE (setup_mmconfig programmed the q35 PCIEXBAR)');
  }
  // fw_cfg_read_file(etc/e820) verbatim (qboot panics without etc/e820; every machine the model
  // knows has it), then the first record at address 0 starts at 1 MiB instead.
  let moved = false;
  for (const [i, r] of (handoff.e820 ?? []).entries()) {
    if (!moved && r.start === 0n) {
      moved = true;
      // `e820->map[i].size -= 1024 * 1024` is unsigned: below 1 MiB it wraps.
      if (r.length <= L.HIGH_RAM_START) throw new UnsupportedOptionError('-m', `qboot with ${r.length} bytes of RAM at 0: its size minus 1 MiB wraps; not modelled`);
      entries.push({ start: L.HIGH_RAM_START, end: r.length, type: r.type });
      provenance.push(`etc/e820 record ${i}, moved to start at 1 MiB (extract_e820: lowmem = its size)`);
    } else {
      entries.push({ start: r.start, end: r.start + r.length, type: r.type });
      provenance.push(`etc/e820 record ${i}, copied as is`);
    }
  }
  return {
    // qboot keeps no legacy RAM size (its E801/88h fail: qbootInt15Answers) and no base memory size.
    ...tableOnlyFirmwareMap(entries, { baseMemKiB: 0, provenance }),
    // smbios.c extract_smbios(): QEMU's tables behind a 2.1 entry point (31 bytes, `sizeof(*ep)`)
    // get qboot's type 0 (BIOS_DATE "11/11/2019") unless QEMU gave one; any other entry point, none.
    smbiosBiosYear: handoff.firmwareInputs.smbiosEntryPoint === '2.1' && handoff.firmwareInputs.smbiosTablesBytes !== null ? QBOOT_BIOS_YEAR : null,
  };
}

/** What qboot's INT 15h answers Linux's setup code: its table for E820; E801 fails (CF=1); 88h leaves AX as passed. */
export function qbootInt15Answers(firmware: Pick<FirmwareMap, 'entries'>): Int15Answers {
  return { e820: firmware.entries, e801: null, e88: { ax: QBOOT_FAILED_88H_AX } };
}
