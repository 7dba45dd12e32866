// SeaBIOS built by the project: Debian's seabios source package of a supported release, the
// user's patches applied in order, one image built exactly as Debian's debian/rules builds it,
// cached by (source version, variant, sha256 of the patches).
//
// The source comes through the suite's signed apt root (debian-source.ts, shared with
// kernel-build.ts).
//
// The build is Debian's own target: `make -f debian/rules build/bios-256k.bin` (or
// build/bios.bin). debian/rules (seabios 1.14.0-2 … 1.17.0-1) writes the variant's .config from
// its bios-256k-config (QEMU=y ROM_SIZE=256) or bios-config (the 128 KiB set) variables, runs
// `oldnoconfig`, regenerates the iasl .hex files and sets EXTRAVERSION=-debian-<version> — so
// the image carries the configuration and version string of the stock package.

import { createHash } from 'node:crypto';
import { copyFile, readFile, rm, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, join, resolve } from 'node:path';

import { BIOS_VARIANTS, type BiosVariant } from '../../reference/profiles/seabios.ts';
import type { DebianSuite } from './apt-env.ts';
import { cacheDir as defaultCacheDir } from './cache.ts';
import { ensureBuildTools, fetchSourceTree, parseShowsrcVersions as showsrcVersions, sourceVersions, type BuildTool } from './debian-source.ts';
import { ProvisionError } from './errors.ts';
import { cacheLockPath, withLock } from './lock.ts';
import { identifySeabiosImage, versionStringOf } from './seabios-image.ts';
import { hostFor } from '../host/abortable.ts';
import type { Host } from '../host/types.ts';
import { SUITE_COMPONENTS, suiteOf, versionMatches } from './toolchain.ts';
import { usableEntry, verifiedEntry } from './verify.ts';
import { isString, recalled, remember } from './resolved.ts';

export const SEABIOS_SOURCE_PACKAGE = 'seabios';
export const DEFAULT_FIRMWARE_SEABIOS = '1.16.2';
export const DEFAULT_FIRMWARE_VARIANT: BiosVariant = 'bios-256k';

/** Host tools the build runs, and the Debian packages providing them (debian/control Build-Depends: python3, acpica-tools | iasl). */
export const FIRMWARE_BUILD_TOOLS: readonly BuildTool[] = [
  { tool: 'gcc', pkg: 'gcc' },
  { tool: 'make', pkg: 'make' },
  { tool: 'ld', pkg: 'binutils' },
  { tool: 'python3', pkg: 'python3' },
  { tool: 'iasl', pkg: 'acpica-tools' },
  { tool: 'dpkg-source', pkg: 'dpkg-dev' },
  { tool: 'dpkg-parsechangelog', pkg: 'dpkg-dev' },
  { tool: 'patch', pkg: 'patch' },
];

/** A firmware build failed for a reason the user can act on; `part` names what was wrong. */
export class FirmwareBuildError extends ProvisionError {
  constructor(
    readonly part: 'seabios-version' | 'variant' | 'patch' | 'source' | 'build',
    message: string,
  ) {
    super(message);
    this.name = 'FirmwareBuildError';
  }
}

/** A patch that `patch -p1` refuses on this source: which patch, which hunks. */
export class PatchDoesNotApplyError extends FirmwareBuildError {
  constructor(
    readonly patch: string,
    readonly sourceVersion: string,
    /** e.g. ["src/fw/paravirt.c: Hunk #1 FAILED at 186."]. */
    readonly failedHunks: readonly string[],
    output: string,
  ) {
    super(
      'patch',
      `patch ${patch} does not apply to Debian seabios ${sourceVersion}: ${failedHunks.length > 0 ? failedHunks.join('; ') : 'patch refused it'}. ` +
        `Rebase the patch on that source (apt-get source seabios=${sourceVersion}) or pick another --seabios; nothing was built or cached.` +
        (output.trim() ? `\n  ${output.trim().split('\n').slice(-6).join('\n  ')}` : ''),
    );
    this.name = 'PatchDoesNotApplyError';
  }
}

