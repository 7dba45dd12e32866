// The minimal guest kernel, built by the project: Debian's `linux` source package of a supported
// series (its patches applied), configured with `make tinyconfig` + the project's fragment
// guests/kernel/minimal.config + `make olddefconfig`, `make bzImage`. Cached by (source
// version, sha256 of the recipe: the fragment and the make variables), with the verified-manifest
// scheme every cache entry uses (verify.ts); a second call only re-hashes the bzImage.
//
// Why a kernel of our own: Debian's cloud kernel spends ~2 s of a 2.7 s TCG boot initialising
// drivers this guest never uses. The fragment keeps what the observed layers depend on set as
// in the cloud kernel (KASLR, hibernation's nosave lines, 5-level paging, NUMA, memory hotplug,
// EFI, PCI MMCONFIG, PAT …; see the fragment); what still differs between the two images (the
// bzImage's init_size) is a field of the kernel profile (reference/profiles/kernel.ts).
//
// The source is fetched and checked as for SeaBIOS (debian-source.ts). The build is
// reproducible: user, host and timestamp are fixed (the timestamp is the Debian changelog's), so
// the banner reads `Linux version <upstream>-e820-minimal (e820@e820-conformance) … Debian <version> …`.
//
// About 400 lines: one build recipe read top to bottom (fetch the source, configure, check the
// fragment survived, build, cache), which splitting would make harder to follow.

import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { KernelVersion } from '../../reference/toolchain.ts';
import type { DebianSuite } from './apt-env.ts';
import { cacheDir as defaultCacheDir } from './cache.ts';
import { ensureBuildTools, fetchSourceTree, isGoneFromArchive, sourceVersions, type BuildTool } from './debian-source.ts';
import { ProvisionError } from './errors.ts';
import { bzImageRelease, fwCfgSysfsSetting, type ProvisionedKernel } from './kernel.ts';
import { cacheLockPath, withLock } from './lock.ts';
import { hostFor } from '../host/abortable.ts';
import type { Host } from '../host/types.ts';
import { suiteOf, versionMatches } from './toolchain.ts';
import { isString, recalled, remember } from './resolved.ts';
import { usableEntry, verifiedEntry } from './verify.ts';

export const KERNEL_SOURCE_PACKAGE = 'linux';
/** The project's configuration fragment (kept in the repository, part of the cache key). */
export const MINIMAL_CONFIG_PATH = fileURLToPath(new URL('../../guests/kernel/minimal.config', import.meta.url));
/**
 * A series' own settings, merged after the common fragment where the cloud kernels of the series
 * differ (guests/kernel/minimal-<series>.config, optional; e.g. 5.10's is built without 5-level paging).
 */
export const seriesConfigPath = (series: KernelVersion): string => fileURLToPath(new URL(`../../guests/kernel/minimal-${series}.config`, import.meta.url));
/** `uname -r` = <upstream version><this>, so a boot log says which flavour it came from. */
export const MINIMAL_LOCALVERSION = '-e820-minimal';
/** Bumped when the build steps change in a way the fragment's hash does not show. */
const RECIPE_VERSION = 1;

/** Host tools the build runs (Documentation/process/changes.rst of the 6.1 tree), and their Debian packages. */
export const KERNEL_BUILD_TOOLS: readonly BuildTool[] = [
  { tool: 'gcc', pkg: 'gcc' },
  { tool: 'make', pkg: 'make' },
  { tool: 'ld', pkg: 'binutils' },
  { tool: 'bc', pkg: 'bc' },
  { tool: 'bison', pkg: 'bison' },
  { tool: 'flex', pkg: 'flex' },
  { tool: 'perl', pkg: 'perl' },
  // CONFIG_KERNEL_LZ4 compresses vmlinux with the lz4 command.
  { tool: 'lz4', pkg: 'lz4' },
  { tool: 'xz', pkg: 'xz-utils' },
  { tool: 'dpkg-source', pkg: 'dpkg-dev' },
  { tool: 'dpkg-parsechangelog', pkg: 'dpkg-dev' },
  // objtool (x86-64 always builds it) links libelf; scripts/ use libcrypto where signing is on.
  { file: '/usr/include/gelf.h', pkg: 'libelf-dev' },
  { file: '/usr/include/openssl/opensslv.h', pkg: 'libssl-dev' },
];

