import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { cacheDir, publishDir, writeManifest } from '../../harness/provision/cache.ts';
import {
  fwCfgSysfsSetting,
  parseCandidate,
  parseDebListing,
  parseImageDependency,
  selectKernelMembers,
} from '../../harness/provision/kernel.ts';
import {
  bzImageRelease,
  KernelContentError,
  KernelPackageNotFoundError,
  provisionKernel,
} from '../../harness/provision/index.ts';
import { FakeHost, ok, STATIC_ELF, type Handler } from './fake-system.ts';

// Trimmed from `dpkg-deb -c linux-image-6.1.0-56-cloud-amd64_6.1.192-2_amd64.deb`.
const LISTING = `drwxr-xr-x root/root         0 2026-11-16 10:17 ./
drwxr-xr-x root/root         0 2026-11-16 10:17 ./boot/
-rw-r--r-- root/root    262450 2026-11-16 10:17 ./boot/config-6.1.0-56-cloud-amd64
-rw-r--r-- root/root  14186432 2026-11-16 10:17 ./boot/vmlinuz-6.1.0-56-cloud-amd64
drwxr-xr-x root/root         0 2026-11-16 10:17 ./lib/modules/6.1.0-56-cloud-amd64/
-rw-r--r-- root/root     33033 2026-11-16 10:17 ./lib/modules/6.1.0-56-cloud-amd64/kernel/drivers/firmware/qemu_fw_cfg.ko
lrwxrwxrwx root/root         0 2026-11-16 10:17 ./usr/share/doc/linux-image-6.1.0-56-cloud-amd64 -> linux-image-x
`;

const POLICY = `linux-image-6.1.0-56-cloud-amd64:
  Installed: (none)
  Candidate: 6.1.192-2
  Version table:
     6.1.192-2 500
`;
const DEPENDS = `linux-image-cloud-amd64
  Depends: linux-image-6.1.0-56-cloud-amd64
`;

describe('package parsing', () => {
  it('lists members and picks vmlinuz, module, config and the release', () => {
    const members = parseDebListing(LISTING);
    expect(members).toContain('./usr/share/doc/linux-image-6.1.0-56-cloud-amd64');
    expect(selectKernelMembers(members, 'pkg')).toEqual({
      vmlinuz: './boot/vmlinuz-6.1.0-56-cloud-amd64',
      release: '6.1.0-56-cloud-amd64',
      module: './lib/modules/6.1.0-56-cloud-amd64/kernel/drivers/firmware/qemu_fw_cfg.ko',
      config: './boot/config-6.1.0-56-cloud-amd64',
    });
  });

  it('finds compressed modules under /usr/lib/modules (newer suites)', () => {
    const m = selectKernelMembers(
      ['./boot/vmlinuz-6.12.9-cloud-amd64', './usr/lib/modules/6.12.9-cloud-amd64/kernel/drivers/firmware/qemu_fw_cfg.ko.xz'],
      'pkg',
    );
    expect(m.module).toMatch(/qemu_fw_cfg\.ko\.xz$/);
    expect(m.config).toBeNull();
  });

  it('ignores a module of another release and needs exactly one vmlinuz', () => {
    expect(selectKernelMembers(['./boot/vmlinuz-1', './lib/modules/2/kernel/drivers/firmware/qemu_fw_cfg.ko'], 'p').module).toBeNull();
    expect(() => selectKernelMembers(['./boot/config-1'], 'pkg 1.0')).toThrow(KernelContentError);
    expect(() => selectKernelMembers(['./boot/vmlinuz-1', './boot/vmlinuz-2'], 'p')).toThrow(/found 2/);
  });

  it('reads apt-cache output', () => {
    expect(parseCandidate(POLICY)).toBe('6.1.192-2');
    expect(parseCandidate('x:\n  Installed: (none)\n  Candidate: (none)\n')).toBeNull();
    expect(parseCandidate('')).toBeNull();
    expect(parseImageDependency(DEPENDS)).toBe('linux-image-6.1.0-56-cloud-amd64');
    expect(parseImageDependency('linux-image-x\n  Depends: kmod\n |Depends: initramfs-tools\n')).toBeNull();
  });

  it('reads CONFIG_FW_CFG_SYSFS', () => {
    expect(fwCfgSysfsSetting('CONFIG_FOO=y\nCONFIG_FW_CFG_SYSFS=m\n')).toBe('m');
    expect(fwCfgSysfsSetting('CONFIG_FW_CFG_SYSFS=y\n')).toBe('y');
    expect(fwCfgSysfsSetting('# CONFIG_FW_CFG_SYSFS is not set\n')).toBe('unset');
  });

  it('reads the release from a bzImage header', () => {
    const img = Buffer.alloc(0x400);
    img.write('HdrS', 0x202, 'latin1');
    img.writeUInt16LE(0x100, 0x20e); // kernel_version: offset from 0x200
    img.write('6.1.0-56-cloud-amd64 (debian-kernel@lists.debian.org) #1 SMP\0', 0x300, 'latin1');
    expect(bzImageRelease(img)).toBe('6.1.0-56-cloud-amd64');
    expect(bzImageRelease(Buffer.alloc(0x400))).toBeNull();
  });
});

