// Finds qemu-system-x86_64 and the SeaBIOS images on the host; installs the Debian packages
// that provide them when they are missing and we are root.

import { stat } from 'node:fs/promises';
import { join } from 'node:path';

import { retryWhileAptLocked } from './apt-lock.ts';
import { recalled, remember } from './resolved.ts';
import { AptError, HostToolsMissingError, ProvisionError } from './errors.ts';
import { hostFor } from '../host/abortable.ts';
import type { Host } from '../host/types.ts';

export const DEFAULT_SEABIOS_DIR = '/usr/share/seabios';
/** QEMU's default for -M pc/q35 is bios-256k.bin; bios.bin is the 128K build some versions differ in. */
export const SEABIOS_IMAGES = ['bios-256k.bin', 'bios.bin'] as const;
export const QEMU_BINARY = 'qemu-system-x86_64';

export const HOST_PACKAGES = {
  qemu: 'qemu-system-x86',
  seabios: 'seabios',
} as const;

type Tool = keyof typeof HOST_PACKAGES;

/** The exact install command a person (or CI's setup) runs. */
export function aptInstallCommand(packages: readonly string[]): string {
  return `DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${packages.join(' ')}`;
}

export interface HostTools {
  qemu: string;
  /** e.g. "7.2.22", from `qemu-system-x86_64 --version`. */
  qemuVersion: string;
  /**
   * That output's first line, "QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)":
   * what capture and the KVM probe report, handed on so that they need not run QEMU for it again.
   */
  qemuVersionLine: string;
  /** Directory holding bios-256k.bin and bios.bin. */
  seabiosDir: string;
}

export interface HostToolsOptions {
  /** Use this qemu-system-x86_64 instead of searching PATH (never installed over). */
  qemu?: string;
  seabiosDir?: string;
  /** Install missing packages when root. Default true. */
  install?: boolean;
  onProgress?: (message: string) => void;
  /** The machine to provision (default: this one). */
  host?: Host;
  /** Stops provisioning when it fires: no program starts after it and the running one is killed; lock waits stop too. */
  signal?: AbortSignal;
  /**
   * The cache directory where the QEMU version is remembered (qemuVersionOutput); without it
   * QEMU is asked every time. Only for this machine's QEMU: `identify` stats local files.
   */
  rememberIn?: string;
  /** The binary's identity (default: binaryIdentity); tests give their own. */
  identify?: (path: string) => Promise<string | null>;
}

/**
 * A file's identity as this machine sees it: device, inode, size, modification and change
 * times (ns). Installing another QEMU (dpkg renames a new file in: another inode) or writing
 * to the file (both times move; the change time cannot be set back) gives another identity.
 */
export async function binaryIdentity(path: string): Promise<string | null> {
  try {
    const s = await stat(path, { bigint: true });
    return s.isFile() ? `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}` : null;
  } catch {
    return null;
  }
}

interface RememberedVersion {
  identity: string;
  stdout: string;
}

const isRememberedVersion = (v: unknown): v is RememberedVersion =>
  typeof v === 'object' && v !== null && typeof (v as RememberedVersion).identity === 'string' && typeof (v as RememberedVersion).stdout === 'string';

/**
 * `qemu --version`'s output, remembered in the cache per binary and identity (resolved/): a warm
 * command then starts no QEMU before its boot, ~25 ms of each `e820 check` here. Any other file
 * at that path, or any change to it, asks QEMU again; so does an unreadable record.
 */
async function qemuVersionOutput(qemu: string, sys: Host, opts: HostToolsOptions): Promise<{ exitCode: number | null; stdout: string; stderr: string }> {
  const cache = opts.rememberIn;
  const identity = cache !== undefined ? await (opts.identify ?? binaryIdentity)(qemu) : null;
  const key = `qemu-version-${qemu}`;
  if (cache !== undefined && identity !== null) {
    const r = await recalled(cache, key, isRememberedVersion);
    if (r !== null && r.identity === identity) return { exitCode: 0, stdout: r.stdout, stderr: '' };
  }
  const v = await sys.exec([qemu, '--version']);
  if (cache !== undefined && identity !== null && v.exitCode === 0 && parseQemuVersion(v.stdout) !== null) {
    await remember<RememberedVersion>(cache, key, { identity, stdout: v.stdout });
  }
  return v;
}

/** "QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)" → "7.2.22". */
export function parseQemuVersion(text: string): string | null {
  const m = /QEMU emulator version (\d+\.\d+(?:\.\d+)?)/.exec(text);
  return m?.[1] ?? null;
}

interface Probe {
  found: Partial<Record<Tool, string>>;
  /** What is wrong with each tool that was not found, for the error message. */
  problems: Partial<Record<Tool, string>>;
}