/** The build failed for a reason the user can act on; `part` names what was wrong. */
export class KernelBuildError extends ProvisionError {
  constructor(
    readonly part: 'series' | 'source' | 'config' | 'build',
    message: string,
  ) {
    super(message);
    this.name = 'KernelBuildError';
  }
}

export interface KernelBuildOptions {
  /** Kernel series (default 6.1); its Debian suite supplies the source. */
  series?: KernelVersion;
  cacheDir?: string;
  onProgress?: (m: string) => void;
  /** The machine to provision (default: this one). */
  host?: Host;
  /** Stops provisioning when it fires: no program starts after it and the running one is killed; lock waits stop too. */
  signal?: AbortSignal;
  /** Parallel make jobs (default: the machine's cores). */
  jobs?: number;
  /** Another fragment instead of guests/kernel/minimal.config (tests). */
  configPath?: string;
  /** Ask apt for the source version even when one is remembered (resolved.ts; `--refresh`). */
  fresh?: boolean;
}

export interface KernelBuildResult extends ProvisionedKernel {
  /** The final .config of the build, next to the image in the cache. */
  config: string;
  /** Debian source version, e.g. "6.1.176-1". */
  sourceVersion: string;
  suite: DebianSuite;
  /** sha256 of the recipe (fragment text and make variables): the cache key with the source version. */
  recipeSha256: string;
  /** bzImage header init_size (offset 0x260). */
  initSize: bigint;
  cached: boolean;
  /** Wall time of this call; buildSeconds is that of the build that filled the entry. */
  seconds: number;
  buildSeconds: number;
}

interface BuiltKernelManifest {
  schema: 1;
  kind: 'minimal-kernel';
  suite: string;
  sourcePackage: string;
  sourceVersion: string;
  recipeSha256: string;
  release: string;
  image: string;
  config: string;
  /** Hex string (JSON has no bigint). */
  initSize: string;
  buildSeconds: number;
}

const isManifest = (v: unknown): v is BuiltKernelManifest => {
  const m = v as Partial<BuiltKernelManifest> | null;
  return typeof m === 'object' && m !== null && m.schema === 1 && m.kind === 'minimal-kernel' && typeof m.image === 'string' && typeof m.release === 'string' && typeof m.initSize === 'string';
};

const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');
const safe = (s: string) => s.replace(/[^A-Za-z0-9.+~_-]/g, '_');

/** The `make` variables of the build (also part of the recipe hash). */
export function makeVariables(sourceVersion: string, changelogDate: string): string[] {
  return [
    'ARCH=x86_64',
    `LOCALVERSION=${MINIMAL_LOCALVERSION}`,
    'KBUILD_BUILD_USER=e820',
    'KBUILD_BUILD_HOST=e820-conformance',
    'KBUILD_BUILD_VERSION=1',
    `KBUILD_BUILD_TIMESTAMP=Debian ${sourceVersion} (${changelogDate})`,
  ];
}

/** What the cache key hashes: the recipe version, the base config target and the fragment's text. */
export function recipeHash(fragment: string): string {
  return sha256(`recipe ${RECIPE_VERSION}\nbase tinyconfig\nlocalversion ${MINIMAL_LOCALVERSION}\n${fragment}`);
}

export function builtKernelEntryName(sourceVersion: string, recipe: string): string {
  return `linux_${safe(sourceVersion)}_minimal_${recipe.slice(0, 16)}`;
}

/**
 * A series fragment's declaration that the series has no such option (`# absent: CONFIG_X86_5LEVEL`
 * in guests/kernel/minimal-7.2.config: upstream removed it and built its behaviour in). A comment
 * to merge_config.sh, which reads only `CONFIG_X=…` and `# CONFIG_X is not set` lines.
 */
const ABSENT = /^# absent: CONFIG_([A-Z0-9_]+)\b/;

/**
 * The fragment's settings as the lines `make olddefconfig` must leave in .config (`# CONFIG_X is
 * not set` for n); a later setting of an option replaces an earlier one, as merge_config.sh does,
 * and a later `# absent: CONFIG_X` drops it (absentOptions checks that instead).
 */
export function fragmentSettings(fragment: string): string[] {
  const byName = new Map<string, string>();
  for (const raw of fragment.split('\n')) {
    const line = raw.trim();
    const absent = ABSENT.exec(line)?.[1];
    if (absent !== undefined) {
      byName.delete(absent);
      continue;
    }
    const name = /^CONFIG_([A-Z0-9_]+)=/.exec(line)?.[1] ?? /^# CONFIG_([A-Z0-9_]+) is not set$/.exec(line)?.[1];
    if (name === undefined) continue;
    byName.delete(name);
    byName.set(name, line);
  }
  return [...byName.values()];
}

