// The guest kernel: either Debian's cloud kernel (resolved through apt, downloaded and
// unpacked into the cache once) or a kernel the user built.
//
// Facts about Debian's packages this relies on (bookworm, checked on 6.1.0-56):
// - linux-image-cloud-amd64 is a metapackage depending on linux-image-<release>; the build
//   number moves with every security update, so it is resolved, never written down.
// - vmlinuz is ./boot/vmlinuz-<release>; the module is
//   ./lib/modules/<release>/kernel/drivers/firmware/qemu_fw_cfg.ko, uncompressed (newer
//   suites put modules under ./usr/lib/modules and may compress them; both are handled).
// - The cloud kernel has CONFIG_FW_CFG_SYSFS=m (without CONFIG_FW_CFG_SYSFS_CMDLINE).
// - Other suites (options.suite) go through a private apt root (apt-env.ts). Sid splits the kernel:
//   linux-image-<release> is an empty package depending on linux-binary-<release>
//   (./usr/lib/modules/<release>/vmlinuz), linux-modules-<release> (the .ko.xz) and
//   linux-base-<release> (./usr/lib/modules/<release>/config); those are followed too.
//
// About 400 lines: the cloud kernel and the user's own share one cache entry and its checks
// (release, init_size, fw_cfg module), kept together so both paths visibly make the same checks.

