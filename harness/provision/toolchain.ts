// Every component of any toolchain: which Debian suite provides each version, and the one
// function that provisions a (qemu, seabios, kernel) combination from those suites.

import { kernelProfileForRelease, UnknownPointReleaseError, type KernelProfile } from '../../reference/profiles/kernel.ts';
import type { KernelVersion, QemuVersion, SeabiosVersion, Toolchain } from '../../reference/toolchain.ts';
import { DEBIAN_SUITES, HOST_SUITE, type DebianSuite } from './apt-env.ts';
import { cacheDir as defaultCacheDir } from './cache.ts';
import { ProvisionError } from './errors.ts';
import { DEFAULT_SEABIOS_DIR, findOrInstallHostTools, type HostTools } from './host-tools.ts';
import { buildMinimalKernel } from './kernel-build.ts';
import { dirname } from 'node:path';
import { provisionKernel, type ProvisionedKernel } from './kernel.ts';
import { provisionSeabios, type SuiteSeabios } from './seabios.ts';
import { provisionSuiteQemu, type SuiteQemu } from './suite-qemu.ts';
import type { Host } from '../host/types.ts';

/** Which suite ships which version (Debian's packages qemu-system-x86, seabios, linux-image-*-cloud-amd64 per suite; README, Toolchains). */
export const SUITE_COMPONENTS: Record<DebianSuite, { qemu: QemuVersion; seabios: SeabiosVersion; kernel: KernelVersion }> = {
  bullseye: { qemu: '5.2', seabios: '1.14.0', kernel: '5.10' },
  bookworm: { qemu: '7.2', seabios: '1.16.2', kernel: '6.1' },
  trixie: { qemu: '10.0', seabios: '1.16.3', kernel: '6.12' },
  sid: { qemu: '11.1', seabios: '1.17.0', kernel: '7.2' },
};

export type Component = 'qemu' | 'seabios' | 'kernel';

export function suiteOf(component: Component, version: string): DebianSuite {
  const s = DEBIAN_SUITES.find((x) => SUITE_COMPONENTS[x][component] === version);
  if (s === undefined) throw new ProvisionError(`no Debian suite provides ${component} ${version}; known: ${DEBIAN_SUITES.map((x) => SUITE_COMPONENTS[x][component]).join(', ')}`);
  return s;
}

/** The archive moved on (e.g. sid now ships QEMU 11.2): never run it under the old name. */
export class ToolchainVersionMismatchError extends ProvisionError {
  constructor(
    readonly component: Component,
    readonly wanted: string,
    readonly found: string,
    readonly suite: DebianSuite,
  ) {
    super(`${component} ${wanted} was asked for, Debian ${suite} now provides ${found}: update SUITE_COMPONENTS (harness/provision/toolchain.ts) and the profiles, or pass the binary explicitly`);
    this.name = 'ToolchainVersionMismatchError';
  }
}

/**
 * The kernel the archive gave is a point release whose behaviour the prediction must use: the
 * nosave algorithm changed inside 5.10.y (reference/profiles/kernel.ts kernelProfileForRelease).
 */
export class KernelPointReleaseError extends ProvisionError {
  constructor(message: string) {
    super(message);
    this.name = 'KernelPointReleaseError';
  }
}

