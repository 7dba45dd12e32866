// Fault injection, the cache: damaged entries (a kernel cut in half, a garbage module, half a BIOS,
// half of a QEMU root's libc, a cut initramfs), entries without a manifest, and two processes
// provisioning at once. Everything runs the real provisioning code on a temp cache, behind the
// Host interface (a fake host, suites/faults/fake-apt.ts): no network, no apt.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect } from 'vitest';

import { buildInitramfs } from '../../guests/initramfs.ts';
import { REPO_ROOT } from '../../harness/matrix/paths.ts';
import { findOrInstallHostTools } from '../../harness/provision/host-tools.ts';
import { AptLockError, CacheLockTimeoutError } from '../../harness/provision/errors.ts';
import { provisionKernel } from '../../harness/provision/kernel.ts';
import { acquireLock, cacheLockPath } from '../../harness/provision/lock.ts';
import { provisionSeabios } from '../../harness/provision/seabios.ts';
import { provisionSuiteQemu } from '../../harness/provision/suite-qemu.ts';
import { FakeHost, STATIC_ELF } from '../provision/fake-system.ts';
import { failed, fakeApt, fakeElf, kernelWorld, ok, qemuWorld, seabiosWorld } from './fake-apt.ts';
import { countAlive, faultProbe } from './ledger.ts';

// apt-lock waits poll every 50 ms here instead of 2 s.
process.env.E820_APT_LOCK_POLL_MS = '50';

const CHILD = join(REPO_ROOT, 'suites', 'faults', 'fixtures', 'cache-child.ts');
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const caches: string[] = [];
function tempCache(): string {
  const d = mkdtempSync(join(tmpdir(), 'e820-fault-cache-'));
  caches.push(d);
  return d;
}
afterEach(() => {
  for (const d of caches.splice(0)) rmSync(d, { recursive: true, force: true });
  delete process.env.E820_APT_LOCK_TIMEOUT;
});

/** What a build or an abort left in the cache: temp dirs/files, lock files, break guards. */
function leftovers(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (/^\.tmp-|\.lock$|\.lock\.break$|\.tmp$/.test(e.name)) out.push(p);
      else if (e.isDirectory() && !e.isSymbolicLink()) walk(p);
    }
  };
  walk(dir);
  return out;
}

