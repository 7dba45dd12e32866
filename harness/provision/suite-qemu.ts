// QEMU of another Debian suite, run from that suite's unpacked packages with its own dynamic
// loader — no chroot, no debootstrap, no root needed to run it.
//
// Why not debootstrap + chroot: a chroot hides the host paths the harness hands QEMU (kernel,
// initramfs, log files in /tmp), so every boot would need bind mounts and root; debootstrap
// also fetches and unpacks the whole base system (~300 MB, minutes) where QEMU needs ~70
// packages. Here: `apt-get install --download-only` against an empty dpkg status yields the
// complete dependency closure (libc6 included), each .deb is unpacked with `dpkg-deb -x`, and a
// wrapper script execs `<root>/…/ld-linux-x86-64.so.2 --inhibit-cache --library-path … qemu`.
// The wrapper and the loader exec in place, so the pid the runner spawned is QEMU's own and
// its process-group teardown still reaches it.
//
// Firmware: the wrapper appends `-L` for the suite's /usr/share/qemu, /usr/share/seabios and
// /usr/lib/ipxe/qemu after the caller's arguments. QEMU searches -L directories in the order
// given, before its built-in paths, so the suite's ROMs win over the host's, while a `-L`
// the harness puts first (another SeaBIOS) still wins over the suite's.

import { lstat, mkdir, readdir, readlink, realpath, rm, symlink, unlink, writeFile, chmod } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';

import { ensureAptLists, privateApt, type AptContext, type DebianSuite, type PrivateAptPaths } from './apt-env.ts';
import { retryWhileAptLocked } from './apt-lock.ts';
import { cacheDir as defaultCacheDir, readManifest } from './cache.ts';
import { AptError, ProvisionError } from './errors.ts';
import { parseQemuVersion, SEABIOS_IMAGES } from './host-tools.ts';
import { parseCandidate } from './kernel.ts';
import { cacheLockPath, withLock } from './lock.ts';
import { hostFor } from '../host/abortable.ts';
import type { Host } from '../host/types.ts';
import { pickHashed, usableEntry, verifiedEntry, type Damage } from './verify.ts';
import { isString, recalled, remember } from './resolved.ts';

export const QEMU_PACKAGE = 'qemu-system-x86';
const LIB_DIRS = ['lib/x86_64-linux-gnu', 'usr/lib/x86_64-linux-gnu'] as const;
/** Where the suite's firmware lives (Debian's CONFIG_QEMU_FIRMWAREPATH, rooted). */
export const SUITE_DATA_DIRS = ['usr/share/qemu', 'usr/share/seabios', 'usr/lib/ipxe/qemu'] as const;
/** Merged-/usr suites ship the loader in /usr/lib64, older ones in /lib64. */
const LOADERS = ['usr/lib64/ld-linux-x86-64.so.2', 'lib64/ld-linux-x86-64.so.2'] as const;
/**
 * Libraries a suite's closure dlopen()s without depending on them: the loader would find the
 * host's copy in its built-in /lib path. Bullseye's libdw (elfutils 0.183, via gstreamer)
 * dlopens libdebuginfod.so.1 in a constructor, unconditionally.
 */
export const EXTRA_PACKAGES: Partial<Record<DebianSuite, readonly string[]>> = { bullseye: ['libdebuginfod1'] };
/** Dropped after unpacking: documentation nobody runs (about 25 MB per suite). */
const PRUNE = ['usr/share/doc', 'usr/share/man', 'usr/share/locale', 'usr/share/info', 'usr/share/lintian', 'usr/share/bug'] as const;

export interface SuiteQemuManifest {
  schema: 1;
  suite: string;
  package: string;
  /** Debian version of qemu-system-x86, e.g. "1:10.0.13+ds-0+deb13u1". */
  packageVersion: string;
  /** From `qemu-system-x86_64 --version`, e.g. "10.0.13". */
  qemuVersion: string;
  /** Every unpacked package of the closure. */
  packages: { name: string; version: string }[];
  /** Relative to the entry: the wrapper, the root, and what the wrapper uses inside it. */
  wrapper: string;
  root: string;
  loader: string;
  libraryPath: string[];
  dataDirs: string[];
}

