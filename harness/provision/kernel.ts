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

import { copyFile, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';

import { cacheDir as defaultCacheDir, publishDir, readManifest, writeManifest } from './cache.ts';
import { AptError, KernelContentError, KernelPackageNotFoundError, ProvisionError } from './errors.ts';
import { localSystem, type ProvisionSystem } from './system.ts';

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
  system?: ProvisionSystem;
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

const VMLINUZ_RE = /^\.\/boot\/vmlinuz-([^/]+)$/;
const CONFIG_RE = /^\.\/boot\/config-([^/]+)$/;
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
    throw new KernelContentError(source, `expected one ./boot/vmlinuz-* in the package, found ${vmlinuz.length}`);
  }
  const vm = vmlinuz[0]!;
  const release = VMLINUZ_RE.exec(vm)![1]!;
  const modules = members.filter((m) => MODULE_RE.exec(m)?.[1] === release);
  const config = members.find((m) => CONFIG_RE.exec(m)?.[1] === release) ?? null;
  return { vmlinuz: vm, release, module: modules[0] ?? null, config };
}

/** CONFIG_FW_CFG_SYSFS from a kernel .config text. */
export function fwCfgSysfsSetting(config: string): 'm' | 'y' | 'unset' {
  const m = /^CONFIG_FW_CFG_SYSFS=([ym])$/m.exec(config);
  return m ? (m[1] as 'm' | 'y') : 'unset';
}

function fail(cmd: string, r: { exitCode: number | undefined; stderr: string }, hint: string): never {
  throw new AptError(cmd, r.exitCode, r.stderr, hint);
}

