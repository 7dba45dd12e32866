// The SeaBIOS stage as one composition, in POST order: the map QEMU hands over (qemu_preinit),
// declared changes, malloc_preinit and ZoneHigh, the legacy fw_cfg path, bda_init, pci_setup's
// q35 reservations, what POST allocates in ZoneHigh, then malloc_prepboot.

import { alignDown, FOUR_GIB, MiB } from '../address.ts';
import { E820 } from '../e820.ts';
import type { FirmwareChange } from '../intent.ts';
import { SEABIOS_LAYOUT as L, type SeabiosProfile } from '../profiles/seabios.ts';
import { UnsupportedOptionError, type FirmwareMap, type Handoff } from '../stages.ts';
import { calcRamSize, E820ListBuilder, toRanges } from './e820-list.ts';
import { hex16, hex8 } from './log.ts';
import { selfBuiltPciWindows } from './pci.ts';
import { chooseZoneHigh, zoneHighUse } from './zonehigh.ts';

/**
 * `intent`: declared changes to the map (reference/intent.ts), applied in order with e820_add /
 * e820_remove at the end of qemu_preinit (src/fw/paravirt.c), where a patch there takes effect:
 * after the etc/e820 (or CMOS) RAM and the BIOS reserve at 0xfffc0000, before malloc_preinit,
 * qemu_cfg_e820's legacy path, bda_init, pci_setup and malloc_prepboot add theirs.
 */
