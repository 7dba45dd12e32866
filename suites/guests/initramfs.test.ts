import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { GUEST_PATHS } from '../../guests/init.ts';
import { buildInitramfs, initramfsEntries } from '../../guests/initramfs.ts';
import { writeCpio } from '../../guests/cpio.ts';

describe('initramfsEntries', () => {
  const init = new Uint8Array([0x7f, 0x45, 0x4c, 0x46]);
  const entries = initramfsEntries(init, new Uint8Array([1]));
  const paths = entries.map((e) => e.path.replace(/^\//, ''));

  it('has /dev/console as char 5:1, the mount points, the module and /init, and nothing else', () => {
    expect(entries.find((e) => e.path === 'dev/console')).toMatchObject({ type: 'chardev', major: 5, minor: 1 });
    expect(paths).toContain(GUEST_PATHS.fwCfgModule.slice(1));
    expect(entries.find((e) => e.path === GUEST_PATHS.init)).toMatchObject({ type: 'file', mode: 0o755, data: init });
    expect(paths.sort()).toEqual(['dev', 'dev/console', 'init', 'lib', 'lib/modules', 'lib/modules/qemu_fw_cfg.ko', 'proc', 'sys']);
    // The writer checks parents come first; it must accept the layout.
    expect(() => writeCpio(entries)).not.toThrow();
  });

  it('leaves the module and lib/ out when there is none', () => {
    const e = initramfsEntries(new Uint8Array([0x7f]), null);
    expect(e.some((x) => x.path.includes('qemu_fw_cfg'))).toBe(false);
    expect(e.some((x) => x.path === 'lib')).toBe(false);
  });
});

describe('buildInitramfs', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'e820-initramfs-'));
    writeFileSync(join(dir, 'mod.ko'), 'not really a module');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('builds once per distinct input and reuses the cached image', { timeout: 10 * 60_000 }, async () => {
    const msgs: string[] = [];
    const opts = { cacheDir: join(dir, 'cache'), onProgress: (m: string) => msgs.push(m) };
    const inputs = { fwCfgModule: join(dir, 'mod.ko') };
    const a = await buildInitramfs(inputs, undefined, opts);
    const b = await buildInitramfs(inputs, undefined, opts);
    expect(b).toBe(a);
    expect(msgs.filter((m) => /building|reusing/.test(m))).toEqual([expect.stringMatching(/building/), expect.stringMatching(/reusing/)]);
    const c = await buildInitramfs({ ...inputs, fwCfgModule: null }, undefined, opts);
    expect(c).not.toBe(a);
    // No temp files left beside the images.
    expect(readdirSync(join(dir, 'cache')).filter((f) => f.startsWith('.tmp'))).toEqual([]);

    const out = await buildInitramfs(inputs, join(dir, 'out', 'initrd.cpio'), opts);
    expect(out).toBe(join(dir, 'out', 'initrd.cpio'));
    // Uncompressed: the kernel copies it rather than inflating it (guests/initramfs.ts says why).
    const cpio = readFileSync(out);
    expect(cpio.subarray(0, 6).toString('latin1')).toBe('070701');
    expect(cpio.toString('latin1')).toContain('TRAILER!!!');
  });
});