const isManifest = (v: unknown): v is SuiteQemuManifest => {
  const m = v as Partial<SuiteQemuManifest> | null;
  return (
    typeof m === 'object' && m !== null && m.schema === 1 && typeof m.suite === 'string' && typeof m.packageVersion === 'string' &&
    typeof m.qemuVersion === 'string' && typeof m.wrapper === 'string' && typeof m.loader === 'string' && Array.isArray(m.packages)
  );
};

export interface SuiteQemu {
  suite: DebianSuite;
  /** Wrapper script: use it as the qemu binary (argv and --version behave like QEMU's). */
  binary: string;
  qemuVersion: string;
  packageVersion: string;
  /** The unpacked suite root, and what the wrapper runs inside it (for callers that exec directly). */
  root: string;
  loader: string;
  libraryPath: string[];
  qemu: string;
  dataDirs: string[];
  packages: { name: string; version: string }[];
  entryDir: string;
}

export interface SuiteQemuOptions {
  cacheDir?: string;
  onProgress?: (m: string) => void;
  /** The machine to provision (default: this one). */
  host?: Host;
  /** Stops provisioning when it fires: no program starts after it and the running one is killed; lock waits stop too. */
  signal?: AbortSignal;
  /** Apt to use instead of the suite's private root (tests). */
  apt?: AptContext & { paths?: PrivateAptPaths };
  /** Refresh the suite's package lists first. */
  refresh?: boolean;
  /** Ask apt for the version even when a resolution is remembered (resolved.ts); refresh implies it. */
  fresh?: boolean;
}

const safe = (s: string) => s.replace(/[^A-Za-z0-9.+~_-]/g, '_');

/** The wrapper script; paths are relative to the script so the cache dir may move. */
export function wrapperScript(m: Pick<SuiteQemuManifest, 'suite' | 'packageVersion' | 'loader' | 'libraryPath' | 'dataDirs'>): string {
  const r = (p: string) => `"$r/${p}"`;
  return [
    '#!/bin/sh',
    `# QEMU ${m.packageVersion} from Debian ${m.suite}, run with that suite's own loader and libraries.`,
    '# Generated by e820-conformance (harness/provision/suite-qemu.ts); exec keeps the pid QEMU\'s.',
    'r=$(cd "$(dirname "$0")/../root" && pwd) || exit 127',
    // QEMU's module dir is compiled in (/usr/lib/…/qemu): the host's modules would be another version's.
    'QEMU_MODULE_DIR="$r/usr/lib/x86_64-linux-gnu/qemu"; export QEMU_MODULE_DIR',
    `exec ${r(m.loader)} --inhibit-cache --library-path "${m.libraryPath.map((p) => `$r/${p}`).join(':')}" "$r/usr/bin/qemu-system-x86_64" "$@" ${m.dataDirs.map((d) => `-L ${r(d)}`).join(' ')}`,
    '',
  ].join('\n');
}

/**
 * QEMU ≥ 7.1 resolves its compiled-in paths (module dir, data dir) under `<exec dir>/qemu-bundle`
 * when that exists (util/cutils.c get_relocated_path). Run through the loader, the exec dir is the
 * loader's real directory; pointing qemu-bundle there at the root keeps QEMU from falling back to
 * the host's /usr/lib/x86_64-linux-gnu/qemu, whose modules are another build's ("failed to
 * initialize module: …ui-opengl.so / Only modules from the same build can be loaded" on stderr,
 * which broke refusal comparisons). Idempotent; also repairs entries cached before it existed.
 */
export async function ensureQemuBundleLink(root: string, loader: string): Promise<void> {
  const loaderPath = await realpath(join(root, loader)).catch(() => null);
  if (loaderPath === null) throw new ProvisionError(`the cached QEMU root ${root} has no loader ${loader}: the entry is damaged; delete ${dirname(root)} and run again`);
  const execDir = dirname(loaderPath);
  const link = join(execDir, 'qemu-bundle');
  if (await lstat(link).then(() => true, () => false)) return;
  await symlink(relative(execDir, await realpath(root)) || '.', link);
}

/**
 * Re-roots absolute symlinks (e.g. bullseye's /lib64/ld-linux-x86-64.so.2 → /lib/…/ld-2.31.so)
 * as relative ones, so nothing inside the root resolves to the host's files. Returns how many.
 */
export async function rerootSymlinks(root: string): Promise<number> {
  let n = 0;
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isSymbolicLink()) {
        const t = await readlink(p);
        if (!t.startsWith('/')) continue;
        const rel = relative(dirname(p), join(root, t)) || '.';
        await unlink(p);
        await symlink(rel, p);
        n++;
      }
    }
  };
  await walk(root);
  return n;
}