describe('damaged cache entries are named and rebuilt', () => {
  faultProbe('a kernel cut in half is named (entry and file), rebuilt, and the same bytes boot', async () => {
    const cache = tempCache();
    const sys = kernelWorld();
    const said: string[] = [];
    const opts = { cacheDir: cache, host: sys, apt: fakeApt(null), onProgress: (m: string) => said.push(m) };
    const k1 = await provisionKernel({}, opts);
    const good = readFileSync(k1.vmlinuz);
    truncateSync(k1.vmlinuz, good.length / 2);
    said.length = 0;

    const k2 = await provisionKernel({}, opts);
    const entry = join(cache, 'kernels', 'linux-image-6.1.0-56-cloud-amd64_6.1.192-2');
    expect(said.join('\n')).toMatch(
      new RegExp(`kernel: cache entry ${esc(entry)} is damaged: vmlinuz is ${good.length / 2} bytes, ${good.length} when cached \\(cut short\\); it will be rebuilt`),
    );
    expect(said).toContain(`kernel: rebuilt ${entry}`);
    expect(readFileSync(k2.vmlinuz).equals(good)).toBe(true);
    expect(sys.downloads()).toBe(2);
    said.length = 0;
    await provisionKernel({}, opts);
    expect(said.join('\n')).toMatch(/kernel: reusing/);
    expect(sys.downloads()).toBe(2);
    return { tempDirsLeft: leftovers(cache).length };
  });

  faultProbe('a garbage fw_cfg module of the right size is caught by its hash', async () => {
    const cache = tempCache();
    const said: string[] = [];
    const opts = { cacheDir: cache, host: kernelWorld(), apt: fakeApt(null), onProgress: (m: string) => said.push(m) };
    const k = await provisionKernel({}, opts);
    const size = readFileSync(k.fwCfgModule!).length;
    writeFileSync(k.fwCfgModule!, fakeElf(size, 999));
    said.length = 0;
    await provisionKernel({}, opts);
    expect(said.join('\n')).toMatch(/is damaged: qemu_fw_cfg\.ko has other content than when cached \(sha256 differs\); it will be rebuilt/);
    expect(readFileSync(k.fwCfgModule!).equals(fakeElf(size, 999))).toBe(false);
    return { tempDirsLeft: leftovers(cache).length };
  });

  faultProbe('half a BIOS (still a 64 KiB multiple, which QEMU loads and hangs on) is rebuilt before any boot', async () => {
    const cache = tempCache();
    const said: string[] = [];
    const opts = { cacheDir: cache, host: seabiosWorld(), apt: fakeApt('trixie'), onProgress: (m: string) => said.push(m) };
    const s = await provisionSeabios('trixie', opts);
    const good = readFileSync(s.image);
    truncateSync(s.image, 128 * 1024);
    said.length = 0;
    const t0 = performance.now();
    const again = await provisionSeabios('trixie', opts);
    expect(performance.now() - t0).toBeLessThan(2_000);
    expect(said.join('\n')).toMatch(new RegExp(`seabios trixie: cache entry ${esc(s.dir)} is damaged: bios-256k\\.bin is 131072 bytes, 262144 when cached \\(cut short\\)`));
    expect(readFileSync(again.image).equals(good)).toBe(true);
    return { tempDirsLeft: leftovers(cache).length };
  });

  faultProbe("half of a QEMU root's libc, then garbage of the same size, is named and rebuilt", async () => {
    const cache = tempCache();
    const sys = qemuWorld();
    const said: string[] = [];
    const opts = { cacheDir: cache, host: sys, apt: fakeApt('trixie'), onProgress: (m: string) => said.push(m) };
    const q = await provisionSuiteQemu('trixie', opts);
    const manifest = JSON.parse(readFileSync(join(q.entryDir, 'manifest.json'), 'utf8')) as { verify: { hashed: string[]; files: Record<string, unknown> } };
    const libc = 'root/usr/lib/x86_64-linux-gnu/libc.so.6';
    // Loader, libc, the root's BIOS and the libraries QEMU loads are hashed; every file is sized.
    expect(manifest.verify.hashed).toEqual(expect.arrayContaining(['root/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', libc, 'root/usr/share/seabios/bios-256k.bin', 'root/usr/lib/x86_64-linux-gnu/libpixman-1.so.0']));
    expect(Object.keys(manifest.verify.files)).toContain('bin/qemu-system-x86_64');
    const good = readFileSync(join(q.entryDir, libc));

    truncateSync(join(q.entryDir, libc), good.length / 2);
    said.length = 0;
    await provisionSuiteQemu('trixie', opts);
    expect(said.join('\n')).toMatch(new RegExp(`qemu trixie: cache entry ${esc(q.entryDir)} is damaged: ${esc(libc)} is \\d+ bytes, \\d+ when cached \\(cut short\\); it will be rebuilt`));
    expect(readFileSync(join(q.entryDir, libc)).equals(good)).toBe(true);

    writeFileSync(join(q.entryDir, libc), Buffer.alloc(good.length, 0x5a));
    said.length = 0;
    await provisionSuiteQemu('trixie', opts);
    expect(said.join('\n')).toMatch(new RegExp(`${esc(libc)} has other content than when cached`));
    expect(readFileSync(join(q.entryDir, libc)).equals(good)).toBe(true);
    expect(sys.downloads()).toBe(3);
    return { tempDirsLeft: leftovers(cache).length };
  });

  faultProbe('an initramfs cut in half is named and rebuilt', async () => {
    const cache = tempCache();
    const said: string[] = [];
    const dir = join(cache, 'initramfs');
    const build = () => buildInitramfs({ fwCfgModule: null }, undefined, { cacheDir: dir, onProgress: (m) => said.push(m) });
    const image = await build();
    const good = readFileSync(image);
    truncateSync(image, Math.floor(good.length / 2));
    said.length = 0;
    expect(await build()).toBe(image);
    expect(said.join('\n')).toMatch(new RegExp(`initramfs: cache entry ${esc(image)} is damaged: initramfs-\\w+\\.cpio is \\d+ bytes, ${good.length} when cached \\(cut short\\)`));
    expect(readFileSync(image).equals(good)).toBe(true);
    // An image without its record (cached before records existed, or cut off before it) is rebuilt too.
    unlinkSync(`${image}.json`);
    said.length = 0;
    await build();
    expect(said.join('\n')).toMatch(/\.cpio\.json is missing/);
    expect(existsSync(`${image}.json`)).toBe(true);
    return { tempDirsLeft: leftovers(cache).length };
  });
});