/** apt's view of a package is empty when its lists are missing; one apt-get update (as root) fixes that. */
async function aptCache(
  args: string[],
  sys: ProvisionSystem,
  progress: (m: string) => void,
  state: { updated: boolean },
): Promise<{ stdout: string; ok: boolean; stderr: string; exitCode: number | undefined }> {
  let r = await sys.run('apt-cache', args);
  const empty = (x: typeof r) => x.exitCode !== 0 || x.stdout.trim() === '' || /No packages found|Unable to locate/i.test(x.stderr);
  if (empty(r) && !state.updated && sys.isRoot()) {
    progress('apt knows nothing about the kernel package; running apt-get update');
    state.updated = true;
    const u = await sys.run('apt-get', ['update'], { env: { DEBIAN_FRONTEND: 'noninteractive' }, onLine: (l) => progress(`apt: ${l}`) });
    if (u.exitCode !== 0) fail('apt-get update', u, 'check the apt sources of this machine');
    r = await sys.run('apt-cache', args);
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

async function resolvePackage(
  name: string,
  sys: ProvisionSystem,
  progress: (m: string) => void,
): Promise<{ packageName: string; version: string }> {
  const state = { updated: false };
  const notFound = (why: string): never => {
    throw new KernelPackageNotFoundError(
      name,
      `${why}. ${sys.isRoot() ? 'apt-get update did not help: check the package name and the apt sources' : 'run apt-get update as root, or check the name'} (e.g. apt-cache search linux-image cloud-amd64).`,
    );
  };
  // A metapackage (no vmlinuz of its own) is followed to the linux-image-<release> it depends on.
  const deps = await aptCache(['depends', name], sys, progress, state);
  if (!deps.ok) notFound('apt does not know it');
  const dep = parseImageDependency(deps.stdout);
  const image = dep !== null && dep !== name ? dep : name;
  const policy = await aptCache(['policy', image], sys, progress, state);
  const v2 = policy.ok ? parseCandidate(policy.stdout) : null;
  if (v2 === null) notFound(image === name ? 'apt has no installable candidate for it' : `it depends on ${image}, which has no installable candidate`);
  if (image === name) return { packageName: name, version: v2! };
  progress(`kernel: ${name} resolves to ${image} ${v2}`);
  return { packageName: image, version: v2! };
}

const safeName = (s: string) => s.replace(/[^A-Za-z0-9.+~_-]/g, '_');

async function decompressModule(path: string, member: string, sys: ProvisionSystem, out: string): Promise<void> {
  if (member.endsWith('.ko')) {
    await copyFile(path, out);
  } else if (member.endsWith('.gz')) {
    await writeFile(out, gunzipSync(await readFile(path)));
  } else {
    // .xz/.zst: Node 20's zlib has neither; xz-utils and zstd are the Debian tools. A shell
    // redirect keeps the binary output out of a JS string.
    const tool = member.endsWith('.xz') ? 'xz' : 'zstd';
    const r = await sys.run('sh', ['-c', '"$1" -dc "$2" > "$3"', 'sh', tool, path, out]);
    if (r.exitCode !== 0) throw new KernelContentError(member, `${tool} -dc failed (is ${tool} installed?): ${r.stderr.trim()}`);
  }
}

async function provisionDebian(name: string, opts: ProvisionKernelOptions): Promise<ProvisionedKernel> {
  const sys = opts.system ?? localSystem;
  const progress = opts.onProgress ?? (() => {});
  const { packageName, version } = await resolvePackage(name, sys, progress);
  const dir = join(opts.cacheDir ?? defaultCacheDir(), 'kernels', `${safeName(packageName)}_${safeName(version)}`);

  let manifest = await readManifest(dir, isManifest);
  if (manifest !== null) {
    progress(`kernel: reusing ${packageName} ${version} from ${dir}`);
  } else {
    await publishDir(dir, async (tmp) => {
      progress(`kernel: downloading ${packageName}=${version}`);
      const dl = await sys.run('apt-get', ['download', `${packageName}=${version}`], { cwd: tmp });
      if (dl.exitCode !== 0) {
        if (/Unable to locate|Can't find a source|not found/i.test(dl.stderr)) {
          throw new KernelPackageNotFoundError(`${packageName}=${version}`, `apt-get download could not find it: ${dl.stderr.trim()}`);
        }
        fail(`apt-get download ${packageName}=${version}`, dl, 'downloading the kernel package failed');
      }
      const debs = (await readdir(tmp)).filter((f) => f.endsWith('.deb'));
      if (debs.length !== 1) throw new ProvisionError(`apt-get download left ${debs.length} .deb files in ${tmp}`);
      const deb = join(tmp, debs[0]!);

      const ver = await sys.run('dpkg-deb', ['-f', deb, 'Version']);
      if (ver.exitCode !== 0) fail(`dpkg-deb -f ${deb} Version`, ver, 'the downloaded package is unreadable');
      const list = await sys.run('dpkg-deb', ['-c', deb]);
      if (list.exitCode !== 0) fail(`dpkg-deb -c ${deb}`, list, 'the downloaded package is unreadable');
      const members = selectKernelMembers(parseDebListing(list.stdout), `${packageName} ${version}`);
      progress(
        `kernel: ${basename(members.vmlinuz)}, module ${members.module ?? '(none in package)'}, release ${members.release}`,
      );

      const wanted = [members.vmlinuz, members.module, members.config].filter((m): m is string => m !== null);
      const x = join(tmp, 'x');
      await mkdir(x);
      const ex = await sys.pipe(['dpkg-deb', ['--fsys-tarfile', deb]], ['tar', ['-x', '-C', x, ...wanted]]);
      if (ex.exitCode !== 0) fail(`dpkg-deb --fsys-tarfile ${deb} | tar -x`, ex, 'extracting vmlinuz and the module failed');

      await rename(join(x, members.vmlinuz), join(tmp, 'vmlinuz'));
      let fwCfgModule: string | null = null;
      if (members.module) {
        await decompressModule(join(x, members.module), members.module, sys, join(tmp, 'qemu_fw_cfg.ko'));
        fwCfgModule = 'qemu_fw_cfg.ko';
      }
      let fwCfgSysfs: KernelManifest['fwCfgSysfs'] = null;
      if (members.config) fwCfgSysfs = fwCfgSysfsSetting(await readFile(join(x, members.config), 'utf8'));

      // Only the two files the guest needs are kept; the .deb and the extract tree go.
      await rm(x, { recursive: true, force: true });
      await rm(deb, { force: true });
      const m: KernelManifest = {
        schema: MANIFEST_SCHEMA,
        packageName,
        packageVersion: ver.stdout.trim(),
        release: members.release,
        vmlinuz: 'vmlinuz',
        fwCfgModule,
        fwCfgModuleMember: members.module,
        fwCfgSysfs,
      };
      // The manifest is written last: an entry without it is never taken as cached.
      await writeManifest(tmp, m);
    });
    manifest = await readManifest(dir, isManifest);
    if (manifest === null) throw new ProvisionError(`kernel cache entry ${dir} has no valid manifest after unpacking`);
  }
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

async function provisionGiven(spec: { bzImage: string; fwCfgModule?: string; release?: string }, sys: ProvisionSystem): Promise<ProvisionedKernel> {
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
  if ('bzImage' in spec) return provisionGiven(spec, opts.system ?? localSystem);
  return provisionDebian(spec.debianPackage ?? DEFAULT_KERNEL_PACKAGE, opts);
}
