// The linux stage: firmware E820 map + platform + kernel command line + kernel profile →
// what the kernel reports (KernelView). Composes reference/linux/*, in setup_arch() order
// (arch/x86/kernel/setup.c):
//   load + sanitise + BIOS-e820 dump → mem=/memmap= → setup_data → user map → kernel range →
//   trim_bios_range → last_pfn → /proc/iomem early resources + /sys/firmware/memmap → nosave →
//   PCI gap → (PCI init) MMCONFIG check, late resources, RAM buffers.

import { FOUR_GIB, hex, MiB } from './address.ts';
import { E820 } from './e820.ts';
import type { FirmwareMap, KernelView, MemoryPathView, Platform } from './stages.ts';
import { BIOS_E820_PREFIX } from './kernel-lines.ts';
import { type MemorySetup, ramLeftOut } from './linux/boot-memory.ts';
import type { KernelProfile } from './profiles/kernel.ts';
import { KERN } from './profiles/kernel.ts';
import { applyEarlyParams, splitKernelArgs } from './linux/early-params.ts';
import { checkUserRamOverNothing } from './linux/user-ram.ts';
import { buildIomem, type IomemPlatform, resourceName } from './linux/iomem.ts';
import { kernelRangeIsRam } from './linux/kernel-range.ts';
import { firmwareMemmap } from './linux/memmap.ts';
import { keptEntryDigits, OUT_OF_ORDER_LINE } from './linux/print.ts';
import {
  INVALID_USER_MAP,
  finishEarlyParams,
  lastPfnLines,
  loadFirmwareMap,
  nosaveLines,
  pciGapLines,
  reserveSetupData,
  trimBiosRange,
} from './linux/setup-arch.ts';
import { type KLine, type KTable, KernelBug, mappedAll, memRange } from './linux/table.ts';

export { FallbackUnmodelled } from './linux/setup-arch.ts';

const texts = (lines: readonly KLine[]): string[] => lines.map((l) => l.text);
const levels = (lines: readonly KLine[]): number[] => lines.map((l) => l.level);

/**
 * is_mmconf_reserved(e820__mapped_all) at pci_arch_init (arch/x86/pci/mmconfig-shared.c): the
 * line when the whole ECAM window is E820 reserved; null when only a halved window is (the
 * "size reduced" path, not modelled) or none is.
 */
/** SeaBIOS's SMBIOS type 0 BIOS date, 04/01/2014 (src/fw/biostables.c smbios_new_type_0; every release modelled). */
const SEABIOS_SMBIOS_BIOS_YEAR = 2014;

function ecamLine(table: Parameters<typeof mappedAll>[0], mmconfig: { start: bigint; end: bigint }, profile: KernelProfile): KLine | null {
  if (!mappedAll(table, mmconfig.start, mmconfig.end + 1n, E820.RESERVED)) return null;
  return { level: KERN.INFO, text: profile.ecamReservedText.replace('%s', memRange(mmconfig.start, mmconfig.end)) };
}

/**
 * Could the user map have made the ACPI tables System RAM? drivers/acpi/osl.c acpi_map() maps a
 * table on a `page_is_ram()` page with kmap() and returns NULL when it spans more than one page
 * (`if (pg_sz > PAGE_SIZE) return NULL;`, x86: `should_use_kmap(pfn) page_is_ram(pfn)`, same in
 * 5.10–7.2). QEMU's DSDT is larger than a page, so the namespace load then fails
 * (`ACPI Error: AE_NO_ACPI_TABLES, While loading namespace from ACPI tables`), and with it the
 * _CRS host bridge windows (`PCI Bus 0000:00`) never appear. Observed on 5.10, 6.1, 6.12 and 7.2
 * with `memmap=exactmap … memmap=0x3ff00000@0x100000 …` (-M pc -m 1G: tables at 0x3ffe0000).
 * SeaBIOS puts the tables in a non-RAM firmware entry between 1 MiB and 4 GiB, but the map does
 * not say which one, so any page of such an entry that is RAM in the final table counts.
 * (Platform could carry the table range — QEMU's etc/acpi/tables allocation — to make this
 * exact; until then the stage only keeps what both outcomes agree on.)
 */
function acpiTablesMayBeRam(firmware: KTable, table: KTable): boolean {
  // Two loops, no arrays of the held ranges (a filter, a map and their objects every prediction).
  for (const f of firmware) {
    if (f.type === E820.RAM || f.addr < MiB || f.addr >= FOUR_GIB) continue;
    const heldEnd = f.addr + f.size;
    for (const r of table) {
      if (r.type === E820.RAM && r.addr < heldEnd && f.addr < r.addr + r.size) return true;
    }
  }
  return false;
}

/**
 * The decompressor enables 5-level paging when the kernel has it (KernelProfile.fiveLevelPaging),
 * the CPU has LA57 and the command line lacks the
 * whole word `no5lvl` (arch/x86/boot/cmdline.c cmdline_find_option_bool(), same in 5.10–7.2);
 * MAX_ARCH_PFN (the `max_arch_pfn =` value and the last_pfn cap) follows MAX_PHYSMEM_BITS.
 */
