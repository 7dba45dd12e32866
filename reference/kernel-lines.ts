// Which kernel output lines count as the kernel's E820 view. One rule, shared by the parser
// (harness/parse) and the model (which predicts exactly these lines): what the rule excludes is
// neither predicted nor compared, only counted. Facts per arch/x86/kernel/e820.c, arch/x86/kernel/setup.c and kernel/resource.c.
//
// dmesg text is matched as printed after the `<L>[ time ] ` prefix (dmesg -r).

/** A kind of E820-related dmesg line, with the kernel function that prints it. */
export interface KernelLinePattern {
  readonly id: string;
  readonly re: RegExp;
  /** file, function() [versions]. */
  readonly printedBy: string;
  /** One real (or source-exact) example. */
  readonly example: string;
}

/** `BIOS-e820:` lines, the firmware map dump (e820__print_table("BIOS-e820"), e820.c, all versions). */
export const BIOS_E820_PREFIX = 'BIOS-e820: ';

/**
 * The firmware map dump as printed: `BIOS-e820: [mem …] usable` (5.10–6.12) or, in 7.2,
 * `BIOS-e820: [mem …]  System RAM` and `BIOS-e820: [gap …]` lines. Compared verbatim.
 */
export function isBiosE820Line(text: string): boolean {
  return text.startsWith(BIOS_E820_PREFIX);
}

const MEM = String.raw`\[mem 0x[0-9a-f]+-0x[0-9a-f]+\]`;
/** Table dump line with a given `who` prefix: `[mem …]` entries, plus 7.2 `[gap …]` lines. */
const dump = (who: string) => new RegExp(String.raw`^${who}: \[(?:mem|gap) 0x[0-9a-f]+-0x[0-9a-f]+\]`);

/**
 * Every E820-related dmesg line other than `BIOS-e820:`, in the order the kernel prints them
 * (setup_arch(), docs/model/linux.md). Decision: the `BIOS-provided physical RAM map:` header belongs here. It is
 * E820 output that is not a `BIOS-e820:` line, and it heads the `BIOS-e801:`/`BIOS-88:`
 * fallback dumps (which are edits in this sense), so `biosE820 ∪ e820Edits` is all the E820
 * output and nothing else; the model predicts it unconditionally (printed once per boot).
 */