/** The loader inside the root (relative path), or null. */
export async function findLoader(root: string, exists: (p: string) => Promise<boolean>): Promise<string | null> {
  for (const l of LOADERS) if (await exists(join(root, l))) return l;
  return null;
}

/** Package and Version of each .deb, then `dpkg-deb -x` of all of them into root. */
export async function unpackClosure(
  debs: readonly string[],
  root: string,
  sys: Host,
  progress: (m: string) => void = () => {},
): Promise<{ name: string; version: string }[]> {
  const packages: { name: string; version: string }[] = [];
  await mkdir(root, { recursive: true });
  for (const deb of debs) {
    const f = await sys.exec(['dpkg-deb', '-f', deb, 'Package', 'Version']);
    if (f.exitCode !== 0) throw new AptError(`dpkg-deb -f ${deb}`, f.exitCode, f.stderr, 'a downloaded package is unreadable');
    const name = /^Package:\s*(\S+)/m.exec(f.stdout)?.[1];
    const version = /^Version:\s*(\S+)/m.exec(f.stdout)?.[1];
    if (!name || !version) throw new ProvisionError(`${deb}: no Package/Version in its control file`);
    const x = await sys.exec(['dpkg-deb', '-x', deb, root]);
    if (x.exitCode !== 0) throw new AptError(`dpkg-deb -x ${deb}`, x.exitCode, x.stderr, 'unpacking a package failed');
    packages.push({ name, version });
  }
  progress(`unpacked ${packages.length} packages into ${root}`);
  return packages.sort((a, b) => a.name.localeCompare(b.name));
}

/** The candidate version of `pkg` in `apt` (`apt-cache policy`); throws when there is none. */
export async function aptCandidate(apt: AptContext, pkg: string, sys: Host): Promise<string> {
  const r = await sys.exec(['apt-cache', ...apt.options, 'policy', pkg]);
  const v = r.exitCode === 0 ? parseCandidate(r.stdout) : null;
  if (v === null) {
    throw new ProvisionError(
      `${apt.label} has no installable ${pkg} (apt-cache policy: ${(r.stdout + r.stderr).trim().slice(0, 200) || 'nothing'}); ` +
        'the lists may be stale: run `e820 toolchain fetch --refresh`',
    );
  }
  return v;
}

async function contextFor(suite: DebianSuite, opts: SuiteQemuOptions, sys: Host, progress: (m: string) => void) {
  const ctx = opts.apt ?? (await privateApt(suite, { host: sys, ...(opts.cacheDir !== undefined ? { cacheDir: opts.cacheDir } : {}) }));
  await ensureAptLists(ctx, sys, progress, opts.refresh ?? false, opts.signal);
  return ctx;
}

function toResult(suite: DebianSuite, dir: string, m: SuiteQemuManifest): SuiteQemu {
  const root = join(dir, m.root);
  return {
    suite,
    binary: join(dir, m.wrapper),
    qemuVersion: m.qemuVersion,
    packageVersion: m.packageVersion,
    root,
    loader: join(root, m.loader),
    libraryPath: m.libraryPath.map((p) => join(root, p)),
    qemu: join(root, 'usr/bin/qemu-system-x86_64'),
    dataDirs: m.dataDirs.map((p) => join(root, p)),
    packages: m.packages,
    entryDir: dir,
  };
}

export function suiteQemuDir(cache: string, suite: DebianSuite, packageVersion: string): string {
  return join(cache, 'qemu', `${suite}_${safe(packageVersion)}`);
}

/** Looks for a cached entry of the suite without asking apt (for `toolchain list`). */
export async function cachedSuiteQemu(suite: DebianSuite, cache: string = defaultCacheDir()): Promise<SuiteQemu | null> {
  let names: string[] = [];
  try {
    names = (await readdir(join(cache, 'qemu'))).filter((n) => n.startsWith(`${suite}_`)).sort();
  } catch {
    return null;
  }
  for (const n of names.reverse()) {
    const m = await readManifest(join(cache, 'qemu', n), isManifest);
    if (m) return toResult(suite, join(cache, 'qemu', n), m);
  }
  return null;
}

