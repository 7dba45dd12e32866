import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { binaryIdentity } from '../../harness/provision/host-tools.ts';
import {
  aptInstallCommand,
  elfLinkage,
  findOrInstallHostTools,
  HostToolsMissingError,
  parseQemuVersion,
} from '../../harness/provision/index.ts';
import { DYNAMIC_ELF, FakeHost, failed, ok, STATIC_ELF, type Handler } from './fake-system.ts';

const QEMU = '/usr/bin/qemu-system-x86_64';
const VERSION = 'QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\nCopyright (c) 2003-2022 Fabrice Bellard\n';
const ALL: [string, Uint8Array][] = [
  [QEMU, STATIC_ELF],
  ['/usr/share/seabios/bios-256k.bin', new Uint8Array(1)],
  ['/usr/share/seabios/bios.bin', new Uint8Array(1)],
];

function host(opts: { without?: string[]; root?: boolean; handler?: Handler } = {}) {
  const files = new Map(ALL.filter(([p]) => !opts.without?.includes(p)));
  const handler: Handler =
    opts.handler ??
    ((cmd) => {
      if (cmd === QEMU) return ok(VERSION);
      return undefined;
    });
  return new FakeHost(files, handler, opts.root ?? true, { 'qemu-system-x86_64': QEMU });
}

/** apt-get install "installs" by putting back every file the test removed. */
const installing =
  (restore: [string, Uint8Array][], first?: { stderr: string }): Handler =>
  (cmd, args, _opts, fake) => {
    if (cmd === QEMU) return ok(VERSION);
    if (cmd === 'apt-get' && args[0] === 'update') return ok();
    if (cmd === 'apt-get' && args[0] === 'install') {
      if (first && !fake.calls.some((c) => c.args[0] === 'update')) return failed(first.stderr);
      for (const [p, d] of restore) fake.files.set(p, d);
      return ok();
    }
    return undefined;
  };