export const E820_EDIT_PATTERNS: readonly KernelLinePattern[] = [
  // — Table dumps and their headers (e820.c e820__print_table(who); no `e820: ` prefix) —
  { id: 'header-bios', re: /^BIOS-provided physical RAM map:$/, printedBy: 'e820.c e820__memory_setup() [all]', example: 'BIOS-provided physical RAM map:' },
  { id: 'dump-fallback', re: dump('BIOS-(?:e801|88)'), printedBy: 'e820.c e820__memory_setup_default(): who = "BIOS-e801"/"BIOS-88" when the E820 result is unusable [all]', example: 'BIOS-e801: [mem 0x0000000000000000-0x000000000009efff] usable' },
  { id: 'header-extended', re: /^extended physical RAM map:$/, printedBy: 'e820.c e820__memory_setup_extended() [all]; e820__reserve_setup_data() [5.10–6.12]', example: 'extended physical RAM map:' },
  { id: 'dump-extended', re: dump('extended'), printedBy: 'e820.c e820__memory_setup_extended() (SETUP_E820_EXT from a boot loader) [all]', example: 'extended: [mem 0x0000000000000000-0x000000000009fbff] usable' },
  { id: 'dump-setup-data', re: dump('reserve setup_data'), printedBy: 'e820.c e820__reserve_setup_data() [5.10–6.12]', example: 'reserve setup_data: [mem 0x00000000008d27c0-0x00000000008d280f] usable' },
  { id: 'header-user', re: /^user-defined physical RAM map:$/, printedBy: 'e820.c e820__finish_early_params() when mem=/memmap= was given [all]', example: 'user-defined physical RAM map:' },
  { id: 'dump-user', re: dump('user'), printedBy: 'e820.c e820__finish_early_params() [all]', example: 'user: [mem 0x0000000000000000-0x000000000009fbff] usable' },
  { id: 'header-modified', re: /^modified physical RAM map:$/, printedBy: 'e820.c e820__update_table_print() (GART, MTRR trim, ACPI table upgrade) [all]', example: 'modified physical RAM map:' },
  { id: 'dump-modified', re: dump('modified'), printedBy: 'e820.c e820__update_table_print() [all]', example: 'modified: [mem 0x0000000000000000-0x000000000009fbff] usable' },
  { id: 'out-of-order', re: /^\[Firmware Bug\]: out of order E820 entry!$/, printedBy: 'e820.c e820__print_table() on an unsanitised table [7.2]', example: '[Firmware Bug]: out of order E820 entry!' },
  { id: 'ppro', re: /^(?:fixed physical RAM map:$|bad_ppro: \[mem |Applying PPro RAM bug workaround)/, printedBy: 'arch/x86/kernel/setup.c PPro erratum [32-bit only]', example: 'fixed physical RAM map:' },
  // — Range edits (e820.c) —
  { id: 'update', re: new RegExp(`^e820: update ${MEM} `), printedBy: 'e820.c __e820__range_update() via e820__range_update() / the kexec-table variant [all]', example: 'e820: update [mem 0x00000000-0x00000fff] usable ==> reserved' },
  // 5.10–6.12 any-type removal ends in a space after `]`, 7.2 ends at `]`: both kept verbatim.
  { id: 'remove', re: new RegExp(`^e820: remove ${MEM}`), printedBy: 'e820.c e820__range_remove() [all]', example: 'e820: remove [mem 0x000a0000-0x000fffff] usable' },
  { id: 'table-full', re: new RegExp(`^(?:too many entries|E820 table full); ignoring ${MEM}$`), printedBy: 'e820.c __e820__range_add() on a full table [5.10–6.12 / 7.2 wording]', example: 'too many entries; ignoring [mem 0x40000000-0x400fffff]' },
  { id: 'kexec-update', re: /^update e820_table_kexec for /, printedBy: 'e820.c e820__memblock_alloc_reserved() (alloc_mptable) [all]', example: 'update e820_table_kexec for e820__memblock_alloc_reserved()' },
  { id: 'kernel-range', re: /^\.text \.data \.bss are not marked as E820_TYPE_RAM!$/, printedBy: 'e820.c e820_add_kernel_range() [all]', example: '.text .data .bss are not marked as E820_TYPE_RAM!' },
  // — Command line (parse_memopt / parse_memmap_opt, e820.c; init/main.c) —
  { id: 'nopentium', re: /^mem=nopentium ignored!/, printedBy: 'e820.c parse_memopt() [x86-64, all]', example: 'mem=nopentium ignored! (only supported on x86_32)' },
  { id: 'malformed-mem', re: /^Malformed early option 'mem(?:map)?'$/, printedBy: "init/main.c do_early_param() when parse_memopt() fails (memmap= never fails) [all]", example: "Malformed early option 'mem'" },
  { id: 'invalid-user-map', re: /^(?:Kernel panic - not syncing: )?Invalid user supplied memory map$/, printedBy: 'e820.c e820__finish_early_params() (early_panic 5.10–6.12 / panic 7.2) [all]', example: 'Kernel panic - not syncing: Invalid user supplied memory map' },
  // — Consumers of the final table during setup_arch() —
  { id: 'gart', re: new RegExp(`^(?:AGP: )?e820: reserve ${MEM} for GART$`), printedBy: 'arch/x86/kernel/aperture_64.c early_gart_iommu_check() [AMD K8 GART only]', example: 'e820: reserve [mem 0x20000000-0x23ffffff] for GART' },
  { id: 'mtrr', re: /^(?:mtrr: )?(?:update e820 for mtrr$|WARNING: BIOS bug: CPU MTRRs don't cover all of memory)/, printedBy: 'arch/x86/kernel/cpu/mtrr/cleanup.c mtrr_trim_uncached_memory() [Intel, UC default type only]', example: 'update e820 for mtrr' },
  { id: 'last-pfn', re: /^last_pfn = 0x[0-9a-f]+ max_arch_pfn = 0x[0-9a-f]+$/, printedBy: 'e820.c e820__end_pfn() via e820__end_of_ram_pfn() / e820__end_of_low_ram_pfn() [all]', example: 'last_pfn = 0x3ffe0 max_arch_pfn = 0x400000000' },
  { id: 'nosave', re: new RegExp(`^PM: (?:hibernation: )?Registered nosave memory: ${MEM}$`), printedBy: 'kernel/power/snapshot.c register_nosave_region() called by e820.c e820__register_nosave_regions() [all]', example: 'PM: hibernation: Registered nosave memory: [mem 0x00000000-0x00000fff]' },
  { id: 'pci-gap', re: /^\[(?:mem|gap) 0x[0-9a-f]+-0x[0-9a-f]+\] available for PCI devices$/, printedBy: 'e820.c e820__setup_pci_gap() [mem: 5.10–6.12, gap: 7.2]', example: '[mem 0x40000000-0xfffbffff] available for PCI devices' },
  { id: 'pci-gap-none', re: /^(?:Cannot find an available gap in the 32-bit address range|PCI devices with unassigned 32-bit BARs may not work!)$/, printedBy: 'e820.c e820__setup_pci_gap() when no 4 MiB gap below 4 GiB [all]', example: 'Cannot find an available gap in the 32-bit address range' },
  { id: 'mmconfig', re: new RegExp(`^PCI: (?:MMCONFIG at|ECAM) ${MEM} reserved (?:in E820|as E820 entry)$`), printedBy: 'arch/x86/pci/mmconfig-shared.c is_mmconf_reserved() [q35; "MMCONFIG at … in E820" 5.10/6.1, "ECAM … as E820 entry" 6.12/7.2]', example: 'PCI: MMCONFIG at [mem 0xb0000000-0xbfffffff] reserved in E820' },
  // — Late resources at PCI init (e820__reserve_resources_late) —
  { id: 'expanded', re: /^(?:resource: )?Expanded resource .+ due to conflict with .+$/, printedBy: 'kernel/resource.c __insert_resource_expand_to_fit() called by e820.c e820__reserve_resources_late() [<4> no prefix 5.10; <6> "resource: " 6.1+]', example: 'resource: Expanded resource Reserved due to conflict with PCI Bus 0000:00' },
  { id: 'ram-buffer', re: new RegExp(`^e820: (?:reserve RAM buffer|register RAM buffer resource) ${MEM}$`), printedBy: 'e820.c e820__reserve_resources_late() [reserve: 5.10–6.12 <7>; register … resource: 7.2 <6>]', example: 'e820: reserve RAM buffer [mem 0x0009fc00-0x0009ffff]' },
  // Anything else the e820 code prefixes with `e820: ` is still E820 output: compare it rather
  // than let a new kernel's line slip past unpredicted.
  { id: 'e820-other', re: /^e820: /, printedBy: 'e820.c (any other `e820: ` line)', example: 'e820: …' },
];

/**
 * Lines that mention E820 but are deliberately not part of the view: they depend on a DMI date
 * or on PCI BAR assignment, not on the map, like the PCI lines of /proc/iomem.
 */
export const E820_MENTION_EXCLUDED: readonly KernelLinePattern[] = [
  { id: 'host-bridge-policy', re: /^PCI: (?:Using|Ignoring) E820 reservations for host bridge windows$/, printedBy: 'arch/x86/pci/acpi.c pci_acpi_crs_quirks() from the DMI BIOS date [6.1+]', example: 'PCI: Using E820 reservations for host bridge windows' },
  { id: 'bar-clipped', re: /clipped \[mem .* for e820 entry \[mem /, printedBy: 'arch/x86/kernel/resource.c remove_e820_regions() when a BAR is assigned [6.1]', example: 'pci 0000:00:02.0: clipped [mem …] to [mem …] for e820 entry [mem …]' },
  { id: 'bar-avoiding', re: /avoiding allocation from e820 entry \[mem /, printedBy: 'arch/x86/kernel/resource.c remove_e820_regions() [6.12/7.2]', example: 'resource: avoiding allocation from e820 entry [mem …]' },
];

/** The e820Edits predicate: one of E820_EDIT_PATTERNS, and not a `BIOS-e820:` line. */
export function e820EditPattern(text: string): KernelLinePattern | null {
  if (isBiosE820Line(text)) return null;
  return E820_EDIT_PATTERNS.find((p) => p.re.test(text)) ?? null;
}

export function isE820EditLine(text: string): boolean {
  return e820EditPattern(text) !== null;
}

/**
 * A line that names E820 yet is neither `BIOS-e820:`, an edit, nor deliberately excluded: the
 * parser reports these so the pattern list can be reviewed against new kernels.
 */
export function isUnclassifiedE820Mention(text: string): boolean {
  if (!/e820/i.test(text)) return false;
  if (isBiosE820Line(text) || isE820EditLine(text)) return false;
  return !E820_MENTION_EXCLUDED.some((p) => p.re.test(text));
}

// ---------------------------------------------------------------------------------------------
// /proc/iomem (e820__reserve_resources(); docs/model/linux.md#which-lines-come-from-e820)

/**
 * Resource names e820 code gives its resources (e820.c e820_type_to_string(), plus the
 * `RAM buffer` pieces of e820__reserve_resources_late()). Every other name — PCI windows and
 * BARs, ROMs, `Kernel code`/…, APIC/IOAPIC/HPET, PNP, `hmem.N` — is not E820-derived.
 */
export const IOMEM_E820_NAMES: ReadonlySet<string> = new Set([
  'System RAM',
  'Reserved',
  'ACPI Tables',
  'ACPI Non-volatile Storage',
  'Unusable memory',
  'Persistent Memory',
  'Persistent Memory (legacy)',
  'Soft Reserved',
  'Unknown E820 type',
  'RAM buffer',
]);

/** Is a /proc/iomem resource with this name E820-derived (compared exactly, indentation kept)? */
export function isE820IomemName(name: string): boolean {
  return IOMEM_E820_NAMES.has(name);
}

/** Splits /proc/iomem lines into the E820-derived ones (compared) and the count of the rest. */
export function selectE820Iomem(lines: readonly string[]): { compared: string[]; excluded: number } {
  const compared: string[] = [];
  let excluded = 0;
  for (const line of lines) {
    const sep = line.indexOf(' : ');
    if (sep >= 0 && isE820IomemName(line.slice(sep + 3))) compared.push(line);
    else excluded++;
  }
  return { compared, excluded };
}
