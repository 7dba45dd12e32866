// The minimal kernel build's pure parts: the fragment check, the cache key, the header fields.
// The build itself (minutes) runs in suites/flavours.test.ts and `e820 kernel build`.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

import {
  builtKernelEntryName,
  bzImageInitSize,
  compareDebianish,
  fragmentSettings,
  makeVariables,
  MINIMAL_CONFIG_PATH,
  recipeHash,
  unmetSettings,
} from '../../harness/provision/kernel-build.ts';

const fragment = readFileSync(MINIMAL_CONFIG_PATH, 'utf8');

describe('the configuration fragment', () => {
  it('sets what the observed layers need, as Debian cloud kernel does', () => {
    const s = fragmentSettings(fragment);
    for (const want of [
      'CONFIG_FW_CFG_SYSFS=y',
      'CONFIG_FIRMWARE_MEMMAP=y',
      'CONFIG_PRINTK_TIME=y',
      'CONFIG_RANDOMIZE_BASE=y',
      'CONFIG_HIBERNATION=y',
      'CONFIG_X86_5LEVEL=y',
      'CONFIG_NUMA=y',
      'CONFIG_MEMORY_HOTPLUG=y',
      'CONFIG_PCI_MMCONFIG=y',
      'CONFIG_EFI=y',
      'CONFIG_RD_GZIP=y',
      'CONFIG_SERIAL_8250_CONSOLE=y',
    ]) {
      expect(s, want).toContain(want);
    }
    expect(s).toContain('# CONFIG_KERNEL_XZ is not set');
  });

  it('lets a later setting (a series overlay) replace an earlier one', () => {
    expect(fragmentSettings('CONFIG_A=y\nCONFIG_B=y\n# ---- minimal-5.10.config\n# CONFIG_A is not set\n')).toEqual(['CONFIG_B=y', '# CONFIG_A is not set']);
  });

  it('names settings that did not survive olddefconfig, with what the .config has', () => {
    const frag = 'CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=64\n# a comment\n';
    expect(unmetSettings(frag, 'CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=64\n')).toEqual([]);
    expect(unmetSettings(frag, 'CONFIG_A=y\nCONFIG_B=y\n')).toEqual([
      '# CONFIG_B is not set (final .config: CONFIG_B=y)',
      'CONFIG_C=64 (final .config: absent: a dependency is off, or no such option in this source)',
    ]);
    expect(unmetSettings('CONFIG_A=y\n', '# CONFIG_A is not set\n')).toEqual(['CONFIG_A=y (final .config: # CONFIG_A is not set)']);
  });
});

describe('the cache key', () => {
  it('changes with the fragment and names the source version', () => {
    expect(recipeHash(fragment)).toBe(recipeHash(fragment));
    expect(recipeHash(fragment + 'CONFIG_X=y\n')).not.toBe(recipeHash(fragment));
    expect(builtKernelEntryName('6.1.176-1', recipeHash(fragment))).toMatch(/^linux_6\.1\.176-1_minimal_[0-9a-f]{16}$/);
    expect(builtKernelEntryName('6.12.117+deb13/x', 'ab'.repeat(32))).toBe('linux_6.12.117+deb13_x_minimal_abababababababab');
  });

  it('fixes user, host and timestamp so the build is reproducible', () => {
    const v = makeVariables('6.1.176-1', 'Sat, 01 Nov 2025 10:00:00 +0000');
    expect(v).toContain('LOCALVERSION=-e820-minimal');
    expect(v).toContain('KBUILD_BUILD_TIMESTAMP=Debian 6.1.176-1 (Sat, 01 Nov 2025 10:00:00 +0000)');
  });
});

describe('bzImage header and versions', () => {
  it('reads init_size at 0x260 of a boot protocol ≥ 2.10 header, and nothing else', () => {
    const b = Buffer.alloc(0x300);
    b.write('HdrS', 0x202, 'latin1');
    b.writeUInt16LE(0x20f, 0x206);
    b.writeUInt32LE(0x1234000, 0x260);
    expect(bzImageInitSize(b)).toBe(0x1234000n);
    b.writeUInt16LE(0x209, 0x206);
    expect(bzImageInitSize(b)).toBeNull();
    expect(bzImageInitSize(Buffer.alloc(0x300))).toBeNull();
  });

  it('orders Debian kernel source versions numerically', () => {
    const v = ['6.1.176-1', '6.1.8-1', '6.1.170-3', '6.1.4-1'].sort(compareDebianish);
    expect(v).toEqual(['6.1.4-1', '6.1.8-1', '6.1.170-3', '6.1.176-1']);
  });
});
