// Other suites' toolchains without the network: apt sources parsing, the private apt root's
// options, the closure unpack and re-rooting, and the verified cache (fakes for apt/dpkg).

import { existsSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import {
  debianArchiveUri,
  parseDeb822Sources,
  parseOneLineSources,
  privateAptOptions,
  privateAptPaths,
  privateSourcesList,
  type AptContext,
} from '../../harness/provision/apt-env.ts';
import { writeManifest } from '../../harness/provision/cache.ts';
import { parseSplitKernelDependencies, selectKernelMembers } from '../../harness/provision/kernel.ts';
import { provisionSeabios } from '../../harness/provision/seabios.ts';
import { findLoader, provisionSuiteQemu, rerootSymlinks, suiteQemuDir, unpackClosure, wrapperScript } from '../../harness/provision/suite-qemu.ts';
import { suiteOf, versionMatches } from '../../harness/provision/toolchain.ts';
import { FakeHost, failed, ok, STATIC_ELF } from './fake-system.ts';

// The shape of this machine's /etc/apt/sources.list.d/debian.sources (host names replaced).
const DEB822 = `Types: deb
# http://snapshot.example/archive/debian/20250520T000000Z
URIs: http://archive.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://archive.example/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Enabled: no
Types: deb
URIs: http://disabled.example/debian
Suites: bookworm
Components: main
`;

describe('apt sources', () => {
  it('reads deb822 stanzas, skipping comments and disabled ones', () => {
    const e = parseDeb822Sources(DEB822);
    expect(e).toHaveLength(2);
    expect(e[0]).toEqual({
      types: ['deb'],
      uris: ['http://archive.example/debian'],
      suites: ['bookworm', 'bookworm-updates'],
      components: ['main'],
      signedBy: '/usr/share/keyrings/debian-archive-keyring.gpg',
    });
  });

  it('reads one-line sources.list entries with options', () => {
    const e = parseOneLineSources(
      '# comment\ndeb [arch=amd64 signed-by=/k.gpg] http://m.example/debian/ bookworm main contrib\ndeb-src http://m.example/debian bookworm main\ndeb http://s.example/debian-security bookworm-security main # x\n',
    );
    expect(e.map((x) => [x.types[0], x.uris[0], x.suites[0], x.signedBy])).toEqual([
      ['deb', 'http://m.example/debian/', 'bookworm', '/k.gpg'],
      ['deb-src', 'http://m.example/debian', 'bookworm', null],
      ['deb', 'http://s.example/debian-security', 'bookworm-security', null],
    ]);
  });

  it("picks the entry serving the host suite's main, not security; the env overrides", () => {
    const deb822 = parseDeb822Sources(DEB822);
    expect(debianArchiveUri(deb822, {})).toBe('http://archive.example/debian');
    // Order does not matter: security first, and a one-line file.
    const lines = parseOneLineSources('deb http://s.example/debian-security bookworm-security main\ndeb http://m.example/debian/ bookworm main\n');
    expect(debianArchiveUri(lines, {})).toBe('http://m.example/debian');
    expect(debianArchiveUri(lines, { E820_APT_MIRROR: 'http://mine.example/debian/' })).toBe('http://mine.example/debian');
    // Another host suite: any plain suite's main that is not the security archive.
    expect(debianArchiveUri(parseOneLineSources('deb http://s.example/debian-security trixie-security main\ndeb http://t.example/debian trixie main\n'), {})).toBe(
      'http://t.example/debian',
    );
    expect(debianArchiveUri(parseOneLineSources('deb-src http://m.example/debian bookworm main\n'), {})).toBeNull();
    expect(debianArchiveUri([], {})).toBeNull();
  });

  it('writes a signed private sources list for one suite', () => {
    expect(privateSourcesList('http://m.example/debian', 'sid', '/k.gpg')).toMatch(/^deb \[arch=amd64 signed-by=\/k\.gpg\] http:\/\/m\.example\/debian sid main$/m);
  });

  it('points every apt path into the private root', () => {
    const p = privateAptPaths('trixie', '/c');
    const o = privateAptOptions(p, true);
    const opts = Object.fromEntries(o.filter((_, i) => i % 2 === 1).map((kv) => kv.split(/=(.*)/s).slice(0, 2) as [string, string]));
    expect(o.filter((_, i) => i % 2 === 0).every((x) => x === '-o')).toBe(true);
    expect(opts['Dir::State::status']).toBe('/c/apt/trixie/dpkg/status');
    expect(opts['Dir::State::Lists']).toBe('/c/apt/trixie/lists');
    expect(opts['Dir::Etc::sourcelist']).toBe('/c/apt/trixie/sources.list');
    expect(opts['Dir::Etc::sourceparts']).toBe('/c/apt/trixie/sources.list.d');
    expect(opts['Dir::Etc::preferencesparts']).toBe('/c/apt/trixie/preferences.d');
    expect(opts['APT::Sandbox::User']).toBe('root');
    expect(privateAptOptions(p, false).join(' ')).not.toMatch(/Sandbox/);
    expect(Object.values(opts).every((v) => v === '' || v === 'amd64' || v === 'none' || v === 'false' || v === 'root' || v.startsWith('/c/apt/trixie'))).toBe(true);
  });
});

describe('versions and suites', () => {
  it('maps versions to suites and matches what the archive reports', () => {
    expect([suiteOf('qemu', '5.2'), suiteOf('seabios', '1.16.3'), suiteOf('kernel', '7.2')]).toEqual(['bullseye', 'trixie', 'sid']);
    expect(() => suiteOf('qemu', '9.9')).toThrow(/no Debian suite provides qemu 9\.9/);
    expect(versionMatches('qemu', '10.0.13', '10.0')).toBe(true);
    expect(versionMatches('qemu', '10.1.0', '10.0')).toBe(false);
    expect(versionMatches('qemu', '7.20.1', '7.2')).toBe(false);
    expect(versionMatches('seabios', '1.16.3-2', '1.16.3')).toBe(true);
    expect(versionMatches('seabios', '1.16.30-1', '1.16.3')).toBe(false);
    expect(versionMatches('kernel', '6.12.107+deb13-cloud-amd64', '6.12')).toBe(true);
    expect(versionMatches('kernel', '6.1.0-56-cloud-amd64', '6.1')).toBe(true);
    expect(versionMatches('kernel', '6.12.107+deb13-cloud-amd64', '6.1')).toBe(false);
    expect(versionMatches('kernel', '7.2.13+deb14-cloud-amd64', '7.2')).toBe(true);
  });
});

describe("sid's split kernel packages", () => {
  it('follows linux-binary/-modules/-base of the release, not the generic linux-base', () => {
    const deps = `linux-image-7.2.13+deb14-cloud-amd64
 |Depends: dracut
 |Depends: initramfs-tools
  Depends: linux-initramfs-tool
  Depends: linux-base-7.2.13+deb14-cloud-amd64
  Depends: linux-binary-7.2.13+deb14-cloud-amd64
  Depends: linux-modules-7.2.13+deb14-cloud-amd64
  Depends: linux-base
`;
    expect(parseSplitKernelDependencies(deps)).toEqual([
      'linux-base-7.2.13+deb14-cloud-amd64',
      'linux-binary-7.2.13+deb14-cloud-amd64',
      'linux-modules-7.2.13+deb14-cloud-amd64',
    ]);
  });

  it('finds vmlinuz and config under /usr/lib/modules/<release>', () => {
    const r = '7.2.13+deb14-cloud-amd64';
    expect(
      selectKernelMembers([`./usr/lib/modules/${r}/vmlinuz`, `./usr/lib/modules/${r}/config`, `./usr/lib/modules/${r}/kernel/drivers/firmware/qemu_fw_cfg.ko.xz`], 'sid'),
    ).toEqual({
      vmlinuz: `./usr/lib/modules/${r}/vmlinuz`,
      release: r,
      module: `./usr/lib/modules/${r}/kernel/drivers/firmware/qemu_fw_cfg.ko.xz`,
      config: `./usr/lib/modules/${r}/config`,
    });
  });
});

describe('closure unpack and the verified cache', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'e820-suite-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('unpacks every .deb and records Package/Version', async () => {
    const sys = new FakeHost(new Map(), (cmd, args) => {
      if (cmd !== 'dpkg-deb') return undefined;
      if (args[0] === '-f') return ok(`Package: ${args[1]!.replace(/^.*\/|_.*$/g, '')}\nVersion: 1.0-${args[1]!.length}\n`);
      if (args[0] === '-x') return ok();
      return undefined;
    });
    const root = join(dir, 'root');
    const pk = await unpackClosure(['/d/zlib1g_1.deb', '/d/libc6_2.deb'], root, sys);
    expect(pk.map((p) => p.name)).toEqual(['libc6', 'zlib1g']);
    expect(sys.calls.filter((c) => c.args[0] === '-x').map((c) => c.args)).toEqual([
      ['-x', '/d/zlib1g_1.deb', root],
      ['-x', '/d/libc6_2.deb', root],
    ]);
  });

  it('a .deb that does not unpack fails the whole closure', async () => {
    const sys = new FakeHost(new Map(), (cmd, args) => (args[0] === '-f' ? ok('Package: a\nVersion: 1\n') : failed('dpkg-deb: corrupt', 2)));
    await expect(unpackClosure(['/d/a.deb'], join(dir, 'r'), sys)).rejects.toThrow(/dpkg-deb -x \/d\/a\.deb failed/);
  });

  it('re-roots absolute symlinks and finds the loader in /lib64 or /usr/lib64', async () => {
    const root = join(dir, 'root');
    mkdirSync(join(root, 'lib64'), { recursive: true });
    mkdirSync(join(root, 'lib/x86_64-linux-gnu'), { recursive: true });
    writeFileSync(join(root, 'lib/x86_64-linux-gnu/ld-2.31.so'), '');
    symlinkSync('/lib/x86_64-linux-gnu/ld-2.31.so', join(root, 'lib64/ld-linux-x86-64.so.2'));
    symlinkSync('libz.so.1.2', join(root, 'lib/x86_64-linux-gnu/libz.so.1'));
    expect(await rerootSymlinks(root)).toBe(1);
    expect(readlinkSync(join(root, 'lib64/ld-linux-x86-64.so.2'))).toBe('../lib/x86_64-linux-gnu/ld-2.31.so');
    expect(readlinkSync(join(root, 'lib/x86_64-linux-gnu/libz.so.1'))).toBe('libz.so.1.2');
    expect(await findLoader(root, async (p) => existsSync(p))).toBe('lib64/ld-linux-x86-64.so.2');
    expect(await findLoader(root, async () => false)).toBeNull();
  });

  it('the wrapper execs the suite loader, isolates the libraries and appends the suite firmware dirs', () => {
    const s = wrapperScript({ suite: 'sid', packageVersion: '1:11.1.3+ds-1', loader: 'usr/lib64/ld-linux-x86-64.so.2', libraryPath: ['usr/lib/x86_64-linux-gnu'], dataDirs: ['usr/share/qemu', 'usr/share/seabios'] });
    expect(s.startsWith('#!/bin/sh\n')).toBe(true);
    expect(s).toMatch(/QEMU_MODULE_DIR="\$r\/usr\/lib\/x86_64-linux-gnu\/qemu"/);
    expect(s).toContain(
      'exec "$r/usr/lib64/ld-linux-x86-64.so.2" --inhibit-cache --library-path "$r/usr/lib/x86_64-linux-gnu" "$r/usr/bin/qemu-system-x86_64" "$@" -L "$r/usr/share/qemu" -L "$r/usr/share/seabios"',
    );
  });

  const fakeApt = (suite: 'trixie'): AptContext => ({ suite, options: ['-o', 'X=1'], canUpdate: async () => true, update: async () => ok(), label: 'fake apt' });
  const policy = (v: string) => ok(`p:\n  Installed: (none)\n  Candidate: ${v}\n`);

  it('a QEMU entry with a manifest is reused without downloading; without one it is rebuilt', async () => {
    const v = '1:10.0.13+ds-0+deb13u1';
    const handler = (cmd: string, args: readonly string[]) =>
      cmd === 'apt-cache' && args.includes('policy')
        ? policy(v)
        : args.includes('--list')
          ? ok('')
          : args[0] === '--version'
            ? ok('QEMU emulator version 10.0.13 (Debian 1:10.0.13+ds-0+deb13u1)')
            : undefined;
    const entry = suiteQemuDir(dir, 'trixie', v);
    mkdirSync(entry, { recursive: true });
    // No manifest: the entry is damaged and rebuilt (the fake refuses the download), leaving no temp dir.
    const said: string[] = [];
    const sys1 = new FakeHost(new Map(), handler);
    await expect(provisionSuiteQemu('trixie', { cacheDir: dir, host: sys1, apt: fakeApt('trixie'), onProgress: (m) => said.push(m) })).rejects.toThrow(
      /unexpected command apt-get .*install --download-only/,
    );
    expect(said.join('\n')).toMatch(/is damaged: manifest\.json is missing.*it will be rebuilt/);
    expect(readdirSync(join(dir, 'qemu')).filter((f) => f.startsWith('.tmp'))).toEqual([]);

    // Cached before records existed, with a root that runs: checked, its records written, reused.
    mkdirSync(join(entry, 'root/usr/lib64'), { recursive: true });
    mkdirSync(join(entry, 'bin'), { recursive: true });
    writeFileSync(join(entry, 'root/usr/lib64/ld-linux-x86-64.so.2'), STATIC_ELF);
    writeFileSync(join(entry, 'bin/qemu-system-x86_64'), '#!/bin/sh\n');
    await writeManifest(entry, {
      schema: 1, suite: 'trixie', package: 'qemu-system-x86', packageVersion: v, qemuVersion: '10.0.13', packages: [{ name: 'libc6', version: '2.41-12' }],
      wrapper: 'bin/qemu-system-x86_64', root: 'root', loader: 'usr/lib64/ld-linux-x86-64.so.2', libraryPath: ['usr/lib/x86_64-linux-gnu'], dataDirs: ['usr/share/qemu'],
    });
    const sys2 = new FakeHost(new Map(), handler);
    const q = await provisionSuiteQemu('trixie', { cacheDir: dir, host: sys2, apt: fakeApt('trixie') });
    expect(q).toMatchObject({ binary: join(entry, 'bin/qemu-system-x86_64'), qemuVersion: '10.0.13', loader: join(entry, 'root/usr/lib64/ld-linux-x86-64.so.2') });
    expect(sys2.calls.some((c) => c.cmd.startsWith('apt-get'))).toBe(false);
    // Verified from then on, and its resolution remembered (provision/resolved.ts): nothing runs at all…
    sys2.calls.length = 0;
    await provisionSuiteQemu('trixie', { cacheDir: dir, host: sys2, apt: fakeApt('trixie') });
    expect(sys2.calls.map((c) => `${c.cmd} ${c.args.join(' ')}`)).toEqual([]);
    // …unless the user asks (toolchain fetch): then only the candidate lookup.
    await provisionSuiteQemu('trixie', { cacheDir: dir, host: sys2, apt: fakeApt('trixie'), fresh: true });
    expect(sys2.calls.map((c) => `${c.cmd} ${c.args.join(' ')}`)).toEqual(['apt-cache -o X=1 policy qemu-system-x86']);
  });

  it('a failed apt download leaves SeaBIOS uncached and says why', async () => {
    const sys = new FakeHost(new Map(), (cmd, args) =>
      cmd === 'apt-cache' ? policy('1.16.3-2') : cmd === 'apt-get' && args.includes('download') ? failed('E: Failed to fetch 404 Not Found') : undefined,
    );
    await expect(provisionSeabios('trixie', { cacheDir: dir, host: sys, apt: fakeApt('trixie') })).rejects.toThrow(/apt-get download seabios=1\.16\.3-2 \(trixie\) failed.*404/s);
    expect(readdirSync(join(dir, 'seabios'))).toEqual([]);
  });
});
