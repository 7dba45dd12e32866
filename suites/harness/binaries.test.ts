import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { addBootBinaries, bootBinaries, defaultBiosName, machineTypeOf } from '../../harness/binaries.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe('which SeaBIOS image QEMU loads', () => {
  test('machine type from -M/-machine, type= or the first property', () => {
    expect(machineTypeOf(['qemu', '-M', 'q35', '-m', '1G'])).toBe('q35');
    expect(machineTypeOf(['qemu', '-machine', 'pc-i440fx-1.4,accel=tcg'])).toBe('pc-i440fx-1.4');
    expect(machineTypeOf(['qemu', '-machine', 'accel=tcg,type=isapc'])).toBe('isapc');
    expect(machineTypeOf(['qemu', '-m', '1G'])).toBeNull();
  });
  test('bios.bin on isapc and pc-i440fx ≤ 1.7, bios-256k.bin elsewhere', () => {
    expect(defaultBiosName('isapc')).toBe('bios.bin');
    expect(defaultBiosName('pc-i440fx-1.7')).toBe('bios.bin');
    expect(defaultBiosName('pc-1.0')).toBe('bios.bin');
    expect(defaultBiosName('pc-0.15')).toBe('bios.bin');
    expect(defaultBiosName('pc-i440fx-2.0')).toBe('bios-256k.bin');
    expect(defaultBiosName('pc-i440fx-1.10')).toBe('bios-256k.bin');
    expect(defaultBiosName('q35')).toBe('bios-256k.bin');
    expect(defaultBiosName(null)).toBe('bios-256k.bin');
  });
  test('microvm: qboot.rom without ACPI, bios-microvm.bin with it', () => {
    expect(defaultBiosName('microvm', true)).toBe('qboot.rom');
    expect(defaultBiosName('microvm')).toBe('bios-microvm.bin');
  });
});

test('a suite QEMU wrapper: the binary inside its root is hashed, the -L dir wins over its data dirs, packages from the manifests', async () => {
  const d = await mkdtemp(join(tmpdir(), 'e820-binaries-test-'));
  dirs.push(d);
  const entry = join(d, 'qemu', 'trixie_1');
  await mkdir(join(entry, 'bin'), { recursive: true });
  await mkdir(join(entry, 'root', 'usr', 'bin'), { recursive: true });
  await mkdir(join(entry, 'root', 'usr', 'share', 'seabios'), { recursive: true });
  await writeFile(join(entry, 'bin', 'qemu-system-x86_64'), '#!/bin/sh\nexec wrapper\n');
  await writeFile(join(entry, 'root', 'usr', 'bin', 'qemu-system-x86_64'), 'the real qemu');
  await writeFile(join(entry, 'root', 'usr', 'share', 'seabios', 'bios.bin'), 'suite bios.bin');
  await writeFile(join(entry, 'manifest.json'), JSON.stringify({ package: 'qemu-system-x86', packageVersion: '1:10.0.13', packages: [{ name: 'seabios', version: '1.16.3-2' }] }));
  const kernelDir = join(d, 'kernels', 'k');
  await mkdir(kernelDir, { recursive: true });
  await writeFile(join(kernelDir, 'vmlinuz'), 'a kernel');
  await writeFile(join(kernelDir, 'manifest.json'), JSON.stringify({ packageName: 'linux-image-6.1.0-57-cloud-amd64', packageVersion: '6.1.192-3' }));
  const userL = join(d, 'user-bios');
  await mkdir(userL);
  await writeFile(join(userL, 'bios-256k.bin'), 'patched');
  await writeFile(join(d, 'initrd.cpio.gz'), 'an initramfs');
  const wrapper = join(entry, 'bin', 'qemu-system-x86_64');

  // pc-i440fx-1.4 loads bios.bin, which only the suite's data dir has.
  const old = await bootBinaries([wrapper, '-M', 'pc-i440fx-1.4', '-kernel', join(kernelDir, 'vmlinuz'), '-initrd', join(d, 'initrd.cpio.gz')]);
  expect(old.qemu).toEqual({ path: join(entry, 'root', 'usr', 'bin', 'qemu-system-x86_64'), sha256: sha('the real qemu'), package: 'qemu-system-x86 1:10.0.13' });
  expect(old.bios).toEqual({ path: join(entry, 'root', 'usr', 'share', 'seabios', 'bios.bin'), sha256: sha('suite bios.bin'), package: 'seabios 1.16.3-2' });
  expect(old.kernel).toEqual({ path: join(kernelDir, 'vmlinuz'), sha256: sha('a kernel'), package: 'linux-image-6.1.0-57-cloud-amd64 6.1.192-3' });
  expect(old.initramfs).toMatchObject({ sha256: sha('an initramfs'), package: null });

  // q35 loads bios-256k.bin: the user's -L directory is searched first.
  const results = [{ qemuArgv: [wrapper, '-L', userL, '-M', 'q35'] }, { qemuArgv: null }] as Array<{ qemuArgv: string[] | null; binaries?: unknown }>;
  await addBootBinaries(results as never);
  expect(results[0]!.binaries).toMatchObject({ bios: { path: join(userL, 'bios-256k.bin'), sha256: sha('patched'), package: null }, kernel: null });
  expect(results[1]!.binaries).toBeUndefined();

  // A file that is gone is said so, not hashed as empty.
  const gone = await bootBinaries([join(d, 'nope', 'qemu-system-x86_64'), '-bios', join(d, 'missing.bin')]);
  expect(gone.qemu).toMatchObject({ sha256: null, note: 'not found when the run finished' });
  expect(gone.bios).toMatchObject({ sha256: null });
});