describe('entries without a manifest, or from before records', () => {
  faultProbe('a kernel entry whose manifest is missing is rebuilt (a failed rebuild leaves nothing; the next run repairs it)', async () => {
    const cache = tempCache();
    const said: string[] = [];
    const opts = { cacheDir: cache, apt: fakeApt(null), onProgress: (m: string) => said.push(m) };
    const k = await provisionKernel({}, { ...opts, host: kernelWorld() });
    const entry = join(cache, 'kernels', 'linux-image-6.1.0-56-cloud-amd64_6.1.192-2');
    unlinkSync(join(entry, 'manifest.json'));

    // The mirror is down this time: the rebuild fails with apt's error, leaving no temp dir behind.
    const down = kernelWorld({ duringDownload: async () => failed('E: Failed to fetch http://mirror.example/debian 503') });
    await expect(provisionKernel({}, { ...opts, host: down })).rejects.toThrow(/apt-get download .* failed.*503/s);
    expect(said.join('\n')).toMatch(new RegExp(`cache entry ${esc(entry)} is damaged: manifest\\.json is missing or unreadable`));
    const left = leftovers(cache).length;

    said.length = 0;
    const up = kernelWorld();
    const again = await provisionKernel({}, { ...opts, host: up });
    expect(again).toEqual(k);
    expect(up.downloads()).toBe(1);
    said.length = 0;
    await provisionKernel({}, { ...opts, host: up });
    expect(said.join('\n')).toMatch(/kernel: reusing/);
    return { tempDirsLeft: left + leftovers(cache).length };
  });

  faultProbe('an entry cached before records existed is checked: whole it is adopted, cut it is rebuilt', async () => {
    const cache = tempCache();
    const said: string[] = [];
    const opts = { cacheDir: cache, apt: fakeApt(null), onProgress: (m: string) => said.push(m) };
    const k = await provisionKernel({}, { ...opts, host: kernelWorld() });
    const entry = join(cache, 'kernels', 'linux-image-6.1.0-56-cloud-amd64_6.1.192-2');
    const strip = () => {
      const m = JSON.parse(readFileSync(join(entry, 'manifest.json'), 'utf8')) as Record<string, unknown>;
      delete m.verify;
      writeFileSync(join(entry, 'manifest.json'), JSON.stringify(m));
    };
    strip();
    const sys = kernelWorld();
    said.length = 0;
    await provisionKernel({}, { ...opts, host: sys });
    expect(sys.downloads()).toBe(0);
    expect(said.join('\n')).toMatch(/recorded sizes and hashes of .*cached before entries were verified/);

    strip();
    truncateSync(k.vmlinuz, 100_000);
    said.length = 0;
    await provisionKernel({}, { ...opts, host: sys });
    expect(said.join('\n')).toMatch(/is damaged: vmlinuz is 100000 bytes, its bzImage header says \d+ \(cut short\); it will be rebuilt/);
    expect(sys.downloads()).toBe(1);
    return { tempDirsLeft: leftovers(cache).length };
  });
});

interface Child {
  pid: number;
  out: string;
  code: Promise<number | null>;
  line: (re: RegExp) => Promise<void>;
}

