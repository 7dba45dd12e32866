// Which firmware images each QEMU release's Debian packages put in QEMU's firmware search path
// (Debian's CONFIG_QEMU_FIRMWAREPATH: /usr/share/qemu, then /usr/share/seabios, then
// /usr/lib/ipxe/qemu), for the names QEMU itself asks for: qboot.rom (`-bios qboot.rom`, and
// microvm without ACPI) and bios-microvm.bin (microvm with ACPI, hw/i386/microvm.c). Upstream QEMU
// builds bios-microvm.bin from roms/qboot too; Debian does not ship that build, and what the name
// finds differs by suite. Read from the packages' file lists and checked by booting (microvm's
// SeaBIOS prints its banner on port 0x402, qboot prints nothing).

import type { QemuVersion, SeabiosVersion } from '../toolchain.ts';

export type MicrovmBiosImage = 'qboot' | 'seabios-microvm';

export interface QemuFirmwareFiles {
  /** /usr/share/qemu/qboot.rom is in the release's qemu-system-data. */
  qbootRom: boolean;
  /** What `bios-microvm.bin` resolves to in the search path. */
  biosMicrovm: MicrovmBiosImage;
  /** Where that comes from, in the packages. */
  source: string;
  /** The SeaBIOS release of that microvm build (its banner), when it is SeaBIOS: the suite's own seabios package. */
  microvmSeabios?: SeabiosVersion;
}

export const QEMU_FIRMWARE_FILES: Readonly<Record<QemuVersion, QemuFirmwareFiles>> = {
  '5.2': {
    qbootRom: true,
    biosMicrovm: 'qboot',
    source: 'bullseye qemu-system-data 1:5.2+dfsg-11: /usr/share/qemu/bios-microvm.bin is a symlink to qboot.rom (64 KiB)',
  },
  '7.2': {
    qbootRom: true,
    biosMicrovm: 'qboot',
    source: 'bookworm qemu-system-data 1:7.2+dfsg-7: /usr/share/qemu/bios-microvm.bin is a symlink to qboot.rom (64 KiB), found before seabios\'s own /usr/share/seabios/bios-microvm.bin',
  },
  '10.0': {
    qbootRom: true,
    biosMicrovm: 'seabios-microvm',
    microvmSeabios: '1.16.3',
    source: 'trixie qemu-system-data 1:10.0.13+ds-0+deb13u1 has no bios-microvm.bin; seabios 1.16.3-2 ships /usr/share/seabios/bios-microvm.bin (SeaBIOS built for microvm, 128 KiB)',
  },
  '11.1': {
    qbootRom: true,
    biosMicrovm: 'seabios-microvm',
    microvmSeabios: '1.17.0',
    source: 'sid qemu-system-data 1:11.1.3+ds-1 has no bios-microvm.bin; seabios 1.17.0 ships /usr/share/seabios/bios-microvm.bin (SeaBIOS built for microvm, 128 KiB)',
  },
};