export interface FirmwarePatch {
  /** As given (resolved to an absolute path). */
  path: string;
  sha256: string;
}

export interface FirmwareBuildOptions {
  /** SeaBIOS release (default 1.16.2): 1.14.0, 1.16.2, 1.16.3, 1.17.0. */
  seabios?: string;
  variant?: string;
  patches?: readonly string[];
  cacheDir?: string;
  onProgress?: (m: string) => void;
  /** The machine to provision (default: this one). */
  host?: Host;
  /** Stops provisioning when it fires: no program starts after it and the running one is killed; lock waits stop too. */
  signal?: AbortSignal;
  /** Parallel make jobs (default: the machine's cores). */
  jobs?: number;
  /** Ask apt for the source version even when one is remembered (resolved.ts; `--refresh`). */
  fresh?: boolean;
}

export interface FirmwareBuildResult {
  /** The image in the cache. */
  path: string;
  /** The version string inside the image (what `SeaBIOS (version …)` prints). */
  version: string;
  variant: BiosVariant;
  patches: FirmwarePatch[];
  /** Debian source package version, e.g. "1.16.2-1". */
  sourceVersion: string;
  suite: DebianSuite;
  cached: boolean;
  seconds: number;
}

interface FirmwareManifest {
  schema: 1;
  kind: 'seabios-firmware';
  suite: string;
  sourcePackage: string;
  sourceVersion: string;
  variant: BiosVariant;
  /** The image's file name in the entry (bios-256k.bin / bios.bin, as Debian names them). */
  image: string;
  patches: Array<{ name: string; sha256: string }>;
  versionString: string;
  buildSeconds: number;
}

const isManifest = (v: unknown): v is FirmwareManifest => {
  const m = v as Partial<FirmwareManifest> | null;
  return typeof m === 'object' && m !== null && m.schema === 1 && m.kind === 'seabios-firmware' && typeof m.image === 'string' && typeof m.versionString === 'string';
};

const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');
const safe = (s: string) => s.replace(/[^A-Za-z0-9.+~_-]/g, '_');

/** The cache entry name: source version, variant, and the patches' sha256 in order ("stock" without). */
export function firmwareEntryName(sourceVersion: string, variant: BiosVariant, patches: readonly FirmwarePatch[]): string {
  const key = patches.length === 0 ? 'stock' : sha256(patches.map((p) => p.sha256).join('\n')).slice(0, 16);
  return `seabios_${safe(sourceVersion)}_${variant}_${key}`;
}

/** Reads the patches (each must be a readable regular file) before anything is fetched or built. */
export async function readPatches(paths: readonly string[]): Promise<FirmwarePatch[]> {
  const out: FirmwarePatch[] = [];
  for (const given of paths) {
    const path = resolve(given);
    const st = await stat(path).catch(() => null);
    if (st === null) throw new FirmwareBuildError('patch', `patch ${given} does not exist; give the path of a unified diff against the SeaBIOS source tree (applied with patch -p1)`);
    if (!st.isFile()) throw new FirmwareBuildError('patch', `patch ${given} is not a regular file; give the path of a unified diff`);
    const text = await readFile(path).catch((err: NodeJS.ErrnoException) => {
      throw new FirmwareBuildError('patch', `patch ${given} cannot be read (${err.code ?? err.message})`);
    });
    out.push({ path, sha256: sha256(text) });
  }
  return out;
}

export function parseVariant(v: string | undefined): BiosVariant {
  const variant = v ?? DEFAULT_FIRMWARE_VARIANT;
  if (!(BIOS_VARIANTS as readonly string[]).includes(variant)) {
    throw new FirmwareBuildError('variant', `--variant ${variant} is not one of Debian's SeaBIOS builds for QEMU: ${BIOS_VARIANTS.join(', ')} (256 KiB and 128 KiB)`);
  }
  return variant as BiosVariant;
}