import { copyFile, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';

import { ensureAptLists, hostApt, HOST_SUITE, privateApt, type AptContext, type DebianSuite } from './apt-env.ts';
import { retryWhileAptLocked } from './apt-lock.ts';
import { cacheDir as defaultCacheDir } from './cache.ts';
import { AptError, KernelContentError, KernelPackageNotFoundError, ProvisionError } from './errors.ts';
import { cacheLockPath, withLock } from './lock.ts';
import { hostFor } from '../host/abortable.ts';
import type { Host } from '../host/types.ts';
import { usableEntry, verifiedEntry } from './verify.ts';
import { isString, recalled, remember } from './resolved.ts';

export const DEFAULT_KERNEL_PACKAGE = 'linux-image-cloud-amd64';

export type KernelSpec =
  /** A Debian kernel package, or a metapackage that depends on one. */
  | { debianPackage?: string }
  /** A kernel the user built. Without a module, fw_cfg must be built in (or is unobserved). */
  | { bzImage: string; fwCfgModule?: string; release?: string };

export interface ProvisionedKernel {
  vmlinuz: string;
  /** Uncompressed qemu_fw_cfg.ko for this kernel, or null (built in, or absent). */
  fwCfgModule: string | null;
  /** The `uname -r` string. */
  release: string;
  /** Debian package version, or null for a user-given kernel. */
  packageVersion: string | null;
  /** The concrete package name (after resolving a metapackage), or null. */
  packageName: string | null;
  /** From the package's config-<release>: 'm', 'y' or 'unset'; null when unknown. */
  fwCfgSysfs: 'm' | 'y' | 'unset' | null;
}

export interface ProvisionKernelOptions {
  cacheDir?: string;
  onProgress?: (message: string) => void;
  /** The machine to provision (default: this one). */
  host?: Host;
  /** Stops provisioning when it fires: no program starts after it and the running one is killed; lock waits stop too. */
  signal?: AbortSignal;
  /** The Debian suite whose kernel to take; default (and HOST_SUITE) = the host's own apt. */
  suite?: DebianSuite;
  /** Apt to use instead of the suite's (tests). */
  apt?: AptContext;
  /** Ask apt which package and version even when a resolution is remembered (resolved.ts). */
  fresh?: boolean;
}

const MANIFEST_SCHEMA = 1;

interface KernelManifest {
  schema: typeof MANIFEST_SCHEMA;
  packageName: string;
  packageVersion: string;
  release: string;
  /** Paths relative to the entry directory. */
  vmlinuz: string;
  fwCfgModule: string | null;
  /** The member the module came from, e.g. ./lib/modules/…/qemu_fw_cfg.ko (records compression). */
  fwCfgModuleMember: string | null;
  fwCfgSysfs: 'm' | 'y' | 'unset' | null;
  /** Every package the files came from (sid: image + binary + modules + base). */
  packages?: { name: string; version: string }[];
  /** Debian suite, null = the host's apt. */
  suite?: string | null;
}

const isManifest = (v: unknown): v is KernelManifest => {
  const m = v as Partial<KernelManifest> | null;
  return (
    typeof m === 'object' &&
    m !== null &&
    m.schema === MANIFEST_SCHEMA &&
    typeof m.packageName === 'string' &&
    typeof m.packageVersion === 'string' &&
    typeof m.release === 'string' &&
    typeof m.vmlinuz === 'string' &&
    (m.fwCfgModule === null || typeof m.fwCfgModule === 'string')
  );
};

// ./boot/vmlinuz-<release> (≤ trixie) or ./usr/lib/modules/<release>/vmlinuz (sid's linux-binary-*).
const VMLINUZ_RE = /^\.\/(?:boot\/vmlinuz-([^/]+)|usr\/lib\/modules\/([^/]+)\/vmlinuz)$/;
const CONFIG_RE = /^\.\/(?:boot\/config-([^/]+)|usr\/lib\/modules\/([^/]+)\/config)$/;
const releaseOf = (re: RegExp, m: string): string | undefined => {
  const x = re.exec(m);
  return x ? (x[1] ?? x[2]) : undefined;
};
const MODULE_RE = /^\.\/(?:usr\/)?lib\/modules\/([^/]+)\/kernel\/drivers\/firmware\/qemu_fw_cfg\.ko(\.xz|\.gz|\.zst)?$/;

/** Member paths of a `dpkg-deb -c` listing (the last column; symlinks' " -> target" dropped). */
export function parseDebListing(listing: string): string[] {
  const out: string[] = [];
  for (const line of listing.split('\n')) {
    // perms owner size date time path
    const m = /^\S+\s+\S+\s+\d+\s+\S+\s+\S+\s+(.+)$/.exec(line);
    if (!m?.[1]) continue;
    out.push(m[1].replace(/ -> .*$/, ''));
  }
  return out;
}

export interface KernelMembers {
  vmlinuz: string;
  release: string;
  module: string | null;
  config: string | null;
}

/** Picks vmlinuz, the fw_cfg module and the config out of a package's member list. */
export function selectKernelMembers(members: readonly string[], source: string): KernelMembers {
  const vmlinuz = members.filter((m) => VMLINUZ_RE.test(m));
  if (vmlinuz.length !== 1) {
    throw new KernelContentError(source, `expected one ./boot/vmlinuz-* (or ./usr/lib/modules/*/vmlinuz) in the package, found ${vmlinuz.length}`);
  }
  const vm = vmlinuz[0]!;
  const release = releaseOf(VMLINUZ_RE, vm)!;
  const modules = members.filter((m) => MODULE_RE.exec(m)?.[1] === release);
  const config = members.find((m) => releaseOf(CONFIG_RE, m) === release) ?? null;
  return { vmlinuz: vm, release, module: modules[0] ?? null, config };
}

/** CONFIG_FW_CFG_SYSFS from a kernel .config text. */
export function fwCfgSysfsSetting(config: string): 'm' | 'y' | 'unset' {
  const m = /^CONFIG_FW_CFG_SYSFS=([ym])$/m.exec(config);
  return m ? (m[1] as 'm' | 'y') : 'unset';
}

function fail(cmd: string, r: { exitCode: number | null; stderr: string }, hint: string): never {
  throw new AptError(cmd, r.exitCode, r.stderr, hint);
}

/** apt's view of a package is empty when its lists are missing; one apt-get update (as root) fixes that. */
async function aptCache(
  args: string[],
  sys: Host,
  progress: (m: string) => void,
  state: { updated: boolean },
  apt: AptContext,
  signal: AbortSignal | undefined,
): Promise<{ stdout: string; ok: boolean; stderr: string; exitCode: number | null }> {
  let r = await sys.exec(['apt-cache', ...apt.options, ...args]);
  const empty = (x: typeof r) => x.exitCode !== 0 || x.stdout.trim() === '' || /No packages found|Unable to locate/i.test(x.stderr);
  if (empty(r) && !state.updated && (await apt.canUpdate(sys))) {
    progress(`${apt.label} knows nothing about the kernel package; running apt-get update`);
    state.updated = true;
    const u = await retryWhileAptLocked('apt-get update', () => apt.update(sys, progress), progress, signal ? { signal } : {});
    if (u.exitCode !== 0) fail('apt-get update', u, `check the apt sources (${apt.label})`);
    r = await sys.exec(['apt-cache', ...apt.options, ...args]);
  }
  return { ...r, ok: !empty(r) };
}

/** The candidate version from `apt-cache policy` output, or null. */
export function parseCandidate(policy: string): string | null {
  const m = /^\s*Candidate:\s*(\S+)\s*$/m.exec(policy);
  return m?.[1] && m[1] !== '(none)' ? m[1] : null;
}

/** The concrete linux-image-* a metapackage depends on, from `apt-cache depends` output. */
export function parseImageDependency(depends: string): string | null {
  for (const line of depends.split('\n')) {
    const m = /^\s*\|?Depends:\s*(linux-image-\S+)\s*$/.exec(line);
    if (m?.[1] && !m[1].startsWith('<')) return m[1];
  }
  return null;
}

/** Sid's split packages (linux-binary/-modules/-base-<release>) that a linux-image-<release> depends on. */
export function parseSplitKernelDependencies(depends: string): string[] {
  const out: string[] = [];
  for (const line of depends.split('\n')) {
    const m = /^\s*\|?Depends:\s*(linux-(?:binary|modules|base)-\S*\d\S*)\s*$/.exec(line);
    if (m?.[1] && !m[1].startsWith('<') && !out.includes(m[1])) out.push(m[1]);
  }
  return out;
}

async function resolvePackage(
  name: string,
  sys: Host,
  progress: (m: string) => void,
  apt: AptContext,
  signal: AbortSignal | undefined,
): Promise<{ packageName: string; version: string }> {
  const state = { updated: false };
  const mayUpdate = await apt.canUpdate(sys);
  const notFound = (why: string): never => {
    throw new KernelPackageNotFoundError(
      name,
      `${why}. ${mayUpdate ? 'apt-get update did not help: check the package name and the apt sources' : 'run apt-get update as root, or check the name'} (e.g. apt-cache search linux-image cloud-amd64).`,
    );
  };
  // A metapackage (no vmlinuz of its own) is followed to the linux-image-<release> it depends on.
  const deps = await aptCache(['depends', name], sys, progress, state, apt, signal);
  if (!deps.ok) notFound('apt does not know it');
  const dep = parseImageDependency(deps.stdout);
  const image = dep !== null && dep !== name ? dep : name;
  const policy = await aptCache(['policy', image], sys, progress, state, apt, signal);
  const v2 = policy.ok ? parseCandidate(policy.stdout) : null;
  if (v2 === null) notFound(image === name ? 'apt has no installable candidate for it' : `it depends on ${image}, which has no installable candidate`);
  if (image === name) return { packageName: name, version: v2! };
  progress(`kernel: ${name} resolves to ${image} ${v2}`);
  return { packageName: image, version: v2! };
}

const safeName = (s: string) => s.replace(/[^A-Za-z0-9.+~_-]/g, '_');

async function decompressModule(path: string, member: string, sys: Host, out: string): Promise<void> {
  if (member.endsWith('.ko')) {
    await copyFile(path, out);
  } else if (member.endsWith('.gz')) {
    await writeFile(out, gunzipSync(await readFile(path)));
  } else {
    // .xz/.zst: Node 20's zlib has neither; xz-utils and zstd are the Debian tools. A shell
    // redirect keeps the binary output out of a JS string.
    const tool = member.endsWith('.xz') ? 'xz' : 'zstd';
    const r = await sys.exec(['sh', '-c', '"$1" -dc "$2" > "$3"', 'sh', tool, path, out]);
    if (r.exitCode !== 0) throw new KernelContentError(member, `${tool} -dc failed (is ${tool} installed?): ${r.stderr.trim()}`);
  }
}

async function aptFor(opts: ProvisionKernelOptions, sys: Host, progress: (m: string) => void): Promise<AptContext> {
  if (opts.apt) return opts.apt;
  if (opts.suite === undefined || opts.suite === HOST_SUITE) return hostApt;
  const ctx = await privateApt(opts.suite, { host: sys, ...(opts.cacheDir !== undefined ? { cacheDir: opts.cacheDir } : {}) });
  await ensureAptLists(ctx, sys, progress, false, opts.signal);
  return ctx;
}

async function provisionDebian(name: string, opts: ProvisionKernelOptions): Promise<ProvisionedKernel> {
  const sys = hostFor(opts);
  const progress = opts.onProgress ?? (() => {});
  const suite = opts.apt ? (opts.apt.suite ?? HOST_SUITE) : (opts.suite ?? HOST_SUITE);
  // One run at a time per apt root: its lists, and the entries made from them.
  return withLock(
    cacheLockPath(opts.cacheDir ?? defaultCacheDir(), `apt-${suite}`),
    { purpose: `kernel ${suite}`, onProgress: progress, ...(opts.signal ? { signal: opts.signal } : {}) },
    () => provisionDebianLocked(name, opts, sys, progress),
  );
}

async function provisionDebianLocked(name: string, opts: ProvisionKernelOptions, sys: Host, progress: (m: string) => void): Promise<ProvisionedKernel> {
  const cache = opts.cacheDir ?? defaultCacheDir();
  const entryDir = (r: Resolved) => join(cache, 'kernels', `${safeName(r.packageName)}_${safeName(r.version)}`);
  // Warm: what apt resolved the package to last time, and its entry intact: no apt at all.
  const suiteName = opts.apt ? (opts.apt.suite ?? HOST_SUITE) : (opts.suite ?? HOST_SUITE);
  const key = `kernel-${suiteName}-${name}`;
  const known = opts.fresh ? null : await recalled(cache, key, isResolved);
  const warm = known !== null ? await usableEntry(entryDir(known), isManifest) : null;
  if (warm !== null) {
    progress(`kernel: reusing ${known!.packageName} ${known!.version} from ${entryDir(known!)}`);
    return provisioned(entryDir(known!), warm);
  }

  const apt = await aptFor(opts, sys, progress);
  const resolved = await resolvePackage(name, sys, progress, apt, opts.signal);
  const { packageName, version } = resolved;
  const dir = entryDir(resolved);

  const { manifest, reused } = await verifiedEntry<KernelManifest>({
    dir,
    label: 'kernel',
    isValid: isManifest,
    progress,
    // All of it: vmlinuz (~14 MB) and the module are what the guest boots.
    hashed: async (_d, m) => [m.vmlinuz, ...(m.fwCfgModule !== null ? [m.fwCfgModule] : [])],
    fill: async (tmp) => {
      // Sid's linux-image-<release> is empty: its split packages are fetched alongside.
      const split = parseSplitKernelDependencies((await sys.exec(['apt-cache', ...apt.options, 'depends', packageName])).stdout);
      const wantedPkgs = [`${packageName}=${version}`, ...split];
      progress(`kernel: downloading ${wantedPkgs.join(' ')}${apt.suite ? ` (${apt.suite})` : ''}`);
      const dl = await retryWhileAptLocked('apt-get download', () => sys.exec(['apt-get', ...apt.options, 'download', ...wantedPkgs], { cwd: tmp }), progress, opts.signal ? { signal: opts.signal } : {});
      if (dl.exitCode !== 0) {
        if (/Unable to locate|Can't find a source|not found/i.test(dl.stderr)) {
          throw new KernelPackageNotFoundError(`${packageName}=${version}`, `apt-get download could not find it: ${dl.stderr.trim()}`);
        }
        fail(`apt-get download ${wantedPkgs.join(' ')}`, dl, 'downloading the kernel package failed');
      }
      const debs = (await readdir(tmp)).filter((f) => f.endsWith('.deb')).sort();
      if (debs.length !== wantedPkgs.length) throw new ProvisionError(`apt-get download left ${debs.length} .deb files in ${tmp}, expected ${wantedPkgs.length}`);

      // Each member is looked up in whichever package carries it.
      const owner = new Map<string, string>();
      const packages: { name: string; version: string }[] = [];
      let mainVersion: string | null = null;
      for (const f of debs) {
        const deb = join(tmp, f);
        const fields = await sys.exec(['dpkg-deb', '-f', deb, 'Package', 'Version']);
        if (fields.exitCode !== 0) fail(`dpkg-deb -f ${deb}`, fields, 'the downloaded package is unreadable');
        const pkg = /^Package:\s*(\S+)/m.exec(fields.stdout)?.[1] ?? f;
        const ver = /^Version:\s*(\S+)/m.exec(fields.stdout)?.[1] ?? fields.stdout.trim();
        packages.push({ name: pkg, version: ver });
        if (pkg === packageName || mainVersion === null) mainVersion = ver;
        const list = await sys.exec(['dpkg-deb', '-c', deb]);
        if (list.exitCode !== 0) fail(`dpkg-deb -c ${deb}`, list, 'the downloaded package is unreadable');
        for (const m of parseDebListing(list.stdout)) if (!owner.has(m)) owner.set(m, deb);
      }
      const members = selectKernelMembers([...owner.keys()], `${wantedPkgs.join(' + ')}`);
      progress(
        `kernel: ${basename(members.vmlinuz)}, module ${members.module ?? '(none in package)'}, release ${members.release}`,
      );

      const wanted = [members.vmlinuz, members.module, members.config].filter((m): m is string => m !== null);
      const x = join(tmp, 'x');
      await mkdir(x);
      for (const deb of new Set(wanted.map((m) => owner.get(m)!))) {
        const mine = wanted.filter((m) => owner.get(m) === deb);
        const ex = await sys.pipe(['dpkg-deb', '--fsys-tarfile', deb], ['tar', '-x', '-C', x, ...mine]);
        if (ex.exitCode !== 0) fail(`dpkg-deb --fsys-tarfile ${deb} | tar -x`, ex, 'extracting vmlinuz and the module failed');
      }

      await rename(join(x, members.vmlinuz), join(tmp, 'vmlinuz'));
      let fwCfgModule: string | null = null;
      if (members.module) {
        await decompressModule(join(x, members.module), members.module, sys, join(tmp, 'qemu_fw_cfg.ko'));
        fwCfgModule = 'qemu_fw_cfg.ko';
      }
      let fwCfgSysfs: KernelManifest['fwCfgSysfs'] = null;
      if (members.config) fwCfgSysfs = fwCfgSysfsSetting(await readFile(join(x, members.config), 'utf8'));

      // Only the files the guest needs are kept; the .debs and the extract tree go.
      await rm(x, { recursive: true, force: true });
      for (const f of debs) await rm(join(tmp, f), { force: true });
      const m: KernelManifest = {
        schema: MANIFEST_SCHEMA,
        packageName,
        packageVersion: mainVersion ?? version,
        release: members.release,
        vmlinuz: 'vmlinuz',
        fwCfgModule,
        fwCfgModuleMember: members.module,
        fwCfgSysfs,
        packages,
        suite: apt.suite,
      };
      return m;
    },
  });
  if (reused) progress(`kernel: reusing ${packageName} ${version} from ${dir}`);
  await remember(cache, key, resolved);
  return provisioned(dir, manifest);
}

interface Resolved {
  packageName: string;
  version: string;
}

const isResolved = (v: unknown): v is Resolved => {
  const r = v as Partial<Resolved> | null;
  return typeof r === 'object' && r !== null && isString(r.packageName) && isString(r.version);
};

function provisioned(dir: string, manifest: KernelManifest): ProvisionedKernel {
  return {
    vmlinuz: join(dir, manifest.vmlinuz),
    fwCfgModule: manifest.fwCfgModule === null ? null : join(dir, manifest.fwCfgModule),
    release: manifest.release,
    packageVersion: manifest.packageVersion,
    packageName: manifest.packageName,
    fwCfgSysfs: manifest.fwCfgSysfs,
  };
}

/** The `uname -r` string from a bzImage's header (kernel_version field, boot protocol ≥ 2.00). */
export function bzImageRelease(image: Uint8Array): string | null {
  const b = Buffer.from(image.buffer, image.byteOffset, image.byteLength);
  if (b.length < 0x210 || b.toString('latin1', 0x202, 0x206) !== 'HdrS') return null;
  const ptr = b.readUInt16LE(0x20e);
  const off = ptr + 0x200;
  if (ptr === 0 || off >= b.length) return null;
  const end = b.indexOf(0, off);
  const s = b.toString('latin1', off, end < 0 ? Math.min(b.length, off + 256) : end);
  return s.split(' ')[0] || null;
}

async function provisionGiven(spec: { bzImage: string; fwCfgModule?: string; release?: string }, sys: Host): Promise<ProvisionedKernel> {
  if (!(await sys.exists(spec.bzImage))) throw new KernelContentError(spec.bzImage, 'bzImage does not exist');
  if (spec.fwCfgModule !== undefined && !(await sys.exists(spec.fwCfgModule))) {
    throw new KernelContentError(spec.fwCfgModule, 'fw_cfg module does not exist');
  }
  const release = spec.release ?? bzImageRelease(await sys.readFile(spec.bzImage));
  if (release === null) {
    throw new KernelContentError(spec.bzImage, 'not a bzImage (no "HdrS" boot header); pass release explicitly if it is a kernel');
  }
  return {
    vmlinuz: spec.bzImage,
    fwCfgModule: spec.fwCfgModule ?? null,
    release,
    packageVersion: null,
    packageName: null,
    fwCfgSysfs: null,
  };
}

/** Resolves, downloads and unpacks (once, cached) the kernel the guest boots. */
export async function provisionKernel(spec: KernelSpec = {}, opts: ProvisionKernelOptions = {}): Promise<ProvisionedKernel> {
  if ('bzImage' in spec) return provisionGiven(spec, hostFor(opts));
  return provisionDebian(spec.debianPackage ?? DEFAULT_KERNEL_PACKAGE, opts);
}
