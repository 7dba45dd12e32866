// User-given components (harness/user-toolchain.ts): versions detected from real binaries and
// images, the nearest-earlier profile with the extrapolation flag, --profile-* overrides, bad
// paths, the toolchain file and a matrix's `toolchain:`.

import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BASELINE_TOOLCHAIN } from '../../reference/toolchain.ts';
import { parseMatrix, expandRuns } from '../../harness/matrix/schema.ts';
import {
  applyToRuns,
  chooseProfile,
  compareVersions,
  detectComponents,
  detectKernel,
  detectQemu,
  loadToolchainFile,
  matrixComponents,
  mergeComponents,
  modelToolchainFor,
  resolveUserComponents,
  UserComponentError,
  UserToolchain,
} from '../../harness/user-toolchain/index.ts';
import { identifySeabiosImage } from '../../harness/provision/seabios-image.ts';
import { fakeBzImage } from '../faults/fake-apt.ts';

const CACHE = join(homedir(), '.cache', 'e820-conformance');
const cachedQemu = (suite: string): string | null => {
  const dir = join(CACHE, 'qemu');
  const d = existsSync(dir) ? readdirSync(dir).find((n) => n.startsWith(`${suite}_`)) : undefined;
  return d !== undefined ? join(dir, d, 'bin', 'qemu-system-x86_64') : null;
};
const cachedKernels = (): string[] => {
  const dir = join(CACHE, 'kernels');
  return existsSync(dir) ? readdirSync(dir).map((d) => join(dir, d, 'vmlinuz')).filter((p) => existsSync(p)) : [];
};
const HOST_QEMU = '/usr/bin/qemu-system-x86_64';
const HOST_BIOS = '/usr/share/seabios/bios-256k.bin';

let dir = '';
const fakeQemu = async (name: string, version: string): Promise<string> => {
  const p = join(dir, name);
  await writeFile(p, `#!/bin/sh\nif [ "$1" = --version ]; then echo 'QEMU emulator version ${version} (fake)'; exit 0; fi\nif [ "$1" = -M ]; then echo 'pc-i440fx-${version.split('.').slice(0, 2).join('.')}  Standard PC'; exit 0; fi\nexit 1\n`);
  await chmod(p, 0o755);
  return p;
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'e820-user-toolchain-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('version detection from real binaries', () => {
  test.runIf(existsSync(HOST_QEMU))("the host's QEMU 7.2 (--version and -M help)", async () => {
    const q = await detectQemu(HOST_QEMU);
    expect(q.version).toMatch(/^7\.2\./);
    expect(q.newestMachine).toBe('7.2');
    expect(chooseProfile('qemu', q.version)).toMatchObject({ profile: '7.2', how: 'exact' });
  });

  test.for([
    ['sid', '11.1'],
    ['trixie', '10.0'],
    ['bullseye', '5.2'],
  ] as const)('the cached %s QEMU root is QEMU %s', async ([suite, profile], ctx) => {
    const binary = cachedQemu(suite);
    if (binary === null) return ctx.skip(`no cached ${suite} QEMU root in this cache yet (the versions matrix provisions it)`);
    const q = await detectQemu(binary);
    expect(chooseProfile('qemu', q.version)).toMatchObject({ profile, how: 'exact' });
    expect(q.newestMachine).toBe(profile);
  });

  test('the cached kernels: the series from the bzImage header, the Debian patch level from its banner', async (ctx) => {
    if (cachedKernels().length === 0) return ctx.skip('no cached kernel in this cache yet (the conformance suite provisions them)');
    for (const vmlinuz of cachedKernels()) {
      const k = await detectKernel(vmlinuz, null);
      const series = /^(\d+\.\d+)/.exec(k.release)![1]!;
      expect(k.version.startsWith(`${series}.`)).toBe(true);
      expect(chooseProfile('kernel', k.version)).toMatchObject({ profile: series, how: 'exact' });
    }
  });

  test.runIf(existsSync(HOST_BIOS))("the host's SeaBIOS image is 1.16.2, bios-256k", async () => {
    const s = await identifySeabiosImage(HOST_BIOS);
    expect(s).toMatchObject({ seabiosVersion: '1.16.2', variant: 'bios-256k' });
  });

  test('a 5.10 kernel names its point release (the nosave algorithm changed inside 5.10.y)', async (ctx) => {
    const k510 = cachedKernels().find((p) => p.includes('5.10.'));
    if (k510 === undefined) return ctx.skip('no cached 5.10 kernel in this cache yet (the versions matrix provisions it)');
    const u = new UserToolchain(await detectComponents(mergeComponents(null, { bzimage: k510 })));
    const m = u.model(BASELINE_TOOLCHAIN);
    expect(m.toolchain).toMatchObject({ kernel: '5.10', kernelRelease: '5.10.223' });
  });
});

