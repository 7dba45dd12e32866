// A suite's QEMU must find its own modules, never the host's: the qemu-bundle link points the
// loader's real directory back at the unpacked root.

import { mkdir, mkdtemp, readlink, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { ensureQemuBundleLink } from '../../harness/provision/suite-qemu.ts';

let dir: string | null = null;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = null;
});

describe('ensureQemuBundleLink', () => {
  test('links <loader real dir>/qemu-bundle to the root, through the lib64 symlink, once', async () => {
    dir = await mkdtemp(join(tmpdir(), 'e820-bundle-'));
    const root = join(dir, 'root');
    await mkdir(join(root, 'usr/lib/x86_64-linux-gnu'), { recursive: true });
    await mkdir(join(root, 'usr/lib64'), { recursive: true });
    await writeFile(join(root, 'usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2'), '');
    await symlink('../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', join(root, 'usr/lib64/ld-linux-x86-64.so.2'));

    await ensureQemuBundleLink(root, 'usr/lib64/ld-linux-x86-64.so.2');
    await ensureQemuBundleLink(root, 'usr/lib64/ld-linux-x86-64.so.2');

    const link = join(root, 'usr/lib/x86_64-linux-gnu/qemu-bundle');
    expect(await readlink(link)).toBe('../../..');
    expect(await realpath(join(link, 'usr/lib/x86_64-linux-gnu'))).toBe(await realpath(join(root, 'usr/lib/x86_64-linux-gnu')));
  });
});
