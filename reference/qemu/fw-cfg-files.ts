// The fw_cfg file directory against its slots. Machine types ≤ 2.8 have 16 file slots
// (MACHINE_COMPAT.fwCfgFileSlots16UpTo), newer ones 32. QEMU adds its files while it builds the
// machine (fw_cfg_add_file_callback asserts `count < fw_cfg_file_slots(s)`), and at the first
// system reset fw_cfg_machine_reset adds `bootorder` and, unless the machine type keeps the
// legacy file order (≤ 2.5), `bios-geometry` through fw_cfg_modify_file, which asserts
// `index < fw_cfg_file_slots(s)` before it adds a file (hw/nvram/fw_cfg.c @ v5.2.0, v7.2.0,
// v10.0.0). A full directory therefore aborts QEMU (SIGABRT) before the firmware runs; with -S
// too, since the reset precedes the wait (explore seed 141503 cell 013 on 10.0:
// pc-i440fx-2.6, hotplug memory and vmgenid, 15 files before the reset).
//
// The files, as `-trace fw_cfg_add_file` lists them on the Debian builds of 5.2, 7.2 and 10.0 with
// the harness's direct kernel boot (pc-i440fx-2.1 … 2.8, pc-q35-2.4 … 2.8):
// - always: etc/boot-fail-wait, etc/e820, genroms/kvmvapic.bin, genroms/linuxboot(_dma).bin;
// - etc/boot/kernel from 10.0 (QemuProfile.bootKernelFwCfgFile);
// - etc/system-states with an ACPI PM device (PIIX4 PM unless acpi=off; q35's ICH9 LPC always);
// - etc/acpi/tables, etc/table-loader, etc/tpm/log, etc/acpi/rsdp with etc/table-loader;
// - etc/smbios/smbios-tables and smbios-anchor unless SMBIOS is in legacy mode (≤ 2.0);
// - etc/reserved-memory-end with a device-memory region (slots/maxmem);
// - per device (FILES_PER_DEVICE).
// No other device of reference/profiles/qemu-devices.ts adds a file (each booted alone with -S on
// pc-i440fx-2.8, 5.2 and 10.0), nor -nodefaults, -vga, -usb, -smp, -numa, -smbios, -nic, the
// machine options hpet/smm/vmport/graphics/max-ram-below-4g, nvme, virtio-blk/-scsi disks, AHCI
// or IDE drives, pci-bridge, qemu-xhci with usb-tablet, pc-dimm (measured on pc-i440fx-2.8 and
// pc-q35-2.8, 10.0). pc-1.0 on 5.2 lists no etc/system-states (4 files in all): counted here as
// one more, which cannot reach the edge (at most 13 files on types ≤ 2.0).

import type { MachineConfig } from '../config.ts';
import { MACHINE_COMPAT, machineVersionAtMost, type MachineVersion, type QemuProfile } from '../profiles/qemu.ts';
import { QemuRefusal, UnsupportedOptionError } from '../stages.ts';

/** Files a -device adds to the fw_cfg directory (measured as above; ramfb's two are declined elsewhere). */
const FILES_PER_DEVICE: Readonly<Record<string, number>> = {
  vmgenid: 2, // etc/vmgenid_guid, etc/vmgenid_addr (with the ACPI tables; hw/acpi/vmgenid.c vmgenid_add_fw_cfg)
  vmcoreinfo: 1, // etc/vmcoreinfo (hw/misc/vmcoreinfo.c)
  pvpanic: 1, // etc/pvpanic-port (hw/misc/pvpanic-isa.c)
  ramfb: 2, // etc/ramfb, vgaroms/vgabios-ramfb.bin
};

/** QEMU aborted on a failed assertion: the configuration is accepted but the machine never runs. */
export class QemuAbort extends QemuRefusal {
  constructor(qemuMessage: string) {
    super(qemuMessage);
    this.name = 'QemuAbort';
  }
}

export interface FwCfgFileCount {
  /** Files in the directory when the machine is built (before the first reset). */
  beforeReset: number;
  /** Files fw_cfg_machine_reset adds: bootorder, and bios-geometry unless the legacy order. */
  atReset: number;
  slots: number;
}

export interface FwCfgCountInputs {
  version: MachineVersion;
  acpiPmDevice: boolean;
  hasTableLoader: boolean;
  smbiosLegacy: boolean;
  deviceMemory: boolean;
}

export function fwCfgFileCount(config: Pick<MachineConfig, 'devices'>, profile: Pick<QemuProfile, 'bootKernelFwCfgFile'>, m: FwCfgCountInputs): FwCfgFileCount {
  let n = 4; // boot-fail-wait, e820, kvmvapic.bin, linuxboot(_dma).bin
  if (profile.bootKernelFwCfgFile) n += 1;
  if (m.acpiPmDevice) n += 1;
  if (m.hasTableLoader) n += 4;
  if (!m.smbiosLegacy) n += 2;
  if (m.deviceMemory) n += 1;
  for (const d of config.devices) n += FILES_PER_DEVICE[d.driver] ?? 0;
  return {
    beforeReset: n,
    atReset: machineVersionAtMost(m.version, MACHINE_COMPAT.legacyFwCfgOrderUpTo) ? 1 : 2,
    slots: machineVersionAtMost(m.version, MACHINE_COMPAT.fwCfgFileSlots16UpTo) ? 16 : 32,
  };
}

/** Throws QemuAbort where the files outgrow the slots, in the assertion QEMU prints. */
export function checkFwCfgFileSlots(count: FwCfgFileCount, profile: Pick<QemuProfile, 'fwCfgSlotAsserts'>): void {
  const { beforeReset, atReset, slots } = count;
  if (beforeReset + atReset <= slots) return;
  const a = profile.fwCfgSlotAsserts;
  const [where, fn, cond] = beforeReset > slots ? [a.add, 'fw_cfg_add_file_callback', 'count'] : [a.modify, 'fw_cfg_modify_file', 'index'];
  if (where === null) {
    throw new UnsupportedOptionError('-device', `${beforeReset} fw_cfg files for ${slots} slots: QEMU aborts in ${fn}, at a source line not measured for this release; not modelled`);
  }
  throw new QemuAbort(`${where}: ${fn}: Assertion \`${cond} < fw_cfg_file_slots(s)' failed.`);
}
