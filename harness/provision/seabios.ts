// SeaBIOS images of each suite's `seabios` package (bios.bin, bios-256k.bin), cached in a
// directory that holds only those two files: given to QEMU as the first `-L`, it replaces the
// BIOS and nothing else (VGA and option ROMs still come from the QEMU's own suite), and a
// config's own `-bios bios.bin` picks the same suite's 128K build.

import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

import { ensureAptLists, hostApt, HOST_SUITE, privateApt, type AptContext, type DebianSuite, type PrivateAptPaths } from './apt-env.ts';
import { retryWhileAptLocked } from './apt-lock.ts';
import { cacheDir as defaultCacheDir, readManifest } from './cache.ts';
import { AptError, ProvisionError } from './errors.ts';
import { SEABIOS_IMAGES } from './host-tools.ts';
import { cacheLockPath, withLock } from './lock.ts';
import { aptCandidate } from './suite-qemu.ts';
import { hostFor } from '../host/abortable.ts';
import type { Host } from '../host/types.ts';
import { usableEntry, verifiedEntry } from './verify.ts';
import { isString, recalled, remember } from './resolved.ts';

export const SEABIOS_PACKAGE = 'seabios';

interface SeabiosManifest {
  schema: 1;
  suite: string;
  package: string;
  packageVersion: string;
  images: string[];
}

const isManifest = (v: unknown): v is SeabiosManifest => {
  const m = v as Partial<SeabiosManifest> | null;
  return typeof m === 'object' && m !== null && m.schema === 1 && typeof m.packageVersion === 'string' && Array.isArray(m.images);
};

export interface SuiteSeabios {
  suite: DebianSuite;
  packageVersion: string;
  /** Holds exactly bios-256k.bin and bios.bin (pass as the first -L). */
  dir: string;
  /** bios-256k.bin (QEMU's default for pc/q35): the `-bios` path if the lead wires it that way. */
  image: string;
  /** bios.bin, the 128K build. */
  image128k: string;
}

export interface SeabiosOptions {
  cacheDir?: string;
  onProgress?: (m: string) => void;
  /** The machine to provision (default: this one). */
  host?: Host;
  /** Stops provisioning when it fires: no program starts after it and the running one is killed; lock waits stop too. */
  signal?: AbortSignal;
  apt?: AptContext & { paths?: PrivateAptPaths };
  refresh?: boolean;
  /** Ask apt for the version even when a resolution is remembered (resolved.ts); --refresh implies it. */
  fresh?: boolean;
}

const toResult = (suite: DebianSuite, dir: string, m: SeabiosManifest): SuiteSeabios => ({
  suite,
  packageVersion: m.packageVersion,
  dir,
  image: join(dir, 'bios-256k.bin'),
  image128k: join(dir, 'bios.bin'),
});

export async function cachedSuiteSeabios(suite: DebianSuite, cache: string = defaultCacheDir()): Promise<SuiteSeabios | null> {
  let names: string[] = [];
  try {
    names = (await readdir(join(cache, 'seabios'))).filter((n) => n.startsWith(`${suite}_`)).sort().reverse();
  } catch {
    return null;
  }
  for (const n of names) {
    const m = await readManifest(join(cache, 'seabios', n), isManifest);
    if (m) return toResult(suite, join(cache, 'seabios', n), m);
  }
  return null;
}

const seabiosDir = (cache: string, suite: DebianSuite, version: string) => join(cache, 'seabios', `${suite}_${version.replace(/[^A-Za-z0-9.+~_-]/g, '_')}`);

/** Resolves and extracts (once, cached) the SeaBIOS images of `suite` (bookworm: through the host's apt). */
export async function provisionSeabios(suite: DebianSuite, opts: SeabiosOptions = {}): Promise<SuiteSeabios> {
  const sys = hostFor(opts);
  const progress = opts.onProgress ?? (() => {});
  const cache = opts.cacheDir ?? defaultCacheDir();
  // One run at a time per apt root: its lists, and the entries made from them.
  return withLock(cacheLockPath(cache, `apt-${suite}`), { purpose: `seabios ${suite}`, onProgress: progress, ...(opts.signal ? { signal: opts.signal } : {}) }, async () => {
    // Warm: the version apt gave last time, and its entry intact: no apt at all.
    const key = `seabios-${suite}`;
    const known = opts.refresh || opts.fresh ? null : await recalled(cache, key, isString);
    const warm = known !== null ? await usableEntry(seabiosDir(cache, suite, known), isManifest) : null;
    if (warm !== null) {
      progress(`seabios ${suite}: reusing ${known!} from ${seabiosDir(cache, suite, known!)}`);
      return toResult(suite, seabiosDir(cache, suite, known!), warm);
    }

    let apt: AptContext & { paths?: PrivateAptPaths } = hostApt;
    if (opts.apt) apt = opts.apt;
    else if (suite !== HOST_SUITE) apt = await privateApt(suite, { host: sys, cacheDir: cache });
    await ensureAptLists(apt, sys, progress, opts.refresh ?? false, opts.signal);

    const version = await aptCandidate(apt, SEABIOS_PACKAGE, sys);
    const dir = seabiosDir(cache, suite, version);
    const { manifest, reused } = await verifiedEntry<SeabiosManifest>({
      dir,
      label: `seabios ${suite}`,
      isValid: isManifest,
      progress,
      // Both images (384 KiB): half a BIOS still loads and then hangs the boot until its deadline.
      hashed: async (_d, m) => [...m.images],
      fill: async (tmp) => {
        progress(`seabios ${suite}: downloading ${SEABIOS_PACKAGE}=${version}`);
        const dl = await retryWhileAptLocked(
          `apt-get download ${SEABIOS_PACKAGE}`,
          () => sys.exec(['apt-get', ...apt.options, 'download', `${SEABIOS_PACKAGE}=${version}`], { cwd: tmp }),
          progress,
          opts.signal ? { signal: opts.signal } : {},
        );
        if (dl.exitCode !== 0) throw new AptError(`apt-get download ${SEABIOS_PACKAGE}=${version} (${suite})`, dl.exitCode, dl.stderr, 'downloading SeaBIOS failed');
        const debs = (await readdir(tmp)).filter((f) => f.endsWith('.deb'));
        if (debs.length !== 1) throw new ProvisionError(`apt-get download left ${debs.length} .deb files in ${tmp}`);
        const deb = join(tmp, debs[0]!);
        const x = join(tmp, 'x');
        await mkdir(x);
        const members = SEABIOS_IMAGES.map((i) => `./usr/share/seabios/${i}`);
        const ex = await sys.pipe(['dpkg-deb', '--fsys-tarfile', deb], ['tar', '-x', '-C', x, ...members]);
        if (ex.exitCode !== 0) throw new AptError(`dpkg-deb --fsys-tarfile ${deb} | tar -x`, ex.exitCode, ex.stderr, `${SEABIOS_IMAGES.join(' and ')} are not in the package`);
        for (const i of SEABIOS_IMAGES) await rename(join(x, 'usr/share/seabios', i), join(tmp, i));
        await rm(x, { recursive: true, force: true });
        await rm(deb, { force: true });
        return { schema: 1, suite, package: SEABIOS_PACKAGE, packageVersion: version, images: [...SEABIOS_IMAGES] } satisfies SeabiosManifest;
      },
    });
    progress(reused ? `seabios ${suite}: reusing ${version} from ${dir}` : `seabios ${suite}: ${version} in ${dir}`);
    await remember(cache, key, version);
    return toResult(suite, dir, manifest);
  });
}