function child(args: string[]): Child {
  const p = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { cwd: REPO_ROOT, env: { ...process.env, TSX_DISABLE_CACHE: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const c: Child = {
    pid: p.pid!,
    out: '',
    code: new Promise((resolve) => p.on('exit', (code) => resolve(code))),
    line: (re) =>
      new Promise((resolve, reject) => {
        const check = () => (re.test(c.out) ? resolve() : undefined);
        p.stdout.on('data', check);
        p.on('exit', () => (re.test(c.out) ? resolve() : reject(new Error(`child exited without ${re}: ${c.out}`))));
        check();
      }),
  };
  p.stdout.on('data', (d: Buffer) => (c.out += d.toString()));
  p.stderr.on('data', (d: Buffer) => (c.out += d.toString()));
  return c;
}

describe('two runs at once', () => {
  faultProbe('two processes provisioning the same SeaBIOS take turns: one download, no apt lock error', async () => {
    const cache = tempCache();
    const log = join(cache, 'downloads.log');
    writeFileSync(log, '');
    const aptLock = join(cache, 'fake-apt.lock');
    const a = child(['seabios', cache, log, aptLock]);
    const b = child(['seabios', cache, log, aptLock]);
    const codes = await Promise.all([a.code, b.code]);
    expect(codes, `${a.out}\n---\n${b.out}`).toEqual([0, 0]);
    const outs = [a.out, b.out];
    expect(readFileSync(log, 'utf8').trim().split('\n')).toHaveLength(1);
    // The later one waited for the first, by name, and then reused what it made.
    const waiter = outs.find((o) => /waiting for the cache lock .*apt-trixie\.lock, held by pid \d+ \(seabios trixie\)/.test(o));
    expect(waiter, outs.join('\n---\n')).toBeDefined();
    expect(waiter).toMatch(/seabios trixie: reusing 1\.16\.3-2/);
    expect(outs.join('\n')).not.toMatch(/Could not get lock|mirror/);
    const dirs = outs.map((o) => (JSON.parse(/^result (.*)$/m.exec(o)![1]!) as { dir: string }).dir);
    expect(dirs[0]).toBe(dirs[1]);
    return { orphans: countAlive([a.pid, b.pid]), tempDirsLeft: leftovers(cache).length };
  }, 30_000);

  faultProbe('a lock left by a killed process is taken over at once, naming the dead pid', async () => {
    const cache = tempCache();
    const lock = cacheLockPath(cache, 'apt-trixie');
    const holder = child(['hold', lock]);
    await holder.line(/^locked$/m);
    process.kill(holder.pid, 'SIGKILL');
    await holder.code;
    expect(existsSync(lock)).toBe(true);

    const said: string[] = [];
    const t0 = performance.now();
    const release = await acquireLock(lock, { onProgress: (m) => said.push(m), timeoutMs: 5_000, pollMs: 20 });
    expect(performance.now() - t0).toBeLessThan(1_000);
    expect(said.join('\n')).toMatch(new RegExp(`cache lock ${esc(lock)}: left by pid ${holder.pid} \\(a holder that will be killed\\), which is no longer running; taking it over`));
    await release();
    // A live holder is waited for, by name, and the wait is bounded.
    const r1 = await acquireLock(lock, {});
    const err = await acquireLock(lock, { timeoutMs: 300, pollMs: 20 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CacheLockTimeoutError);
    expect((err as Error).message).toMatch(new RegExp(`waiting for the cache lock ${esc(lock)}, held by pid ${process.pid} \\(provisioning\\)`));
    await r1();
    return { orphans: countAlive([holder.pid]), tempDirsLeft: leftovers(cache).length };
  });

  faultProbe("five takers racing for a dead holder's lock hold it one at a time", async () => {
    const cache = tempCache();
    const lock = cacheLockPath(cache, 'apt-sid');
    const gone = spawnSync('true');
    mkdirSync(join(cache, 'locks'), { recursive: true });
    writeFileSync(lock, JSON.stringify({ pid: gone.pid, host: hostname(), start: null, since: 'then', purpose: 'dead', token: 'x' }));
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 5 }, async () => {
        const release = await acquireLock(lock, { pollMs: 5, timeoutMs: 5_000 });
        most = Math.max(most, ++inside);
        await new Promise((r) => setTimeout(r, 20));
        inside--;
        await release();
      }),
    );
    expect(most).toBe(1);
    return { tempDirsLeft: leftovers(cache).length };
  });

  faultProbe('Ctrl-C during a download releases the lock and leaves no temp dir; the next run proceeds', async () => {
    const cache = tempCache();
    const controller = new AbortController();
    let started!: () => void;
    const downloading = new Promise<void>((r) => (started = r));
    const hanging = seabiosWorld({
      duringDownload: (opts) =>
        new Promise((_, reject) => {
          started();
          opts?.signal?.addEventListener('abort', () => reject(opts.signal!.reason), { once: true });
        }),
    });
    const run = provisionSeabios('trixie', { cacheDir: cache, host: hanging, signal: controller.signal, apt: fakeApt('trixie') });
    await downloading;
    // A second run in the same process waits for the lock meanwhile…
    const waiter = provisionSeabios('trixie', { cacheDir: cache, host: seabiosWorld(), apt: fakeApt('trixie') });
    controller.abort(new Error('interrupted by the user'));
    await expect(run).rejects.toThrow('interrupted by the user');
    // …and gets it at once when the aborted one lets go.
    const s = await waiter;
    expect(existsSync(s.image)).toBe(true);
    expect(existsSync(cacheLockPath(cache, 'apt-trixie'))).toBe(false);
    return { tempDirsLeft: leftovers(cache).length };
  });

  faultProbe("the host's dpkg lock held by another apt is waited for, then named — never blamed on the mirror", async () => {
    const busy = 'E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)\nE: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), is another process using it?';
    const QEMU = '/usr/bin/qemu-system-x86_64';
    let attempts = 0;
    const host = (freeAfter: number) =>
      new FakeHost(
        new Map<string, Uint8Array>([[QEMU, STATIC_ELF], ['/usr/share/seabios/bios-256k.bin', new Uint8Array(1)]]),
        (cmd, args, _o, fake) => {
          if (cmd === QEMU) return ok('QEMU emulator version 7.2.22\n');
          if (cmd === 'apt-get' && args[0] === 'install') {
            if (++attempts <= freeAfter) return failed(busy);
            fake.files.set('/usr/share/seabios/bios.bin', new Uint8Array(1));
            return ok();
          }
          return undefined;
        },
        true,
        { 'qemu-system-x86_64': QEMU },
      );
    const said: string[] = [];
    await expect(findOrInstallHostTools({ host: host(3), onProgress: (m) => said.push(m) })).resolves.toMatchObject({ seabiosDir: '/usr/share/seabios' });
    expect(said.filter((m) => /lock/.test(m))).toEqual(["apt-get install: apt's lock /var/lib/dpkg/lock-frontend is held by process 4242 (apt-get); waiting (up to 120 s)"]);

    process.env.E820_APT_LOCK_TIMEOUT = '0.3';
    attempts = 0;
    const err = await findOrInstallHostTools({ host: host(Infinity) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AptLockError);
    expect(err).toMatchObject({ lock: '/var/lib/dpkg/lock-frontend', holder: 'process 4242 (apt-get)' });
    expect((err as Error).message).not.toMatch(/mirror|sources/);
    expect(attempts).toBeGreaterThan(1);
    return {};
  });
});

describe('what a killed provisioning leaves', () => {
  faultProbe('a cache temp dir of a SIGKILLed provisioning is swept by the next e820; a live one\'s is kept', async () => {
    const cache = tempCache();
    const start = (dest: string) => {
      const p = spawn(process.execPath, ['--import', 'tsx', CHILD, 'publish-hang', dest], { cwd: REPO_ROOT, env: { ...process.env, TSX_DISABLE_CACHE: '1' }, stdio: ['ignore', 'pipe', 'inherit'] });
      const filling = new Promise<void>((r) => p.stdout!.on('data', (d: Buffer) => d.toString().includes('filling') && r()));
      return { p, filling, exited: new Promise<void>((r) => p.on('exit', () => r())) };
    };
    const killed = start(join(cache, 'kernels', 'entry-a'));
    const live = start(join(cache, 'seabios', 'entry-b'));
    try {
      await Promise.all([killed.filling, live.filling]);
      killed.p.kill('SIGKILL');
      await killed.exited;
      const temps = () => [...readdirSync(join(cache, 'kernels')), ...readdirSync(join(cache, 'seabios'))].filter((n) => n.startsWith('.tmp-'));
      expect(temps().sort()).toEqual([expect.stringMatching(new RegExp(`^\\.tmp-${killed.p.pid}-`)), expect.stringMatching(new RegExp(`^\\.tmp-${live.p.pid}-`))].sort());
      const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'e820.js'), 'predict', '--', '-M', 'pc'], { cwd: REPO_ROOT, env: { ...process.env, E820_CACHE_DIR: cache }, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(temps()).toEqual([expect.stringMatching(new RegExp(`^\\.tmp-${live.p.pid}-`))]);
      live.p.kill('SIGTERM');
      await live.exited;
      // The live one's temp dir is now a dead owner's too: the next start takes it.
      spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'e820.js'), 'predict', '--', '-M', 'pc'], { cwd: REPO_ROOT, env: { ...process.env, E820_CACHE_DIR: cache } });
      return { orphans: countAlive([killed.p.pid!, live.p.pid!]), tempDirsLeft: temps().length };
    } finally {
      killed.p.kill('SIGKILL');
      live.p.kill('SIGKILL');
    }
  });
});