describe('profile choice: exact, nearest earlier (extrapolated), override', () => {
  test('compareVersions is numeric', () => {
    expect(compareVersions('10.0', '9.2', 2)).toBeGreaterThan(0);
    expect(compareVersions('1.16.3', '1.16.10')).toBeLessThan(0);
  });

  test('a fake QEMU printing 11.2.0 gets the 11.1 profile, extrapolated, and says so', async () => {
    const u = await resolveUserComponents({ qemuBinary: await fakeQemu('qemu-11.2', '11.2.0') });
    const m = u!.model(BASELINE_TOOLCHAIN);
    expect(m.toolchain.qemu).toBe('11.1');
    expect(m.choices[0]).toMatchObject({ detected: '11.2.0', profile: '11.1', how: 'extrapolated' });
    expect(m.provenance[0]).toMatch(/^QEMU 11\.2\.0: predicted with the 11\.1 profile \(extrapolated/);
    // The components not given keep the base toolchain's versions.
    expect(m.toolchain).toMatchObject({ seabios: BASELINE_TOOLCHAIN.seabios, kernel: BASELINE_TOOLCHAIN.kernel });
  });

  test('a QEMU between two profiles takes the earlier one (9.2.0 → 7.2)', () => {
    expect(chooseProfile('qemu', '9.2.0')).toMatchObject({ profile: '7.2', how: 'extrapolated' });
    expect(chooseProfile('seabios', '1.16.1')).toMatchObject({ profile: '1.14.0', how: 'extrapolated' });
    expect(chooseProfile('kernel', '6.6.50')).toMatchObject({ profile: '6.1', how: 'extrapolated' });
  });

  test('QEMU 4.2.0 is older than every profile: a clear error, with what to do', async () => {
    const qemu = await fakeQemu('qemu-4.2', '4.2.0');
    const u = await resolveUserComponents({ qemuBinary: qemu });
    expect(() => u!.model(BASELINE_TOOLCHAIN)).toThrow(/QEMU 4\.2\.0: older than every QEMU profile of the model \(5\.2, 7\.2, 10\.0, 11\.1\).*--profile-qemu V/);
    // …and an override makes it usable.
    const forced = await resolveUserComponents({ qemuBinary: qemu, profileQemu: '5.2' });
    expect(forced!.model(BASELINE_TOOLCHAIN).choices[0]).toMatchObject({ profile: '5.2', how: 'override' });
  });

  test('--profile-* override the detected versions; an unknown profile names the flag', async () => {
    const u = await resolveUserComponents({ qemuBinary: await fakeQemu('qemu-11.1', '11.1.3'), profileQemu: '10.0', profileKernel: '6.12' });
    const m = u!.model({ qemu: '11.1', seabios: '1.17.0', kernel: '7.2' });
    expect(m.toolchain).toEqual({ qemu: '10.0', seabios: '1.17.0', kernel: '6.12' });
    expect(m.provenance).toContain('QEMU 11.1.3: predicted with the 10.0 profile (--profile-qemu)');
    expect(m.provenance).toContain("Linux (the toolchain's 7.2): predicted with the 6.12 profile (--profile-kernel)");
    const bad = await resolveUserComponents({ profileSeabios: '1.15.0' });
    expect(() => bad!.model(BASELINE_TOOLCHAIN)).toThrow(/--profile-seabios: "1\.15\.0" is not a profile the model has; use one of 1\.14\.0, 1\.16\.2, 1\.16\.3, 1\.17\.0/);
  });
});

describe('bad paths are refused, naming the path and the option', () => {
  test('a missing QEMU binary', async () => {
    await expect(resolveUserComponents({ qemuBinary: join(dir, 'nope') })).rejects.toThrow(new RegExp(`^--qemu-binary ${join(dir, 'nope')}: does not exist`));
  });

  test('a QEMU binary that is not executable', async () => {
    const p = join(dir, 'noexec');
    await writeFile(p, '#!/bin/sh\necho hi\n');
    await chmod(p, 0o644);
    // root can read anything but not execute a file with no x bit.
    await expect(detectQemu(p)).rejects.toThrow(/--qemu-binary .*noexec: is not executable/);
  });

  test('an executable that is not QEMU', async () => {
    await expect(detectQemu('/bin/true')).rejects.toThrow(/^--qemu-binary \/bin\/true: is not a QEMU: `--version` printed "true \(GNU coreutils\).*", not "QEMU emulator version X\.Y\.Z"; give the path of a qemu-system-x86_64 binary$/);
  });

  test('a text file passed as --bzimage', async () => {
    const p = join(dir, 'readme.txt');
    await writeFile(p, 'this is not a kernel\n'.repeat(100));
    await expect(resolveUserComponents({ bzimage: p })).rejects.toThrow(/--bzimage .*readme\.txt: is not a bzImage \(no "HdrS" boot header/);
  });

  test('a non-SeaBIOS file as --bios', async () => {
    const p = join(dir, 'notbios.bin');
    await writeFile(p, Buffer.alloc(256 * 1024, 0x55));
    await expect(resolveUserComponents({ bios: p })).rejects.toThrow(/--bios .*notbios\.bin: is not a SeaBIOS image/);
    await expect(resolveUserComponents({ bios: '/etc/hostname' })).rejects.toThrow(/--bios \/etc\/hostname: is not a SeaBIOS image/);
  });

  test('--fw-cfg-module without --bzimage, and a module that is not ELF', async () => {
    const kernel = join(dir, 'bzImage');
    await writeFile(kernel, fakeBzImage());
    await expect(resolveUserComponents({ fwCfgModule: kernel })).rejects.toThrow(/--fw-cfg-module .*: goes with the kernel it was built for/);
    await expect(resolveUserComponents({ bzimage: kernel, fwCfgModule: kernel })).rejects.toThrow(/--fw-cfg-module .*bzImage: is not an ELF kernel module/);
  });
});

describe('the toolchain file and a matrix\'s toolchain:', () => {
  test('--toolchain FILE: paths relative to the file, profile overrides, flags win', async () => {
    const qemu = await fakeQemu('qemu-11.2-file', '11.2.0');
    const file = join(dir, 'tc.yaml');
    await writeFile(file, 'qemu-binary: ./qemu-11.2-file\nprofile: { seabios: "1.16.3" }\n');
    const spec = await loadToolchainFile(file);
    expect(spec.qemuBinary).toBe(qemu);
    const u = await resolveUserComponents({ toolchain: file, profileQemu: '10.0' });
    const m = u!.model(BASELINE_TOOLCHAIN);
    expect(m.toolchain).toMatchObject({ qemu: '10.0', seabios: '1.16.3' });
  });

  test('a toolchain file with an unknown field, or one that does not exist', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, 'qemu: /usr/bin/qemu\n');
    await expect(loadToolchainFile(file)).rejects.toThrow(/--toolchain .*bad\.yaml: unknown field\(s\) qemu/);
    await expect(loadToolchainFile(join(dir, 'missing.yaml'))).rejects.toThrow(/--toolchain .*missing\.yaml: cannot be read \(ENOENT\)/);
  });

  test('--busybox and a toolchain file\'s busybox: are refused by name, with the reason (the guest runs no busybox)', async () => {
    await expect(resolveUserComponents({ busybox: '/bin/busybox' })).rejects.toThrow(/^--busybox \/bin\/busybox: is no longer used: the guest's \/init is a program the harness compiles \(guests\/init\.c\).*; drop it$/);
    const file = join(dir, 'old.yaml');
    await writeFile(file, 'busybox: /bin/busybox\n');
    await expect(loadToolchainFile(file)).rejects.toThrow(/old\.yaml: busybox: \/bin\/busybox: is no longer used/);
  });

  test("a matrix's top-level toolchain: applies to every cell's run, with provenance", async () => {
    await fakeQemu('qemu-11.2-matrix', '11.2.0');
    const text = 'toolchains: [{ qemu: "11.1", seabios: "1.17.0", kernel: "7.2" }]\ntoolchain: { qemu-binary: ./qemu-11.2-matrix }\ncells:\n  - { id: a, qemu: -M pc -m 1G }\n  - { id: b, qemu: -M q35 -m 2G }\n';
    const cells = parseMatrix(text, join(dir, 'm.yaml'));
    const base = await matrixComponents(cells);
    const u = await resolveUserComponents({}, base);
    const runs = applyToRuns(expandRuns(cells), u!);
    expect(runs.map((r) => r.toolchain.qemu)).toEqual(['11.1', '11.1']);
    expect(runs[0]!.provenance![0]).toMatch(/^QEMU 11\.2\.0: predicted with the 11\.1 profile \(extrapolated/);
    // The matrix may name a toolchain file instead.
    const file = join(dir, 'm-tc.yaml');
    await writeFile(file, 'profile: { qemu: "10.0" }\n');
    const byFile = parseMatrix('toolchain: m-tc.yaml\ncells:\n  - { id: a, qemu: -M pc -m 1G }\n', join(dir, 'm2.yaml'));
    const u2 = await resolveUserComponents({}, await matrixComponents(byFile));
    expect(applyToRuns(expandRuns(byFile), u2!)[0]!.toolchain.qemu).toBe('10.0');
  });

  test('model toolchain of real components: sid QEMU with the 10.0 profile, SeaBIOS and kernel the base\'s', async () => {
    const binary = cachedQemu('sid');
    if (binary === null) return;
    const d = await detectComponents(mergeComponents(null, { qemuBinary: binary, profileQemu: '10.0' }));
    const m = modelToolchainFor(d, { qemu: '11.1', seabios: '1.17.0', kernel: '7.2' });
    expect(m.toolchain).toEqual({ qemu: '10.0', seabios: '1.17.0', kernel: '7.2' });
    expect(m.provenance[0]).toBe('QEMU 11.1.3: predicted with the 10.0 profile (--profile-qemu)');
  });

  test('errors are UserComponentError with exit code 2', () => {
    const e = new UserComponentError('--bios', '/x', 'does not exist', 'give a path');
    expect(e.exitCode).toBe(2);
  });
});