describe('cache', () => {
  it('cacheDir prefers E820_CACHE_DIR, then XDG_CACHE_HOME, then ~/.cache', () => {
    expect(cacheDir({ E820_CACHE_DIR: '/c', XDG_CACHE_HOME: '/x', HOME: '/h' })).toBe('/c');
    expect(cacheDir({ XDG_CACHE_HOME: '/x', HOME: '/h' })).toBe('/x/e820-conformance');
    expect(cacheDir({ HOME: '/h' })).toBe('/h/.cache/e820-conformance');
  });

  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'e820-cache-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('publishDir leaves nothing behind when filling fails', async () => {
    await expect(
      publishDir(join(dir, 'entry'), async (tmp) => {
        writeFileSync(join(tmp, 'half'), 'x');
        throw new Error('download cut');
      }),
    ).rejects.toThrow('download cut');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('publishDir renames a complete entry into place', async () => {
    await publishDir(join(dir, 'entry'), async (tmp) => writeFileSync(join(tmp, 'f'), 'x'));
    expect(readdirSync(dir)).toEqual(['entry']);
    expect(readdirSync(join(dir, 'entry'))).toEqual(['f']);
  });
});

describe('provisionKernel', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'e820-kernel-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const apt =
    (known: boolean): Handler =>
    (cmd, args) => {
      if (cmd === 'apt-get' && args[0] === 'update') return ok();
      if (cmd !== 'apt-cache') return undefined;
      if (!known) return args[0] === 'depends' ? { exitCode: 100, stdout: '', stderr: 'E: No packages found' } : ok('');
      return ok(args[0] === 'depends' ? DEPENDS : POLICY);
    };

  it('reports an unknown package clearly, after one apt-get update as root', async () => {
    const sys = new FakeHost(new Map(), apt(false), true);
    const err = await provisionKernel({ debianPackage: 'linux-image-nope' }, { cacheDir: dir, host: sys }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KernelPackageNotFoundError);
    expect((err as Error).message).toMatch(/linux-image-nope.*apt does not know it/);
    expect(sys.calls.filter((c) => c.cmd === 'apt-get').map((c) => c.args)).toEqual([['update']]);
  });

  it('does not run apt-get update when not root, and says to', async () => {
    const sys = new FakeHost(new Map(), apt(false), false);
    await expect(provisionKernel({}, { cacheDir: dir, host: sys })).rejects.toThrow(/run apt-get update as root/);
    expect(sys.calls.some((c) => c.cmd === 'apt-get')).toBe(false);
  });

  it('resolves the metapackage and reuses a cached entry without downloading', async () => {
    // An entry cached before records existed: whole files pass the structural check and are adopted.
    const entry = await cachedEntryWithoutRecords(dir);
    const sys = new FakeHost(new Map(), apt(true), true);
    const k = await provisionKernel({}, { cacheDir: dir, host: sys });
    expect(k).toEqual({
      vmlinuz: join(entry, 'vmlinuz'),
      fwCfgModule: join(entry, 'qemu_fw_cfg.ko'),
      release: '6.1.0-56-cloud-amd64',
      packageVersion: '6.1.192-2',
      packageName: 'linux-image-6.1.0-56-cloud-amd64',
      fwCfgSysfs: 'm',
    });
    expect(sys.calls.map((c) => `${c.cmd} ${c.args.join(' ')}`)).toEqual([
      'apt-cache depends linux-image-cloud-amd64',
      'apt-cache policy linux-image-6.1.0-56-cloud-amd64',
    ]);
  });

  it('a warm cache asks apt nothing: the remembered resolution and its verified entry are used; damage or fresh goes back to apt', async () => {
    const entry = await cachedEntryWithoutRecords(dir);
    const aptCalls = (sys: FakeHost) => sys.calls.filter((c) => c.cmd === 'apt-cache' || c.cmd === 'apt-get').map((c) => `${c.cmd} ${c.args.join(' ')}`);
    // Cold: apt resolves (and the entry's records are written).
    const cold = new FakeHost(new Map(), apt(true), true);
    const first = await provisionKernel({}, { cacheDir: dir, host: cold });
    expect(aptCalls(cold)).toHaveLength(2);
    // Warm: the same kernel, no apt.
    const warm = new FakeHost(new Map(), apt(true), true);
    expect(await provisionKernel({}, { cacheDir: dir, host: warm })).toEqual(first);
    expect(aptCalls(warm)).toEqual([]);
    // Asked for (toolchain fetch): apt again.
    const asked = new FakeHost(new Map(), apt(true), true);
    await provisionKernel({}, { cacheDir: dir, host: asked, fresh: true });
    expect(aptCalls(asked)).toHaveLength(2);
    // Damaged (same size, other content): the warm path refuses it, apt resolves, the damage is named and the entry rebuilt.
    const bad = readFileSync(join(entry, 'vmlinuz'));
    bad[0x300] = 0xff;
    writeFileSync(join(entry, 'vmlinuz'), bad);
    const damaged = new FakeHost(new Map(), apt(true), true);
    const said: string[] = [];
    await expect(provisionKernel({}, { cacheDir: dir, host: damaged, onProgress: (m) => said.push(m) })).rejects.toThrow(/unexpected command apt-get download/);
    expect(aptCalls(damaged).slice(0, 2)).toEqual(['apt-cache depends linux-image-cloud-amd64', 'apt-cache policy linux-image-6.1.0-56-cloud-amd64']);
    expect(said.join('\n')).toMatch(/vmlinuz.*sha256 differs/);
  });

  it('an entry without a manifest is not cached: it is downloaded again', async () => {
    mkdirSync(join(dir, 'kernels', 'linux-image-6.1.0-56-cloud-amd64_6.1.192-2'), { recursive: true });
    const sys = new FakeHost(new Map(), apt(true), true);
    // The fake has no apt-get download, so reaching it throws: that is the point.
    await expect(provisionKernel({}, { cacheDir: dir, host: sys })).rejects.toThrow(/unexpected command apt-get download/);
    expect(readdirSync(join(dir, 'kernels')).filter((f) => f.startsWith('.tmp'))).toEqual([]);
  });

  it('takes a user-given kernel as is', async () => {
    const img = Buffer.alloc(0x400);
    img.write('HdrS', 0x202, 'latin1');
    img.writeUInt16LE(0x100, 0x20e);
    img.write('6.6.6-custom #1\0', 0x300, 'latin1');
    const sys = new FakeHost(new Map([['/k/bzImage', img], ['/k/fw.ko', new Uint8Array(1)]]), () => undefined);
    await expect(provisionKernel({ bzImage: '/k/bzImage', fwCfgModule: '/k/fw.ko' }, { host: sys })).resolves.toMatchObject({
      vmlinuz: '/k/bzImage',
      fwCfgModule: '/k/fw.ko',
      release: '6.6.6-custom',
      packageVersion: null,
    });
    await expect(provisionKernel({ bzImage: '/k/missing' }, { host: sys })).rejects.toThrow(KernelContentError);
    await expect(provisionKernel({ bzImage: '/k/fw.ko' }, { host: sys })).rejects.toThrow(/not a bzImage/);
  });
});

