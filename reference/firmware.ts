// Which firmware builds the map the kernel is handed, and why: SeaBIOS (the pc/q35/isapc default,
// or a -bios image), or qboot (`-bios qboot.rom`, and microvm's default). The choice follows the
// image QEMU loads (Handoff.firmwareInputs.biosImage) and what that name finds in the release's
// firmware search path (reference/profiles/firmware-files.ts). Pure.

import type { DeclaredIntent } from './intent.ts';
import { QEMU_FIRMWARE_FILES } from './profiles/firmware-files.ts';
import { seabiosProfile, type SeabiosProfile } from './profiles/seabios.ts';
import { qbootInt15Answers, qbootStage } from './qboot-stage.ts';
import { int15Answers, seabiosStage } from './seabios/index.ts';
import { UnsupportedOptionError, type FirmwareMap, type Handoff, type Int15Answers } from './stages.ts';
import type { QemuVersion, SeabiosVersion } from './toolchain.ts';

export type FirmwareKind = 'seabios' | 'qboot';

/** The firmware road a prediction takes, for `predict --explain` and the reports. */
export interface FirmwareRoad {
  kind: FirmwareKind;
  /** The image QEMU loads (`bios-256k.bin`, `qboot.rom`, `bios-microvm.bin`, a user path). */
  image: string;
  /** One sentence: why this firmware, and how it builds the map. */
  why: string;
  /** The SeaBIOS release of an image that is not the toolchain's (microvm's bios-microvm.bin): its profile is used. */
  seabiosVersion?: SeabiosVersion;
}

/** qboot has no debug console: nothing on port 0x402 (observed on 5.2, 7.2, 10.0 and 11.1: an empty log). */
export const QBOOT_SILENT =
  'qboot prints nothing on port 0x402 (it has no debug console), so the map its INT 15h returns cannot be observed; the kernel layer shows it';

const baseName = (p: string): string => p.replace(/^.*\//, '');

/** `givenBios`: the configuration's -bios (null: the machine's default image). */
export function firmwareRoad(handoff: Handoff, qemu: QemuVersion, givenBios: string | null): FirmwareRoad {
  const image = handoff.firmwareInputs.biosImage;
  const name = baseName(image);
  const files = QEMU_FIRMWARE_FILES[qemu];
  const microvm = handoff.platform.chipset === 'microvm';
  const qbootWhy =
    'qboot builds its table itself (main.c extract_e820): four fixed entries below 1 MiB, the MMCONFIG window on q35, then fw_cfg etc/e820 as is with its RAM at 0 moved to 1 MiB; it reads no CMOS and its INT 15h answers only E820';
  if (name === 'qboot.rom') {
    const how = givenBios === null ? 'microvm without ACPI loads qboot.rom (hw/i386/microvm.c microvm_devices_init)' : '-bios qboot.rom';
    return { kind: 'qboot', image, why: `${how}: ${qbootWhy}` };
  }
  if (name === 'bios-microvm.bin') {
    if (files.biosMicrovm === 'qboot') {
      const how = givenBios === null ? 'microvm with ACPI loads bios-microvm.bin (hw/i386/microvm.c microvm_devices_init), which' : 'bios-microvm.bin';
      return { kind: 'qboot', image, why: `${how} is qboot.rom in QEMU ${qemu}'s packages (${files.source}): ${qbootWhy}` };
    }
    if (!microvm || files.microvmSeabios === undefined) {
      throw new UnsupportedOptionError('-bios', `bios-microvm.bin on QEMU ${qemu} is SeaBIOS's microvm build (${files.source}); on ${handoff.machine.name} it is not modelled`);
    }
    return {
      kind: 'seabios',
      image,
      seabiosVersion: files.microvmSeabios,
      why: `bios-microvm.bin on QEMU ${qemu} is SeaBIOS ${files.microvmSeabios}'s microvm build (${files.source}); it builds the map as on a machine without PCI (etc/e820, its BIOS reservation at 0xfffc0000, nothing kept in ZoneHigh), predicted with that release's profile whatever the toolchain's SeaBIOS`,
    };
  }
  if (microvm) {
    // Its 256 KiB image does not finish POST there (as on isapc); the SeaBIOS stage refuses it by name.
    return { kind: 'seabios', image, why: `SeaBIOS (${image}) on microvm builds the map as on a machine without PCI (etc/e820, its BIOS reservation at 0xfffc0000, nothing kept in ZoneHigh)` };
  }
  return { kind: 'seabios', image, why: `SeaBIOS (${image}) builds the map from etc/e820 (or CMOS) and its own reservations (src/fw/paravirt.c, src/e820map.c)` };
}

/** The firmware stage of the road: its map, and what its INT 15h answers the kernel's setup code. */
export function firmwareStage(handoff: Handoff, road: FirmwareRoad, seabios: SeabiosProfile, intent: DeclaredIntent): { firmware: FirmwareMap; bios: Int15Answers } {
  if (road.kind === 'qboot' && handoff.platform.accel === 'kvm') {
    // KVM cells are checked in firmware scope here (nested KVM does not boot Linux on this
    // machine), which needs SeaBIOS's debug log: qboot prints nothing, so nothing could be compared.
    throw new UnsupportedOptionError('-accel kvm', 'qboot under KVM is not modelled (only checked under TCG: its table is seen only through the kernel, and KVM cells stop at the firmware)');
  }
  if (road.kind === 'qboot') {
    if (intent.firmware.length > 0 || (intent.int15Fails ?? []).length > 0) {
      throw new UnsupportedOptionError('--expect', 'declared firmware changes are SeaBIOS changes (e820_add/e820_remove, INT 15h services); the configuration boots qboot');
    }
    const firmware = qbootStage(handoff);
    return { firmware, bios: qbootInt15Answers(firmware) };
  }
  const profile = road.seabiosVersion !== undefined ? seabiosProfile(road.seabiosVersion) : seabios;
  const firmware = seabiosStage(handoff, profile, intent.firmware);
  return { firmware, bios: int15Answers(firmware, intent.int15Fails) };
}