export function withPagingLevels(profile: KernelProfile, platform: Platform, kernelCmdline: string): KernelProfile {
  const fiveLevel = profile.fiveLevelPaging && platform.la57 && !kernelCmdline.split(/[ \t\n\v\f\r]+/).includes('no5lvl');
  return fiveLevel ? { ...profile, maxArchPfn: profile.maxArchPfn5Level } : profile;
}

/**
 * `memory`: the map e820__memory_setup_default() makes of what the firmware's INT 15h services
 * answer (memorySetupDefault(detectMemory(int15Answers)), reference/linux/boot-memory.ts and
 * reference/seabios/ int15Answers), as predict() computes it before deciding the kernel starts;
 * absent: E820 answers with `firmware.entries` (and a map the kernel would refuse is not modelled).
 */
export function linuxStage(firmware: FirmwareMap, platform: Platform, kernelCmdline: string, kernelProfile: KernelProfile, memory?: MemorySetup): KernelView {
  const profile = withPagingLevels(kernelProfile, platform, kernelCmdline);
  const loaded = loadFirmwareMap(firmware.entries, profile, memory);
  // Only the E820 path prints `BIOS-e820:` lines; a `BIOS-e801:`/`BIOS-88:` dump is an edit line
  // (reference/kernel-lines.ts dump-fallback). 7.2's out-of-order warning sits inside the dump but
  // is not a `BIOS-e820:` line. Every other dump line starts with `<who>: `, so the lines are told
  // apart by who printed them, not by reading each one back (which flattened every line's string).
  const e820Dump = `${loaded.who}: ` === BIOS_E820_PREFIX;
  const biosE820: string[] = [];
  const edits: KLine[] = [loaded.header];
  for (const l of loaded.dump) {
    if (e820Dump && l !== OUT_OF_ORDER_LINE) biosE820.push(l.text);
    else edits.push(l);
  }
  const lost = loaded.setup.path === 'e820' ? null : ramLeftOut(firmware.entries, loaded.table);
  const memoryPath: MemoryPathView = {
    path: loaded.setup.path,
    who: loaded.setup.who,
    why: loaded.setup.why,
    ...(lost !== null ? { lost } : {}),
  };
  const memmap = firmwareMemmap(loaded.table, profile, loaded.digits);
  const unpredictable: string[] = [];

  const args = splitKernelArgs(kernelCmdline);
  let early;
  try {
    early = applyEarlyParams(loaded.table, args, profile);
  } catch (e) {
    if (!(e instanceof KernelBug)) throw e;
    return { biosE820, memoryPath, panic: e.message, unpredictable: [`e820Edits, memmap, iomem: ${e.message}`] };
  }
  edits.push(...early.lines);

  const sd = reserveSetupData(early.table, platform.setupData ?? [], profile);
  edits.push(...sd.lines);

  const fin = finishEarlyParams(sd.table, early.userdef, profile);
  if (fin.table === null) {
    const panicLine = { level: 0, text: `Kernel panic - not syncing: ${INVALID_USER_MAP}` };
    const all = [...edits, panicLine];
    return {
      biosE820,
      memoryPath,
      e820Edits: texts(all),
      e820EditLevels: levels(all),
      panic: INVALID_USER_MAP,
      unpredictable: ['memmap, iomem: the kernel panics in e820__finish_early_params() before creating them'],
    };
  }
  edits.push(...fin.lines);
  checkUserRamOverNothing(firmware.entries, fin.table, early.userdef);

  // KASLR's slots come from boot_params' E820 table (arch/x86/boot/compressed/kaslr.c
  // process_e820_entries); on the E801/88h roads it is empty, so the image stays at 16 MiB.
  const kr = kernelRangeIsRam(loaded.setup.path === 'e820' ? loaded.table : [], fin.table, early.userdef, args, profile);
  if (!kr.ram) {
    return { biosE820, memoryPath, memmap, unpredictable: [`e820Edits, iomem: ${kr.why}`] };
  }

  const trimmed = trimBiosRange(fin.table, profile);
  edits.push(...trimmed.lines);
  const table = trimmed.table;

  const pfn = lastPfnLines(table, profile);
  edits.push(...pfn.lines);
  edits.push(...nosaveLines(table, pfn.maxPfn, profile));
  edits.push(...pciGapLines(table, pfn.maxPfn, profile));

  let mmconfigInserted = false;
  let editsKnown = true;
  // The MCFG the guest reads: QEMU's, or the one SeaBIOS built itself (FirmwareMap.mmconfig).
  const mmconfig = firmware.mmconfig ?? platform.mmconfig;
  /**
   * No E820 entry meets the ECAM window (the E801/88h map ends below it): whatever the fallback
   * checks decide, no E820 line and no E820 resource depends on it, if both iomem outcomes agree.
   */
  let ecamUndecided = false;
  // DMI's BIOS year decides whether 6.12+ checks the window against E820 at all (a missing
  // SMBIOS reads as -1).
  const biosYear = firmware.smbiosBiosYear === undefined ? SEABIOS_SMBIOS_BIOS_YEAR : (firmware.smbiosBiosYear ?? -1);
  const ecamUnchecked = profile.ecamEarlyE820CheckBiosYearBelow !== null && biosYear >= profile.ecamEarlyE820CheckBiosYearBelow;
  if (mmconfig !== null && ecamUnchecked) {
    // pci_mmcfg_reserved(early) returns true without a check or a line; the window is inserted at late_initcall.
    mmconfigInserted = true;
  } else if (mmconfig !== null) {
    const line = ecamLine(table, mmconfig, profile);
    const untouched = !table.some((e) => e.addr <= mmconfig.end && mmconfig.start < e.addr + e.size);
    if (line === null && untouched) ecamUndecided = true;
    else if (line === null) {
      editsKnown = false;
      unpredictable.push(
        'e820Edits, iomem: the ECAM window is not entirely E820-reserved; the MMCONFIG fallback checks (size halving, ACPI motherboard resources) are not modelled',
      );
    } else {
      edits.push(line);
      mmconfigInserted = true;
    }
  }

  // With SeaBIOS's own DSDT its PCI0._CRS windows are the ones Linux inserts, not QEMU's.
  // (Only the fields /proc/iomem reads: spreading all of Platform cost more than building them.)
  const seen: IomemPlatform = {
    physBits: platform.physBits,
    pciWindows: firmware.pciWindows ?? platform.pciWindows,
    optionRoms: platform.optionRoms,
    pci: platform.pci,
    hotplugRam: platform.hotplugRam,
    mmconfig,
  };
  // Most entries of the final table are the boot dump's own: their digits are spelled already.
  const digits = keptEntryDigits(table, loaded.table, loaded.digits);
  let io = buildIomem({ table, platform: seen, mmconfigInserted, profile, digits });
  if (ecamUndecided) {
    // mmconfig-shared.c pci_mmcfg_reserved(): the window may still be accepted as an ACPI
    // motherboard resource at pci_mmcfg_late_init (not an E820 line); take it only if it changes nothing.
    const inserted = buildIomem({ table, platform: seen, mmconfigInserted: true, profile, digits });
    if (JSON.stringify(inserted) !== JSON.stringify(io)) {
      editsKnown = false;
      unpredictable.push('e820Edits, iomem: the ECAM window is not E820-reserved and whether the ACPI motherboard-resource check accepts it changes the E820 resources; not modelled');
    }
  }
  let acpiIomemKnown = true;
  if (acpiTablesMayBeRam(loaded.table, table)) {
    // Both outcomes of acpi_map() (see acpiTablesMayBeRam): keep only what they agree on.
    const why =
      'the user map makes RAM of a firmware-reserved range that may hold the ACPI tables; acpi_map() cannot map a ' +
      'multi-page table on System RAM, so the ACPI namespace and with it the PCI host bridge windows (q35: also MCFG) may be lost';
    const noAcpi = buildIomem({ table, platform: { ...seen, pciWindows: [] }, mmconfigInserted, profile, digits });
    const lateSame =
      io.lateLines.length === noAcpi.lateLines.length &&
      io.lateLines.every((l, i) => l.text === noAcpi.lateLines[i]!.text && l.level === noAcpi.lateLines[i]!.level);
    const linesSame = JSON.stringify(io.lines) === JSON.stringify(noAcpi.lines);
    if (mmconfig !== null || !lateSame) {
      editsKnown = false;
      acpiIomemKnown = false;
      unpredictable.push(`e820Edits, iomem: ${why}`);
    } else if (!linesSame) {
      acpiIomemKnown = false;
      unpredictable.push(`iomem: ${why}`);
    }
  }
  edits.push(...io.lateLines);
  if (io.lateUncertain) {
    editsKnown = false;
    unpredictable.push(`e820Edits: an e820 resource meets a resource of unknown extent at PCI init (${io.unpredictable})`);
  }
  const iomemKnown = editsKnown && acpiIomemKnown && io.lines !== null;
  if (io.lines === null) unpredictable.push(`iomem: ${io.unpredictable}`);

  // ACPI memory hotplug (drivers/acpi/acpi_memhotplug.c → add_memory → firmware_map_add_hotplug)
  // runs before firmware_memmap_init() publishes the boot entries, so the DIMMs come first
  // (observed on 6.1 and 7.2: /sys/firmware/memmap/0 is the first DIMM).
  // (Without DIMMs, the boot entries' array as it is: the spread of two arrays was ~0.5% of a CPU profile.)
  const hotplugMemmap = platform.hotplugRam.map((r) => ({ start: hex(r.start), end: hex(r.end), type: resourceName(E820.RAM, profile) }));
  return {
    biosE820,
    memoryPath,
    ...(editsKnown ? { e820Edits: texts(edits), e820EditLevels: levels(edits) } : {}),
    memmap: hotplugMemmap.length === 0 ? memmap : [...hotplugMemmap, ...memmap],
    ...(iomemKnown && io.lines !== null ? { iomem: io.lines } : {}),
    ...(unpredictable.length > 0 ? { unpredictable } : {}),
  };
}