/** Options the fragment declares absent from the series (`# absent: CONFIG_X`), without the prefix, unless set again later. */
export function absentOptions(fragment: string): string[] {
  const absent = new Set<string>();
  for (const raw of fragment.split('\n')) {
    const line = raw.trim();
    const gone = ABSENT.exec(line)?.[1];
    if (gone !== undefined) absent.add(gone);
    const name = /^CONFIG_([A-Z0-9_]+)=/.exec(line)?.[1] ?? /^# CONFIG_([A-Z0-9_]+) is not set$/.exec(line)?.[1];
    if (name !== undefined) absent.delete(name);
  }
  return [...absent];
}

/**
 * Fragment settings the final .config does not carry (an unmet dependency, a misspelt name), with
 * what it has instead; and options declared absent that the .config names after all.
 */
export function unmetSettings(fragment: string, config: string): string[] {
  const lines = config.split('\n').map((l) => l.trim());
  const have = new Set(lines);
  const find = (name: string) => lines.find((l) => l.startsWith(`${name}=`) || l === `# ${name} is not set`);
  const out: string[] = [];
  for (const want of fragmentSettings(fragment)) {
    if (have.has(want)) continue;
    const name = /CONFIG_[A-Z0-9_]+/.exec(want)![0];
    out.push(`${want} (final .config: ${find(name) ?? 'absent: a dependency is off, or no such option in this source'})`);
  }
  for (const name of absentOptions(fragment)) {
    const actual = find(`CONFIG_${name}`);
    if (actual !== undefined) out.push(`# absent: CONFIG_${name} (final .config: ${actual}: the option exists in this source)`);
  }
  return out;
}

/** init_size (bzImage header offset 0x260, boot protocol ≥ 2.10): memory the decompressor needs from the load address. */
export function bzImageInitSize(image: Uint8Array): bigint | null {
  const b = Buffer.from(image.buffer, image.byteOffset, image.byteLength);
  if (b.length < 0x264 || b.toString('latin1', 0x202, 0x206) !== 'HdrS' || b.readUInt16LE(0x206) < 0x20a) return null;
  return BigInt(b.readUInt32LE(0x260));
}

const elapsed = (t0: number) => `${Math.round((performance.now() - t0) / 1000)} s`;

