import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { GUEST_PATHS, INIT_APPLETS, initScript } from '../../guests/init.ts';
import { buildInitramfs, initramfsEntries } from '../../guests/initramfs.ts';
import { writeCpio } from '../../guests/cpio.ts';

describe('initramfsEntries', () => {
  const init = initScript({ hasFwCfgModule: true });
  const entries = initramfsEntries(new Uint8Array([0x7f]), new Uint8Array([1]), init);
  const paths = entries.map((e) => e.path.replace(/^\//, ''));

  it('has /dev/console as char 5:1, busybox, every applet link, the module and /init', () => {
    expect(entries.find((e) => e.path === 'dev/console')).toMatchObject({ type: 'chardev', major: 5, minor: 1 });
    expect(paths).toContain(GUEST_PATHS.busybox.slice(1));
    for (const a of INIT_APPLETS) expect(entries).toContainEqual({ type: 'symlink', path: `bin/${a}`, target: 'busybox' });
    expect(paths).toContain(GUEST_PATHS.fwCfgModule.slice(1));
    expect(entries.find((e) => e.path === GUEST_PATHS.init)).toMatchObject({ type: 'file', mode: 0o755, data: init });
    for (const d of ['proc', 'sys', 'tmp']) expect(paths).toContain(d);
    // The writer checks parents come first; it must accept the layout.
    expect(() => writeCpio(entries)).not.toThrow();
  });

  it('leaves the module and lib/ out when there is none', () => {
    const e = initramfsEntries(new Uint8Array([0x7f]), null, initScript({ hasFwCfgModule: false }));
    expect(e.some((x) => x.path.includes('qemu_fw_cfg'))).toBe(false);
    expect(e.some((x) => x.path === 'lib')).toBe(false);
  });
});

describe('buildInitramfs', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'e820-initramfs-'));
    writeFileSync(join(dir, 'busybox'), 'not really busybox');
    writeFileSync(join(dir, 'mod.ko'), 'not really a module');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('builds once per distinct input and reuses the cached image', async () => {
    const msgs: string[] = [];
    const opts = { cacheDir: join(dir, 'cache'), onProgress: (m: string) => msgs.push(m) };
    const inputs = { busybox: join(dir, 'busybox'), fwCfgModule: join(dir, 'mod.ko') };
    const a = await buildInitramfs(inputs, undefined, opts);
    const b = await buildInitramfs(inputs, undefined, opts);
    expect(b).toBe(a);
    expect(msgs[0]).toMatch(/building/);
    expect(msgs[1]).toMatch(/reusing/);
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