/**
 * Bytes of a QEMU root hashed on every use, counting the loader, libc and the BIOS images first, then
 * the libraries QEMU loads, smallest first, then the binary. Hashing all of them (~67 MB for
 * trixie's 10.0: 29 MB QEMU, 38 MB libraries) took 100–300 ms warm here; 8 MiB keeps a whole
 * toolchain's check near 30 ms (ci/verify-cost.ts). Every file's size is checked regardless.
 */
export const QEMU_HASH_BUDGET = 8 * 1024 * 1024;

/** `ld.so --list` output: the libraries' paths ("libz.so.1 => /…/libz.so.1 (0x…)"). */
export function parseLoaderList(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /=>\s+(\/\S+)\s+\(0x/.exec(line);
    if (m?.[1]) out.push(m[1]);
  }
  return out;
}

/** What to hash on every use of a QEMU entry (paths relative to the entry, symlinks resolved). */
export async function qemuHashed(dir: string, m: Pick<SuiteQemuManifest, 'root' | 'loader' | 'libraryPath'>, sys: Host): Promise<string[]> {
  const base = await realpath(dir);
  const root = join(dir, m.root);
  const rel = async (p: string) => {
    const r = await realpath(p).catch(() => null);
    return r === null ? null : relative(base, r);
  };
  const present = (xs: (string | null)[]) => xs.filter((x): x is string => x !== null && !x.startsWith('..'));
  const libDirs = m.libraryPath.map((p) => join(root, p));
  const always = present([
    await rel(join(root, m.loader)),
    ...(await Promise.all(libDirs.map((d) => rel(join(d, 'libc.so.6'))))),
    ...(await Promise.all(SEABIOS_IMAGES.map((i) => rel(join(root, 'usr/share/seabios', i))))),
  ]);
  const qemu = join(root, 'usr/bin/qemu-system-x86_64');
  // The loader lists what QEMU links (resolved against the root only, as the wrapper runs it).
  const list = await sys.exec([join(root, m.loader), '--inhibit-cache', '--library-path', libDirs.join(':'), '--list', qemu]);
  const libs = list.exitCode === 0 ? present(await Promise.all(parseLoaderList(list.stdout).map(rel))) : [];
  return pickHashed(dir, always, [...libs, ...present([await rel(qemu)])], QEMU_HASH_BUDGET);
}

/** Resolves, downloads and unpacks (once, cached) qemu-system-x86 of `suite` with its closure. */
export async function provisionSuiteQemu(suite: DebianSuite, opts: SuiteQemuOptions = {}): Promise<SuiteQemu> {
  const sys = hostFor(opts);
  const progress = opts.onProgress ?? (() => {});
  const cache = opts.cacheDir ?? defaultCacheDir();
  // One run at a time per apt root: its lists, and the entries made from them.
  return withLock(cacheLockPath(cache, `apt-${suite}`), { purpose: `qemu ${suite}`, onProgress: progress, ...(opts.signal ? { signal: opts.signal } : {}) }, async () => {
    // Warm: the version apt gave last time, and its entry intact: no apt at all.
    const key = `qemu-${suite}`;
    const known = opts.refresh || opts.fresh ? null : await recalled(cache, key, isString);
    const warm = known !== null ? await usableEntry(suiteQemuDir(cache, suite, known), isManifest) : null;
    if (warm !== null) {
      progress(`qemu ${suite}: reusing ${QEMU_PACKAGE} ${known!} from ${suiteQemuDir(cache, suite, known!)}`);
      await ensureQemuBundleLink(join(suiteQemuDir(cache, suite, known!), warm.root), warm.loader);
      return toResult(suite, suiteQemuDir(cache, suite, known!), warm);
    }
    const apt = await contextFor(suite, opts, sys, progress);
    const packageVersion = await aptCandidate(apt, QEMU_PACKAGE, sys);
    const dir = suiteQemuDir(cache, suite, packageVersion);
    const { manifest, reused } = await verifiedEntry<SuiteQemuManifest>({
      dir,
      label: `qemu ${suite}`,
      isValid: isManifest,
      progress,
      hashed: (d, m) => qemuHashed(d, m, sys),
      // Cached before records existed: it must still run, as when it was made.
      adoptCheck: async (d, m): Promise<Damage | null> => {
        const v = await sys.exec([join(d, m.wrapper), '--version']).catch((err: unknown) => ({ exitCode: 127, stdout: '', stderr: String(err) }));
        return v.exitCode === 0 && parseQemuVersion(v.stdout) !== null ? null : { file: m.wrapper, reason: `does not run (exit ${v.exitCode}): ${(v.stdout + v.stderr).trim().slice(0, 200)}` };
      },
      fill: (tmp) => fillQemuEntry(tmp, suite, packageVersion, apt, sys, progress, opts.signal),
    });
    if (reused) progress(`qemu ${suite}: reusing ${QEMU_PACKAGE} ${packageVersion} from ${dir}`);
    await ensureQemuBundleLink(join(dir, manifest.root), manifest.loader);
    await remember(cache, key, packageVersion);
    return toResult(suite, dir, manifest);
  });
}

