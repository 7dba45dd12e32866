// Fault injection, security: code planted by another local user, signature checks, a hostile
// apt mirror setting, and reproducers that must be safe to paste. The tool runs as root, so each
// probe plays the other user (nobody) for real where one is needed.

import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { reproducer } from '../../harness/explore/explore.ts';
import { shellQuote } from '../../harness/errors.ts';
import { REPO_ROOT } from '../../harness/matrix/paths.ts';
import { privateApt, privateAptPaths } from '../../harness/provision/apt-env.ts';
import { ProvisionError } from '../../harness/provision/errors.ts';
import type { Cell } from '../../harness/matrix/schema.ts';
import { BASELINE_TOOLCHAIN } from '../../reference/toolchain.ts';
import { faultProbe } from './ledger.ts';

const E820 = join(REPO_ROOT, 'bin', 'e820.js');
const PREDICT = ['predict', '--', '-M', 'pc', '-m', '1G'];

/** Runs argv as the unprivileged user nobody (setpriv: no shell, no inherited groups). */
function asNobody(argv: readonly string[]): void {
  execFileSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', '--', ...argv], { stdio: 'pipe' });
}

describe('security', () => {
  faultProbe('a tsx transform cache another user planted in TMPDIR is never run by e820', async () => {
    // A world-writable sticky directory, as /tmp is; the marker lives where only root can write.
    const shared = mkdtempSync(join(tmpdir(), 'e820-fault-sharedtmp-'));
    chmodSync(shared, 0o1777);
    const rootOnly = mkdtempSync(join(tmpdir(), 'e820-fault-marker-'));
    const marker = join(rootOnly, 'planted-code-ran');
    const staging = mkdtempSync(join(tmpdir(), 'e820-fault-staging-'));
    try {
      // What a cache-enabled tsx writes for this very CLI (the loader as it used to be set up):
      // learn the cache entries, then turn each into the attacker's version.
      const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: staging };
      delete env.TSX_DISABLE_CACHE;
      execFileSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'harness', 'cli', 'main.ts'), ...PREDICT], { cwd: REPO_ROOT, env, stdio: 'pipe' });
      const cacheName = readdirSync(staging).find((n) => n.startsWith('tsx-'))!;
      const cache = join(staging, cacheName);
      for (const f of readdirSync(cache)) {
        const entry = JSON.parse(readFileSync(join(cache, f), 'utf8')) as { code: string };
        entry.code = `import{writeFileSync as __planted}from"node:fs";__planted(${JSON.stringify(marker)},"ran");${entry.code}`;
        writeFileSync(join(cache, f), JSON.stringify(entry), { mode: 0o644 });
      }
      chmodSync(staging, 0o755);
      chmodSync(cache, 0o755);
      // nobody plants it at the predictable path, before root runs anything.
      asNobody(['cp', '-r', cache, join(shared, cacheName)]);

      // The plant works against a cache-enabled loader (so this probe can fail)…
      spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'harness', 'cli', 'main.ts'), ...PREDICT], { cwd: REPO_ROOT, env: { ...env, TMPDIR: shared }, stdio: 'pipe' });
      expect(existsSync(marker), 'the planted cache should run under a cache-enabled tsx').toBe(true);
      rmSync(marker);

      // …and e820's own entry points never read it: the compiled CLI, and the tsx path it falls
      // back to when the build is stale (forced here, whatever the build's state).
      for (const from of [{}, { E820_CLI_FROM: 'tsx' }]) {
        const out = spawnSync(process.execPath, [E820, ...PREDICT], { cwd: REPO_ROOT, env: { ...process.env, TMPDIR: shared, ...from }, encoding: 'utf8' });
        expect(out.status, out.stderr).toBe(0);
        expect(out.stdout).toContain('BIOS-e820');
        expect(existsSync(marker)).toBe(false);
      }
      const npx = spawnSync('npx', ['--no-install', 'e820', ...PREDICT], { cwd: REPO_ROOT, env: { ...process.env, TMPDIR: shared }, encoding: 'utf8' });
      expect(npx.status, npx.stderr).toBe(0);
      expect(existsSync(marker)).toBe(false);
      // Nothing of e820's own was written there either.
      return { tempDirsLeft: readdirSync(shared).filter((n) => n !== cacheName).length };
    } finally {
      for (const d of [shared, rootOnly, staging]) rmSync(d, { recursive: true, force: true });
    }
  });

  faultProbe('without Debian\'s keyring a private apt root is refused, never written trusted=yes', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'e820-fault-keyring-'));
    try {
      const hostSources = [{ types: ['deb'], uris: ['http://archive.example/debian'], suites: ['bookworm'], components: ['main'], signedBy: null }];
      const err = await privateApt('trixie', { cacheDir: cache, hostSources, env: {}, keyring: join(cache, 'no-such-keyring.gpg') }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProvisionError);
      expect((err as Error).message).toMatch(/keyring .*no-such-keyring\.gpg is missing.*apt-get install debian-archive-keyring/s);
      expect(existsSync(privateAptPaths('trixie', cache).sourcesList)).toBe(false);
      // With the keyring the list is signed by it.
      const keyring = join(cache, 'k.gpg');
      writeFileSync(keyring, '');
      const ctx = await privateApt('trixie', { cacheDir: cache, hostSources, env: {}, keyring });
      expect(readFileSync(ctx.paths.sourcesList, 'utf8')).toMatch(new RegExp(`^deb \\[arch=amd64 signed-by=${keyring}\\] http://archive\\.example/debian trixie main$`, 'm'));
      expect(readFileSync(ctx.paths.sourcesList, 'utf8')).not.toContain('trusted');
      return {};
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });

  faultProbe('E820_APT_MIRROR that would add a second apt source is refused, naming the variable', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'e820-fault-mirror-'));
    try {
      const keyring = join(cache, 'k.gpg');
      writeFileSync(keyring, '');
      for (const hostile of [
        'http://archive.example/debian trixie main\ndeb [trusted=yes] http://evil.example/ sid main\n#',
        'http://archive.example/debian\rdeb http://evil.example/ sid main',
        '[trusted=yes] http://evil.example/debian',
        'http://archive.example/debian sid main',
        'ftp://archive.example/debian',
        'not a uri',
      ]) {
        const err = await privateApt('sid', { cacheDir: cache, hostSources: [], env: { E820_APT_MIRROR: hostile }, keyring }).catch((e: unknown) => e);
        expect(err, JSON.stringify(hostile)).toBeInstanceOf(ProvisionError);
        expect((err as Error).message).toMatch(/^E820_APT_MIRROR: /);
        expect(existsSync(privateAptPaths('sid', cache).sourcesList)).toBe(false);
      }
      // Through the real CLI too: the fetch fails before apt runs (exit 1: a component failed), naming the variable.
      const out = spawnSync(process.execPath, [E820, 'toolchain', 'fetch', '--qemu', '11.1'], {
        cwd: REPO_ROOT,
        env: { ...process.env, E820_CACHE_DIR: cache, E820_APT_MIRROR: 'http://archive.example/debian\ndeb [trusted=yes] http://evil.example/ sid main' },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(out.status, out.stderr).toBe(1);
      expect(out.stdout + out.stderr).toMatch(/qemu 11\.1 \(sid\): FAILED .*E820_APT_MIRROR: .* is not an archive URI/);
      expect(existsSync(privateAptPaths('sid', cache).sourcesList)).toBe(false);
      return {};
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });

  faultProbe('explore reproducers paste into bash as exactly the cell\'s words ($, quotes, control bytes)', async () => {
    const words = ['-M', 'pc', '-m', '2G', '-name', "it's $HOME `id` \u001b[2J"];
    const append = 'memmap=1M$0x50000000 mem=$((1<<30)) console=ttyS0';
    const cell: Cell = { matrix: 'explore', file: '/x/explore.yaml', index: 0, id: 'x1', qemu: words, append, toolchains: [BASELINE_TOOLCHAIN], note: null, timeoutSeconds: null, line: 1 };
    const repro = reproducer(cell, BASELINE_TOOLCHAIN, '/x/$(id)/explore.yaml');
    for (const command of [repro.check, repro.replay!]) {
      expect(command).not.toMatch(/[\u0000-\u001f]/);
      // Replace `npx e820` with a function that prints its words, and let bash parse the rest.
      const printed = execFileSync('bash', ['-c', `e820() { printf '%s\\0' "$@"; }; ${command.replace(/^npx e820 /, 'e820 ')}`], { encoding: 'utf8' });
      const got = printed.split('\0').slice(0, -1);
      if (command === repro.check) expect(got).toEqual(['check', '--append', append, '--', ...words]);
      else expect(got).toEqual(['explore', '--replay', '/x/$(id)/explore.yaml', '--only', '^x1$']);
    }
    expect(execFileSync('bash', ['-c', `printf '%s\\0' ${shellQuote(['a\nb', "c'd", '\u0000x'.slice(1)])}`], { encoding: 'utf8' }).split('\0').slice(0, -1)).toEqual(['a\nb', "c'd", 'x']);
    return {};
  });
});
