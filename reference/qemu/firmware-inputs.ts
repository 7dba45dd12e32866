// What SeaBIOS will be handed to place and drive (FirmwareInputs): the ACPI blob through the
// table-loader and the vmgenid buffer, the SMBIOS tables (or the legacy type 0/1 fields), the
// devices its drivers run on, and the BIOS image.

import { alignUp } from '../address.ts';
import type { MachineConfig } from '../config.ts';
import type { BiosVariant } from '../profiles/seabios.ts';
import { ISAPC_CLASS, MACHINE_COMPAT, MACHINE_DESC, machineVersionAtMost, QEMU_LAYOUT as L, type QemuProfile } from '../profiles/qemu.ts';
import { QemuRefusal, UnsupportedOptionError, type FirmwareInputs, type ResolvedTopology } from '../stages.ts';
import { firmwareDevices, isapcDevices, optText } from './devices.ts';
import type { Board } from './layout.ts';
import { prop } from './options.ts';
import { legacyAcpiNonAmlBytes, smbiosTablesBytes } from './tables.ts';
import { apicIdLimit } from './topology.ts';

export function firmwareInputsOf(
  config: MachineConfig,
  profile: QemuProfile,
  board: Board,
  topology: ResolvedTopology,
  ram: { size: bigint; above: bigint },
  acpi: boolean,
  hasTableLoader: boolean,
  biosVariant: BiosVariant | undefined,
): FirmwareInputs {
  const { family, version: mv, machineName } = board;
  const isapc = family === 'isapc';
  const i440fx = family === 'pc';
  // hw/acpi/vmgenid.c vmgenid_realize(), when the -device options are created (after board init):
  // bios_linker_loader_can_write_pointer() needs fw_cfg DMA. Located at the option.
  const vmgenid = config.devices.find((d) => d.driver === 'vmgenid');
  if (!isapc) deviceRealizeRefusals(config, machineVersionAtMost(mv, MACHINE_COMPAT.noFwCfgDmaUpTo), i440fx ? profile.messages : null, profile.virtioIommuPciRefused ? machineName : null);
  // hw/i386/pc.c pc_basic_device_init: the HPET unless the machine's hpet property is off (TCG).
  const hpet = prop(config.machineProps, 'hpet') !== 'off'; // cmdline keeps only hpet=off
  // apic_id_limit (hw/i386/x86.c): the last possible CPU's APIC ID + 1; the CPU count where APIC
  // IDs are contiguous (docs/model/explore-findings.md#m30).
  const apicLimit = i440fx && machineVersionAtMost(mv, MACHINE_COMPAT.contiguousApicIdsUpTo) ? topology.maxcpus : apicIdLimit(topology);
  const highAllocations: Array<{ file: string; size: bigint; align: bigint }> = [];
  let loaderWritePointers = 0;
  if (hasTableLoader) {
    const legacy = i440fx && profile.legacyAcpiSizing ? MACHINE_COMPAT.legacyAcpi.find((l) => machineVersionAtMost(mv, l.upTo)) : undefined;
    const acpiSize =
      legacy !== undefined
        ? alignUp(BigInt(legacy.size + L.ACPI_LEGACY_CPU_AML_SIZE * apicLimit + legacyAcpiNonAmlBytes(topology, config.numa.length, hpet)), L.ACPI_BUILD_ALIGN_SIZE)
        : L.ACPI_BUILD_TABLE_SIZE; // assumes the unpadded blob stays ≤ 128 KiB
    highAllocations.push({ file: 'etc/acpi/tables', size: acpiSize, align: 64n });
    if (vmgenid !== undefined) {
      highAllocations.push({ file: 'etc/vmgenid_guid', size: 4096n, align: 4096n });
      loaderWritePointers += 1;
    }
  }
  const smbiosLegacy = isapc ? ISAPC_CLASS.smbiosLegacy : i440fx && machineVersionAtMost(mv, MACHINE_COMPAT.smbiosLegacyUpTo);
  const epProp = prop(config.machineProps, 'smbios-entry-point-type');
  const smbiosEntryPoint: '2.1' | '3.0' | null = smbiosLegacy
    ? null
    : epProp === '64'
      ? '3.0'
      : epProp === '32'
        ? '2.1'
        : (MACHINE_COMPAT.smbiosEntryPoint.find((d) => machineVersionAtMost(mv, d.upTo))?.ep ?? MACHINE_COMPAT.smbiosEntryPointNewer);
  return {
    highAllocations,
    loaderWritePointers,
    smbiosTablesBytes: smbiosLegacy
      ? null
      : smbiosTablesBytes({
          machineName,
          desc: i440fx ? MACHINE_DESC.i440fx : MACHINE_DESC.q35,
          sockets:
            profile.smbiosType4Sockets === 'present'
              ? Math.ceil(topology.cpus / (topology.cores * topology.threads))
              : topology.sockets,
          ramSize: ram.size,
          ramEntries: ram.above > 0n ? 2 : 1,
          dimmChunk: profile.smbiosDimmChunk(mv),
          type4Length: smbiosEntryPoint === '3.0' ? profile.smbiosType4Length.ep30 : profile.smbiosType4Length.ep21,
        }),
    // hw/i386/pc.c pc_machine_done → smbios_set_defaults("QEMU", mc->desc, mc->name); legacy mode
    // hands over only type 0/1 fields (hw/smbios/smbios.c smbios_build_type_1_fields).
    smbiosLegacyType1: !smbiosLegacy
      ? null
      : isapc || machineVersionAtMost(mv, MACHINE_COMPAT.noSmbiosDefaultsUpTo)
        ? []
        : ['QEMU', MACHINE_DESC.i440fx, machineName],
    smbiosHasType0: false,
    smbiosEntryPoint,
    hasTableLoader,
    acpiPmDevice: isapc ? null : i440fx ? (acpi ? 'piix4-pm' : null) : 'ich9-lpc',
    numaNodes: config.numa.length,
    maxCpusKey: apicLimit,
    hpet,
    devices: isapc
      ? isapcDevices(config)
      : firmwareDevices(config, family === 'q35' ? 'q35' : 'pc', {
          legacyOnly: machineVersionAtMost(mv, MACHINE_COMPAT.virtioLegacyOnlyUpTo),
          queue128: machineVersionAtMost(mv, MACHINE_COMPAT.virtioQueue128UpTo),
          reportsMaxQueue: profile.legacyVirtioReportsMaxQueue,
        }),
    // pc/q35: the `firmware=bios-256k.bin` default machine option; isapc and pc-i440fx-1.7 and
    // older have none (hw/i386/pc_piix.c pc_i440fx_1_7_machine_options: default_machine_opts =
    // NULL), so QEMU's 128 KiB bios.bin (observed: no Xen/ACPI-parse lines, no NVMe driver).
    biosImage: config.bios ?? (isapc || (i440fx && machineVersionAtMost(mv, MACHINE_COMPAT.bios128kUpTo)) ? ISAPC_CLASS.defaultBios : 'bios-256k.bin'),
    ...(biosVariant !== undefined ? { biosVariant } : {}),
  };
}