async function fillQemuEntry(
  tmp: string,
  suite: DebianSuite,
  packageVersion: string,
  apt: AptContext,
  sys: Host,
  progress: (m: string) => void,
  signal: AbortSignal | undefined,
): Promise<SuiteQemuManifest> {
  const debDir = join(tmp, 'debs');
  await mkdir(join(debDir, 'partial'), { recursive: true });
  progress(`qemu ${suite}: downloading ${QEMU_PACKAGE}=${packageVersion} and its dependency closure`);
  const args = [...apt.options, '-o', `Dir::Cache::archives=${debDir}`, 'install', '--download-only', '-y', '--no-install-recommends', `${QEMU_PACKAGE}=${packageVersion}`, ...(EXTRA_PACKAGES[suite] ?? [])];
  const dl = await retryWhileAptLocked(
    `apt-get install --download-only ${QEMU_PACKAGE} (${suite})`,
    () => sys.exec(['apt-get', ...args], { env: { DEBIAN_FRONTEND: 'noninteractive' }, onLine: (l) => { if (/^(Get|Fetched|E:)/.test(l)) progress(`apt ${suite}: ${l}`); } }),
    progress,
    signal ? { signal } : {},
  );
  if (dl.exitCode !== 0) throw new AptError(`apt-get install --download-only ${QEMU_PACKAGE} (${suite})`, dl.exitCode, dl.stderr, 'the lists may be stale: run `e820 toolchain fetch --refresh`');
  const debs = (await readdir(debDir)).filter((f) => f.endsWith('.deb')).sort().map((f) => join(debDir, f));
  if (debs.length === 0) throw new ProvisionError(`apt-get downloaded nothing for ${QEMU_PACKAGE} ${suite}`);

  const rootRel = 'root';
  const root = join(tmp, rootRel);
  const packages = await unpackClosure(debs, root, sys, (m) => progress(`qemu ${suite}: ${m}`));
  await rm(debDir, { recursive: true, force: true });
  for (const p of PRUNE) await rm(join(root, p), { recursive: true, force: true });
  const rerooted = await rerootSymlinks(root);
  if (rerooted) progress(`qemu ${suite}: re-rooted ${rerooted} absolute symlinks`);

  const exists = async (p: string) => lstat(p).then(() => true, () => false);
  const loader = await findLoader(root, exists);
  if (loader === null) throw new ProvisionError(`qemu ${suite}: no ld-linux-x86-64.so.2 in the unpacked closure (${LOADERS.join(', ')})`);
  const libraryPath = [];
  for (const d of LIB_DIRS) if (await exists(join(root, d))) libraryPath.push(d);
  const dataDirs = [];
  for (const d of SUITE_DATA_DIRS) if (await exists(join(root, d))) dataDirs.push(d);

  await ensureQemuBundleLink(root, loader);
  const base = { suite, packageVersion, loader, libraryPath, dataDirs };
  await mkdir(join(tmp, 'bin'));
  const wrapper = join('bin', 'qemu-system-x86_64');
  await writeFile(join(tmp, wrapper), wrapperScript(base));
  await chmod(join(tmp, wrapper), 0o755);

  // Proof it runs: the version it prints is recorded (and checked by the caller).
  const v = await sys.exec([join(tmp, wrapper), '--version']);
  const qemuVersion = v.exitCode === 0 ? parseQemuVersion(v.stdout) : null;
  if (qemuVersion === null) {
    throw new ProvisionError(`qemu ${suite}: the unpacked QEMU does not run (exit ${v.exitCode}): ${(v.stdout + v.stderr).trim().slice(0, 300)}`);
  }
  progress(`qemu ${suite}: QEMU ${qemuVersion} runs from ${packages.length} unpacked packages`);
  return { schema: 1, ...base, package: QEMU_PACKAGE, qemuVersion, packages, wrapper, root: rootRel };
}