describe('findOrInstallHostTools', () => {
  it('finds everything and parses the QEMU version', async () => {
    const sys = host();
    const msgs: string[] = [];
    await expect(findOrInstallHostTools({ host: sys, onProgress: (m) => msgs.push(m) })).resolves.toEqual({
      qemu: QEMU,
      qemuVersion: '7.2.22',
      qemuVersionLine: 'QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)',
      seabiosDir: '/usr/share/seabios',
    });
    expect(sys.calls.map((c) => c.cmd)).toEqual([QEMU]);
    expect(msgs.at(-1)).toMatch(/QEMU 7\.2\.22/);
  });

  it("remembers QEMU's version per binary identity in the cache, and asks QEMU again when the binary changes", async () => {
    const cache = mkdtempSync(join(tmpdir(), 'e820-host-tools-test-'));
    try {
      let identity = 'dev:1:ino:100:size:5000';
      const opts = (sys: FakeHost) => ({ host: sys, rememberIn: cache, identify: async () => identity });
      const runs = (sys: FakeHost) => sys.calls.filter((c) => c.cmd === QEMU).length;
      const first = host();
      const found = await findOrInstallHostTools(opts(first));
      expect(runs(first)).toBe(1);
      // Warm: the same binary is not run again, and the result is the same.
      const warm = host();
      await expect(findOrInstallHostTools(opts(warm))).resolves.toEqual(found);
      expect(runs(warm)).toBe(0);
      // Another file at the path (dpkg renamed a new one in) or a write to it: asked again.
      identity = 'dev:1:ino:101:size:5000';
      const changed = host({ handler: (cmd) => (cmd === QEMU ? ok(VERSION.replace('7.2.22', '7.2.23')) : undefined) });
      await expect(findOrInstallHostTools(opts(changed))).resolves.toMatchObject({ qemuVersion: '7.2.23' });
      expect(runs(changed)).toBe(1);
      // A damaged record is not trusted: QEMU is asked.
      for (const f of readdirSync(join(cache, 'resolved'))) writeFileSync(join(cache, 'resolved', f), '{"schema":1,"mirror":null,"value":{"identity":');
      const damaged = host();
      await expect(findOrInstallHostTools(opts(damaged))).resolves.toMatchObject({ qemuVersion: '7.2.22' });
      expect(runs(damaged)).toBe(1);
      // An unusable answer is never remembered: the next command asks again (and fails the same way).
      identity = 'dev:1:ino:102:size:5000';
      const broken = () => host({ handler: (cmd) => (cmd === QEMU ? ok('no version here\n') : undefined) });
      await expect(findOrInstallHostTools(opts(broken()))).rejects.toThrow(/did not print "QEMU emulator version/);
      const again = broken();
      await expect(findOrInstallHostTools(opts(again))).rejects.toThrow(/did not print/);
      expect(runs(again)).toBe(1);
      // Without a cache directory nothing is remembered.
      const plain = host();
      await findOrInstallHostTools({ host: plain });
      expect(runs(plain)).toBe(1);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });

  it("a binary's identity is its device, inode, size and times; a missing file or a directory has none", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'e820-identity-test-'));
    try {
      const f = join(dir, 'qemu');
      writeFileSync(f, 'a');
      const before = await binaryIdentity(f);
      expect(before).toMatch(/^\d+:\d+:1:\d+:\d+$/);
      writeFileSync(f, 'bb');
      const after = await binaryIdentity(f);
      expect(after).not.toBeNull();
      expect(after).not.toBe(before);
      expect(await binaryIdentity(join(dir, 'absent'))).toBeNull();
      expect(await binaryIdentity(dir)).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('when not root, names the missing packages and the exact command, and runs nothing', async () => {
    const sys = host({ without: [QEMU, '/usr/share/seabios/bios.bin'], root: false });
    const err = await findOrInstallHostTools({ host: sys }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostToolsMissingError);
    const e = err as HostToolsMissingError;
    expect(e.packages).toEqual(['qemu-system-x86', 'seabios']);
    expect(e.command).toBe('DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends qemu-system-x86 seabios');
    expect(e.message).toContain(e.command);
    expect(e.message).toMatch(/not running as root/i);
    expect(e.missing.join()).toMatch(/qemu-system-x86_64 is not on PATH.*bios\.bin not in \/usr\/share\/seabios/);
    expect(sys.calls).toEqual([]);
  });

  it('as root, installs the missing packages non-interactively and reports progress', async () => {
    const gone = ALL.filter(([p]) => p !== QEMU);
    const sys = host({ without: gone.map(([p]) => p), handler: installing(gone) });
    const msgs: string[] = [];
    const tools = await findOrInstallHostTools({ host: sys, onProgress: (m) => msgs.push(m) });
    expect(tools.seabiosDir).toBe('/usr/share/seabios');
    const install = sys.calls.find((c) => c.cmd === 'apt-get');
    expect(install?.args).toEqual(['install', '-y', '--no-install-recommends', 'seabios']);
    expect(install?.opts?.env).toEqual({ DEBIAN_FRONTEND: 'noninteractive' });
    expect(msgs[0]).toMatch(/installing seabios:/);
  });

  it('runs apt-get update once when apt cannot locate the packages, then retries', async () => {
    const gone = ALL.filter(([p]) => p === QEMU);
    const sys = host({ without: [QEMU], handler: installing(gone, { stderr: 'E: Unable to locate package qemu-system-x86' }) });
    await expect(findOrInstallHostTools({ host: sys })).resolves.toMatchObject({ qemu: QEMU });
    expect(sys.calls.filter((c) => c.cmd === 'apt-get').map((c) => c.args[0])).toEqual(['install', 'update', 'install']);
  });

  it('never installs over a path the caller gave, even as root', async () => {
    const sys = host({ handler: installing([]) });
    const e = await findOrInstallHostTools({ host: sys, qemu: '/opt/qemu/bin/qemu-system-x86_64' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(HostToolsMissingError);
    expect((e as Error).message).toMatch(/\/opt\/qemu\/bin\/qemu-system-x86_64 does not exist/);
    expect(sys.calls).toEqual([]);
  });

  it('respects install: false', async () => {
    const sys = host({ without: ['/usr/share/seabios/bios.bin'] });
    await expect(findOrInstallHostTools({ host: sys, install: false })).rejects.toThrow(/Installing was disabled/);
  });

  it('fails clearly when packages are still missing after installing', async () => {
    const sys = host({ without: ['/usr/share/seabios/bios.bin'], handler: installing([]) });
    await expect(findOrInstallHostTools({ host: sys })).rejects.toThrow(/still missing after installing/);
  });

  it('rejects a qemu whose --version is not QEMU', async () => {
    const sys = host({ handler: (cmd) => (cmd === QEMU ? ok('something else 1.0') : undefined) });
    await expect(findOrInstallHostTools({ host: sys })).rejects.toThrow(/QEMU emulator version/);
  });
});

describe('helpers', () => {
  it('parseQemuVersion', () => {
    expect(parseQemuVersion(VERSION)).toBe('7.2.22');
    expect(parseQemuVersion('QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-1)')).toBe('10.0.2');
    expect(parseQemuVersion('QEMU emulator version 5.2.0')).toBe('5.2.0');
    expect(parseQemuVersion('nope')).toBeNull();
  });

  it('aptInstallCommand', () => {
    expect(aptInstallCommand(['a', 'b'])).toBe('DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends a b');
  });

  it('elfLinkage tells static from dynamic by PT_INTERP', () => {
    expect(elfLinkage(STATIC_ELF)).toBe('static');
    expect(elfLinkage(DYNAMIC_ELF)).toBe('dynamic');
    expect(elfLinkage(Buffer.from('#!/bin/sh\necho hi\n'.padEnd(80)))).toBe('not-elf');
    expect(elfLinkage(STATIC_ELF.subarray(0, 70))).toBe('not-elf');
  });

  it('elfLinkage on a real dynamic binary', (ctx) => {
    if (!existsSync('/bin/dash')) ctx.skip('/bin/dash is missing (Debian essential package dash): no real dynamic ELF to read');
    expect(elfLinkage(readFileSync('/bin/dash'))).toBe('dynamic');
  });
});