function behaviourOf(profile: KernelProfile): string {
  const { release: _release, ...behaviour } = profile;
  return JSON.stringify(behaviour, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
}

/** Refuses a boot whose kernel would behave differently from the profile the prediction uses. */
export function checkKernelPointRelease(toolchain: Toolchain, packageVersion: string, suite: DebianSuite): void {
  let booted: KernelProfile;
  try {
    booted = kernelProfileForRelease(toolchain.kernel, packageVersion);
  } catch (err) {
    if (!(err instanceof UnknownPointReleaseError)) throw err;
    throw new KernelPointReleaseError(`Debian ${suite} provides kernel ${packageVersion}: ${err.message}; verify it and add it to POINT_RELEASES in reference/profiles/kernel.ts`);
  }
  const predicted = kernelProfileForRelease(toolchain.kernel, toolchain.kernelRelease);
  if (behaviourOf(booted) !== behaviourOf(predicted)) {
    const asked = toolchain.kernelRelease ?? `${toolchain.kernel} (series profile ${predicted.release})`;
    throw new KernelPointReleaseError(
      `kernel ${asked} was asked for, Debian ${suite} provides ${packageVersion}, which behaves differently (profile ${booted.release}): ask for kernel ${booted.release} instead (matrix toolchain "kernel: ${booted.release}", or --kernel ${booted.release})`,
    );
  }
}

/** "7.2.22" is 7.2; "1.16.2-1" is 1.16.2; "6.12.107+deb13-cloud-amd64" is 6.12. */
export function versionMatches(component: Component, found: string, wanted: string): boolean {
  const esc = wanted.replace(/\./g, '\\.');
  if (component === 'seabios') return new RegExp(`^(?:\\d+:)?${esc}(?:$|[-+~])`).test(found);
  return new RegExp(`^(?:\\d+:)?${esc}(?:$|[.+~-])`).test(found);
}

export interface ResolvedToolchain {
  toolchain: Toolchain;
  qemu: {
    suite: DebianSuite;
    /** qemu-system-x86_64, or the wrapper that runs another suite's from its root. */
    binary: string;
    /** e.g. "10.0.13". */
    version: string;
    /** Debian package version; null for the host's (not asked). */
    packageVersion: string | null;
    /** The first line of its `--version` when provisioning ran it (the host's QEMU: HostTools.qemuVersionLine), else null. */
    versionLine: string | null;
    /** Set for another suite's QEMU. */
    suiteRoot: SuiteQemu | null;
  };
  seabios: {
    suite: DebianSuite;
    /** True when it is the QEMU's own suite's SeaBIOS (QEMU finds it by itself: no -L, no -bios). */
    qemuOwn: boolean;
    /** Directory with only bios-256k.bin and bios.bin, to pass as the first -L; null when qemuOwn. */
    dir: string | null;
    /** Path of bios-256k.bin for `-bios` (the QEMU's own when qemuOwn). */
    image: string;
    packageVersion: string | null;
  };
  kernel: ProvisionedKernel & { suite: DebianSuite };
}

export interface ResolveToolchainOptions {
  cacheDir?: string;
  onProgress?: (m: string) => void;
  /** The machine to provision (default: this one). */
  host?: Host;
  /** Stops provisioning when it fires: no program starts after it and the running one is killed; lock waits stop too. */
  signal?: AbortSignal;
  refresh?: boolean;
  /** Ask apt which versions even when resolutions are remembered (provision/resolved.ts). */
  fresh?: boolean;
  /** Host tools already found (saves the probe when provisioning many toolchains). */
  hostTools?: HostTools;
}

/** Provisions every component of `toolchain` (any combination), downloading what is not cached. */
export async function resolveToolchain(toolchain: Toolchain, opts: ResolveToolchainOptions = {}): Promise<ResolvedToolchain> {
  const cacheDir = opts.cacheDir ?? defaultCacheDir();
  const common = {
    cacheDir,
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    ...(opts.host ? { host: opts.host } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  };
  const refresh = opts.refresh ?? false;
  const fresh = opts.fresh ?? false;
  // The host's QEMU and SeaBIOS (used when the toolchain names the host's suite).
  // This machine's QEMU version is remembered in the cache (host-tools.ts qemuVersionOutput).
  const host = opts.hostTools ?? (await findOrInstallHostTools({ ...common, ...(opts.host === undefined ? { rememberIn: cacheDir } : {}) }));

  const qSuite = suiteOf('qemu', toolchain.qemu);
  let qemu: ResolvedToolchain['qemu'];
  if (qSuite === HOST_SUITE) {
    if (!versionMatches('qemu', host.qemuVersion, toolchain.qemu)) throw new ToolchainVersionMismatchError('qemu', toolchain.qemu, host.qemuVersion, qSuite);
    qemu = { suite: qSuite, binary: host.qemu, version: host.qemuVersion, packageVersion: null, versionLine: host.qemuVersionLine, suiteRoot: null };
  } else {
    const r = await provisionSuiteQemu(qSuite, { ...common, refresh, fresh });
    if (!versionMatches('qemu', r.qemuVersion, toolchain.qemu)) throw new ToolchainVersionMismatchError('qemu', toolchain.qemu, r.qemuVersion, qSuite);
    qemu = { suite: qSuite, binary: r.binary, version: r.qemuVersion, packageVersion: r.packageVersion, versionLine: null, suiteRoot: r };
  }

  const sSuite = suiteOf('seabios', toolchain.seabios);
  let seabios: ResolvedToolchain['seabios'];
  const own = sSuite === qSuite;
  if (own && qemu.suiteRoot === null) {
    seabios = { suite: sSuite, qemuOwn: true, dir: null, image: `${host.seabiosDir}/bios-256k.bin`, packageVersion: null };
    if (host.seabiosDir !== DEFAULT_SEABIOS_DIR) seabios.dir = host.seabiosDir;
  } else if (own && qemu.suiteRoot !== null) {
    const pkg = qemu.suiteRoot.packages.find((p) => p.name === 'seabios');
    if (pkg && !versionMatches('seabios', pkg.version, toolchain.seabios)) throw new ToolchainVersionMismatchError('seabios', toolchain.seabios, pkg.version, sSuite);
    seabios = { suite: sSuite, qemuOwn: true, dir: null, image: `${qemu.suiteRoot.root}/usr/share/seabios/bios-256k.bin`, packageVersion: pkg?.version ?? null };
  } else {
    const s: SuiteSeabios = await provisionSeabios(sSuite, { ...common, refresh, fresh });
    if (!versionMatches('seabios', s.packageVersion, toolchain.seabios)) throw new ToolchainVersionMismatchError('seabios', toolchain.seabios, s.packageVersion, sSuite);
    seabios = { suite: sSuite, qemuOwn: false, dir: s.dir, image: s.image, packageVersion: s.packageVersion };
  }

  if ((toolchain.seabiosPatches ?? []).length > 0) {
    // The same release built from Debian's source with the patches (firmware-build.ts, cached by
    // the patches' sha256); its directory goes first on QEMU's -L path, as another suite's would.
    // Imported here: firmware-build.ts imports this module's suite table.
    const { buildFirmware } = await import('./firmware-build.ts');
    const built = await buildFirmware({ ...common, seabios: toolchain.seabios, variant: 'bios-256k', patches: toolchain.seabiosPatches, fresh });
    seabios = { suite: built.suite, qemuOwn: false, dir: dirname(built.path), image: built.path, packageVersion: built.sourceVersion };
  }

  const kernel = await provisionToolchainKernel(toolchain, { ...common, fresh });

  return { toolchain, qemu, seabios, kernel };
}

/**
 * The guest kernel of a toolchain: the series' Debian cloud kernel, or (kernelFlavour 'minimal')
 * the project's build of the series' Debian source (kernel-build.ts; cached after the first build).
 */
export async function provisionToolchainKernel(
  toolchain: Toolchain,
  opts: { cacheDir?: string; onProgress?: (m: string) => void; host?: Host; signal?: AbortSignal; fresh?: boolean },
): Promise<ProvisionedKernel & { suite: DebianSuite }> {
  const kSuite = suiteOf('kernel', toolchain.kernel);
  let k: ProvisionedKernel;
  if (toolchain.kernelFlavour === 'minimal') {
    // A series without a minimal profile is refused before minutes of building (NoMinimalKernelError).
    const profiled = kernelProfileForRelease(toolchain.kernel, toolchain.kernelRelease, 'minimal').guestInitSize;
    const built = await buildMinimalKernel({ ...opts, series: toolchain.kernel });
    // The model predicts with the profile's init_size: a build that differs would be judged wrongly.
    if (built.initSize !== profiled) {
      throw new ProvisionError(
        `the minimal kernel ${built.release} (${built.vmlinuz}) has bzImage init_size 0x${built.initSize.toString(16)}, its profile says 0x${profiled.toString(16)}: guests/kernel/minimal.config or the source changed without MINIMAL_BUILD in reference/profiles/kernel.ts; set guestInitSize there to the built value`,
      );
    }
    k = built;
  } else {
    k = await provisionKernel({}, { ...opts, suite: kSuite });
  }
  if (!versionMatches('kernel', k.release, toolchain.kernel)) throw new ToolchainVersionMismatchError('kernel', toolchain.kernel, k.release, kSuite);
  // A kernel given by path has no package version: its series profile is used as for any kernel.
  if (k.packageVersion !== null) checkKernelPointRelease(toolchain, k.packageVersion, kSuite);
  return { ...k, suite: kSuite };
}
