// The minimal kernel build's pure parts: the fragment check, the cache key, the header fields.
// The build itself (minutes) runs in suites/flavours.test.ts and `e820 kernel build`.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

import {
  builtKernelEntryName,
  bzImageInitSize,
  compareDebianish,
  absentOptions,
  fragmentSettings,
  makeVariables,
  MINIMAL_CONFIG_PATH,
  recipeHash,
  seriesConfigPath,
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

  it('drops a setting a series overlay declares absent, and names it if the .config has it after all', () => {
    const frag = 'CONFIG_A=y\nCONFIG_B=y\n# ---- minimal-7.2.config\n# absent: CONFIG_A (removed upstream)\n';
    expect(fragmentSettings(frag)).toEqual(['CONFIG_B=y']);
    expect(absentOptions(frag)).toEqual(['A']);
    expect(unmetSettings(frag, 'CONFIG_B=y\n')).toEqual([]);
    expect(unmetSettings(frag, 'CONFIG_A=y\nCONFIG_B=y\n')).toEqual(['# absent: CONFIG_A (final .config: CONFIG_A=y: the option exists in this source)']);
    // Set again after the declaration: required again.
    expect(absentOptions(`${frag}CONFIG_A=m\n`)).toEqual([]);
    expect(fragmentSettings(`${frag}CONFIG_A=m\n`)).toEqual(['CONFIG_B=y', 'CONFIG_A=m']);
  });

  it("7.2's overlay declares 5-level paging's option absent (upstream builds it in)", () => {
    const seven = readFileSync(seriesConfigPath('7.2'), 'utf8');
    expect(absentOptions(`${fragment}\n${seven}`)).toEqual(['X86_5LEVEL']);
    expect(fragmentSettings(`${fragment}\n${seven}`)).not.toContain('CONFIG_X86_5LEVEL=y');
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

describe('--kernel-flavour and the minimal profile', () => {
  it('accepts cloud and minimal, refuses anything else and the pair with --bzimage', async () => {
    const { givenKernelFlavour, kernelFlavourOf, withKernelFlavour } = await import('../../harness/user-toolchain-flags.ts');
    // Not given: the default, minimal (issue 15); none with the user's own kernel.
    expect(givenKernelFlavour({})).toBeUndefined();
    expect(kernelFlavourOf({})).toBe('minimal');
    expect(kernelFlavourOf({ bzimage: '/x' })).toBeUndefined();
    expect(kernelFlavourOf({ kernelFlavour: 'cloud' })).toBe('cloud');
    expect(kernelFlavourOf({ kernelFlavour: 'minimal' })).toBe('minimal');
    expect(() => kernelFlavourOf({ kernelFlavour: 'tiny' })).toThrow(/"tiny" is not a kernel flavour; give cloud or minimal/);
    expect(() => kernelFlavourOf({ kernelFlavour: 'minimal', bzimage: '/x' })).toThrow(/--bzimage \/x names your own/);
    const t = { qemu: '7.2', seabios: '1.16.2', kernel: '6.1' } as const;
    expect(withKernelFlavour(t, 'minimal')).toEqual({ ...t, kernelFlavour: 'minimal' });
    // cloud is the field's absence: labels and result keys stay what they were.
    expect(withKernelFlavour({ ...t, kernelFlavour: 'minimal' }, 'cloud')).toEqual(t);
    expect(withKernelFlavour(t, undefined)).toBe(t);
  });

  it('differs from the cloud profile only in the image fields, and refuses a series without a build', async () => {
    const { kernelProfileForRelease, MINIMAL_BUILD } = await import('../../reference/profiles/kernel.ts');
    const cloud = kernelProfileForRelease('6.1');
    const minimal = kernelProfileForRelease('6.1', undefined, 'minimal');
    expect({ ...minimal, guestInitSize: 0n, guestDecompressorBmi2: false }).toEqual({ ...cloud, guestInitSize: 0n, guestDecompressorBmi2: false });
    expect(minimal.guestInitSize).toBe(MINIMAL_BUILD['6.1']!.guestInitSize);
    expect(minimal.guestInitSize).toBeLessThan(cloud.guestInitSize);
  });

  it('exists for every series, LZ4-compressed (no BMI2 zstd path); a series without a build is refused', async () => {
    const { flavourProfile, kernelProfile, MINIMAL_BUILD } = await import('../../reference/profiles/kernel.ts');
    const { KERNEL_VERSIONS } = await import('../../reference/toolchain.ts');
    for (const v of KERNEL_VERSIONS) {
      expect(MINIMAL_BUILD[v], v).toBeDefined();
      expect(flavourProfile(kernelProfile(v), 'minimal').guestDecompressorBmi2, v).toBe(false);
      expect(MINIMAL_BUILD[v]!.guestInitSize, v).toBeLessThan(kernelProfile(v).guestInitSize);
    }
    const unbuilt = { ...kernelProfile('7.2'), version: '9.9' } as unknown as ReturnType<typeof kernelProfile>;
    expect(() => flavourProfile(unbuilt, 'minimal')).toThrow(/no profile for this series yet/);
  });
});