export function firmwareSuite(seabios: string): DebianSuite {
  try {
    return suiteOf('seabios', seabios);
  } catch {
    const known = Object.values(SUITE_COMPONENTS).map((c) => c.seabios);
    throw new FirmwareBuildError('seabios-version', `--seabios ${seabios}: no supported Debian suite provides SeaBIOS ${seabios}; known: ${known.join(', ')}`);
  }
}

/** The failed hunks `patch` reported ("patching file X" … "Hunk #2 FAILED at 186."). */
export function failedHunks(output: string): string[] {
  const out: string[] = [];
  let file = '?';
  for (const line of output.split('\n')) {
    const f = /^(?:checking|patching) file (.+)$/.exec(line.trim());
    if (f) file = f[1]!.replace(/^'|'$/g, '');
    if (/^Hunk #\d+ FAILED/.test(line.trim())) out.push(`${file}: ${line.trim()}`);
    else if (/can't find file to patch|No file to patch|Reversed \(or previously applied\) patch|Only garbage was found|malformed patch/i.test(line)) out.push(`${file}: ${line.trim()}`);
  }
  return out;
}

/** Source versions apt knows for seabios in this root (apt-cache showsrc), newest first as apt lists them. */
export function parseShowsrcVersions(text: string): string[] {
  return showsrcVersions(text, SEABIOS_SOURCE_PACKAGE);
}

/** Builds (or reuses) one SeaBIOS image; see the module comment. */
export async function buildFirmware(opts: FirmwareBuildOptions = {}): Promise<FirmwareBuildResult> {
  const t0 = performance.now();
  const sys = hostFor(opts);
  const progress = opts.onProgress ?? (() => {});
  const cache = opts.cacheDir ?? defaultCacheDir();
  const seabios = opts.seabios ?? DEFAULT_FIRMWARE_SEABIOS;
  // Everything the user gave is checked before anything is fetched, built or cached.
  const variant = parseVariant(opts.variant);
  const suite = firmwareSuite(seabios);
  const patches = await readPatches(opts.patches ?? []);
  const signal = opts.signal ? { signal: opts.signal } : {};

  const image = `${variant}.bin`;
  const entryLock = (name: string) => cacheLockPath(cache, `firmware-${name}`);
  const done = (dir: string, m: FirmwareManifest, cached: boolean): FirmwareBuildResult => {
    const path = join(dir, m.image);
    progress(cached ? `firmware: reusing ${path}` : `firmware: built ${path} in ${m.buildSeconds} s`);
    return { path, version: m.versionString, variant: m.variant, patches, sourceVersion: m.sourceVersion, suite, cached, seconds: Math.round(performance.now() - t0) / 1000 };
  };

  // Warm: the source version apt gave last time, and this build of it intact: no apt at all.
  const key = `firmware-source-${suite}-${seabios}`;
  const known = opts.fresh ? null : await recalled(cache, key, isString);
  if (known !== null) {
    const name = firmwareEntryName(known, variant, patches);
    const dir = join(cache, 'firmware', name);
    const warm = await withLock(entryLock(name), { purpose: `firmware ${name}`, onProgress: progress, ...signal }, () => usableEntry(dir, isManifest));
    if (warm !== null) return done(dir, warm, true);
  }

  // The source version, through the suite's root (its lists are shared with toolchain provisioning).
  const src = { cache, sys, progress: (m: string) => progress(`firmware: ${m}`), signal: opts.signal };
  const apt = await sourceVersions(SEABIOS_SOURCE_PACKAGE, suite, src);
  const sourceVersion = apt.versions.find((v) => versionMatches('seabios', v, seabios));
  if (sourceVersion === undefined) {
    throw new FirmwareBuildError(
      'seabios-version',
      `--seabios ${seabios}: Debian ${suite} provides seabios source ${apt.versions.join(', ') || 'none'}, not ${seabios}: update SUITE_COMPONENTS (harness/provision/toolchain.ts) and the profiles`,
    );
  }
  await remember(cache, key, sourceVersion);

  const name = firmwareEntryName(sourceVersion, variant, patches);
  const dir = join(cache, 'firmware', name);
  const result = await withLock(entryLock(name), { purpose: `firmware ${name}`, onProgress: progress, ...signal }, () =>
    verifiedEntry<FirmwareManifest>({
      dir,
      label: `firmware ${name}`,
      isValid: isManifest,
      progress,
      hashed: async (_d, m) => [m.image],
      fill: async (tmp) => {
        const b0 = performance.now();
        await ensureBuildTools(FIRMWARE_BUILD_TOOLS, sys, progress, 'Building SeaBIOS', opts.signal);
        const tree = await fetchSourceTree(SEABIOS_SOURCE_PACKAGE, sourceVersion, suite, apt.ctx, tmp, join(tmp, 'src'), src);

        for (const p of patches) {
          // A dry run first: a patch that does not apply leaves the tree untouched and names its hunks.
          const args = ['-p1', '--batch', '--forward', '--no-backup-if-mismatch', '-d', tree, '-i', p.path];
          const dry = await sys.exec(['patch', ...args, '--dry-run']);
          if (dry.exitCode !== 0) throw new PatchDoesNotApplyError(p.path, sourceVersion, failedHunks(dry.stdout + '\n' + dry.stderr), dry.stdout + dry.stderr);
          const ap = await sys.exec(['patch', ...args]);
          if (ap.exitCode !== 0) throw new PatchDoesNotApplyError(p.path, sourceVersion, failedHunks(ap.stdout + '\n' + ap.stderr), ap.stdout + ap.stderr);
          progress(`firmware: applied ${p.path}${/offset|fuzz/i.test(ap.stdout) ? ` (${ap.stdout.trim().split('\n').filter((l) => /offset|fuzz/i.test(l)).join('; ')})` : ''}`);
        }

        const jobs = Math.max(1, opts.jobs ?? availableParallelism());
        progress(`firmware: building ${image} as debian/rules does (make -j${jobs} -f debian/rules build/${image})`);
        const tail: string[] = [];
        const mk = await sys.exec(['make', `-j${jobs}`, '-f', 'debian/rules', `build/${image}`], {
          cwd: tree,
          ...signal,
          onLine: (l) => {
            tail.push(l);
            if (tail.length > 30) tail.shift();
            if (/^\s*(=== Building|Total size|Creating)|error/i.test(l)) progress(`firmware: ${l.trim()}`);
          },
        });
        if (mk.exitCode !== 0) {
          throw new FirmwareBuildError('build', `building SeaBIOS ${sourceVersion} (${image}${patches.length ? ` with ${patches.map((p) => basename(p.path)).join(', ')}` : ''}) failed (make exit ${mk.exitCode ?? 'signal'}); nothing was cached:\n  ${tail.slice(-15).join('\n  ')}`);
        }
        await copyFile(join(tree, 'build', image), join(tmp, image));
        await rm(tree, { recursive: true, force: true });
        const versionString = versionStringOf(await readFile(join(tmp, image)));
        if (versionString === null) throw new FirmwareBuildError('build', `the built ${image} has no SeaBIOS version string; the build is broken`);
        return {
          schema: 1,
          kind: 'seabios-firmware',
          suite,
          sourcePackage: SEABIOS_SOURCE_PACKAGE,
          sourceVersion,
          variant,
          image,
          patches: patches.map((p) => ({ name: basename(p.path), sha256: p.sha256 })),
          versionString,
          buildSeconds: Math.round((performance.now() - b0) / 100) / 10,
        } satisfies FirmwareManifest;
      },
    }),
  );
  return done(dir, result.manifest, result.reused);
}