async function probe(opts: HostToolsOptions, sys: Host): Promise<Probe> {
  const found: Probe['found'] = {};
  const problems: Probe['problems'] = {};

  const qemu = opts.qemu ?? (await sys.which(QEMU_BINARY));
  if (qemu !== null && (await sys.exists(qemu))) found.qemu = qemu;
  else problems.qemu = opts.qemu ? `${opts.qemu} does not exist` : `${QEMU_BINARY} is not on PATH`;

  const seabiosDir = opts.seabiosDir ?? DEFAULT_SEABIOS_DIR;
  const absent: string[] = [];
  for (const img of SEABIOS_IMAGES) if (!(await sys.exists(join(seabiosDir, img)))) absent.push(img);
  if (absent.length === 0) found.seabios = seabiosDir;
  else problems.seabios = `${absent.join(' and ')} not in ${seabiosDir}`;
  return { found, problems };
}

/** Apt's "lists are missing or stale" failure: then an apt-get update is worth one retry. */
const needsUpdate = (stderr: string) => /Unable to locate package|has no installation candidate|Failed to fetch|404\s+Not Found/i.test(stderr);

export async function aptInstall(packages: string[], sys: Host, progress: (m: string) => void, signal?: AbortSignal): Promise<void> {
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  const args = ['install', '-y', '--no-install-recommends', ...packages];
  const onLine = (l: string) => progress(`apt: ${l}`);
  progress(`installing ${packages.join(', ')}: ${aptInstallCommand(packages)}`);
  // Another apt/dpkg run holding the host's lock is waited for (bounded), never blamed on the sources.
  const wait = signal ? { signal } : {};
  const install = () => retryWhileAptLocked('apt-get install', () => sys.exec(['apt-get', ...args], { env, onLine }), progress, wait);
  let r = await install();
  if (r.exitCode !== 0 && needsUpdate(r.stderr)) {
    progress('apt-get install could not find the packages; running apt-get update and retrying');
    const u = await retryWhileAptLocked('apt-get update', () => sys.exec(['apt-get', 'update'], { env, onLine }), progress, wait);
    if (u.exitCode !== 0) throw new AptError('apt-get update', u.exitCode, u.stderr, 'check the apt sources of this machine');
    r = await install();
  }
  if (r.exitCode !== 0) {
    throw new AptError(aptInstallCommand(packages), r.exitCode, r.stderr, 'installing the host tools failed');
  }
}

/**
 * Finds the host tools, installing missing Debian packages if allowed and root.
 * Tools the caller named explicitly (qemu, seabiosDir) are never installed over:
 * if they are wrong the caller must fix the path.
 */
export async function findOrInstallHostTools(opts: HostToolsOptions = {}): Promise<HostTools> {
  const sys = hostFor(opts);
  const progress = opts.onProgress ?? (() => {});
  let p = await probe(opts, sys);

  const missingTools = (Object.keys(p.problems) as Tool[]).filter((t) => p.problems[t] !== undefined);
  if (missingTools.length > 0) {
    const packages = missingTools.map((t) => HOST_PACKAGES[t]);
    const describe = (pr: Probe) => (Object.keys(pr.problems) as Tool[]).map((t) => pr.problems[t] ?? t);
    const explicit = missingTools.filter((t) => (t === 'qemu' ? opts.qemu : opts.seabiosDir) !== undefined);
    if (explicit.length > 0) {
      throw new HostToolsMissingError(describe(p), packages, aptInstallCommand(packages), 'A path given explicitly is not usable.');
    }
    if (opts.install === false) {
      throw new HostToolsMissingError(describe(p), packages, aptInstallCommand(packages), 'Installing was disabled.');
    }
    if (!(await sys.isRoot())) {
      throw new HostToolsMissingError(describe(p), packages, aptInstallCommand(packages), 'Not running as root, so they cannot be installed automatically.');
    }
    await aptInstall(packages, sys, progress, opts.signal);
    p = await probe(opts, sys);
    if (Object.keys(p.problems).length > 0) {
      throw new HostToolsMissingError(describe(p), packages, aptInstallCommand(packages), 'They are still missing after installing.');
    }
  }

  const { qemu, seabios } = p.found;
  if (qemu === undefined || seabios === undefined) {
    throw new ProvisionError('internal: host tools probe incomplete'); // unreachable: problems was empty
  }
  const v = await qemuVersionOutput(qemu, sys, opts);
  const qemuVersion = v.exitCode === 0 ? parseQemuVersion(v.stdout) : null;
  if (qemuVersion === null) {
    throw new ProvisionError(
      `${qemu} --version did not print "QEMU emulator version X.Y.Z" (exit ${v.exitCode}): ${(v.stdout + v.stderr).trim().slice(0, 200)}`,
    );
  }
  progress(`host tools: ${qemu} (QEMU ${qemuVersion}), SeaBIOS in ${seabios}`);
  return { qemu, qemuVersion, qemuVersionLine: (v.stdout.split('\n')[0] ?? '').trim(), seabiosDir: seabios };
}