/** The CAN bus adapters (hw/net/can/can_kvaser_pci.c, can_pcm3680_pci.c, can_mioe3680_pci.c). */
const CAN_SJA1000_DEVICES = new Set(['kvaser_pci', 'pcm3680_pci', 'mioe3680_pci']);

/**
 * Refusals of -device options' realize functions, in -device order (after board init), located at
 * the option. Checked on 5.2, 7.2, 10.0 and 11.1:
 * - vmgenid (hw/acpi/vmgenid.c vmgenid_realize) and vmcoreinfo (hw/misc/vmcoreinfo.c
 *   vmcoreinfo_realize) need fw_cfg DMA (none on machine types ≤ 2.4, PC_COMPAT_2_4); a second
 *   vmcoreinfo or vmgenid is refused, and a second pvpanic (its fw_cfg file exists already).
 * - intel-iommu / amd-iommu on pc (not an allowed dynamic sysbus device there; QemuProfile messages).
 * - isa-parallel without chardev= (every release alike).
 * - A CAN adapter without canbus0= (…_realize → can_sja_connect_to_bus() with no bus) is refused.
 * - virtio-iommu-pci where the release has no x86 hotplug handler for it (QemuProfile
 *   virtioIommuPciRefused; `iommuRefusedOn` is then the machine type's name, which QEMU words).
 */
function deviceRealizeRefusals(config: MachineConfig, noFwCfgDma: boolean, pcMessages: QemuProfile['messages'] | null, iommuRefusedOn: string | null): void {
  let vmcoreinfos = 0;
  let vmgenids = 0;
  let pvpanics = 0;
  for (const d of config.devices) {
    const at = `-device ${optText(d.driver, d.props)}`;
    // pc allows no IOMMU as a dynamic sysbus device (q35 does: hw/i386/pc_q35.c machine_class_allow_dynamic_sysbus_dev).
    if (pcMessages !== null && (d.driver === 'intel-iommu' || d.driver === 'amd-iommu')) throw new QemuRefusal(pcMessages.sysbusDeviceNotAllowed(at, d.driver));
    if (d.driver === 'vmgenid' && ++vmgenids > 1) throw new QemuRefusal(`${at}: at most one vmgenid device is permitted`);
    if (d.driver === 'vmgenid' && noFwCfgDma) throw new QemuRefusal(`${at}: vmgenid requires DMA write support in fw_cfg, which this machine type does not provide`);
    // hw/misc/pvpanic-isa.c pvpanic_isa_realizefn adds etc/pvpanic-port; a second one, whatever its ioport=, is a duplicate file name.
    if (d.driver === 'pvpanic' && ++pvpanics > 1) throw new QemuRefusal(`${at}: duplicate fw_cfg file name: etc/pvpanic-port`);
    if (d.driver === 'vmcoreinfo') {
      if (++vmcoreinfos > 1) throw new QemuRefusal(`${at}: at most one vmcoreinfo device is permitted`);
      if (noFwCfgDma) throw new QemuRefusal(`${at}: vmcoreinfo device requires fw_cfg with DMA`);
    }
    if (d.driver === 'virtio-iommu-pci' && iommuRefusedOn !== null) {
      throw new QemuRefusal(
        `${at}: ${iommuRefusedOn} machine fails to create iommu-map device tree bindings\n` +
          'Check your machine implements a hotplug handler for the virtio-iommu-pci device\n' +
          'Check the guest is booted without FW or with -no-acpi',
      );
    }
    // hw/char/parallel.c parallel_isa_realizefn: a parallel port needs its chardev= (explore seed 141501 cell 073).
    if (d.driver === 'isa-parallel' && prop(d.props, 'chardev') === undefined) throw new QemuRefusal(`${at}: Can't create parallel device, empty char device`);
    if (CAN_SJA1000_DEVICES.has(d.driver)) {
      if (d.props.some(([k]) => k.startsWith('canbus'))) throw new UnsupportedOptionError('-device', `${d.driver} on a CAN bus: not modelled`);
      throw new QemuRefusal(`${at}: can_sja_connect_to_bus failed`);
    }
  }
}
