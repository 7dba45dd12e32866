// QEMU's own firmware names pass to QEMU as they are (found in the QEMU suite's data files), while a
// path names a user's SeaBIOS image (harness/user-toolchain-flags.ts QEMU_BIOS_NAMES).

import { describe, expect, it } from 'vitest';
import { biosOfArgs } from '../../harness/user-toolchain-flags.ts';

describe('-bios: QEMU names and user images', () => {
  it('qboot.rom and bios-microvm.bin are QEMU\'s own names, not user images', () => {
    expect(biosOfArgs(['-M', 'pc', '-bios', 'qboot.rom'])).toBeNull();
    expect(biosOfArgs(['-M', 'microvm,acpi=off', '-bios', 'bios-microvm.bin'])).toBeNull();
  });
  it('a path to a file of that name is still a user image', () => {
    expect(biosOfArgs(['-bios', '/usr/share/qemu/qboot.rom'])).toBe('/usr/share/qemu/qboot.rom');
    expect(biosOfArgs(['-bios', 'qboot.rom', '-bios', './bios-microvm.bin'])).toBe('./bios-microvm.bin');
  });
});