/** A 6.1.192-2 kernel entry as it was cached before records existed: a minimal bzImage, a static module, a manifest. */
async function cachedEntryWithoutRecords(cacheDir: string): Promise<string> {
  const entry = join(cacheDir, 'kernels', 'linux-image-6.1.0-56-cloud-amd64_6.1.192-2');
  mkdirSync(entry, { recursive: true });
  const img = Buffer.alloc(0x400);
  img.write('HdrS', 0x202, 'latin1');
  img[0x1f1] = 1; // setup_sects: (1+1)*512 = 0x400 bytes, syssize 0
  writeFileSync(join(entry, 'vmlinuz'), img);
  writeFileSync(join(entry, 'qemu_fw_cfg.ko'), STATIC_ELF);
  await writeManifest(entry, {
    schema: 1,
    packageName: 'linux-image-6.1.0-56-cloud-amd64',
    packageVersion: '6.1.192-2',
    release: '6.1.0-56-cloud-amd64',
    vmlinuz: 'vmlinuz',
    fwCfgModule: 'qemu_fw_cfg.ko',
    fwCfgModuleMember: './lib/modules/6.1.0-56-cloud-amd64/kernel/drivers/firmware/qemu_fw_cfg.ko',
    fwCfgSysfs: 'm',
  });
  return entry;
}