export function seabiosStage(handoff: Handoff, profile: SeabiosProfile, intent: readonly FirmwareChange[] = []): FirmwareMap {
  checkImageFinishesPost(handoff);
  const log: string[] = [];
  const list = new E820ListBuilder(profile.maxE820, log);

  const fromFile = qemuEarlyE820(list, handoff, profile, log);
  // 1e. The top 256 KiB below 4 GiB, whatever the ROM size.
  list.add(L.BIOS_RESERVE_START, L.BIOS_RESERVE_SIZE, E820.RESERVED, 'SeaBIOS BIOS reserve 0xfffc0000 (qemu_preinit)');
  // 1f. Declared changes (a patched qemu_preinit): what POST adds later still lands on top of them.
  const declared: string[] = [];
  for (const c of intent) {
    const before = log.length;
    if (c.op === 'add') list.add(c.start, c.size, c.type, 'declared firmware add (expect)');
    else list.remove(c.start, c.size, 'declared firmware remove (expect)');
    declared.push(
      log.length > before
        ? `e820_${c.op} at the end of qemu_preinit: the list was full (BUILD_MAX_E820 ${profile.maxE820}), an insertion was dropped`
        : `e820_${c.op} at the end of qemu_preinit, before malloc_preinit`,
    );
  }
  // 3a/3b. malloc_preinit: the VGA/option-ROM hole and the BIOS segment.
  list.remove(L.LOWRAM_END, L.BIOS_ADDR - L.LOWRAM_END, 'malloc_preinit hole');
  list.add(L.BIOS_ADDR, L.BIOS_SIZE, E820.RESERVED, 'SeaBIOS BIOS segment 0xf0000 (malloc_preinit)');
  // 3c. ZoneHigh.
  const zone = chooseZoneHigh(list.entries, profile);
  if (zone !== null) list.add(zone.start, zone.end - zone.start, E820.RESERVED, 'SeaBIOS ZoneHigh (malloc_preinit)');
  const earlyLegacyRamSize = calcRamSize(list.entries);

  // 5. qemu_cfg_e820 legacy path (only without etc/e820).
  if (!fromFile && handoff.hasFwCfg) {
    const legacy = handoff.legacyE820 ?? [];
    for (const r of legacy) list.add(r.start, r.length, r.type, 'fw_cfg key 0x8003');
    if (legacy.length === 0 && handoff.platform.accel === 'kvm') {
      list.add(L.KVM_LEGACY_IDENTITY_START, L.KVM_LEGACY_IDENTITY_SIZE, E820.RESERVED, 'SeaBIOS KVM identity pages (qemu_cfg_e820)');
    }
    const high = BigInt(handoff.cmos.above4GiB64K) << 16n;
    list.add(FOUR_GIB, high, E820.RAM, 'CMOS RAM above 4 GiB (qemu_cfg_e820)');
    log.push(`RamSizeOver4G: ${hex16(high)} [cmos]`);
  }

  // 6. bda_init: EBDA just below 640 KiB; BDA 0x413 = its segment / 64.
  const ebdaStart = L.LOWRAM_END - L.EBDA_SIZE;
  list.add(ebdaStart, L.EBDA_SIZE, E820.RESERVED, 'SeaBIOS EBDA (bda_init)');
  const baseMemKiB = Number(ebdaStart / 1024n);

  // 7. pci_setup on q35: MMCONFIG (mch_mem_addr_setup), then RCBA (mch_isa_bridge_setup).
  if (handoff.platform.chipset === 'q35') {
    list.add(L.Q35_MMCONFIG_START, L.Q35_MMCONFIG_SIZE, E820.RESERVED, 'SeaBIOS q35 MMCONFIG (mch_mem_addr_setup)');
    list.add(L.Q35_RCBA_START, L.Q35_RCBA_SIZE, E820.RESERVED, 'SeaBIOS q35 RCBA (mch_isa_bridge_setup)');
  }

  // What POST allocates in ZoneHigh (tables, records, drivers).
  const use = zone === null ? null : zoneHighUse(handoff, profile, zone, log);

  // 10a. malloc_prepboot: reserve [BDA 0x413 × 1 KiB, 0xa0000) (merges with the EBDA).
  list.add(BigInt(baseMemKiB) * 1024n, L.LOWRAM_END - BigInt(baseMemKiB) * 1024n, E820.RESERVED, 'SeaBIOS EBDA (bda_init)');

  let zoneReturned = 0n;
  if (zone !== null && use !== null) {
    // 10b. Give back the unused bottom of the zone.
    const base = use.blocks[use.blocks.length - 1]!;
    zoneReturned = alignDown(base.allocEnd - zone.start, L.PAGE_SIZE);
    // The reserved block that stays gets the names of what lives in it.
    list.entries = list.entries.map((e) =>
      e.type === E820.RESERVED && e.start <= zone.start && e.start + e.size >= zone.end && e.provenance.includes('SeaBIOS ZoneHigh (malloc_preinit)')
        ? { ...e, provenance: use.residents.length > 0 ? use.residents : e.provenance }
        : e,
    );
    list.add(zone.start, zoneReturned, E820.RAM, 'ZoneHigh giveback (malloc_prepboot)');
    log.push(`Returned ${zoneReturned} bytes of ZoneHigh`);
  }
  const legacyRamSize = calcRamSize(list.entries);
  // acpi_setup builds its own tables when QEMU offers no table-loader (the same test as zoneHighUse's).
  const ownDsdt = !handoff.firmwareInputs.hasTableLoader && profile.selfBuiltAcpi !== null && handoff.firmwareInputs.acpiPmDevice !== null;

  return {
    entries: toRanges(list.entries),
    zoneHighReturned: Number(zoneReturned),
    legacyRamSize,
    baseMemKiB,
    // Most entries have one rule: that string as it is (a join costs ~50 ns an entry on Node 20).
    provenance: list.entries.map((e) => (e.provenance.length === 1 ? e.provenance[0]! : e.provenance.join(' + '))),
    zoneHigh: zone,
    earlyLegacyRamSize,
    log,
    ...(intent.length > 0 ? { declared } : {}),
    ...(ownDsdt ? { pciWindows: selfBuiltPciWindows(handoff) } : {}),
    // build_mcfg_q35: Q35_HOST_BRIDGE_PCIEXBAR_ADDR, buses 0-255 — where pci_setup put MMCONFIG.
    ...(ownDsdt && handoff.firmwareInputs.acpiPmDevice === 'ich9-lpc' ? { mmconfig: { start: L.Q35_MMCONFIG_START, end: L.Q35_MMCONFIG_START + L.Q35_MMCONFIG_SIZE - 1n } } : {}),
  };
}