/** Builds (or reuses) the minimal guest kernel of a series; see the module comment. */
export async function buildMinimalKernel(opts: KernelBuildOptions = {}): Promise<KernelBuildResult> {
  const t0 = performance.now();
  const sys = hostFor(opts);
  const progress = opts.onProgress ?? (() => {});
  const cache = opts.cacheDir ?? defaultCacheDir();
  const series = opts.series ?? '6.1';
  const suite = suiteOf('kernel', series);
  const fragmentPath = opts.configPath ?? MINIMAL_CONFIG_PATH;
  const fragmentFiles = [fragmentPath];
  const read = (path: string) =>
    readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new KernelBuildError('config', `the kernel configuration fragment ${path} cannot be read (${err.code ?? err.message})`);
    });
  let fragment = await read(fragmentPath);
  const overlay = opts.configPath === undefined && (await sys.exists(seriesConfigPath(series))) ? seriesConfigPath(series) : null;
  if (overlay !== null) {
    // Appended with a marker line, so a series without one keeps the common fragment's hash.
    fragment += `\n# ---- ${overlay.split('/').pop()}\n${await read(overlay)}`;
    fragmentFiles.push(overlay);
  }
  const recipe = recipeHash(fragment);
  const src = { cache, sys, progress: (m: string) => progress(`kernel build: ${m}`), signal: opts.signal };

  const signal = opts.signal ? { signal: opts.signal } : {};
  const entryLock = (name: string) => cacheLockPath(cache, `kernel-build-${name}`);
  const entryDir = (name: string) => join(cache, 'kernels-built', name);

  // Warm: the source version apt gave last time, and this recipe's build of it intact: no apt at all.
  const key = `kernel-source-${suite}-${series}`;
  const known = opts.fresh ? null : await recalled(cache, key, isString);
  if (known !== null) {
    const name = builtKernelEntryName(known, recipe);
    const warm = await withLock(entryLock(name), { purpose: `kernel build ${name}`, onProgress: progress, ...signal }, () => usableEntry(entryDir(name), isManifest));
    if (warm !== null) return done(entryDir(name), warm, true);
  }

  // Newest source of the series the archive serves. Its lists can name versions its pool no longer
  // (or not yet) has — seen: trixie's Sources names 6.12.117-1 and 6.12.113-1, the pool answers
  // 404 for both and serves 6.12.107-1 — so a 404 moves on to the next older version; when none
  // can be fetched the lists are updated once and the versions resolved again.
  const candidates = async (refresh: boolean): Promise<string[]> => {
    const apt = await sourceVersions(KERNEL_SOURCE_PACKAGE, suite, src, refresh);
    const matching = apt.versions.filter((v) => versionMatches('kernel', v, series)).sort(compareDebianish).reverse();
    if (matching.length === 0) {
      throw new KernelBuildError('series', `Debian ${suite} provides linux source ${apt.versions.join(', ') || 'none'}, none of series ${series}: update SUITE_COMPONENTS (harness/provision/toolchain.ts) and the kernel profiles`);
    }
    aptCtx = apt.ctx;
    return matching;
  };
  let aptCtx: Awaited<ReturnType<typeof sourceVersions>>['ctx'] | null = null;
  const buildOf = async (sourceVersion: string): Promise<KernelBuildResult> => {
    const apt = { ctx: aptCtx! };
    const name = builtKernelEntryName(sourceVersion, recipe);
    const dir = entryDir(name);
    const result = await withLock(entryLock(name), { purpose: `kernel build ${name}`, onProgress: progress, ...signal }, () =>
      verifiedEntry<BuiltKernelManifest>({
        dir,
        label: `kernel build ${name}`,
        isValid: isManifest,
        progress,
        hashed: async (_d, m) => [m.image, m.config],
        fill: async (tmp) => {
          const b0 = performance.now();
          const phase = (m: string) => progress(`kernel build [${elapsed(b0)}]: ${m}`);
          await ensureBuildTools(KERNEL_BUILD_TOOLS, sys, progress, 'Building the minimal guest kernel', opts.signal);
          const tree = await fetchSourceTree(KERNEL_SOURCE_PACKAGE, sourceVersion, suite, apt.ctx, tmp, join(tmp, 'src'), { ...src, progress: phase });
          const out = join(tmp, 'out');
          await mkdir(out);
          const date = await sys.exec(['dpkg-parsechangelog', '-l', join(tree, 'debian', 'changelog'), '-S', 'Date']);
          if (date.exitCode !== 0) throw new KernelBuildError('source', `dpkg-parsechangelog on the linux ${sourceVersion} source failed: ${date.stderr.trim()}`);
          const vars = makeVariables(sourceVersion, date.stdout.trim());
          const make = async (what: string, args: string[], onLine?: (l: string) => void) => {
            const tail: string[] = [];
            const r = await sys.exec(['make', `O=${out}`, ...vars, ...args], {
              cwd: tree,
              ...signal,
              onLine: (l) => {
                tail.push(l);
                if (tail.length > 40) tail.shift();
                onLine?.(l);
              },
            });
            if (r.exitCode !== 0) throw new KernelBuildError('build', `${what} of linux ${sourceVersion} failed (make exit ${r.exitCode ?? 'signal'}); nothing was cached:\n  ${tail.slice(-20).join('\n  ')}`);
          };

          phase('make tinyconfig, merging guests/kernel/minimal.config, make olddefconfig');
          await make('make tinyconfig', ['tinyconfig']);
          // merge_config.sh -m only merges (later settings replace earlier ones, choices included).
          const merge = await sys.exec([join(tree, 'scripts', 'kconfig', 'merge_config.sh'), '-m', '-O', out, join(out, '.config'), ...fragmentFiles], { cwd: tree, ...signal });
          if (merge.exitCode !== 0) throw new KernelBuildError('config', `merge_config.sh failed: ${(merge.stderr || merge.stdout).trim().split('\n').slice(-5).join('; ')}`);
          await make('make olddefconfig', ['olddefconfig']);
          const config = await readFile(join(out, '.config'), 'utf8');
          const unmet = unmetSettings(fragment, config);
          // An option declared absent must be defined by no Kconfig of the tree (a dependency that is
          // off also leaves it out of .config, and that is not what the declaration says).
          for (const name of absentOptions(fragment)) {
            const g = await sys.exec(['grep', '-rqsE', '--include=Kconfig*', `^[[:space:]]*(menu)?config ${name}[[:space:]]*$`, tree], signal);
            if (g.exitCode === 0) unmet.push(`# absent: CONFIG_${name} (a Kconfig file of linux ${sourceVersion} defines it)`);
          }
          if (unmet.length > 0) {
            throw new KernelBuildError('config', `${fragmentFiles.join(' + ')}: ${unmet.length} setting(s) did not survive make olddefconfig on linux ${sourceVersion}; fix the fragment (nothing was built):\n  ${unmet.join('\n  ')}`);
          }

          const jobs = Math.max(1, opts.jobs ?? availableParallelism());
          phase(`make -j${jobs} bzImage (a few minutes on two cores)`);
          let objects = 0;
          let last = performance.now();
          await make('make bzImage', [`-j${jobs}`, 'bzImage'], (l) => {
            if (/^\s+CC\s/.test(l)) objects++;
            if (performance.now() - last > 30_000) {
              last = performance.now();
              phase(`${objects} objects compiled`);
            }
          });

          const imageBytes = await readFile(join(out, 'arch', 'x86', 'boot', 'bzImage'));
          const release = (await readFile(join(out, 'include', 'config', 'kernel.release'), 'utf8')).trim();
          const headerRelease = bzImageRelease(imageBytes);
          if (headerRelease !== release) throw new KernelBuildError('build', `the built bzImage says release ${headerRelease ?? '(none)'}, the build said ${release}; the build is broken`);
          const initSize = bzImageInitSize(imageBytes);
          if (initSize === null) throw new KernelBuildError('build', 'the built bzImage has no init_size (boot protocol < 2.10); the build is broken');
          await copyFile(join(out, 'arch', 'x86', 'boot', 'bzImage'), join(tmp, 'bzImage'));
          await writeFile(join(tmp, 'config'), config);
          phase('built; removing the source and build trees');
          await rm(tree, { recursive: true, force: true });
          await rm(out, { recursive: true, force: true });
          return {
            schema: 1,
            kind: 'minimal-kernel',
            suite,
            sourcePackage: KERNEL_SOURCE_PACKAGE,
            sourceVersion,
            recipeSha256: recipe,
            release,
            image: 'bzImage',
            config: 'config',
            initSize: `0x${initSize.toString(16)}`,
            buildSeconds: Math.round((performance.now() - b0) / 100) / 10,
          } satisfies BuiltKernelManifest;
        },
      }),
    );
    await remember(cache, key, sourceVersion);
    return done(dir, result.manifest, result.reused);
  };
  for (const refresh of [false, true]) {
    const versions = await candidates(refresh);
    for (const v of versions) {
      try {
        return await buildOf(v);
      } catch (err) {
        if (!isGoneFromArchive(err)) throw err;
        progress(`kernel build: the archive does not serve linux ${v} (404)${v !== versions.at(-1) ? '; trying the next older source of the series' : ''}`);
      }
    }
    if (!refresh) progress(`kernel build: no linux ${series} source the ${suite} lists name could be fetched; updating the lists`);
  }
  throw new KernelBuildError('source', `no linux ${series} source named in Debian ${suite}'s lists could be downloaded (404 each, also after apt-get update): check the archive (${'$'}E820_APT_MIRROR or this machine's apt sources)`);

  async function done(dir: string, m: BuiltKernelManifest, cached: boolean): Promise<KernelBuildResult> {
    const path = join(dir, m.image);
    progress(cached ? `kernel build: reusing ${path}` : `kernel build: built ${path} in ${m.buildSeconds} s`);
    const fwCfgSysfs = fwCfgSysfsSetting(await readFile(join(dir, m.config), 'utf8'));
    return {
      vmlinuz: path,
      fwCfgModule: null,
      release: m.release,
      packageVersion: m.sourceVersion,
      packageName: null,
      fwCfgSysfs,
      config: join(dir, m.config),
      sourceVersion: m.sourceVersion,
      suite,
      recipeSha256: m.recipeSha256,
      initSize: BigInt(m.initSize),
      cached,
      seconds: Math.round(performance.now() - t0) / 1000,
      buildSeconds: m.buildSeconds,
    };
  }
}

/** Orders Debian kernel source versions of one series by their numbers (6.1.8-1 < 6.1.176-1). */
export function compareDebianish(a: string, b: string): number {
  const nums = (v: string) => v.split(/[^0-9]+/).filter(Boolean).map(Number);
  const x = nums(a);
  const y = nums(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? -1) - (y[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}