/** Machines and images on which SeaBIOS never finishes POST, or that the model does not cover. */
function checkImageFinishesPost(handoff: Handoff): void {
  const inputs = handoff.firmwareInputs;
  // By the image's variant when given (a project-built or user image), else by its file name.
  const is256k = inputs.biosVariant !== undefined ? inputs.biosVariant === 'bios-256k' : inputs.biosImage === 'bios-256k.bin' || inputs.biosImage.endsWith('/bios-256k.bin');
  // microvm has no PCI, like isapc: SeaBIOS's microvm build (bios-microvm.bin, reference/firmware.ts;
  // 1.16.3's and 1.17.0's on QEMU 10.0 and 11.1) and the 128 KiB bios.bin (1.16.2's on 7.2) finish
  // POST there with acpi=off; the 256 KiB image stops as on isapc (observed on 7.2 with 1.16.2).
  if (handoff.platform.chipset === 'microvm' && is256k) {
    throw new UnsupportedOptionError(
      '-bios',
      `${inputs.biosVariant !== undefined ? `a ${inputs.biosVariant} image` : inputs.biosImage} on microvm: SeaBIOS's 256 KiB image does not finish POST there (it stops after "Unable to unlock ram - bridge not found" and the machine resets); its microvm build (bios-microvm.bin) and the 128 KiB bios.bin do`,
    );
  }
  if (handoff.platform.chipset === 'isapc' && is256k) {
    // Observed (QEMU 5.2/7.2 with Debian SeaBIOS 1.14.0/1.16.2, 10.0/11.1 with 1.16.3/1.17.0): the
    // 256 KiB image logs "Unable to unlock ram - bridge not found" and then resets or hangs; no
    // map is ever dumped and nothing boots. isapc's own default is the 128 KiB bios.bin.
    throw new UnsupportedOptionError(
      '-bios',
      `${inputs.biosVariant !== undefined ? `a ${inputs.biosVariant} image` : inputs.biosImage} on isapc: SeaBIOS's 256 KiB image does not finish POST there (it stops after "Unable to unlock ram - bridge not found"); the model covers isapc with its default bios.bin`,
    );
  }
}

/**
 * qemu_early_e820 (src/fw/paravirt.c): etc/e820 records of type 1 and 2 in file order, or without
 * the file the RAM size from CMOS 0x34/0x35 (64 KiB units above 16 MiB), else 0x30/0x31 (KiB
 * above 1 MiB). Returns whether the map came from etc/e820.
 */
function qemuEarlyE820(list: E820ListBuilder, handoff: Handoff, profile: SeabiosProfile, log: string[]): boolean {
  const fromFile = handoff.hasFwCfg && handoff.e820 !== null;
  if (fromFile) {
    for (const r of handoff.e820 ?? []) {
      if (r.type === E820.RESERVED) {
        list.add(r.start, r.length, r.type, 'etc/e820 reserved');
        if (profile.reservedLineLogLevel <= 1) log.push(`qemu/e820: addr ${hex16(r.start)} len ${hex16(r.length)} [reserved]`);
      } else if (r.type === E820.RAM) {
        list.add(r.start, r.length, r.type, 'etc/e820 RAM');
        log.push(`qemu/e820: addr ${hex16(r.start)} len ${hex16(r.length)} [RAM]`);
      }
    }
  } else if (handoff.hasFwCfg) {
    log.push('qemu/e820: fw_cfg file etc/e820 not found');
    const c = handoff.cmos;
    let rs = BigInt(c.above16MiB64K) << 16n;
    rs = rs !== 0n ? rs + 16n * MiB : (BigInt(c.extendedKiB) << 10n) + MiB;
    list.add(0n, rs, E820.RAM, 'CMOS RAM size (qemu_early_e820 fallback)');
    log.push(`RamSize: ${hex8(rs)} [cmos]`);
  }
  return fromFile;
}
